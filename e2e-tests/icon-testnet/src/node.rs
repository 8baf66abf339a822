//! What the JSON-RPC server serves: a live node (a [`TestChain`] producing blocks from submitted transactions,
//! with the ICON-side BTP contracts) or a replay of real recorded ICON blocks.

use crate::{
    btp::{IconBtp, IconError, ICX},
    chain::TestChain,
    mpt::MerkleList,
    receipt::{EventLog, Receipt},
};
use base64::{engine::general_purpose::URL_SAFE, Engine};
use btp_primitives::{BtpAddress, IconAddress};
use icon_light_client::{receipt::EventLog as ProvenLog, relay::ReceivedRelayMessage, sha3_256, Hash};
use icon_rpc::transaction;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// A JSON-RPC error as an ICON node reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(-32602, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(-31004, message)
    }
    pub fn method_not_found(method: &str) -> Self {
        Self::new(-32601, format!("method not found: {method}"))
    }
}

pub type RpcResult<T> = Result<T, RpcError>;

/// An event log as the websocket filters see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub address: IconAddress,
    pub indexed: Vec<Vec<u8>>,
}

/// The data an ICON node serves, whatever produces it.
pub trait Backend: Send {
    fn last_height(&self) -> i64;
    fn header(&self, height: i64) -> Option<Vec<u8>>;
    fn votes(&self, height: i64) -> Option<Vec<u8>>;
    fn data_by_hash(&self, hash: &Hash) -> Option<Vec<u8>>;
    fn height_of(&self, block_id: &Hash) -> Option<i64>;
    /// Proof nodes of normal receipt `index` of block `height`.
    fn receipt_proof(&self, height: i64, index: u64) -> Option<Vec<Vec<u8>>>;
    /// Proof nodes of event `event` of that receipt.
    fn event_proof(&self, height: i64, index: u64, event: u64) -> Option<Vec<Vec<u8>>>;
    /// The event logs of each receipt of a block, by receipt index and event index.
    fn events(&self, height: i64) -> Vec<(u64, Vec<(u64, LoggedEvent)>)>;
    /// The proof of receipt `index` of the block with id `block`, then one proof per event of `events`: what
    /// `icx_getProofForEvents` answers.
    fn proof_for_events(&self, block: &Hash, index: u64, events: &[u64]) -> RpcResult<Vec<Vec<Vec<u8>>>> {
        let height = self.height_of(block).ok_or_else(|| RpcError::not_found("no block with that hash"))?;
        let mut out = vec![self.receipt_proof(height, index).ok_or_else(|| RpcError::not_found("no such receipt"))?];
        for event in events {
            out.push(self.event_proof(height, index, *event).ok_or_else(|| RpcError::not_found("no such event"))?);
        }
        Ok(out)
    }
    fn transactions(&self, _height: i64) -> Vec<Value> {
        Vec::new()
    }
    fn send_transaction(&mut self, _params: &Map<String, Value>) -> RpcResult<Hash> {
        Err(RpcError::method_not_found("icx_sendTransaction (replay serves recorded blocks only)"))
    }
    fn transaction_result(&self, _hash: &Hash) -> RpcResult<Value> {
        Err(RpcError::not_found("no transactions in replay"))
    }
    fn balance(&self, _address: &IconAddress) -> RpcResult<u128> {
        Err(RpcError::method_not_found("icx_getBalance (replay)"))
    }
    /// `icx_call`: at the last block, or at block `height` when given (goloop's optional `height`).
    fn call(&self, _to: &IconAddress, _method: &str, _params: &Map<String, Value>, _height: Option<i64>) -> RpcResult<Value> {
        Err(RpcError::method_not_found("icx_call (replay)"))
    }
    /// `debug_estimateStep` (goloop's debug API): executes the unsigned transaction `params` on the last block's
    /// state without keeping anything, and answers the steps it used or its failure as goloop does (a SCORE's
    /// failure with status `s` is error `-30000 - s`).
    fn estimate_step(&mut self, _params: &Map<String, Value>) -> RpcResult<u128> {
        Err(RpcError::method_not_found("debug_estimateStep (replay)"))
    }
    /// Produces the next block; false where blocks are not produced (replay).
    fn produce_block(&mut self) -> bool {
        false
    }
}

/// An event's indexed values as goloop's JSON shows them (`service/txresult` via `scoreapi`): the signature,
/// then each value by the type the signature names — `str` as text, `int` as 0x-hex (`-0x…` below zero),
/// `Address` as `hx…`/`cx…`, `bool` as `0x0`/`0x1`, `bytes` as 0x-hex.
fn indexed_json(indexed: &[Vec<u8>]) -> Vec<String> {
    let Some((signature, values)) = indexed.split_first() else { return Vec::new() };
    std::iter::once(String::from_utf8_lossy(signature).into_owned()).chain(typed_json(signature, values, 0)).collect()
}

/// An event's data values, shown as [`indexed_json`] shows indexed ones: they follow the indexed arguments.
fn data_json(indexed: &[Vec<u8>], data: &[Vec<u8>]) -> Vec<String> {
    let signature = indexed.first().map(Vec::as_slice).unwrap_or_default();
    typed_json(signature, data, indexed.len().saturating_sub(1))
}

/// `values`, the event's arguments `first`, `first + 1`, …, by the types of `signature` (`Name(t1,t2,…)`).
fn typed_json(signature: &[u8], values: &[Vec<u8>], first: usize) -> Vec<String> {
    let signature = String::from_utf8_lossy(signature);
    let types: Vec<&str> = signature.split_once('(').map(|(_, rest)| rest.trim_end_matches(')').split(',').collect()).unwrap_or_default();
    values
        .iter()
        .enumerate()
        .map(|(i, b)| match types.get(first + i).copied() {
            Some("str") => String::from_utf8_lossy(b).into_owned(),
            Some("int") => goloop_int(b),
            Some("bool") => format!("0x{}", u8::from(b.iter().any(|x| *x != 0))),
            Some("Address") if b.len() == 21 => format!("{}{}", if b[0] == 1 { "cx" } else { "hx" }, hex::encode(&b[1..])),
            _ => format!("0x{}", hex::encode(b)),
        })
        .collect()
}

/// A two's-complement big-endian integer as goloop prints it: `0x1f`, `-0x2`, `0x0`.
fn goloop_int(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = bytes.to_vec();
    if negative {
        // Two's complement back to the magnitude: invert, add one.
        let mut carry = true;
        for byte in magnitude.iter_mut().rev() {
            *byte = !*byte;
            if carry {
                let (sum, overflow) = byte.overflowing_add(1);
                *byte = sum;
                carry = overflow;
            }
        }
    }
    let digits = hex::encode(&magnitude);
    let digits = digits.trim_start_matches('0');
    format!("{}0x{}", if negative { "-" } else { "" }, if digits.is_empty() { "0" } else { digits })
}

fn hex_int(v: u128) -> String {
    format!("{v:#x}")
}

fn parse_hex_int(v: Option<&Value>, what: &str) -> RpcResult<u128> {
    let text = v.and_then(Value::as_str).ok_or_else(|| RpcError::invalid_params(format!("missing {what}")))?;
    icon_rpc::parse_t_amount(text).ok_or_else(|| RpcError::invalid_params(format!("{what} is not 0x-hex")))
}

struct TxRecord {
    json: Value,
    result: Option<Value>,
}

/// A node producing blocks: users act through signed transactions, the relay through `handleRelayMessage`.
pub struct LiveNode {
    pub chain: TestChain,
    pub btp: IconBtp,
    /// From this height on, each block's votes are served as those of the block before: valid signatures that
    /// do not sign the block, a source no relay may trust.
    pub forged_votes_from: Option<i64>,
    /// The BMC's owner: the one account whose `addLink` and `addRelay` transactions it takes, as the Java BMC's
    /// owner.
    pub owner: Option<IconAddress>,
    /// Per link, the accounts it takes relay messages from (`addRelay`). A link without any takes them from
    /// anyone, where the Java BMC takes none: this chain's tests that do not care about relays need not register
    /// one.
    relays: HashMap<BtpAddress, Vec<IconAddress>>,
    /// Per link: who relayed how many messages, and the height of the last block that took some.
    relayed: HashMap<BtpAddress, Relayed>,
    nid: String,
    pool: Vec<(Hash, IconAddress, Map<String, Value>)>,
    txs: HashMap<Hash, TxRecord>,
    block_txs: BTreeMap<i64, Vec<Hash>>,
    by_hash: HashMap<Hash, Vec<u8>>,
    ids: HashMap<Hash, i64>,
    /// The BMC's links' sequence numbers after each block: what `getStatus` at the next height answers.
    link_history: BTreeMap<i64, BTreeMap<BtpAddress, crate::btp::LinkStatus>>,
}

/// What the BMC counts of a link's relays for its status.
#[derive(Debug, Default, Clone)]
struct Relayed {
    /// Relay address → messages it delivered, in the order relays first delivered.
    messages: Vec<(IconAddress, u64)>,
    rx_height: i64,
}

/// goloop's failure code for a SCORE that reverted.
const FAILURE_REVERTED: i64 = 32;
/// The Java BMC's `Unauthorized` (BTP code 11) as goloop reports it: a user revert, 32 + the code.
const FAILURE_UNAUTHORIZED: i64 = FAILURE_REVERTED + 11;
/// The steps a transaction uses here: a fixed figure, as the test chain meters nothing.
const STEPS_USED: u128 = 100_000;
const FAILURE_METHOD_NOT_FOUND: i64 = 3;

impl LiveNode {
    /// `nid` is the network id transactions must carry (e.g. `0x3` for network `0x3.icon`).
    pub fn new(chain: TestChain, btp: IconBtp) -> Self {
        let nid = chain.network().split('.').next().unwrap_or_default().to_string();
        let mut node = Self {
            chain,
            btp,
            forged_votes_from: None,
            owner: None,
            relays: HashMap::new(),
            relayed: HashMap::new(),
            nid,
            pool: Vec::new(),
            txs: HashMap::new(),
            block_txs: BTreeMap::new(),
            by_hash: HashMap::new(),
            ids: HashMap::new(),
            link_history: BTreeMap::new(),
        };
        node.index_block(node.chain.offset());
        node
    }

    /// Lets `relay` relay on `link`, as the owner's `addRelay` does.
    pub fn add_relay(&mut self, link: BtpAddress, relay: IconAddress) {
        let relays = self.relays.entry(link).or_default();
        if !relays.contains(&relay) {
            relays.push(relay);
        }
    }

    /// Produces a block of `receipts` (no transactions: the e2e tests' ICON acts on its service directly); its
    /// height.
    pub fn produce(&mut self, receipts: Vec<Receipt>) -> i64 {
        let height = self.chain.produce(receipts).height();
        self.index_block(height);
        height
    }

    fn index_block(&mut self, height: i64) {
        let block = self.chain.block(height).expect("produced block").clone();
        self.by_hash.insert(block.id(), block.header_bytes.clone());
        self.by_hash.insert(sha3_256(&block.votes), block.votes.clone());
        self.ids.insert(block.id(), height);
        self.link_history.insert(height, self.btp.links().clone());
        let list = block.next_validators.clone().unwrap_or_else(|| self.chain.voters_list());
        self.by_hash.insert(sha3_256(&list), list);
    }

    /// The Java BMC's `getStatus(_link)` (`chain/icon/type.go#BMCStatus`). This BMC takes the parachain's
    /// messages without a light client of the parachain (the relay's way back brings one), so its verifier
    /// stands at height 0 and no relay is credited with blocks; relays are not rotated (`rotate_term` 0); the
    /// block intervals, which the node does not know, are 0.
    fn link_status_json(&self, link: &BtpAddress, status: &crate::btp::LinkStatus) -> Value {
        let relayed = self.relayed.get(link);
        let relays: Vec<Value> = relayed
            .map(|r| {
                r.messages
                    .iter()
                    .map(|(relay, count)| json!({"address": relay.to_string(), "block_count": "0x0", "msg_count": hex_int(u128::from(*count))}))
                    .collect()
            })
            .unwrap_or_default();
        let zero = hex_int(0);
        json!({
            "tx_seq": hex_int(status.tx_seq as u128),
            "rx_seq": hex_int(status.rx_seq as u128),
            "verifier": {"height": zero, "offset": zero, "last_height": zero},
            "relays": relays,
            "relay_idx": zero,
            "rotate_height": zero,
            "rotate_term": zero,
            "delay_limit": zero,
            "max_agg": zero,
            "cur_height": hex_int(self.chain.height() as u128),
            "rx_height": hex_int(relayed.map_or(0, |r| r.rx_height) as u128),
            "rx_height_src": zero,
            "block_interval_src": zero,
            "block_interval_dst": zero,
        })
    }

    fn apply(&mut self, from: IconAddress, params: &Map<String, Value>) -> Result<(IconAddress, Vec<EventLog>), (IconAddress, i64, String)> {
        let to_text = params.get("to").and_then(Value::as_str).unwrap_or_default();
        let to = IconAddress::parse(to_text).map_err(|_| (from, FAILURE_METHOD_NOT_FOUND, "invalid to".to_string()))?;
        let value = parse_hex_int(params.get("value"), "value").unwrap_or(0);
        let reverted = |e: IconError| (to, FAILURE_REVERTED, format!("{e:?}"));
        let data = params.get("data").cloned().unwrap_or(Value::Null);
        let method = data.get("method").and_then(Value::as_str).unwrap_or_default();
        let args = data.get("params").cloned().unwrap_or(json!({}));
        let arg = |name: &str| args.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
        if params.get("dataType").and_then(Value::as_str) != Some("call") {
            return self.btp.transfer(from, to, value).map(|()| (to, Vec::new())).map_err(reverted);
        }
        if to == self.btp.bsh && method == "transferNativeCoin" {
            let target = BtpAddress::parse(&arg("_to")).map_err(|_| (to, FAILURE_REVERTED, "invalid _to".to_string()))?;
            return self.btp.transfer_native_coin(from, value, &target).map(|e| (to, e)).map_err(reverted);
        }
        if to == self.btp.bsh && method == "reclaim" && arg("_coinName") == ICX {
            let amount = parse_hex_int(args.get("_value"), "_value").map_err(|e| (to, FAILURE_REVERTED, e.message))?;
            return self.btp.reclaim(from, amount).map(|()| (to, Vec::new())).map_err(reverted);
        }
        if to == self.btp.bmc && method == "addLink" {
            if self.owner != Some(from) {
                return Err((to, FAILURE_REVERTED, "Unauthorized: only the BMC's owner adds links".to_string()));
            }
            let link = BtpAddress::parse(&arg("_link")).map_err(|_| (to, FAILURE_REVERTED, "invalid _link".to_string()))?;
            if self.btp.link_status(&link).is_some() {
                return Err((to, FAILURE_REVERTED, format!("AlreadyExistsLink: {}", link.as_str())));
            }
            self.btp.add_link(link);
            return Ok((to, Vec::new()));
        }
        if to == self.btp.bmc && method == "addRelay" {
            if self.owner != Some(from) {
                return Err((to, FAILURE_UNAUTHORIZED, "Unauthorized: only the BMC's owner adds relays".to_string()));
            }
            let link = BtpAddress::parse(&arg("_link")).map_err(|_| (to, FAILURE_REVERTED, "invalid _link".to_string()))?;
            let relay = IconAddress::parse(&arg("_addr")).map_err(|_| (to, FAILURE_REVERTED, "invalid _addr".to_string()))?;
            self.add_relay(link, relay);
            return Ok((to, Vec::new()));
        }
        if to == self.btp.bmc && method == "handleRelayMessage" {
            let prev = BtpAddress::parse(&arg("_prev")).map_err(|_| (to, FAILURE_REVERTED, "invalid _prev".to_string()))?;
            if self.relays.get(&prev).is_some_and(|relays| !relays.contains(&from)) {
                return Err((to, FAILURE_UNAUTHORIZED, format!("Unauthorized: {from} is not a relay of {}", prev.as_str())));
            }
            let msg = URL_SAFE.decode(arg("_msg")).map_err(|_| (to, FAILURE_REVERTED, "_msg is not base64url".to_string()))?;
            let before = self.btp.link_status(&prev).map_or(0, |l| l.rx_seq);
            let events = self.btp.handle_relay_message(&prev, &msg).map_err(reverted)?;
            let delivered = self.btp.link_status(&prev).map_or(0, |l| l.rx_seq) - before;
            let relayed = self.relayed.entry(prev).or_default();
            match relayed.messages.iter_mut().find(|(relay, _)| *relay == from) {
                Some((_, count)) => *count += delivered as u64,
                None => relayed.messages.push((from, delivered as u64)),
            }
            if delivered > 0 {
                relayed.rx_height = self.chain.height() + 1;
            }
            return Ok((to, events));
        }
        Err((to, FAILURE_METHOD_NOT_FOUND, format!("no method {method} at {to}")))
    }
}

impl Backend for LiveNode {
    fn last_height(&self) -> i64 {
        self.chain.height()
    }
    fn header(&self, height: i64) -> Option<Vec<u8>> {
        self.chain.block(height).map(|b| b.header_bytes.clone())
    }
    fn votes(&self, height: i64) -> Option<Vec<u8>> {
        let served = match self.forged_votes_from {
            Some(from) if height >= from => height - 1,
            _ => height,
        };
        self.chain.block(served).map(|b| b.votes.clone())
    }
    fn data_by_hash(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.by_hash.get(hash).cloned()
    }
    fn height_of(&self, block_id: &Hash) -> Option<i64> {
        self.ids.get(block_id).copied()
    }
    fn receipt_proof(&self, height: i64, index: u64) -> Option<Vec<Vec<u8>>> {
        let receipts: Vec<Vec<u8>> = self.chain.block(height)?.receipts.iter().map(Receipt::encode).collect();
        MerkleList::new(&receipts).proof(index)
    }
    fn event_proof(&self, height: i64, index: u64, event: u64) -> Option<Vec<Vec<u8>>> {
        self.chain.block(height)?.receipts.get(usize::try_from(index).ok()?)?.event_list().proof(event)
    }
    fn events(&self, height: i64) -> Vec<(u64, Vec<(u64, LoggedEvent)>)> {
        let Some(block) = self.chain.block(height) else { return Vec::new() };
        block
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (i as u64, r.event_logs.iter().enumerate().map(|(j, e)| (j as u64, LoggedEvent { address: e.address, indexed: e.indexed.clone() })).collect())
            })
            .collect()
    }
    fn transactions(&self, height: i64) -> Vec<Value> {
        self.block_txs.get(&height).map(|hs| hs.iter().filter_map(|h| self.txs.get(h)).map(|t| t.json.clone()).collect()).unwrap_or_default()
    }
    fn send_transaction(&mut self, params: &Map<String, Value>) -> RpcResult<Hash> {
        if params.get("version").and_then(Value::as_str) != Some("0x3") {
            return Err(RpcError::invalid_params("version must be 0x3"));
        }
        if params.get("nid").and_then(Value::as_str) != Some(self.nid.as_str()) {
            return Err(RpcError::invalid_params(format!("nid must be {}", self.nid)));
        }
        let from = transaction::verify(params).map_err(|e| RpcError::invalid_params(format!("invalid signature: {e:?}")))?;
        let hash = transaction::hash(params);
        if self.txs.contains_key(&hash) {
            return Err(RpcError::new(-31000, "2000: duplicate transaction"));
        }
        let mut json = Value::Object(params.clone());
        json["txHash"] = format!("0x{}", hex::encode(hash)).into();
        self.txs.insert(hash, TxRecord { json, result: None });
        self.pool.push((hash, from, params.clone()));
        Ok(hash)
    }
    fn transaction_result(&self, hash: &Hash) -> RpcResult<Value> {
        match self.txs.get(hash) {
            None => Err(RpcError::not_found("no such transaction")),
            Some(TxRecord { result: None, .. }) => Err(RpcError::new(icon_rpc::code::PENDING, "pending")),
            Some(TxRecord { result: Some(r), .. }) => Ok(r.clone()),
        }
    }
    fn balance(&self, address: &IconAddress) -> RpcResult<u128> {
        Ok(self.btp.balance(address))
    }
    fn call(&self, to: &IconAddress, method: &str, params: &Map<String, Value>, height: Option<i64>) -> RpcResult<Value> {
        let arg = |name: &str| params.get(name).and_then(Value::as_str).unwrap_or_default();
        if let Some(h) = height {
            // Only the sequence numbers are kept per block: the one past state a relay reads (stuck links, traces).
            if *to != self.btp.bmc || method != "getStatus" {
                return Err(RpcError::invalid_params(format!("this test chain answers only getStatus at a height, not {method}")));
            }
            // As goloop: block h's result, the state after block h − 1's transactions.
            let links = h
                .checked_sub(1)
                .filter(|_| h <= self.chain.height())
                .and_then(|before| self.link_history.get(&before))
                .ok_or_else(|| RpcError::not_found(format!("no block at height {h}")))?;
            let link = BtpAddress::parse(arg("_link")).map_err(|_| RpcError::invalid_params("_link"))?;
            let status = links.get(&link).ok_or_else(|| RpcError::new(-30000 - 18, "NotExistsLink"))?;
            return Ok(self.link_status_json(&link, status));
        }
        if *to == self.btp.bsh && method == "balanceOf" {
            let owner = IconAddress::parse(arg("_owner")).map_err(|_| RpcError::invalid_params("_owner"))?;
            let coin = arg("_coinName");
            let usable = if coin == ICX { self.btp.balance(&owner) } else { self.btp.wrapped_balance(coin, &owner) };
            let refundable = if coin == ICX { self.btp.refundable(&owner) } else { 0 };
            let locked = if coin == ICX { self.btp.locked_of(&owner) } else { 0 };
            return Ok(json!({"usable": hex_int(usable), "locked": hex_int(locked), "refundable": hex_int(refundable)}));
        }
        if *to == self.btp.bmc && method == "getStatus" {
            let link = BtpAddress::parse(arg("_link")).map_err(|_| RpcError::invalid_params("_link"))?;
            let status = self.btp.link_status(&link).ok_or_else(|| RpcError::new(-30000 - 18, "NotExistsLink"))?;
            return Ok(self.link_status_json(&link, &status));
        }
        Err(RpcError::new(-30000 - FAILURE_METHOD_NOT_FOUND, format!("no method {method} at {to}")))
    }
    fn estimate_step(&mut self, params: &Map<String, Value>) -> RpcResult<u128> {
        // Unsigned, as goloop takes it: `from` says who, nobody proves it.
        let from = params.get("from").and_then(Value::as_str).and_then(|f| IconAddress::parse(f).ok()).ok_or_else(|| RpcError::invalid_params("from"))?;
        let (btp, relayed, relays) = (self.btp.clone(), self.relayed.clone(), self.relays.clone());
        let outcome = self.apply(from, params);
        (self.btp, self.relayed, self.relays) = (btp, relayed, relays);
        match outcome {
            Ok(_) => Ok(STEPS_USED),
            Err((_, code, message)) => Err(RpcError::new(-30000 - code, message)),
        }
    }
    fn produce_block(&mut self) -> bool {
        let pool = std::mem::take(&mut self.pool);
        let mut receipts = Vec::new();
        let mut outcomes = Vec::new();
        for (hash, from, params) in pool {
            let (receipt, failure) = match self.apply(from, &params) {
                Ok((to, events)) => (Receipt::success(to, events), None),
                Err((to, code, message)) => (Receipt { status: code, ..Receipt::success(to, Vec::new()) }, Some((code, message))),
            };
            outcomes.push((hash, failure, receipt.clone()));
            receipts.push(receipt);
        }
        let height = self.produce(receipts);
        let block = self.chain.block(height).expect("just produced").clone();
        for (index, (hash, failure, receipt)) in outcomes.into_iter().enumerate() {
            let logs: Vec<Value> = receipt
                .event_logs
                .iter()
                .map(|e| {
                    json!({
                        "scoreAddress": e.address.to_string(),
                        "indexed": indexed_json(&e.indexed),
                        "data": data_json(&e.indexed, &e.data),
                    })
                })
                .collect();
            let mut result = json!({
                "status": if failure.is_none() { "0x1" } else { "0x0" },
                "to": receipt.to.to_string(),
                "txHash": format!("0x{}", hex::encode(hash)),
                "txIndex": hex_int(index as u128),
                "blockHeight": hex_int(block.height() as u128),
                "blockHash": format!("0x{}", hex::encode(block.id())),
                "cumulativeStepUsed": hex_int(receipt.cumulative_step_used),
                "stepUsed": hex_int(receipt.step_used),
                "stepPrice": hex_int(receipt.step_price),
                "eventLogs": logs,
                "logsBloom": "0x",
            });
            if let Some((code, message)) = failure {
                result["failure"] = json!({"code": hex_int(code as u128), "message": message});
            }
            if let Some(tx) = self.txs.get_mut(&hash) {
                tx.result = Some(result);
            }
            self.block_txs.entry(block.height()).or_default().push(hash);
        }
        true
    }
}

/// A recorded block: what real ICON served for it, as far as the vectors hold it.
#[derive(Debug, Clone, Default)]
struct RecordedBlock {
    header: Vec<u8>,
    votes: Option<Vec<u8>>,
    receipt_proofs: BTreeMap<u64, Vec<Vec<u8>>>,
    event_proofs: BTreeMap<(u64, u64), Vec<Vec<u8>>>,
    events: BTreeMap<u64, Vec<(u64, LoggedEvent)>>,
}

/// Serves real ICON blocks recorded in relay-message vectors (headers, votes, validator lists, the receipt and
/// event proofs they carry). Nothing is produced.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    blocks: BTreeMap<i64, RecordedBlock>,
    by_hash: HashMap<Hash, Vec<u8>>,
}

impl Replay {
    /// Adds the blocks of a relay message as real ICON served them.
    pub fn add_relay_message(&mut self, bytes: &[u8]) -> Result<(), String> {
        let message = ReceivedRelayMessage::decode(bytes).and_then(|m| m.collect()).map_err(|e| e.to_string())?;
        let mut last = None;
        for update in &message.block_updates {
            let header = icon_light_client::header::BlockHeader::decode(update.header).map_err(|e| e.to_string())?;
            self.by_hash.insert(header.id, update.header.to_vec());
            if let Some(list) = update.next_validators {
                self.by_hash.insert(sha3_256(list), list.to_vec());
            }
            if let Some(votes) = update.votes {
                self.by_hash.insert(sha3_256(votes), votes.to_vec());
            }
            let block = self.blocks.entry(header.height).or_default();
            block.header = update.header.to_vec();
            block.votes = update.votes.map(<[u8]>::to_vec);
            last = Some(header.height);
        }
        if let Some(proof) = &message.block_proof {
            let header = icon_light_client::header::BlockHeader::decode(proof.header).map_err(|e| e.to_string())?;
            self.by_hash.insert(header.id, proof.header.to_vec());
            self.blocks.entry(header.height).or_default().header = proof.header.to_vec();
            last = Some(header.height);
        }
        let height = last.ok_or("no blocks")?;
        let block = self.blocks.entry(height).or_default();
        for rp in &message.receipt_proofs {
            block.receipt_proofs.insert(rp.index, rp.proof.iter().map(|n| n.to_vec()).collect());
            let mut events = Vec::new();
            for ep in &rp.event_proofs {
                block.event_proofs.insert((rp.index, ep.index), ep.proof.iter().map(|n| n.to_vec()).collect());
                // The event is the value of the proof's leaf node.
                let leaf = ep.proof.last().ok_or("empty event proof")?;
                let value = btp_primitives::rlp::Rlp::new(leaf).and_then(|r| r.fixed::<2>()).and_then(|[_, v]| v.bytes()).map_err(|e| e.to_string())?;
                let log = ProvenLog::decode(value).map_err(|e| e.to_string())?;
                events.push((
                    ep.index,
                    LoggedEvent {
                        address: log.address,
                        indexed: log.indexed().map(|i| i.map(<[u8]>::to_vec)).collect::<Result<_, _>>().map_err(|e| e.to_string())?,
                    },
                ));
            }
            block.events.insert(rp.index, events);
        }
        Ok(())
    }

    pub fn heights(&self) -> Vec<i64> {
        self.blocks.keys().copied().collect()
    }
}

impl Backend for Replay {
    fn last_height(&self) -> i64 {
        self.blocks.keys().next_back().copied().unwrap_or(0)
    }
    fn header(&self, height: i64) -> Option<Vec<u8>> {
        self.blocks.get(&height).map(|b| b.header.clone())
    }
    fn votes(&self, height: i64) -> Option<Vec<u8>> {
        self.blocks.get(&height)?.votes.clone()
    }
    fn data_by_hash(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.by_hash.get(hash).cloned()
    }
    fn height_of(&self, block_id: &Hash) -> Option<i64> {
        self.blocks.iter().find(|(_, b)| sha3_256(&b.header) == *block_id).map(|(h, _)| *h)
    }
    fn receipt_proof(&self, height: i64, index: u64) -> Option<Vec<Vec<u8>>> {
        self.blocks.get(&height)?.receipt_proofs.get(&index).cloned()
    }
    fn event_proof(&self, height: i64, index: u64, event: u64) -> Option<Vec<Vec<u8>>> {
        self.blocks.get(&height)?.event_proofs.get(&(index, event)).cloned()
    }
    fn events(&self, height: i64) -> Vec<(u64, Vec<(u64, LoggedEvent)>)> {
        self.blocks.get(&height).map(|b| b.events.iter().map(|(i, e)| (*i, e.clone())).collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_values_read_as_goloop_prints_them() {
        let signature = b"Message(str,int,bytes)".to_vec();
        let indexed = vec![signature, b"btp://0x501.pra/abc".to_vec(), vec![0x01, 0x00]];
        assert_eq!(super::indexed_json(&indexed), ["Message(str,int,bytes)", "btp://0x501.pra/abc", "0x100"]);
        assert_eq!(super::data_json(&indexed, &[vec![0xf8, 0x01]]), ["0xf801"]);
        let end = vec![b"TransferEnd(Address,int,int,bytes)".to_vec(), [vec![0], vec![7; 20]].concat()];
        assert_eq!(super::data_json(&end, &[vec![0xfe], vec![], b"ok".to_vec()]), ["-0x2", "0x0", "0x6f6b"]);
        assert_eq!(super::indexed_json(&end)[1], format!("hx{}", "07".repeat(20)));
        assert!(super::indexed_json(&[]).is_empty());
    }
}
