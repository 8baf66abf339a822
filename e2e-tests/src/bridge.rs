//! Both chains and the relay between them, for the native-coin e2e tests and the bridge gas benchmark: BMC, BMV
//! and native-coin BSH deployed on the sandbox runtime, the ICON test chain and its BMC and service as ICON. The
//! relay's ICON source (`btp_relay::icon`) builds what goes to the parachain from what the test chain serves, as
//! the `relay` binary does over JSON-RPC; the way back to ICON is carried here until the relay has it.

use crate::{client, events, Client};
use bmc::bmc::{Bmc, BmcRef};
use bmv_icon::bmv_icon::BmvIconRef;
use bsh_nativecoin::bsh_nativecoin::{BshNativecoin, BshNativecoinRef, CoinBalance};
use btp_primitives::{address::hex_account, bmc::relay_message_to_icon, BtpAddress, BtpMessage, IconAddress};
use btp_relay::{
    icon::{BlockStream, IconNode, IconSource},
    lane::{Limit, Position, Segment, Source},
    store::Store,
};
use icon_rpc::monitor::{BlockNotification, EventFilter};
use icon_testnet::{
    btp::IconBtp,
    node::{Backend, LiveNode},
    receipt::{EventLog, Receipt},
    server::matching,
    TestChain, Validator,
};
use ink::primitives::AccountId;
use ink_e2e::{AccountKeyring, ContractsBackend};
use std::sync::Arc;

pub const ICX: u128 = 1_000_000_000_000_000_000;
/// The parachain's coin has 10 decimals.
pub const DOT: u128 = 10_000_000_000;
pub const PARA: &str = "0x501.pra";
pub const ICON_NET: &str = "0x3.icon";

pub type BmcCalls = <Bmc as ink::codegen::ContractCallBuilder>::Type;
pub type BshCalls = <BshNativecoin as ink::codegen::ContractCallBuilder>::Type;

/// Both chains and the relay between them.
pub struct Bridge {
    pub client: Client,
    pub bmc: AccountId,
    pub bmc_calls: BmcCalls,
    pub bmv: AccountId,
    pub bsh: AccountId,
    pub bsh_calls: BshCalls,
    /// ICON: the test chain with its BMC and native-coin service.
    pub node: LiveNode,
    pub para_bmc: BtpAddress,
    pub icon_link: String,
    /// The parachain BMC's messages toward ICON not relayed yet: (seq, RLP BTP message).
    pub outbox: Vec<(u64, Vec<u8>)>,
    /// Every contract event collected so far.
    pub seen: Vec<events::Emitted>,
    /// The relay's store, kept across relay messages as `relay start` keeps it.
    pub store: Arc<Store>,
}

pub fn bob() -> AccountId {
    ink_e2e::account_id(AccountKeyring::Bob)
}

/// Bob's parachain account as a BTP address.
pub fn para_bob() -> BtpAddress {
    BtpAddress::parse(&format!("btp://{PARA}/{}", hex_account(bob().as_ref()))).unwrap()
}

pub fn icon_bob() -> IconAddress {
    IconAddress::parse("hx00000000000000000000000000000000000000b0").unwrap()
}

impl Bridge {
    /// ICON charges 1 ICX a transfer (the seed's fee); the parachain charges 0.1 % + 0.01 DOT of its coin and
    /// 0.1 ICX of wrapped ICX.
    pub async fn new() -> Self {
        let mut client = client();
        let alice = ink_e2e::alice();
        let bmc = client.instantiate("bmc", &alice, &mut BmcRef::new(PARA.into())).submit().await.expect("instantiate bmc");
        let bmc_calls = bmc.call_builder::<Bmc>();
        let para_bmc = BtpAddress::parse(&format!("btp://{PARA}/{}", hex_account(bmc.account_id.as_ref()))).unwrap();

        let chain = TestChain::new(ICON_NET, Validator::set(1, 4), 100);
        let icon_bmc = IconAddress::parse("cx00000000000000000000000000000000000000b1").unwrap();
        let mut icon = IconBtp::new(ICON_NET, icon_bmc, IconAddress::parse("cx00000000000000000000000000000000000000b2").unwrap(), 0, ICX);
        icon.add_link(para_bmc.clone());
        icon.mint(icon_bob(), 1_000 * ICX);
        let icon_link = icon.bmc_address().as_str().to_string();

        let mut bmv_ctor = BmvIconRef::new(bmc.account_id, para_bmc.as_str().into(), ICON_NET.into(), chain.voters_list(), 100, 0, 0, false, chain.last().id());
        let bmv = client.instantiate("bmv_icon", &alice, &mut bmv_ctor).submit().await.expect("instantiate bmv");
        let mut bsh_ctor = BshNativecoinRef::new(bmc.account_id, PARA.into(), "DOT".into(), 10, DOT / 100);
        let bsh = client.instantiate("bsh_nativecoin", &alice, &mut bsh_ctor).submit().await.expect("instantiate bsh");
        let bsh_calls = bsh.call_builder::<BshNativecoin>();

        let mut bridge = Self {
            client,
            bmc: bmc.account_id,
            bmc_calls,
            bmv: bmv.account_id,
            bsh: bsh.account_id,
            bsh_calls,
            node: LiveNode::new(chain, icon),
            para_bmc,
            icon_link,
            outbox: Vec::new(),
            seen: Vec::new(),
            store: Arc::new(Store::in_memory("ICON → parachain").expect("a store")),
        };
        let relay = ink_e2e::account_id(AccountKeyring::Ferdie);
        let c = &mut bridge.client;
        c.call(&alice, &bridge.bsh_calls.register("ICX".into(), "ICX".into(), 18, 0, ICX / 10, vec![ICON_NET.into()]))
            .submit()
            .await
            .unwrap()
            .return_value()
            .expect("register ICX");
        c.call(&alice, &bridge.bmc_calls.add_verifier(ICON_NET.into(), bmv.account_id)).submit().await.unwrap().return_value().expect("verifier");
        c.call(&alice, &bridge.bmc_calls.add_service("nativecoin".into(), bsh.account_id)).submit().await.unwrap().return_value().expect("service");
        c.call(&alice, &bridge.bmc_calls.add_link(bridge.icon_link.clone())).submit().await.unwrap().return_value().expect("link");
        c.call(&alice, &bridge.bmc_calls.add_relay(bridge.icon_link.clone(), relay)).submit().await.unwrap().return_value().expect("relay");
        bridge.collect();
        bridge
    }

    /// Calls to the BMV.
    pub fn bmv_calls(&self) -> crate::BmvCalls {
        ink_e2e::create_call_builder::<bmv_icon::bmv_icon::BmvIcon>(self.bmv)
    }

    /// Moves the parachain BMC's new messages on the ICON link into the outbox.
    pub fn collect(&mut self) {
        let emitted = events::take();
        for (next, seq, msg) in events::bmc_messages(&emitted, &self.bmc) {
            assert_eq!(next, self.icon_link, "only the ICON link exists");
            self.outbox.push((seq, msg));
        }
        self.seen.extend(emitted);
    }

    /// The BTP messages waiting to go to ICON.
    pub fn outgoing(&self) -> Vec<BtpMessage> {
        self.outbox.iter().map(|(_, m)| BtpMessage::decode(m).expect("a BTP message")).collect()
    }

    /// ICON produces a block with `events` in one transaction; the relay submits it with the BMC messages among
    /// them, signed by ICON's validators, to the parachain BMC. Returns the call's weight: (ref_time, proof_size).
    pub async fn relay_to_parachain(&mut self, events: Vec<EventLog>) -> (u64, u64) {
        let msg = self.block_with(events).await;
        self.submit(msg).await
    }

    /// [`Bridge::relay_to_parachain`] as a dry run: its weight, or why it would fail (out of the parachain
    /// block's budget among other things). Nothing changes on the parachain.
    pub async fn try_relay_to_parachain(&mut self, events: Vec<EventLog>) -> Result<(u64, u64), String> {
        let msg = self.block_with(events).await;
        self.try_submit(msg).await
    }

    /// [`Bridge::submit`] as a dry run: its weight, or why it would fail.
    pub async fn try_submit(&mut self, msg: Vec<u8>) -> Result<(u64, u64), String> {
        let call = self.bmc_calls.handle_relay_message(self.icon_link.clone(), msg);
        let result = self.client.call(&ink_e2e::ferdie(), &call).dry_run().await.map_err(|e| format!("{e:?}"))?;
        if result.is_err() {
            return Err(format!("{:?}", result.exec_result.result));
        }
        let gas = result.exec_result.gas_consumed;
        result.return_value().map_err(|e| format!("{e:?}"))?;
        Ok((gas.ref_time(), gas.proof_size()))
    }

    /// ICON produces a block with `events` in one transaction; the relay's ICON source builds the relay message
    /// from the BMC's status: block updates from the BMV's height, the proofs of the messages past its rx_seq.
    async fn block_with(&mut self, events: Vec<EventLog>) -> Vec<u8> {
        let bsh = self.node.btp.bsh;
        self.node.produce(vec![Receipt::success(bsh, events)]);
        self.next_segment(self.para_bmc.as_str().to_string()).await.bytes
    }

    /// The relay's ICON source's next segment to the parachain, from the parachain BMC's status, for the
    /// messages to `destination` (another BMC's address: a relay that sees none of ours, sending only blocks).
    pub async fn next_segment(&mut self, destination: String) -> Segment {
        let status = self.status().await;
        let v = status.verifier;
        let at = Position { rx_seq: status.rx_seq, height: v.height, offset: v.offset, last_height: v.last_height, validators: None };
        let store = match destination == self.para_bmc.as_str() {
            true => self.store.clone(),
            false => Arc::new(Store::in_memory("ICON → elsewhere").expect("a store")),
        };
        let mut source = IconSource::over(InProcess(&self.node), self.node.btp.bmc, destination, store);
        source.segment(at, Limit::blocks(u64::MAX)).await.expect("the relay's ICON source").expect("a segment")
    }

    /// The parachain BMC's status of the ICON link.
    pub async fn status(&mut self) -> bmc::bmc::LinkStatus {
        let call = self.bmc_calls.get_status(self.icon_link.clone());
        self.client.call(&ink_e2e::alice(), &call).dry_run().await.expect("dry run").return_value().expect("the link's status")
    }

    /// Submits a relay message to the parachain BMC as the link's relay; returns the call's weight.
    pub async fn submit(&mut self, msg: Vec<u8>) -> (u64, u64) {
        let call = self.bmc_calls.handle_relay_message(self.icon_link.clone(), msg);
        let result = self.client.call(&ink_e2e::ferdie(), &call).submit().await.expect("submit");
        let gas = result.dry_run.exec_result.gas_consumed;
        result.return_value().expect("the parachain BMC took the relay message");
        self.collect();
        (gas.ref_time(), gas.proof_size())
    }

    /// The relay carries the outbox to ICON's BMC; what ICON emits in answer is returned.
    pub fn relay_to_icon(&mut self) -> Vec<EventLog> {
        let msg = relay_message_to_icon(self.outbox.iter().map(|(seq, m)| (*seq, m.as_slice())));
        self.outbox.clear();
        self.node.btp.handle_relay_message(&self.para_bmc, &msg).expect("ICON's BMC took the relay message")
    }

    pub async fn balance(&mut self, owner: AccountId, coin: &str) -> CoinBalance {
        let call = self.bsh_calls.coin_balance_of(owner, coin.into());
        self.client.call(&ink_e2e::alice(), &call).dry_run().await.expect("dry run").return_value().expect("a known coin")
    }

    /// What ICON holds of `coin` for the parachain: its lock behind wrapped ICX, or the DOT held here behind
    /// ICON's wrapped DOT.
    pub async fn backing(&mut self, coin: &str) -> u128 {
        self.client.call(&ink_e2e::alice(), &self.bsh_calls.backing(coin.into(), ICON_NET.into())).dry_run().await.expect("dry run").return_value()
    }

    pub async fn fees(&mut self) -> Vec<(String, u128)> {
        self.client.call(&ink_e2e::alice(), &self.bsh_calls.accumulated_fees()).dry_run().await.expect("dry run").return_value()
    }

    /// The seed's story up to the response reaching ICON: Bob's 100 ICX on ICON become 99 wrapped ICX here.
    pub async fn seed(&mut self) {
        let to = para_bob();
        let events = self.node.btp.transfer_native_coin(icon_bob(), 100 * ICX, &to).expect("Bob's transfer on ICON");
        self.relay_to_parachain(events).await;
        let answer = self.relay_to_icon();
        assert_eq!(self.node.btp.holdings(), (0, 99 * ICX, ICX), "ICON: 99 ICX locked behind the wrapped ICX, 1 ICX fee");
        assert!(answer.iter().any(|e| e.address == self.node.btp.bsh), "ICON's service ended the transfer");
    }
}

/// ICON as the relay reads it, from the test chain in this process: what `icon-testnet` answers over JSON-RPC and
/// its block monitor, without the socket.
struct InProcess<'a>(&'a LiveNode);

fn not_found(what: &str) -> icon_rpc::Error {
    icon_rpc::Error::Rpc { method: what.into(), code: icon_rpc::code::NOT_FOUND, message: format!("no {what}") }
}

fn height(h: u64) -> i64 {
    i64::try_from(h).unwrap_or(i64::MAX)
}

impl<'a> IconNode for InProcess<'a> {
    type Blocks = Blocks<'a>;
    async fn last_height(&self) -> Result<u64, icon_rpc::Error> {
        Ok(self.0.last_height().max(0) as u64)
    }
    async fn block_header(&self, h: u64) -> Result<Vec<u8>, icon_rpc::Error> {
        self.0.header(height(h)).ok_or_else(|| not_found("block"))
    }
    async fn votes(&self, h: u64) -> Result<Vec<u8>, icon_rpc::Error> {
        self.0.votes(height(h)).ok_or_else(|| not_found("votes"))
    }
    async fn data_by_hash(&self, hash: &[u8; 32]) -> Result<Vec<u8>, icon_rpc::Error> {
        self.0.data_by_hash(hash).ok_or_else(|| not_found("data"))
    }
    async fn proof_for_events(&self, block: &[u8; 32], index: u64, events: &[u64]) -> Result<Vec<Vec<Vec<u8>>>, icon_rpc::Error> {
        Backend::proof_for_events(self.0, block, index, events).map_err(|e| icon_rpc::Error::Rpc { method: "proof".into(), code: e.code, message: e.message })
    }
    async fn blocks(&self, from: u64, filter: &EventFilter) -> Result<Blocks<'a>, icon_rpc::Error> {
        let filter = serde_json::json!({"addr": filter.addr, "event": filter.event, "indexed": filter.indexed});
        Ok(Blocks { node: self.0, next: from, filter })
    }
}

/// The block monitor's notifications, from the test chain.
struct Blocks<'a> {
    node: &'a LiveNode,
    next: u64,
    filter: serde_json::Value,
}

impl BlockStream for Blocks<'_> {
    async fn next(&mut self) -> Result<BlockNotification, icon_rpc::Error> {
        let h = self.next;
        let header = self.node.header(height(h)).ok_or_else(|| not_found("block yet"))?;
        let receipts = matching(self.node, height(h), &self.filter).map_err(|e| icon_rpc::Error::Decode { method: "monitor".into(), reason: e })?;
        self.next += 1;
        Ok(BlockNotification { height: h, hash: icon_light_client::sha3_256(&header), receipts })
    }
}
