//! `relay trace <network> <sn>`: where a transfer is, read from both chains — sent on its origin (block,
//! transaction, the BMC's sequence number toward the other side), relayed (the destination's block and
//! transaction or extrinsic that took that message), carried out or refused (the destination service's answer),
//! the answer sent back (its sequence number), and the answer delivered on the origin (block, transaction, the
//! origin service's `TransferEnd`).
//!
//! The two chains are two [`Side`]s of one walk. Finding the transfer scans the origin's blocks (a transfer's
//! `sn` is in no contract state); every later step is a binary search over the chain's past states for the block
//! where a BMC's `rx_seq` passed the message (goloop's `icx_call` at a height; the parachain's state at a block,
//! which a node keeps for its last 256 blocks unless it runs as an archive node).

use crate::{config::ConfigArgs, parachain_source::messages_toward, start::Context};
use bsh_nativecoin::bsh_nativecoin::{TransferEnd, TransferStart};
use btp_interfaces::events::RelayMessageHandled;
use btp_parachain::{AccountId32, Parachain};
use btp_primitives::{
    nativecoin::{ServiceMessage, SERVICE},
    BtpMessage, ErrorMessage,
};
use clap::Args;
use icon_rpc::{
    monitor::{BlockMonitor, EventFilter},
    parse_t_int, IconClient,
};
use std::{fmt, future::Future, str::FromStr};

/// Shows where the transfer `SN` that started on `NETWORK` is: sent, relayed, carried out, answered, answer
/// delivered — each with its block and transaction, or "not yet".
#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The network the transfer started on: ICON's (e.g. 0x1.icon) or the parachain's.
    pub network: String,
    /// The transfer's serial number there (its `TransferStart` event's sn).
    pub sn: u128,
    /// The first ICON block searched for a transfer from ICON [default: the BMV's first block, from the deployment].
    #[arg(long, value_name = "HEIGHT")]
    pub icon_from: Option<u64>,
    /// The first parachain block searched for a transfer from the parachain [default: [parachain] first_block].
    #[arg(long, value_name = "BLOCK")]
    pub parachain_from: Option<u64>,
}

/// A block, and the transaction (ICON) or extrinsic (parachain) in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub block: u64,
    /// The transaction's hash (ICON) or the extrinsic's (parachain), when found.
    pub tx: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tx {
            Some(tx) => write!(f, "block {}, transaction {tx}", self.block),
            None => write!(f, "block {}", self.block),
        }
    }
}

/// A service's answer: 0 for success, else its code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: u32,
    pub text: String,
}

/// A BMC message toward the other side, as found in a block.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Its sequence number on the link.
    pub seq: u64,
    pub message: BtpMessage,
    /// Where the BMC sent it.
    pub place: Place,
}

/// One chain as the walk reads it.
pub trait Side {
    /// The chain's name in what is printed.
    fn name(&self) -> &'static str;
    /// The BMC message carrying the service's request `sn` (searching the chain's blocks).
    fn find_request(&self, sn: u128) -> impl Future<Output = Result<Option<Sent>, String>>;
    /// The BMC's `rx_seq` on the link, now (`None`) or after block `height`.
    fn rx_seq(&self, height: Option<u64>) -> impl Future<Output = Result<u64, String>>;
    /// The chain's newest block the walk reads.
    fn head(&self) -> impl Future<Output = Result<u64, String>>;
    /// The BMC's messages toward the other side in block `height`, with the transaction that sent each.
    fn sent_in(&self, height: u64) -> impl Future<Output = Result<Vec<Sent>, String>>;
    /// The transaction of block `height` that the BMC took a relay message in, and the service's `TransferEnd` of
    /// request `sn` there, if any.
    fn taken_in(&self, height: u64, sn: u128) -> impl Future<Output = Result<(Option<String>, Option<Answer>), String>>;
}

/// The first block in `from..=to` after which `side`'s `rx_seq` is at least `seq` (known to hold at `to`):
/// doubling steps back from `to` first, so that a recent message costs reads of recent states only (a pruning
/// node keeps no others), then a binary search in the window found.
async fn first_taking(side: &impl Side, seq: u64, from: u64, to: u64) -> Result<u64, String> {
    let (mut low, mut high) = (from, to);
    let mut step = 1u64;
    while high > low {
        let probe = high.saturating_sub(step).max(low);
        if side.rx_seq(Some(probe)).await? >= seq {
            high = probe;
            step = step.saturating_mul(2);
        } else {
            low = probe.saturating_add(1);
            break;
        }
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if side.rx_seq(Some(mid)).await? >= seq {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Ok(high)
}

/// Where `side`'s BMC took message `seq` (searching from block `from`), with the service's `TransferEnd` of
/// request `sn` there; `None` while it has not.
async fn taking(side: &impl Side, seq: u64, from: u64, sn: u128) -> Result<Option<(Place, Option<Answer>)>, String> {
    // Read at the head the search ends at: a message taken in a block not yet final is not taken for the walk.
    let head = side.head().await?;
    if side.rx_seq(Some(head)).await? < seq {
        return Ok(None);
    }
    let block = first_taking(side, seq, from, head).await?;
    let (tx, ended) = side.taken_in(block, sn).await?;
    Ok(Some((Place { block, tx }, ended)))
}

/// Why the walk waits for `side` to take message `seq` (`what` it is).
async fn waiting(side: &impl Side, seq: u64, what: &str) -> Result<String, String> {
    let taken = side.rx_seq(None).await?;
    Ok(match taken >= seq {
        // On a parachain a block is final about half a minute after it is sealed.
        true => format!("{}'s BMC has taken {what}, message {seq}, in a block not final yet", side.name()),
        false => format!("{}'s BMC has taken messages up to {taken}; {what} is message {seq}", side.name()),
    })
}

/// Whether `message` is the native-coin service's transfer request `sn`.
fn is_request(message: &BtpMessage, sn: u128) -> bool {
    message.svc == SERVICE
        && i128::try_from(sn).is_ok_and(|sn| message.sn == sn)
        && matches!(ServiceMessage::decode(&message.payload), Ok(ServiceMessage::TransferRequest(_)))
}

/// Whether `message` answers request `sn` of the native-coin service, and how.
fn answer_of(message: &BtpMessage, sn: u128) -> Option<Answer> {
    if message.svc != SERVICE || message.sn.unsigned_abs() != sn {
        return None;
    }
    if message.sn < 0 {
        let e = ErrorMessage::decode(&message.payload).unwrap_or(ErrorMessage { code: u32::MAX, message: "an undecodable BTP error".into() });
        return Some(Answer { code: e.code, text: e.message });
    }
    match ServiceMessage::decode(&message.payload).ok()? {
        ServiceMessage::Response(r) | ServiceMessage::UnknownTypeResponse(r) => Some(Answer { code: r.code, text: r.message }),
        ServiceMessage::TransferRequest(_) => None,
    }
}

/// What the walk found, stage by stage; a stage not reached yet is `None`, and nothing after it is looked for.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub sent: Option<Sent>,
    pub relayed: Option<Place>,
    pub answer: Option<Answer>,
    pub answer_sent: Option<Sent>,
    pub delivered: Option<Place>,
    pub ended: Option<Answer>,
    /// Why the walk stopped where it did.
    pub waiting: Option<String>,
}

/// Follows request `sn` from `origin` to `destination` and back. `origin_from` and `destination_from` bound the
/// searches from below.
pub async fn walk(origin: &impl Side, destination: &impl Side, sn: u128, origin_from: u64, destination_from: u64) -> Result<Trace, String> {
    let mut trace = Trace::default();
    let Some(sent) = origin.find_request(sn).await? else {
        trace.waiting = Some(format!("no transfer {sn} on {} from block {origin_from}", origin.name()));
        return Ok(trace);
    };
    let seq = sent.seq;
    let sent_block = sent.place.block;
    trace.sent = Some(sent);
    let Some((relayed, _)) = taking(destination, seq, destination_from, sn).await? else {
        trace.waiting = Some(waiting(destination, seq, "this").await?);
        return Ok(trace);
    };
    let block = relayed.block;
    trace.relayed = Some(relayed);
    let Some((answer_sent, answer)) = destination.sent_in(block).await?.into_iter().find_map(|s| answer_of(&s.message, sn).map(|a| (s, a))) else {
        trace.waiting = Some(format!("no answer to transfer {sn} in {} block {block}", destination.name()));
        return Ok(trace);
    };
    let seq = answer_sent.seq;
    trace.answer = Some(answer);
    trace.answer_sent = Some(answer_sent);
    let Some((delivered, ended)) = taking(origin, seq, sent_block, sn).await? else {
        trace.waiting = Some(waiting(origin, seq, "the answer").await?);
        return Ok(trace);
    };
    trace.delivered = Some(delivered);
    trace.ended = ended;
    Ok(trace)
}

impl Trace {
    /// The lines `relay trace` prints, `origin` and `destination` naming the chains.
    pub fn lines(&self, origin: &str, destination: &str) -> Vec<String> {
        let not_yet = || "not yet".to_string();
        let answer = |a: &Answer| match a.code {
            0 => "carried out (code 0)".to_string(),
            c => format!("refused: code {c}, {:?}", a.text),
        };
        let mut lines = vec![
            format!(
                "sent on {origin}: {}",
                self.sent.as_ref().map_or_else(|| "not found".into(), |s| format!("{}, BTP message {} to {}", s.place, s.seq, s.message.dst))
            ),
            format!("relayed to {destination}: {}", self.relayed.as_ref().map_or_else(not_yet, ToString::to_string)),
            format!("on {destination}: {}", self.answer.as_ref().map_or_else(not_yet, answer)),
            format!("answer sent: {}", self.answer_sent.as_ref().map_or_else(not_yet, |s| format!("BTP message {} to {}", s.seq, s.message.dst))),
            format!("answer delivered on {origin}: {}", self.delivered.as_ref().map_or_else(not_yet, ToString::to_string)),
        ];
        if let Some(ended) = &self.ended {
            lines.push(format!(
                "transfer ended on {origin}: code {}{}",
                ended.code,
                if ended.text.is_empty() { String::new() } else { format!(", {:?}", ended.text) }
            ));
        }
        if let Some(waiting) = &self.waiting {
            lines.push(format!("({waiting})"));
        }
        lines
    }
}

/// ICON as the walk reads it: JSON-RPC, the block monitor, ICON's BMC and its link to the parachain BMC.
pub struct IconSide<'a> {
    /// The deployment and the endpoints (the block monitor's among them).
    pub context: &'a Context,
    pub rpc: &'a IconClient,
    /// The parachain BMC's BTP address: the link, and the messages' `_next`.
    pub link: &'a str,
    /// The first block searched for a transfer from ICON.
    pub from: u64,
}

impl IconSide<'_> {
    /// ICON's BMC contract (`cx…`), as goloop names it.
    fn bmc(&self) -> String {
        self.context.icon_contract.to_string()
    }

    /// The BMC's messages toward the parachain in transaction `hash`.
    async fn messages_of(&self, hash: &str, height: u64) -> Result<Vec<Sent>, String> {
        let result = self.rpc.transaction_result(hash).await.map_err(|e| e.to_string())?;
        let (bmc, mut sent) = (self.bmc(), Vec::new());
        for log in result.event_logs() {
            if log.score_address != bmc || log.signature() != "Message(str,int,bytes)" || log.argument(0) != Some(self.link) {
                continue;
            }
            let seq = log.int(1).and_then(|s| u64::try_from(s).ok());
            let message = log.bytes(2).and_then(|m| BtpMessage::decode(&m).ok());
            if let (Some(seq), Some(message)) = (seq, message) {
                sent.push(Sent { seq, message, place: Place { block: height, tx: Some(hash.to_string()) } });
            }
        }
        Ok(sent)
    }
}

impl Side for IconSide<'_> {
    fn name(&self) -> &'static str {
        "ICON"
    }

    async fn find_request(&self, sn: u128) -> Result<Option<Sent>, String> {
        let last = self.rpc.last_height().await.map_err(|e| e.to_string())?;
        if self.from > last {
            return Ok(None);
        }
        let filter = EventFilter { addr: self.bmc(), event: "Message(str,int,bytes)".into(), indexed: vec![Some(self.link.to_string())] };
        let mut monitor = BlockMonitor::connect(&self.context.monitor_url(self.rpc), self.from, &filter).await.map_err(|e| e.to_string())?;
        loop {
            let note = monitor.next().await.map_err(|e| e.to_string())?;
            if !note.receipts.is_empty() {
                let hashes = self.rpc.transaction_hashes(note.height).await.map_err(|e| e.to_string())?;
                for (index, _) in &note.receipts {
                    let Some(hash) = usize::try_from(*index).ok().and_then(|i| hashes.get(i)) else { continue };
                    let found = self.messages_of(hash, note.height).await?.into_iter().find(|s| is_request(&s.message, sn));
                    if found.is_some() {
                        return Ok(found);
                    }
                }
            }
            if note.height >= last {
                return Ok(None);
            }
        }
    }

    async fn rx_seq(&self, height: Option<u64>) -> Result<u64, String> {
        // goloop answers `icx_call` at height h from block h's result: the state after block h − 1's transactions.
        let height = match height {
            Some(h) if h < self.head().await? => Some(h + 1),
            _ => None,
        };
        let status = match self.context.icon_link_status(self.rpc, self.link, height).await {
            Ok(status) => status,
            // Before ICON's BMC had the link (goloop's SCORE failure −30018, as the Java BMC names it).
            Err(e) if height.is_some() && e.contains("NotExistsLink") => return Ok(0),
            Err(e) => return Err(e),
        };
        parse_t_int(&status["rx_seq"]).ok_or_else(|| format!("ICON's getStatus without rx_seq: {status}"))
    }

    async fn head(&self) -> Result<u64, String> {
        self.rpc.last_height().await.map_err(|e| e.to_string())
    }

    async fn sent_in(&self, height: u64) -> Result<Vec<Sent>, String> {
        let mut sent = Vec::new();
        for hash in self.rpc.transaction_hashes(height).await.map_err(|e| e.to_string())? {
            sent.extend(self.messages_of(&hash, height).await?);
        }
        Ok(sent)
    }

    async fn taken_in(&self, height: u64, sn: u128) -> Result<(Option<String>, Option<Answer>), String> {
        let (bmc, mut taken, mut ended) = (self.bmc(), None, None);
        for hash in self.rpc.transaction_hashes(height).await.map_err(|e| e.to_string())? {
            let result = self.rpc.transaction_result(&hash).await.map_err(|e| e.to_string())?;
            if result.failure.is_some() || result.result["to"].as_str() != Some(bmc.as_str()) {
                continue;
            }
            taken.get_or_insert_with(|| hash.clone());
            for log in result.event_logs() {
                if log.signature() == "TransferEnd(Address,int,int,bytes)" && log.int(1) == Some(sn) {
                    let text = log.bytes(3).map(|t| String::from_utf8_lossy(&t).into_owned());
                    ended = Some(Answer { code: log.int(2).and_then(|c| u32::try_from(c).ok()).unwrap_or(u32::MAX), text: text.unwrap_or_default() });
                    taken = Some(hash.clone());
                }
            }
        }
        Ok((taken, ended))
    }
}

/// The parachain as the walk reads it: the BMC's and the BSH's events and the BMC's status at past blocks.
pub struct ParachainSide<'a> {
    /// The deployment: the BMC, its bundle, ICON's BMC.
    pub context: &'a Context,
    pub para: &'a Parachain,
    /// The native-coin BSH, whose `TransferStart` and `TransferEnd` name transfers.
    pub bsh: AccountId32,
    /// The first block searched for a transfer from the parachain.
    pub from: u64,
}

impl ParachainSide<'_> {
    async fn extrinsic(&self, height: u64, index: Option<u32>) -> Result<Option<String>, String> {
        match index {
            Some(i) => Ok(self.para.extrinsic_hash(height, i).await.map_err(|e| e.to_string())?.map(|h| format!("{h:?}"))),
            None => Ok(None),
        }
    }
}

impl Side for ParachainSide<'_> {
    fn name(&self) -> &'static str {
        "the parachain"
    }

    async fn find_request(&self, sn: u128) -> Result<Option<Sent>, String> {
        let head = self.head().await?;
        for height in self.from.max(1)..=head {
            let events = self.para.emitted_at(height).await.map_err(|e| e.to_string())?;
            if events.iter().any(|e| e.contract == self.bsh && e.decode::<TransferStart>().is_some_and(|t| t.sn == sn)) {
                return Ok(self.sent_in(height).await?.into_iter().find(|s| is_request(&s.message, sn)));
            }
        }
        Ok(None)
    }

    async fn rx_seq(&self, height: Option<u64>) -> Result<u64, String> {
        Ok(self.context.parachain_link_status(self.para, height).await?.map_or(0, |s| s.rx_seq))
    }

    async fn head(&self) -> Result<u64, String> {
        self.para.finalized_height().await.map_err(|e| e.to_string())
    }

    async fn sent_in(&self, height: u64) -> Result<Vec<Sent>, String> {
        let emitted = self.para.emitted_at(height).await.map_err(|e| e.to_string())?;
        let mut sent = Vec::new();
        for (e, m) in messages_toward(&emitted, &self.context.bmc, &self.context.deployment.icon.bmc) {
            if let Ok(message) = BtpMessage::decode(&m.msg) {
                sent.push(Sent { seq: m.seq, message, place: Place { block: height, tx: self.extrinsic(height, e.extrinsic).await? } });
            }
        }
        Ok(sent)
    }

    async fn taken_in(&self, height: u64, sn: u128) -> Result<(Option<String>, Option<Answer>), String> {
        let events = self.para.emitted_at(height).await.map_err(|e| e.to_string())?;
        let handled = events.iter().find(|e| e.contract == self.context.bmc && e.decode::<RelayMessageHandled>().is_some());
        let tx = self.extrinsic(height, handled.and_then(|e| e.extrinsic)).await?;
        let ended = events
            .iter()
            .filter(|e| e.contract == self.bsh)
            .filter_map(|e| e.decode::<TransferEnd>())
            .find(|t| t.sn == sn)
            .map(|t| Answer { code: t.code, text: t.msg });
        Ok((tx, ended))
    }
}

/// Runs `relay trace`: prints the walk's stages.
pub async fn run(args: TraceArgs) -> Result<(), String> {
    let config = args.config.load()?;
    let c = Context::load(&config)?;
    let d = &c.deployment;
    let contracts = d.contracts.as_ref().ok_or("the deployment has no contracts")?;
    let bsh = AccountId32::from_str(&contracts.bsh).map_err(|e| format!("[contracts] bsh: {e}"))?;
    let para = c.parachain_client().await?;
    let own = c.own_address(&para).await?;
    let rpc = c.icon_client()?;
    let icon_from = args.icon_from.unwrap_or(d.icon.height.saturating_add(1));
    let parachain_from = args.parachain_from.unwrap_or(config.parachain.first_block).max(1);
    let icon = IconSide { context: &c, rpc: &rpc, link: &own, from: icon_from };
    let parachain = ParachainSide { context: &c, para: &para, bsh, from: parachain_from };
    let network = btp_primitives::address::canonical_network(&args.network).map_err(|e| format!("{}: {e}", args.network))?;
    let (trace, origin, destination) = if network == d.icon.network {
        (walk(&icon, &parachain, args.sn, icon_from, parachain_from).await?, "ICON", "the parachain")
    } else if network == d.parachain.network {
        (walk(&parachain, &icon, args.sn, parachain_from, icon_from).await?, "the parachain", "ICON")
    } else {
        return Err(format!("{network} is neither ICON's network ({}) nor the parachain's ({})", d.icon.network, d.parachain.network));
    };
    println!("transfer {} from {network}", args.sn);
    for line in trace.lines(origin, destination) {
        println!("  {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use btp_primitives::{nativecoin::TransferResponse, BtpAddress};
    use std::{cell::RefCell, collections::BTreeMap};

    /// A chain as a list of blocks: each with the BMC's `rx_seq` after it and the messages it sent.
    struct MemorySide {
        name: &'static str,
        rx_after: Vec<u64>,
        sent: BTreeMap<u64, Vec<Sent>>,
        ended: BTreeMap<u64, Answer>,
        reads: RefCell<u32>,
    }

    impl Side for MemorySide {
        fn name(&self) -> &'static str {
            self.name
        }
        async fn find_request(&self, sn: u128) -> Result<Option<Sent>, String> {
            Ok(self.sent.values().flatten().find(|s| is_request(&s.message, sn)).cloned())
        }
        async fn rx_seq(&self, height: Option<u64>) -> Result<u64, String> {
            *self.reads.borrow_mut() += 1;
            let h = height.unwrap_or(self.rx_after.len() as u64 - 1) as usize;
            self.rx_after.get(h).copied().ok_or_else(|| format!("no block {h}"))
        }
        async fn head(&self) -> Result<u64, String> {
            Ok(self.rx_after.len() as u64 - 1)
        }
        async fn sent_in(&self, height: u64) -> Result<Vec<Sent>, String> {
            Ok(self.sent.get(&height).cloned().unwrap_or_default())
        }
        async fn taken_in(&self, height: u64, _sn: u128) -> Result<(Option<String>, Option<Answer>), String> {
            Ok((Some(format!("tx{height}")), self.ended.get(&height).cloned()))
        }
    }

    fn message(sn: i128, payload: ServiceMessage, seq: u64, block: u64) -> Sent {
        let a = BtpAddress::parse("btp://0x3.icon/cx0000000000000000000000000000000000000001").unwrap();
        let b = BtpAddress::parse("btp://0x501.pra/0x01").unwrap();
        Sent {
            seq,
            message: BtpMessage { src: a, dst: b, svc: SERVICE.into(), sn, payload: payload.encode() },
            place: Place { block, tx: Some(format!("tx{block}")) },
        }
    }

    fn request() -> ServiceMessage {
        ServiceMessage::TransferRequest(btp_primitives::nativecoin::TransferRequest { from: "hx1".into(), to: "0x01".into(), assets: vec![] })
    }

    #[tokio::test]
    async fn a_transfer_is_followed_through_each_stage() {
        let ok = ServiceMessage::Response(TransferResponse { code: 0, message: String::new() });
        let mut origin = MemorySide { name: "ICON", rx_after: vec![0; 40], sent: BTreeMap::new(), ended: BTreeMap::new(), reads: RefCell::new(0) };
        origin.sent.insert(5, vec![message(7, request(), 3, 5)]);
        let mut destination = MemorySide { name: "para", rx_after: vec![2; 30], sent: BTreeMap::new(), ended: BTreeMap::new(), reads: RefCell::new(0) };

        let trace = walk(&origin, &destination, 7, 1, 1).await.unwrap();
        assert_eq!((trace.sent.as_ref().map(|s| s.seq), trace.relayed.clone()), (Some(3), None), "sent, not relayed");
        assert!(trace.lines("ICON", "para")[1].ends_with("not yet"));

        // The destination takes message 3 in block 17 and answers there (its message 9 back).
        for rx in &mut destination.rx_after[17..] {
            *rx = 3;
        }
        destination.sent.insert(17, vec![message(7, ok.clone(), 9, 17)]);
        *destination.reads.borrow_mut() = 0;
        let trace = walk(&origin, &destination, 7, 1, 1).await.unwrap();
        assert_eq!(trace.relayed, Some(Place { block: 17, tx: Some("tx17".into()) }));
        assert!(*destination.reads.borrow() < 10, "a binary search, not a scan: {} reads", destination.reads.borrow());
        assert_eq!((trace.answer.as_ref().map(|a| a.code), trace.answer_sent.as_ref().map(|s| s.seq), trace.delivered.clone()), (Some(0), Some(9), None));

        for rx in &mut origin.rx_after[23..] {
            *rx = 9;
        }
        origin.ended.insert(23, Answer { code: 0, text: String::new() });
        let trace = walk(&origin, &destination, 7, 1, 1).await.unwrap();
        assert_eq!((trace.delivered.map(|p| p.block), trace.ended.map(|a| a.code)), (Some(23), Some(0)));
        assert!(trace.waiting.is_none());

        let trace = walk(&origin, &destination, 8, 1, 1).await.unwrap();
        assert!(trace.sent.is_none() && trace.waiting.is_some_and(|w| w.contains("no transfer 8")));
    }

    #[test]
    fn an_error_message_answers_with_its_code() {
        let error = BtpMessage { sn: -7, payload: ErrorMessage::new(10, "DropMessage").encode(), ..message(7, request(), 1, 1).message };
        assert_eq!(answer_of(&error, 7), Some(Answer { code: 10, text: "DropMessage".into() }));
        assert_eq!(answer_of(&error, 8), None);
        assert_eq!(answer_of(&message(7, request(), 1, 1).message, 7), None, "a request is no answer");
    }
}
