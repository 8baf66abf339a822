//! ICON as a lane's source: block updates (header, votes, the next validators when they change) after the
//! target's height, up to the first block holding messages for the parachain's BMC past its `rx_seq`, with the
//! receipt and event proofs of those messages, encoded as `icon_light_client::relay` encodes relay messages.
//!
//! Where the messages are comes from goloop's block monitor (an event filter on our BMC's `Message` events to the
//! parachain BMC); each message's sequence number is read from its proven event log with the light client, so
//! messages already delivered are left out.
//!
//! A message can also sit in a block the target has already taken without it (another relay sent the block
//! without its messages, or a relay message was split): then the segment is a block proof — that block's header
//! with a witness against the target's accumulator — and the message proofs. The relay's [`Store`] keeps a copy
//! of the accumulator that keeps the witnesses of the blocks holding messages ([`Witnesses`]) and the block of
//! each undelivered message as it scans, so that this costs a lookup, not a rescan; a copy that is missing or
//! behind is filled from the block monitor first (from the accumulator's first block, once).
//!
//! What it reads is an [`IconNode`]: goloop's JSON-RPC and block monitor ([`RpcNode`]), or a chain held in the
//! same process (the e2e tests' ICON) — the same relay messages either way.

use crate::{
    lane::{Failure, Limit, Position, Segment, Source},
    store::{ScannedBlock, Store},
    witness::Witnesses,
};
use btp_primitives::{bmc::MAX_RELAY_MESSAGE_LEN, IconAddress};
use icon_light_client::{
    header::BlockHeader,
    mpt,
    receipt::{event_logs_hash, EventLog},
    relay::{BlockProof, BlockUpdate, EventProof, ReceiptProof, RelayMessage},
    BmvError, ErrorCode, Hash,
};
use icon_rpc::{
    monitor::{self, BlockMonitor, BlockNotification, EventFilter},
    IconClient,
};
use std::{future::Future, ops::RangeInclusive, sync::Arc};

/// Room left in a relay message for its outer list headers.
const FRAMING: usize = 1024;
/// RLP headers around one block update (its list, its three byte strings, the byte string it is wrapped in),
/// and around one proof node: counted as parts are added, so that a segment stays within the relay message.
const UPDATE_OVERHEAD: usize = 24;
const NODE_OVERHEAD: usize = 4;

/// Blocks a long scan records at a time, so that an interrupted scan keeps most of its work.
const SCAN_BATCH: usize = 4096;

/// ICON's `Message(str,int,bytes)` event of its BMC.
const MESSAGE_EVENT: &str = "Message(str,int,bytes)";

/// An ICON node as the source reads it: goloop's `icx_getBlockHeaderByHeight`, `icx_getVotesByHeight`,
/// `icx_getDataByHash`, `icx_getProofForEvents` and block monitor. A missing block or datum is the error goloop
/// answers, code [`icon_rpc::code::NOT_FOUND`].
pub trait IconNode: Send + Sync {
    /// Blocks in order from a height, each with the receipts and events a filter matched.
    type Blocks: BlockStream + Send;
    fn last_height(&self) -> impl Future<Output = Result<u64, icon_rpc::Error>> + Send;
    fn block_header(&self, height: u64) -> impl Future<Output = Result<Vec<u8>, icon_rpc::Error>> + Send;
    fn votes(&self, height: u64) -> impl Future<Output = Result<Vec<u8>, icon_rpc::Error>> + Send;
    fn data_by_hash(&self, hash: &[u8; 32]) -> impl Future<Output = Result<Vec<u8>, icon_rpc::Error>> + Send;
    /// The proof of receipt `index` of block `block`, then one proof per event of `events`.
    fn proof_for_events(&self, block: &[u8; 32], index: u64, events: &[u64]) -> impl Future<Output = Result<Vec<Vec<Vec<u8>>>, icon_rpc::Error>> + Send;
    fn blocks(&self, from: u64, filter: &EventFilter) -> impl Future<Output = Result<Self::Blocks, icon_rpc::Error>> + Send;
    /// The block monitor kept failing: a node with several endpoints leaves the one it was opened at.
    fn monitor_failed(&self) {}
}

/// A block monitor's notifications.
pub trait BlockStream {
    fn next(&mut self) -> impl Future<Output = Result<BlockNotification, icon_rpc::Error>> + Send;
}

impl BlockStream for BlockMonitor {
    async fn next(&mut self) -> Result<BlockNotification, icon_rpc::Error> {
        BlockMonitor::next(self).await
    }
}

/// A goloop node: its JSON-RPC endpoints and its block monitor (empty: the one beside the endpoint in use).
pub struct RpcNode {
    pub rpc: IconClient,
    pub monitor_url: String,
}

impl IconNode for RpcNode {
    type Blocks = BlockMonitor;
    async fn last_height(&self) -> Result<u64, icon_rpc::Error> {
        self.rpc.last_height().await
    }
    async fn block_header(&self, height: u64) -> Result<Vec<u8>, icon_rpc::Error> {
        self.rpc.block_header(height).await
    }
    async fn votes(&self, height: u64) -> Result<Vec<u8>, icon_rpc::Error> {
        self.rpc.votes(height).await
    }
    async fn data_by_hash(&self, hash: &[u8; 32]) -> Result<Vec<u8>, icon_rpc::Error> {
        self.rpc.data_by_hash(hash).await
    }
    async fn proof_for_events(&self, block: &[u8; 32], index: u64, events: &[u64]) -> Result<Vec<Vec<Vec<u8>>>, icon_rpc::Error> {
        self.rpc.proof_for_events(block, index, events).await
    }
    async fn blocks(&self, from: u64, filter: &EventFilter) -> Result<BlockMonitor, icon_rpc::Error> {
        let url = if self.monitor_url.is_empty() { monitor::monitor_url(self.rpc.url()) } else { self.monitor_url.clone() };
        BlockMonitor::connect(&url, from, filter).await
    }
    fn monitor_failed(&self) {
        // The monitor follows the JSON-RPC endpoint in use: that one is passed over until it answers again.
        if self.monitor_url.is_empty() {
            let endpoints = self.rpc.endpoints();
            endpoints.failed(endpoints.preferred());
        }
    }
}

pub struct IconSource<N = RpcNode> {
    node: N,
    /// ICON's BMC contract.
    bmc: IconAddress,
    /// The parachain BMC's BTP address: the messages' `next`.
    destination: String,
    max_bytes: usize,
    store: Arc<Store>,
    /// The target's accumulator's first block's parent and root size, when known (else its offset as the target
    /// tells it, and no limit).
    accumulator: Option<(u64, u32)>,
}

/// A block update as fetched.
struct Block {
    header: Vec<u8>,
    votes: Vec<u8>,
    next_validators: Option<Vec<u8>>,
}

/// A receipt's proof with the proofs of our messages' events in it.
struct Receipt {
    index: u64,
    proof: Vec<Vec<u8>>,
    /// (event index, proof nodes, the message's sequence number).
    events: Vec<(u64, Vec<Vec<u8>>, u64)>,
}

/// The messages of one block: its receipts with our messages, and how many.
#[derive(Default)]
struct Found {
    receipts: Vec<Receipt>,
    messages: u64,
}

impl Found {
    /// Every message's sequence number, in order.
    fn seqs(&self) -> Vec<u64> {
        self.receipts.iter().flat_map(|r| r.events.iter().map(|e| e.2)).collect()
    }

    /// The first message's sequence number.
    fn first(&self) -> Option<u64> {
        self.receipts.first().and_then(|r| r.events.first()).map(|e| e.2)
    }

    /// Only the messages past `rx_seq`.
    fn past(self, rx_seq: u64) -> Self {
        let receipts: Vec<Receipt> = self
            .receipts
            .into_iter()
            .filter_map(|mut r| {
                r.events.retain(|e| e.2 > rx_seq);
                (!r.events.is_empty()).then_some(r)
            })
            .collect();
        let messages = receipts.iter().map(|r| r.events.len() as u64).sum();
        Self { receipts, messages }
    }

    /// Their encoded size in a relay message.
    fn bytes(&self) -> usize {
        self.receipts.iter().map(|r| nodes_size(&r.proof) + r.events.iter().map(|e| nodes_size(&e.1)).sum::<usize>()).sum()
    }

    /// The first `n` messages only (at least one): the rest follow in later segments, as proofs of this block.
    fn at_most(self, n: u64) -> Self {
        self.prefix(|count, _| count <= n)
    }

    /// As many of the first messages as take at most `bytes` in a relay message (at least one).
    fn fitting(self, bytes: usize) -> Self {
        self.prefix(|_, size| size <= bytes)
    }

    /// The first message and each next one while `keep(messages, bytes)` holds for the messages up to it.
    fn prefix(self, keep: impl Fn(u64, usize) -> bool) -> Self {
        let (mut messages, mut size, mut receipts) = (0u64, 0usize, Vec::new());
        'receipts: for mut receipt in self.receipts {
            let events = std::mem::take(&mut receipt.events);
            let mut size_with = size.saturating_add(nodes_size(&receipt.proof));
            for event in events {
                let grown = size_with.saturating_add(nodes_size(&event.1));
                if messages > 0 && !keep(messages.saturating_add(1), grown) {
                    if !receipt.events.is_empty() {
                        receipts.push(receipt);
                    }
                    break 'receipts;
                }
                (messages, size, size_with) = (messages.saturating_add(1), grown, grown);
                receipt.events.push(event);
            }
            receipts.push(receipt);
        }
        Self { receipts, messages }
    }

    fn proofs(&self) -> Vec<ReceiptProof<'_>> {
        self.receipts
            .iter()
            .map(|r| ReceiptProof {
                index: r.index,
                proof: slices(&r.proof),
                event_proofs: r.events.iter().map(|(index, proof, _)| EventProof { index: *index, proof: slices(proof) }).collect(),
            })
            .collect()
    }
}

/// Proof nodes' size in a relay message.
fn nodes_size(nodes: &[Vec<u8>]) -> usize {
    nodes.iter().map(|n| n.len() + NODE_OVERHEAD).sum()
}

fn copy_failed(e: BmvError) -> Failure {
    Failure::Store(format!("the accumulator copy: {}", e.reason))
}

fn transport(e: icon_rpc::Error) -> Failure {
    Failure::Transport(e.to_string())
}

/// ICON data that does not verify: the source is wrong (or lying), so nothing built from it may be submitted.
fn invalid(e: BmvError) -> Failure {
    Failure::Refused { code: Some(e.code.btp_code()), reason: format!("ICON's data: {} ({})", e.reason, e.code.name()) }
}

fn slices(nodes: &[Vec<u8>]) -> Vec<&[u8]> {
    nodes.iter().map(Vec::as_slice).collect()
}

impl IconSource<RpcNode> {
    /// The source over goloop's JSON-RPC at `rpc` and its block monitor at `monitor_url` (empty: the one beside the
    /// JSON-RPC endpoint in use).
    pub fn new(rpc: IconClient, monitor_url: String, bmc: IconAddress, destination: String, store: Arc<Store>) -> Self {
        Self::over(RpcNode { rpc, monitor_url }, bmc, destination, store)
    }
}

impl<N: IconNode> IconSource<N> {
    /// The source over `node`: the messages of ICON's BMC `bmc` to the BMC at BTP address `destination`, what it
    /// learns of ICON kept in `store`.
    pub fn over(node: N, bmc: IconAddress, destination: String, store: Arc<Store>) -> Self {
        Self { node, bmc, destination, max_bytes: MAX_RELAY_MESSAGE_LEN - FRAMING, store, accumulator: None }
    }

    /// The target's accumulator starts after block `offset` and keeps at most `root_size` roots (0: all), as the
    /// BMV was deployed: the copy the witnesses come from must grow alike.
    pub fn with_accumulator(mut self, offset: u64, root_size: u32) -> Self {
        self.accumulator = Some((offset, root_size));
        self
    }

    async fn header(&self, height: u64) -> Result<Vec<u8>, Failure> {
        self.node.block_header(height).await.map_err(transport)
    }

    fn filter(&self) -> EventFilter {
        EventFilter { addr: self.bmc.to_string(), event: MESSAGE_EVENT.into(), indexed: vec![Some(self.destination.clone())] }
    }

    /// The block monitor over our BMC's messages.
    fn monitor(&self) -> Monitor<'_, N> {
        Monitor { node: &self.node, filter: self.filter(), blocks: None }
    }

    /// The proofs of our messages in block `header` (receipts and events as the monitor located them).
    async fn messages(&self, header: &BlockHeader<'_>, located: &[(u64, Vec<u64>)]) -> Result<Found, Failure> {
        let mut found = Found::default();
        if located.is_empty() {
            return Ok(found);
        }
        let root = header.result.normal_receipt_hash.ok_or_else(|| invalid(BmvError::new(ErrorCode::InvalidMpt, "a block with events has no receipt hash")))?;
        for (index, events) in located {
            let mut proofs = self.node.proof_for_events(&header.id, *index, events).await.map_err(transport)?.into_iter();
            let receipt_proof = proofs.next().unwrap_or_default();
            let receipt = mpt::prove(&root, mpt::list_key(*index).as_bytes(), slices(&receipt_proof).into_iter().map(Ok)).map_err(invalid)?;
            let logs_root = event_logs_hash(receipt).map_err(invalid)?;
            let mut kept = Vec::new();
            for (event, proof) in events.iter().zip(proofs) {
                let log = EventLog::decode(mpt::prove(&logs_root, mpt::list_key(*event).as_bytes(), slices(&proof).into_iter().map(Ok)).map_err(invalid)?)
                    .map_err(invalid)?;
                let Some(message) = log.message().map_err(invalid)?.filter(|m| log.address == self.bmc && m.next == self.destination) else { continue };
                let seq = u64::try_from(message.seq).map_err(|_| invalid(BmvError::new(ErrorCode::InvalidSequence, "a message sequence out of range")))?;
                kept.push((*event, proof, seq));
            }
            if !kept.is_empty() {
                found.messages += kept.len() as u64;
                found.receipts.push(Receipt { index: *index, proof: receipt_proof, events: kept });
            }
        }
        Ok(found)
    }

    /// Records scanned blocks: the messages in them, and their ids for the accumulator copy, which takes them as
    /// the target at `at` does (`at.offset`: where a copy not begun yet starts).
    fn record(&self, blocks: &[ScannedBlock], at: Position) -> Result<(), Failure> {
        if self.store.record(blocks).map_err(Failure::Store)? {
            tracing::warn!(from = blocks.first().map(|b| b.height), "ICON's blocks are not the ones the store had scanned: the store starts over");
        }
        let mut copy = self.witnesses(at.offset)?;
        let offset = copy.offset();
        for block in blocks.iter().filter(|b| b.height > offset) {
            if !copy.stage(block.height, block.id, !block.messages.is_empty(), at.height).map_err(copy_failed)? {
                tracing::warn!(height = block.height, "ICON's block is not the one the accumulator copy holds: the copy starts over");
                return self.store.set_witnesses(None).map_err(Failure::Store);
            }
        }
        self.store.set_witnesses(Some(&copy)).map_err(Failure::Store)
    }

    /// The accumulator copy, or a new one for a target whose accumulator starts after `offset`.
    fn witnesses(&self, offset: u64) -> Result<Witnesses, Failure> {
        let (offset, root_size) = self.accumulator.unwrap_or((offset, 0));
        Ok(self.store.witnesses().map_err(Failure::Store)?.unwrap_or_else(|| Witnesses::new(offset, root_size)))
    }

    /// Records in the store the blocks of `heights` it lacks: their ids, and the sequence numbers of the messages
    /// in them read from their proven events.
    async fn scan(&self, heights: RangeInclusive<u64>, at: Position) -> Result<(), Failure> {
        let (from, to) = (*heights.start(), *heights.end());
        // Each missing part, and whether it is recorded as it comes: blocks after the scanned ones (or a first scan)
        // are; blocks before them only all at once, since only together do they touch the scanned ones.
        let missing = match self.store.scanned().map_err(Failure::Store)? {
            Some(known) if from <= known.end().saturating_add(1) && to.saturating_add(1) >= *known.start() => {
                [(from, known.start().saturating_sub(1), false), (known.end().saturating_add(1), to, true)]
            }
            _ => [(from, to, true), (1, 0, true)],
        };
        for (first, last, appending) in missing.into_iter().filter(|(a, b, _)| a <= b) {
            tracing::info!(from = first, to = last, "scanning ICON blocks for messages");
            let mut monitor = self.monitor();
            let mut batch = Vec::new();
            for height in first..=last {
                let note = monitor.block(height).await?;
                let messages = match note.receipts.is_empty() {
                    true => Vec::new(),
                    false => {
                        let bytes = self.header(height).await?;
                        let header = same_block(&bytes, &note)?;
                        self.messages(&header, &note.receipts).await?.seqs()
                    }
                };
                batch.push(ScannedBlock { height, id: note.hash, messages });
                if appending && batch.len() >= SCAN_BATCH {
                    self.record(&batch, at)?;
                    batch.clear();
                }
            }
            self.record(&batch, at)?;
        }
        Ok(())
    }

    /// Grows the accumulator copy to the target's height `at.height`, from the block monitor (the ids, and which
    /// blocks hold our messages: those are the ones whose witnesses are kept).
    async fn grow_witnesses(&self, at: Position) -> Result<Witnesses, Failure> {
        let mut copy = self.witnesses(at.offset)?;
        copy.advance(at.height).map_err(copy_failed)?;
        if copy.height() < at.height {
            tracing::info!(from = copy.height() + 1, to = at.height, "following ICON's blocks into the accumulator copy");
            let mut monitor = self.monitor();
            for height in copy.height() + 1..=at.height {
                let note = monitor.block(height).await?;
                copy.add(note.hash, !note.receipts.is_empty()).map_err(copy_failed)?;
                if height % SCAN_BATCH as u64 == 0 {
                    self.store.set_witnesses(Some(&copy)).map_err(Failure::Store)?;
                }
            }
            self.store.set_witnesses(Some(&copy)).map_err(Failure::Store)?;
        }
        Ok(copy)
    }

    /// Follows the target at `at`: the accumulator copy takes the blocks the target has taken since, and what was
    /// kept for messages it has is forgotten — where they are, and the witnesses of the blocks before its last
    /// message block (whose messages are all delivered).
    fn follow(&self, at: Position) -> Result<(), Failure> {
        self.store.forget_messages_through(at.rx_seq).map_err(Failure::Store)?;
        if let Some(mut copy) = self.store.witnesses().map_err(Failure::Store)? {
            let height = copy.height();
            copy.advance(at.height).map_err(copy_failed)?;
            if copy.forget_before(at.last_height) || copy.height() != height {
                self.store.set_witnesses(Some(&copy)).map_err(Failure::Store)?;
            }
        }
        Ok(())
    }

    /// The segment for message `at.rx_seq + 1` when it sits in a block the target has taken already, with at
    /// most `max_messages` of that block's messages.
    async fn behind(&self, at: Position, max_messages: u64) -> Result<Option<Segment>, Failure> {
        // The next message is in the block of the last one delivered or after it, and only blocks past the
        // accumulator's offset can be proven.
        self.follow(at)?;
        let start = at.last_height.max(at.offset.saturating_add(1));
        if start > at.height {
            return Ok(None);
        }
        self.scan(start..=at.height, at).await?;
        let next = at.rx_seq.saturating_add(1);
        match self.store.message_height(next).map_err(Failure::Store)? {
            Some(height) if height > at.height => Ok(None),
            Some(height) if height < start => {
                self.store.clear().map_err(Failure::Store)?;
                Err(Failure::Transport(format!(
                    "the store placed message {next} in ICON block {height}, before the target's last message block {start}: rescanning"
                )))
            }
            Some(height) => self.block_proof(at, height, max_messages).await.map(Some),
            None => Ok(None),
        }
    }

    /// A block proof of block `height` (at or below the target's height) with its messages past `at.rx_seq`: at
    /// most `max_messages`, and as many as one relay message holds.
    async fn block_proof(&self, at: Position, height: u64, max_messages: u64) -> Result<Segment, Failure> {
        let bytes = self.header(height).await?;
        let note = self.monitor().block(height).await?;
        let header = same_block(&bytes, &note)?;
        let found = self.messages(&header, &note.receipts).await?.past(at.rx_seq);
        if found.first() != Some(at.rx_seq.saturating_add(1)) {
            self.store.clear().map_err(Failure::Store)?;
            return Err(Failure::Transport(format!("ICON block {height} does not hold message {} as the store had it: rescanning", at.rx_seq + 1)));
        }
        // The witness is against the target's accumulator, at its height.
        let copy = self.grow_witnesses(at).await?;
        let witness = copy.witness(height, at.height).filter(|_| copy.id(height) == Some(header.id) && copy.offset() == at.offset);
        let Some(witness) = witness else {
            // Not kept, kept with another id, or grown otherwise than the target's: the copy is another chain's.
            self.store.clear().map_err(Failure::Store)?;
            return Err(Failure::Transport(format!("the accumulator copy cannot prove ICON block {height} to the target: rebuilding it")));
        };
        let parent = BlockHeader::decode(&self.header(at.height).await?).map_err(invalid)?.id;
        let proof = |witness| RelayMessage {
            block_updates: Vec::new(),
            block_proof: Some(BlockProof { header: &bytes, witness_height: at.height, witness }),
            receipt_proofs: Vec::new(),
        };
        let room = self.max_bytes.saturating_sub(proof(witness.clone()).encode().len());
        let found = found.at_most(max_messages).fitting(room);
        let message = RelayMessage { receipt_proofs: found.proofs(), ..proof(witness) };
        let encoded = message.encode();
        if encoded.len() > self.max_bytes {
            return Err(Failure::Refused {
                code: None,
                reason: format!("the proofs of block {height}'s messages take {} bytes, more than one relay message holds", encoded.len()),
            });
        }
        tracing::info!(height, at = at.height, messages = found.messages, "a message in a block the target has passed: sending a block proof");
        Ok(Segment { from: height, to: height, messages: found.messages, parent, bytes: encoded })
    }
}

/// A block update as fetched, with the validator set it leaves the segment at and our messages in it.
struct Fetched {
    header: Vec<u8>,
    votes: Vec<u8>,
    next_validators: Option<Vec<u8>>,
    validators: Option<Hash>,
    id: Hash,
    prev_id: Option<Hash>,
    all: Found,
}

impl<N: IconNode> IconSource<N> {
    /// Block `height` for a segment whose blocks so far leave the validator set `validators`: its header and
    /// votes, the validator list when the header names another set, and the proofs of our messages in it.
    async fn fetch(&self, monitor: &mut Monitor<'_, N>, height: u64, validators: Option<Hash>) -> Result<Fetched, Failure> {
        let note = monitor.block(height).await?;
        let header = self.header(height).await?;
        let votes = self.node.votes(height).await.map_err(transport)?;
        let decoded = same_block(&header, &note)?;
        let (next_validators, validators) = match decoded.next_validators_hash {
            // Against an unknown set the list may be needed: sent when the endpoint has it.
            Some(hash) if validators.is_none() => match self.node.data_by_hash(&hash).await {
                Ok(list) => (Some(list), Some(hash)),
                Err(e) if e.code() == Some(icon_rpc::code::NOT_FOUND) => (None, Some(hash)),
                Err(e) => return Err(transport(e)),
            },
            Some(hash) if Some(hash) != validators => (Some(self.node.data_by_hash(&hash).await.map_err(transport)?), Some(hash)),
            _ => (None, validators),
        };
        let all = self.messages(&decoded, &note.receipts).await?;
        let (id, prev_id) = (decoded.id, decoded.prev_id);
        Ok(Fetched { header, votes, next_validators, validators, id, prev_id, all })
    }
}

/// Sessions of the block monitor one block may take: a dropped session is opened again from that block.
const MONITOR_ATTEMPTS: u32 = 5;

/// goloop's block monitor from some height on, asked for blocks in order; a session that drops (an endpoint
/// restarting, a proxy timing out) is opened again from the block it was at, so a long segment does not start
/// over for it.
struct Monitor<'n, N: IconNode> {
    node: &'n N,
    filter: EventFilter,
    blocks: Option<N::Blocks>,
}

impl<N: IconNode> Monitor<'_, N> {
    /// Block `height`'s notification: the block after the one asked for last (or any block, first).
    async fn block(&mut self, height: u64) -> Result<BlockNotification, Failure> {
        let mut failures = 0;
        loop {
            let next = match self.blocks.as_mut() {
                Some(blocks) => blocks.next().await,
                None => match self.node.blocks(height, &self.filter).await {
                    Ok(blocks) => {
                        self.blocks = Some(blocks);
                        continue;
                    }
                    Err(e) => Err(e),
                },
            };
            match next {
                Ok(note) if note.height == height => return Ok(note),
                Ok(note) => return Err(Failure::Transport(format!("the block monitor sent block {} for {height}", note.height))),
                Err(e) => {
                    self.blocks = None;
                    failures += 1;
                    if failures >= MONITOR_ATTEMPTS {
                        self.node.monitor_failed();
                        return Err(transport(e));
                    }
                    tracing::debug!(height, error = %e, "the block monitor's session failed; opening another");
                    crate::metrics::icon_monitor_reopened();
                    tokio::time::sleep(std::time::Duration::from_millis(100) * failures).await;
                }
            }
        }
    }
}

/// The header `bytes`, which must be the block the monitor notified: where the messages are comes from the monitor,
/// for that very block only.
fn same_block<'a>(bytes: &'a [u8], note: &BlockNotification) -> Result<BlockHeader<'a>, Failure> {
    let header = BlockHeader::decode(bytes).map_err(invalid)?;
    if note.hash != header.id {
        return Err(Failure::Transport(format!("the block monitor's block {} is not the header's (a reorganised or inconsistent endpoint)", note.height)));
    }
    Ok(header)
}

impl<N: IconNode> Source for IconSource<N> {
    async fn segment(&mut self, at: Position, limit: Limit) -> Result<Option<Segment>, Failure> {
        if let Some(segment) = self.behind(at, limit.messages).await? {
            return Ok(Some(segment));
        }
        // ICON's consensus is final at once: its last block is as good as any.
        let last = self.node.last_height().await.map_err(transport)?;
        if last <= at.height {
            return Ok(None);
        }
        let end = last.min(at.height.saturating_add(limit.blocks.max(1)));
        // The block the target stands on: its id, and the validators it names for the next block. An endpoint
        // without that block's history (a pruned node, a replay) leaves both to the first block's header.
        let parent = match self.node.block_header(at.height).await {
            Ok(bytes) => {
                let header = BlockHeader::decode(&bytes).map_err(invalid)?;
                Some((header.id, header.next_validators_hash))
            }
            Err(e) if e.code() == Some(icon_rpc::code::NOT_FOUND) => None,
            Err(e) => return Err(transport(e)),
        };
        // The target's own set first: what it holds decides whether a block's list must travel.
        let mut validators = at.validators.or(parent.and_then(|(_, v)| v));
        let mut parent_id = parent.map(|(id, _)| id);
        let mut monitor = self.monitor();

        let (mut blocks, mut size, mut found, mut scanned) = (Vec::<Block>::new(), 0usize, Found::default(), Vec::new());
        for height in at.height + 1..=end {
            let Fetched { header, votes, next_validators, validators: named, id, prev_id, all } = match self.fetch(&mut monitor, height, validators).await {
                Ok(fetched) => fetched,
                // What was fetched still goes: under a failing endpoint the relay moves on a few blocks at a time
                // instead of starting over.
                Err(Failure::Transport(e)) if !blocks.is_empty() => {
                    tracing::debug!(height, error = %e, "ICON failed mid-segment; sending the blocks fetched so far");
                    break;
                }
                Err(e) => return Err(e),
            };
            validators = named;
            if parent_id.is_none() {
                parent_id = prev_id;
            }
            scanned.push(ScannedBlock { height, id, messages: all.seqs() });
            let these = all.past(at.rx_seq);
            if let Some(first) = these.first().filter(|s| *s > at.rx_seq.saturating_add(1)) {
                // The monitor left a message out of an earlier block (an incomplete or faulty endpoint): what the
                // store holds of those blocks is wrong too, so they are scanned again.
                self.store.clear().map_err(Failure::Store)?;
                return Err(Failure::Transport(format!(
                    "ICON block {height} holds message {first}, but message {} was never found: the block monitor skipped it; rescanning",
                    at.rx_seq.saturating_add(1)
                )));
            }
            let mut these = these.at_most(limit.messages);
            let update = size + UPDATE_OVERHEAD + header.len() + votes.len() + next_validators.as_ref().map_or(0, Vec::len);
            if update + these.bytes() > self.max_bytes {
                if !blocks.is_empty() {
                    break;
                }
                // The first block alone: as many of its messages as fit, the rest as proofs of it later.
                these = these.fitting(self.max_bytes.saturating_sub(update));
            }
            size = update + these.bytes();
            blocks.push(Block { header, votes, next_validators });
            if these.messages > 0 {
                found = these;
                break;
            }
        }
        self.record(&scanned, at)?;
        let message = RelayMessage {
            block_updates: blocks
                .iter()
                .map(|b| BlockUpdate { header: &b.header, votes: Some(&b.votes), next_validators: b.next_validators.as_deref() })
                .collect(),
            block_proof: None,
            receipt_proofs: found.proofs(),
        };
        let to = at.height + blocks.len() as u64;
        let parent = parent_id.ok_or_else(|| invalid(BmvError::new(ErrorCode::InvalidBlockUpdate, "the first block names no parent")))?;
        Ok(Some(Segment { from: at.height + 1, to, messages: found.messages, parent, bytes: message.encode() }))
    }
}
