//! The BMC with a service on pallet-contracts: BMC + a BMV per peer chain + the test service, relay messages built
//! and signed by ICON test chains (one as ICON, one as a second peer, `0x5.eth`). Delivery, a refusing service's
//! error reply, a service's answers (returned for the BMC to send, and sent by the service while the BMC handles
//! the relay message), consecutive messages in one batch and a failed batch handed over message by message,
//! forwarding to the second link, an error report handed to the service, a scheduled drop, a service that never
//! returns, messages that claim a source their link does not lead to, a relay message of large messages, fee
//! gathering, relay rotation, and `get_status` after each step.
#![cfg(feature = "e2e-tests")]

use bmc::bmc::{AnswersGarbled, Bmc, BmcRef, Error, ForgedMessage, MessageDropped};
use bmv_icon::bmv_icon::BmvIconRef;
use btp_e2e_tests::{client, events, run, Client};
use btp_primitives::{address::hex_account, bmc::BmcMessage, BtpAddress, BtpMessage, ErrorMessage, IconAddress};
use icon_testnet::{
    chain::ReceiptRef,
    receipt::{EventLog, Receipt},
    TestChain, Validator,
};
use ink::primitives::AccountId;
use ink_e2e::{AccountKeyring, ContractsBackend};
use test_service::test_service::{Received, TestService, TestServiceRef};

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;
type BmcCalls = <Bmc as ink::codegen::ContractCallBuilder>::Type;
type ServiceCalls = <TestService as ink::codegen::ContractCallBuilder>::Type;

/// A peer chain in ICON's format: its blocks, validators and BMC.
struct Peer {
    chain: TestChain,
    bmc: IconAddress,
    link: String,
}

impl Peer {
    fn new(network: &str, bmc: &str) -> Self {
        let bmc = IconAddress::parse(bmc).unwrap();
        Self { chain: TestChain::new(network, Validator::set(1, 4), 100), link: format!("btp://{network}/{bmc}"), bmc }
    }

    fn address(&self) -> BtpAddress {
        BtpAddress::parse(&self.link).unwrap()
    }

    /// A block whose BMC emits `messages` as seq `first`, `first + 1`, … to `to`, and the relay message proving all.
    fn produce(&mut self, to: &str, first: i128, messages: &[BtpMessage]) -> Vec<u8> {
        let logs = messages.iter().zip(first..).map(|(m, seq)| EventLog::bmc_message(self.bmc, to, seq, m.encode())).collect();
        self.chain.produce(vec![Receipt::success(self.bmc, logs)]);
        let height = self.chain.height();
        self.chain.relay_message(height, height, &[ReceiptRef { index: 0, events: (0u64..).zip(messages).map(|(i, _)| i).collect() }])
    }
}

/// The parachain side (BMC, a BMV per peer, the test service as `test`) and the two peers, linked, with Bob as the
/// relay of both links.
struct Stand {
    client: Client,
    bmc: AccountId,
    calls: BmcCalls,
    own: BtpAddress,
    service: ServiceCalls,
    icon: Peer,
    eth: Peer,
}

impl Stand {
    async fn new() -> Self {
        let mut client = client();
        let alice = ink_e2e::alice();
        let bmc = client.instantiate("bmc", &alice, &mut BmcRef::new("0x501.pra".into())).submit().await.expect("instantiate bmc");
        let mut calls = bmc.call_builder::<Bmc>();
        let own = BtpAddress::parse(&format!("btp://0x501.pra/{}", hex_account(bmc.account_id.as_ref()))).unwrap();
        let icon = Peer::new("0x3.icon", "cx00000000000000000000000000000000000000b1");
        let eth = Peer::new("0x5.eth", "cx0000000000000000000000000000000000000005");
        for peer in [&icon, &eth] {
            let network = peer.chain.network().to_string();
            let last = peer.chain.last().id();
            let mut ctor = BmvIconRef::new(bmc.account_id, own.as_str().into(), network.clone(), peer.chain.voters_list(), 100, 0, 0, false, last);
            let bmv = client.instantiate("bmv_icon", &alice, &mut ctor).submit().await.expect("instantiate bmv");
            client.call(&alice, &calls.add_verifier(network, bmv.account_id)).submit().await.unwrap().return_value().expect("verifier");
        }
        let service = client.instantiate("test_service", &alice, &mut TestServiceRef::new(bmc.account_id)).submit().await.expect("instantiate service");
        client.call(&alice, &calls.add_service("test".into(), service.account_id)).submit().await.unwrap().return_value().expect("service");
        let relay = ink_e2e::account_id(AccountKeyring::Bob);
        for link in [&icon.link, &eth.link] {
            client.call(&alice, &calls.add_link(link.clone())).submit().await.unwrap().return_value().expect("link");
            client.call(&alice, &calls.add_relay(link.clone(), relay)).submit().await.unwrap().return_value().expect("relay");
        }
        events::take();
        Self { client, bmc: bmc.account_id, calls, own, service: service.call_builder::<TestService>(), icon, eth }
    }

    /// A message from `src` to this BMC.
    fn to_us(&self, src: &BtpAddress, svc: &str, sn: i128, payload: &[u8]) -> BtpMessage {
        BtpMessage { src: src.clone(), dst: self.own.clone(), svc: svc.into(), sn, payload: payload.to_vec() }
    }

    /// Bob relays `msg` on `link`.
    async fn relay(&mut self, link: &str, msg: Vec<u8>) -> Result<(), Error> {
        let call = self.calls.handle_relay_message(link.into(), msg);
        self.client.call(&ink_e2e::bob(), &call).submit().await.expect("submit").return_value()
    }

    async fn received(&mut self) -> Vec<Received> {
        self.client.call(&ink_e2e::alice(), &self.service.received()).dry_run().await.expect("dry run").return_value()
    }

    /// The serial numbers of the messages the service took, in order.
    async fn delivered_sns(&mut self) -> Vec<u128> {
        self.received().await.into_iter().filter_map(|r| if let Received::Message { sn, .. } = r { Some(sn) } else { None }).collect()
    }

    /// The sizes of the batches the service took.
    async fn batches(&mut self) -> Vec<u32> {
        self.client.call(&ink_e2e::alice(), &self.service.batches()).dry_run().await.expect("dry run").return_value()
    }

    async fn seqs(&mut self, link: &str) -> (u64, u64) {
        let status = self.client.call(&ink_e2e::alice(), &self.calls.get_status(link.into())).dry_run().await.expect("dry run").return_value().expect("status");
        (status.rx_seq, status.tx_seq)
    }

    /// The BMC's `Message` events since the last call, as (next, seq, BTP message).
    fn sent(&self) -> Vec<(String, u64, BtpMessage)> {
        events::bmc_messages(&events::take(), &self.bmc)
            .into_iter()
            .map(|(next, seq, msg)| (next, seq, BtpMessage::decode(&msg).expect("a BTP message")))
            .collect()
    }
}

#[test]
fn the_bmc_delivers_refuses_forwards_and_drops() -> E2EResult<()> {
    run(async {
        let mut s = Stand::new().await;
        let (icon, icon_link, eth) = (s.icon.address(), s.icon.link.clone(), s.eth.address());
        let alice = ink_e2e::alice();

        // Block 101: six messages from ICON's BMC, seq 1 to 6. The first four go to the service in one batch,
        // which the refusal fails as a whole; then one at a time.
        let onward = BtpMessage { dst: eth.clone(), ..s.to_us(&icon, "test", 5, b"onward") };
        let report = s.to_us(&icon, "test", -7, &ErrorMessage::new(42, "refused over there").encode());
        let messages = [
            s.to_us(&icon, "test", 1, b"hello"),
            s.to_us(&icon, "test", 2, b"refuse"),
            s.to_us(&icon, "test", 3, b"send:pong"),
            s.to_us(&icon, "test", 4, b"reply:pang"),
            onward.clone(),
            report,
        ];
        let msg = s.icon.produce(s.own.as_str(), 1, &messages);
        s.relay(&icon_link, msg).await.expect("handled");
        let message = |sn: u128, msg: &[u8]| Received::Message { src: "0x3.icon".into(), svc: "test".into(), sn, msg: msg.to_vec() };
        assert_eq!(
            s.received().await,
            vec![
                message(1, b"hello"),
                message(3, b"send:pong"),
                message(4, b"reply:pang"),
                Received::Error { src: icon_link.clone(), svc: "test".into(), sn: 7, code: 42, msg: "refused over there".into() },
            ],
            "delivered in order; the refused message and the failed batch left no trace in the service"
        );
        assert_eq!(s.batches().await, vec![1, 1, 1], "the failed batch of four and the refused message reverted; the others came again alone");
        let out = s.sent();
        // Init and Link took seq 1 and 2 on the ICON link, Init seq 1 on the second link.
        let (next, seq, refusal) = &out[0];
        assert_eq!((next.as_str(), *seq, refusal.dst.as_str(), refusal.sn), (icon_link.as_str(), 3, icon_link.as_str(), -2));
        assert_eq!(ErrorMessage::decode(&refusal.payload).unwrap().code, 42, "the service's code: 40 + Refused's index 2");
        let (next, seq, sent) = &out[1];
        assert_eq!((next.as_str(), *seq, sent.svc.as_str(), sent.sn, sent.payload.as_slice()), (icon_link.as_str(), 4, "test", 3, &b"pong"[..]));
        assert_eq!(sent.src, s.own, "sent by the service through the BMC while the BMC was handling the relay message");
        let (next, seq, answer) = &out[2];
        assert_eq!(
            (next.as_str(), *seq, answer.dst.as_str(), answer.sn, answer.payload.as_slice()),
            (icon_link.as_str(), 5, icon_link.as_str(), 4, &b"pang"[..])
        );
        assert_eq!((answer.src.as_str(), answer.svc.as_str()), (s.own.as_str(), "test"), "the service's answer, sent by the BMC");
        assert_eq!(out[3], (s.eth.link.clone(), 2, onward), "forwarded unchanged on the next link");
        assert_eq!(out.len(), 4);

        let status = s.client.call(&alice, &s.calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rx_seq, status.tx_seq, status.verifier), (6, 5, btp_interfaces::VerifierStatus { height: 101, offset: 100, last_height: 101 }));
        assert_eq!((status.relays[0].block_count, status.relays[0].msg_count, status.rotate_term), (1, 6, 0));
        assert_eq!(s.seqs(&s.eth.link.clone()).await, (0, 2));

        // Fee gathering toward an aggregator on ICON: the service is asked; peers are not (the ICON aggregator's
        // chain gathers its own fees).
        let fa = "btp://0x3.icon/hx00000000000000000000000000000000000000fa".to_string();
        s.client.call(&alice, &s.calls.set_fee_gathering(Some(fa.clone()), 0)).submit().await?.return_value().expect("aggregator");
        s.client.call(&alice, &s.calls.gather_fees()).submit().await?.return_value().expect("gathered");
        assert_eq!(s.received().await.last(), Some(&Received::FeeGathering { fa, svc: "test".into() }));
        assert!(s.sent().is_empty());

        // Relay rotation: ICON's 2 s blocks seen from 12 s blocks, 10 ICON blocks a turn; Bob is the only relay,
        // so every turn is his, and Charlie (not a relay) still may not submit.
        s.client.call(&alice, &s.calls.set_link_rotation(icon_link.clone(), 12_000, 2_000, 10, 3)).submit().await?.return_value().expect("rotation");
        let status = s.client.call(&alice, &s.calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rotate_term, status.rotation.rx_height_src), (2, 101));
        let msg = s.icon.produce(s.own.as_str(), 7, &[s.to_us(&icon, "test", 9, b"turn")]);
        let stranger = s.client.call(&ink_e2e::charlie(), &s.calls.handle_relay_message(icon_link.clone(), msg.clone())).dry_run().await?.return_value();
        assert_eq!(stranger, Err(Error::Unauthorized));
        s.relay(&icon_link, msg).await.expect("Bob's turn");
        let status = s.client.call(&alice, &s.calls.get_status(icon_link)).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rx_seq, status.rotation.rx_height_src), (7, 102));
        Ok(())
    })
}

/// The way past a message that can never be delivered: the owner schedules its seq; when the relay brings it, the
/// BMV verifies it, the BMC skips it and its source hears of it from what the BMV verified, not from anything the
/// owner typed. The messages around it go on as usual.
#[test]
fn scheduled_drop_on_a_real_runtime() -> E2EResult<()> {
    run(async {
        let mut s = Stand::new().await;
        let (icon, icon_link) = (s.icon.address(), s.icon.link.clone());
        let alice = ink_e2e::alice();
        let too_early = s.client.call(&alice, &s.calls.schedule_drop(icon_link.clone(), 0)).dry_run().await?.return_value();
        assert_eq!(too_early, Err(Error::InvalidSeq), "seq 0 was never a message");
        s.client.call(&alice, &s.calls.schedule_drop(icon_link.clone(), 2)).submit().await?.return_value().expect("scheduled");

        let stuck = s.to_us(&icon, "test", 6, b"stuck");
        let msg = s.icon.produce(s.own.as_str(), 1, &[s.to_us(&icon, "test", 5, b"before"), stuck.clone(), s.to_us(&icon, "test", 8, b"after")]);
        s.relay(&icon_link, msg).await.expect("handled");
        let emitted = events::take();
        let dropped: Vec<(String, u64, [u8; 32], Vec<u8>)> = events::decoded::<MessageDropped, _>(&emitted, &s.bmc);
        let mut hash = [0u8; 32];
        ink::env::hash_bytes::<ink::env::hash::Blake2x256>(&stuck.encode(), &mut hash);
        assert_eq!(dropped, vec![(icon_link.clone(), 2, hash, stuck.encode())], "the verified message, as ICON's BMC sent it");
        let out: Vec<_> = events::bmc_messages(&emitted, &s.bmc).into_iter().map(|(_, seq, m)| (seq, BtpMessage::decode(&m).unwrap())).collect();
        let [(seq, reply)] = out.as_slice() else { panic!("one error reply: {out:?}") };
        assert_eq!((*seq, reply.dst.as_str(), reply.svc.as_str(), reply.sn), (3, icon_link.as_str(), "test", -6));
        assert_eq!(ErrorMessage::decode(&reply.payload).unwrap().code, bmc::routing::code::DROPPED);
        let delivered: Vec<Vec<u8>> =
            s.received().await.into_iter().filter_map(|r| if let Received::Message { msg, .. } = r { Some(msg) } else { None }).collect();
        assert_eq!(delivered, vec![b"before".to_vec(), b"after".to_vec()]);
        assert_eq!(s.seqs(&icon_link).await, (3, 3), "all three count");
        let link = s.client.call(&alice, &s.calls.link(icon_link.clone())).dry_run().await?.return_value().expect("link");
        assert!(link.drops.is_empty(), "dropped once");
        Ok(())
    })
}

/// A service that never returns gets the BMC's service gas limit per message and no more: the batch it is in
/// fails at the batch's limit, the loop fails alone at one message's limit with an error reply, and the messages
/// beside it in the same relay message are delivered. Consecutive messages that all go through take one call.
#[test]
fn looping_service_fails_alone() -> E2EResult<()> {
    run(async {
        let mut s = Stand::new().await;
        let (icon, icon_link) = (s.icon.address(), s.icon.link.clone());
        let msg = s.icon.produce(s.own.as_str(), 1, &[s.to_us(&icon, "test", 1, b"a"), s.to_us(&icon, "test", 2, b"b"), s.to_us(&icon, "test", 3, b"c")]);
        s.relay(&icon_link, msg).await.expect("handled");
        assert_eq!(s.batches().await, vec![3], "three messages, one call");

        let msg =
            s.icon.produce(s.own.as_str(), 4, &[s.to_us(&icon, "test", 4, b"hello"), s.to_us(&icon, "test", 5, b"loop"), s.to_us(&icon, "test", 6, b"after")]);
        let call = s.calls.handle_relay_message(icon_link.clone(), msg);
        // A dry run in which a service ran out of gas may count less than the call needs (pallet-contracts does
        // not always count what such a frame used): like a relay, give the service gas of the messages on top.
        let result = s.client.call(&ink_e2e::bob(), &call).extra_gas_portion(200).submit().await?;
        let gas = result.dry_run.exec_result.gas_consumed;
        result.return_value().expect("the relay message is taken");
        let limit = s.client.call(&ink_e2e::alice(), &s.calls.service_gas()).dry_run().await?.return_value();
        // Unbounded, the loop would take the whole block's 375 G and the relay message would fail. (What
        // pallet-contracts charges for a frame that ran out of fuel varies with where the loop stood, so only the
        // bound is checked.)
        assert!(gas.ref_time() < 4 * limit.ref_time + 20_000_000_000, "the batch of three at most its limit, the loop alone at most its own: {gas:?}");
        let delivered = s.delivered_sns().await;
        assert_eq!(delivered, vec![1, 2, 3, 4, 6]);
        assert_eq!(s.batches().await, vec![3, 1, 1], "the trapped batch and the lone loop left nothing");
        let replies = s.sent();
        let [(_, _, reply)] = replies.as_slice() else { panic!("one error reply: {replies:?}") };
        assert_eq!((reply.sn, ErrorMessage::decode(&reply.payload).unwrap().code), (-5, 40), "a trap is the service range's base");
        assert_eq!(s.seqs(&icon_link).await.0, 6);
        Ok(())
    })
}

/// A peer speaks only for the networks this chain reaches through it: the second peer's BMC claiming to relay ICON's
/// messages (a request, an error report, an internal message) is refused, and a `FeeGathering` from ICON names
/// only the aggregator the owner approved for ICON's link.
#[test]
fn forged_source_on_another_link_is_refused() -> E2EResult<()> {
    run(async {
        let mut s = Stand::new().await;
        let (icon, eth_link) = (s.icon.address(), s.eth.link.clone());
        let forged_internal = s.to_us(&icon, "bmc", 0, &BmcMessage::Link { link: BtpAddress::parse("btp://0x9.bsc/0x04").unwrap() }.encode());
        let messages = [s.to_us(&icon, "test", 3, b"mint for me"), s.to_us(&icon, "test", -4, &ErrorMessage::new(40, "refund me").encode()), forged_internal];
        let msg = s.eth.produce(s.own.as_str(), 1, &messages);
        s.relay(&eth_link, msg).await.expect("verified, then refused message by message");
        assert!(s.received().await.is_empty(), "nothing reached the service");
        let emitted = events::take();
        assert!(events::bmc_messages(&emitted, &s.bmc).is_empty(), "no error reply: signed by us, it would reach ICON as a refund order");
        let forged: Vec<(String, u64, String, String, i128)> = events::decoded::<ForgedMessage, _>(&emitted, &s.bmc);
        let seqs: Vec<(u64, i128)> = forged
            .iter()
            .map(|(_, seq, src, _, sn)| {
                assert_eq!(src, icon.as_str());
                (*seq, *sn)
            })
            .collect();
        assert_eq!(seqs, vec![(1, 3), (2, -4), (3, 0)]);
        let links = s.client.call(&ink_e2e::alice(), &s.calls.links()).dry_run().await?.return_value();
        assert!(links.iter().all(|l| l.reachable.is_empty()), "no route was planted");
        assert_eq!(s.seqs(&eth_link).await, (3, 1), "the messages were taken all the same: the link goes on");

        // Nor may the second peer announce ICON's network, or this chain's, as reachable through itself.
        let claims = [BmcMessage::Link { link: icon.clone() }, BmcMessage::Link { link: s.own.clone() }];
        let eth = s.eth.address();
        let announcements: Vec<BtpMessage> = claims.iter().map(|m| s.to_us(&eth, "bmc", 0, &m.encode())).collect();
        let msg = s.eth.produce(s.own.as_str(), 4, &announcements);
        s.relay(&eth_link, msg).await.expect("handled");
        let links = s.client.call(&ink_e2e::alice(), &s.calls.links()).dry_run().await?.return_value();
        assert!(links.iter().all(|l| l.reachable.is_empty()), "both claims ignored");

        // FeeGathering from ICON: ignored until the owner approves that aggregator for the ICON link.
        let fa = BtpAddress::parse("btp://0x3.icon/hx00000000000000000000000000000000000000fa").unwrap();
        let gathering = |s: &Stand| s.to_us(&icon, "bmc", 0, &BmcMessage::FeeGathering { fee_aggregator: fa.clone(), services: vec!["test".into()] }.encode());
        let icon_link = s.icon.link.clone();
        let msg = s.icon.produce(s.own.as_str(), 1, &[gathering(&s)]);
        s.relay(&icon_link, msg).await.expect("handled");
        assert!(s.received().await.is_empty(), "an aggregator nobody approved");
        s.client
            .call(&ink_e2e::alice(), &s.calls.set_link_fee_aggregator(icon_link.clone(), Some(fa.as_str().into())))
            .submit()
            .await?
            .return_value()
            .expect("approved");
        let msg = s.icon.produce(s.own.as_str(), 2, &[gathering(&s)]);
        s.relay(&icon_link, msg).await.expect("handled");
        assert_eq!(s.received().await, vec![Received::FeeGathering { fa: fa.as_str().into(), svc: "test".into() }]);
        Ok(())
    })
}

/// A relay message near the length limit made of large BTP messages (fourteen of 12 KiB, forwarded to the second
/// link): the BMV answers with where the messages lie in the relay message, not with copies, so the answer never
/// competes with the relay message for the contracts' I/O buffer; and the BMC's buffers for each message are
/// reused, so their sum never outgrows its memory.
#[test]
fn large_messages_fill_a_relay_message() -> E2EResult<()> {
    run(async {
        let mut s = Stand::new().await;
        let (icon, icon_link, eth) = (s.icon.address(), s.icon.link.clone(), s.eth.address());
        let messages: Vec<BtpMessage> = (1..=14u8).map(|sn| BtpMessage { dst: eth.clone(), ..s.to_us(&icon, "test", sn.into(), &[sn; 12 * 1024]) }).collect();
        let msg = s.icon.produce(s.own.as_str(), 1, &messages);
        assert!(msg.len() > btp_primitives::bmc::MAX_RELAY_MESSAGE_LEN * 9 / 10, "{} bytes", msg.len());
        s.relay(&icon_link, msg).await.expect("handled");
        let forwarded: Vec<BtpMessage> = s.sent().into_iter().map(|(next, _, m)| (next == s.eth.link).then_some(m).expect("on the second link")).collect();
        assert_eq!(forwarded, messages, "all fourteen, unchanged");
        assert_eq!(s.seqs(&icon_link).await.0, 14);
        Ok(())
    })
}

/// A service that answers with the wrong number of answers kept what it did: its messages count as delivered,
/// never handed over a second time and never refused (an error reply would have the source refund a transfer the
/// service may have carried out).
#[test]
fn garbled_answers_are_delivered_once() -> E2EResult<()> {
    run(async {
        let mut s = Stand::new().await;
        let (icon, icon_link) = (s.icon.address(), s.icon.link.clone());
        let msg = s.icon.produce(s.own.as_str(), 1, &[s.to_us(&icon, "test", 1, b"first"), s.to_us(&icon, "test", 2, b"garble")]);
        s.relay(&icon_link, msg).await.expect("handled");
        let msg = s.icon.produce(s.own.as_str(), 3, &[s.to_us(&icon, "test", 3, b"garble")]);
        s.relay(&icon_link, msg).await.expect("handled");
        let delivered = s.delivered_sns().await;
        assert_eq!(delivered, vec![1, 2, 3], "each once");
        assert_eq!(s.batches().await, vec![2, 1]);
        let emitted = events::take();
        let garbled: Vec<(String, u32)> = events::decoded::<AnswersGarbled, _>(&emitted, &s.bmc);
        assert_eq!(garbled, vec![("test".to_string(), 2), ("test".to_string(), 1)]);
        assert!(events::bmc_messages(&emitted, &s.bmc).is_empty(), "no error reply");
        assert_eq!(s.seqs(&icon_link).await, (3, 2));
        Ok(())
    })
}
