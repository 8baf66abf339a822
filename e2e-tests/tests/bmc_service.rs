//! The BMC with a service on pallet-contracts: BMC + BMV + the test service, relay messages built and signed by
//! the ICON test chain. Delivery, a refusing service's error reply, a service answering while the BMC handles the
//! relay message, forwarding to a second link, an error report handed to the service, `drop_message`, fee
//! gathering, relay rotation, and `get_status` after each step.
#![cfg(feature = "e2e-tests")]

use bmc::bmc::{Bmc, BmcRef};
use bmv_icon::bmv_icon::BmvIconRef;
use btp_e2e_tests::{client, events, run};
use btp_primitives::{address::hex_account, BtpAddress, BtpMessage, ErrorMessage, IconAddress};
use icon_testnet::{
    chain::ReceiptRef,
    receipt::{EventLog, Receipt},
    TestChain, Validator,
};
use ink_e2e::{AccountKeyring, ContractsBackend};
use test_service::test_service::{Received, TestService, TestServiceRef};

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

const ETH: &str = "btp://0x5.eth/0x0000000000000000000000000000000000000005";

/// The BMC's `Message` events among `emitted`, as (next, seq, BTP message).
fn sent(emitted: &[events::Emitted], bmc: &ink::primitives::AccountId) -> Vec<(String, u64, BtpMessage)> {
    events::bmc_messages(emitted, bmc).into_iter().map(|(next, seq, msg)| (next, seq, BtpMessage::decode(&msg).expect("a BTP message"))).collect()
}

#[test]
fn the_bmc_delivers_refuses_forwards_and_drops() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let alice = ink_e2e::alice();
        let bmc = client.instantiate("bmc", &alice, &mut BmcRef::new("0x501.pra".into())).submit().await.expect("instantiate bmc");
        let mut calls = bmc.call_builder::<Bmc>();
        let bmc_address = format!("btp://0x501.pra/{}", hex_account(bmc.account_id.as_ref()));
        let own = BtpAddress::parse(&bmc_address).unwrap();

        let mut chain = TestChain::new("0x3.icon", Validator::set(1, 4), 100);
        let icon_bmc = IconAddress::parse("cx00000000000000000000000000000000000000b1").unwrap();
        let icon_link = format!("btp://0x3.icon/{icon_bmc}");
        let icon = BtpAddress::parse(&icon_link).unwrap();
        let mut bmv_ctor = BmvIconRef::new(bmc.account_id, bmc_address.clone(), "0x3.icon".into(), chain.voters_list(), 100, 0, 0, false, Some(chain.last().id()));
        let bmv = client.instantiate("bmv_icon", &alice, &mut bmv_ctor).submit().await.expect("instantiate bmv");
        let service = client.instantiate("test_service", &alice, &mut TestServiceRef::new(bmc.account_id)).submit().await.expect("instantiate service");
        let service_calls = service.call_builder::<TestService>();

        let relay = ink_e2e::account_id(AccountKeyring::Bob);
        client.call(&alice, &calls.add_verifier("0x3.icon".into(), bmv.account_id)).submit().await?.return_value().expect("verifier");
        // Messages never come from the Ethereum link in this test; its BMV only has to exist.
        client.call(&alice, &calls.add_verifier("0x5.eth".into(), bmv.account_id)).submit().await?.return_value().expect("verifier");
        client.call(&alice, &calls.add_service("test".into(), service.account_id)).submit().await?.return_value().expect("service");
        client.call(&alice, &calls.add_link(icon_link.clone())).submit().await?.return_value().expect("link");
        client.call(&alice, &calls.add_link(ETH.into())).submit().await?.return_value().expect("link");
        client.call(&alice, &calls.add_relay(icon_link.clone(), relay)).submit().await?.return_value().expect("relay");
        events::take();

        // Block 101: five messages from ICON's BMC, seq 1 to 5.
        let to_us = |svc: &str, sn: i128, payload: &[u8]| BtpMessage { src: icon.clone(), dst: own.clone(), svc: svc.into(), sn, payload: payload.to_vec() };
        let onward = BtpMessage { dst: BtpAddress::parse(ETH).unwrap(), ..to_us("test", 4, b"onward") };
        let report = to_us("test", -7, &ErrorMessage::new(42, "refused over there").encode());
        let messages = [to_us("test", 1, b"hello"), to_us("test", 2, b"refuse"), to_us("test", 3, b"reply:pong"), onward.clone(), report];
        let logs = messages.iter().zip(1..).map(|(m, seq)| EventLog::bmc_message(icon_bmc, &bmc_address, seq, m.encode())).collect();
        chain.produce(vec![Receipt::success(icon_bmc, logs)]);
        let msg = chain.relay_message(101, 101, &[ReceiptRef { index: 0, events: vec![0, 1, 2, 3, 4] }]);
        client.call(&ink_e2e::bob(), &calls.handle_relay_message(icon_link.clone(), msg)).submit().await?.return_value().expect("handled");

        let received = client.call(&alice, &service_calls.received()).dry_run().await?.return_value();
        assert_eq!(
            received,
            vec![
                Received::Message { src: "0x3.icon".into(), svc: "test".into(), sn: 1, msg: b"hello".to_vec() },
                Received::Message { src: "0x3.icon".into(), svc: "test".into(), sn: 3, msg: b"reply:pong".to_vec() },
                Received::Error { src: icon_link.clone(), svc: "test".into(), sn: 7, code: 42, msg: "refused over there".into() },
            ],
            "delivered in order; the refused message left no trace in the service"
        );
        let out = sent(&events::take(), &bmc.account_id);
        // Init and Link took seq 1 and 2 on the ICON link, Init seq 1 on the Ethereum link.
        let (next, seq, refusal) = &out[0];
        assert_eq!((next.as_str(), *seq, refusal.dst.as_str(), refusal.sn), (icon_link.as_str(), 3, icon_link.as_str(), -2));
        assert_eq!(ErrorMessage::decode(&refusal.payload).unwrap().code, 42, "the service's code: 40 + Refused's index 2");
        let (next, seq, answer) = &out[1];
        assert_eq!((next.as_str(), *seq, answer.svc.as_str(), answer.sn, answer.payload.as_slice()), (icon_link.as_str(), 4, "test", 3, &b"pong"[..]));
        assert_eq!(answer.src, own, "sent by the service through the BMC while the BMC was handling the relay message");
        assert_eq!(out[2], (ETH.to_string(), 2, onward), "forwarded unchanged on the next link");
        assert_eq!(out.len(), 3);

        let status = client.call(&alice, &calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rx_seq, status.tx_seq, status.verifier), (5, 4, (101, 100, 101)));
        assert_eq!((status.relays[0].block_count, status.relays[0].msg_count, status.rotate_term), (1, 5, 0));
        let eth = client.call(&alice, &calls.get_status(ETH.into())).dry_run().await?.return_value().expect("status");
        assert_eq!((eth.rx_seq, eth.tx_seq), (0, 2));

        // Block 102: seq 6 can never be delivered (say its service is gone for good); seq 7 can. The owner drops
        // 6, which tells its source; the relay goes on from 7.
        let stuck = to_us("test", 6, b"stuck");
        let logs = vec![
            EventLog::bmc_message(icon_bmc, &bmc_address, 6, stuck.encode()),
            EventLog::bmc_message(icon_bmc, &bmc_address, 7, to_us("test", 8, b"after").encode()),
        ];
        chain.produce(vec![Receipt::success(icon_bmc, logs)]);
        client.call(&alice, &calls.drop_message(icon_link.clone(), 6, icon_link.clone(), "test".into(), 6)).submit().await?.return_value().expect("dropped");
        let (_, seq, reply) = sent(&events::take(), &bmc.account_id).pop().expect("the error reply");
        assert_eq!((seq, reply.dst.as_str(), reply.svc.as_str(), reply.sn), (5, icon_link.as_str(), "test", -6));
        let status = client.call(&alice, &calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rx_seq, status.tx_seq), (6, 5));

        let whole = chain.relay_message(102, 102, &[ReceiptRef { index: 0, events: vec![0, 1] }]);
        let refused = client.call(&ink_e2e::bob(), &calls.handle_relay_message(icon_link.clone(), whole)).dry_run().await?.return_value();
        assert_eq!(refused, Err(bmc::bmc::Error::Verifier(28)), "the dropped message is behind the link now: InvalidSequence");
        let rest = chain.relay_message(102, 102, &[ReceiptRef { index: 0, events: vec![1] }]);
        client.call(&ink_e2e::bob(), &calls.handle_relay_message(icon_link.clone(), rest)).submit().await?.return_value().expect("handled");
        let received = client.call(&alice, &service_calls.received()).dry_run().await?.return_value();
        assert_eq!(received.last(), Some(&Received::Message { src: "0x3.icon".into(), svc: "test".into(), sn: 8, msg: b"after".to_vec() }));
        let status = client.call(&alice, &calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rx_seq, status.tx_seq, status.verifier.0), (7, 5, 102));

        // Fee gathering toward an aggregator on ICON: the service is asked; peers are not (they would refuse an
        // aggregator that is not on their own network... the ICON aggregator's chain gathers its own fees).
        let fa = "btp://0x3.icon/hx00000000000000000000000000000000000000fa".to_string();
        client.call(&alice, &calls.set_fee_gathering(Some(fa.clone()), 0)).submit().await?.return_value().expect("aggregator");
        client.call(&alice, &calls.gather_fees()).submit().await?.return_value().expect("gathered");
        let received = client.call(&alice, &service_calls.received()).dry_run().await?.return_value();
        assert_eq!(received.last(), Some(&Received::FeeGathering { fa, svc: "test".into() }));
        assert!(sent(&events::take(), &bmc.account_id).is_empty());

        // Relay rotation: ICON's 2 s blocks seen from 12 s blocks, 10 ICON blocks a turn; Bob is the only relay,
        // so every turn is his, and Charlie (not a relay) still may not submit.
        client.call(&alice, &calls.set_link_rotation(icon_link.clone(), 12_000, 2_000, 10, 3)).submit().await?.return_value().expect("rotation");
        let status = client.call(&alice, &calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rotate_term, status.rotation.rx_height_src), (2, 102));
        chain.produce(vec![Receipt::success(icon_bmc, vec![EventLog::bmc_message(icon_bmc, &bmc_address, 8, to_us("test", 9, b"turn").encode())])]);
        let msg = chain.relay_message(103, 103, &[ReceiptRef { index: 0, events: vec![0] }]);
        let stranger = client.call(&ink_e2e::charlie(), &calls.handle_relay_message(icon_link.clone(), msg.clone())).dry_run().await?.return_value();
        assert_eq!(stranger, Err(bmc::bmc::Error::Unauthorized));
        client.call(&ink_e2e::bob(), &calls.handle_relay_message(icon_link.clone(), msg)).submit().await?.return_value().expect("Bob's turn");
        let status = client.call(&alice, &calls.get_status(icon_link)).dry_run().await?.return_value().expect("status");
        assert_eq!((status.rx_seq, status.rotation.rx_height_src), (8, 103));
        Ok(())
    })
}
