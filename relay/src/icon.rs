//! ICON as a lane's source: block updates (header, votes, the next validators when they change) after the
//! target's height, up to the first block holding messages for the parachain's BMC past its `rx_seq`, with the
//! receipt and event proofs of those messages, encoded as `icon_light_client::relay` encodes relay messages.
//!
//! Where the messages are comes from goloop's block monitor (an event filter on our BMC's `Message` events to the
//! parachain BMC); each message's sequence number is read from its proven event log with the light client, so
//! messages already delivered are left out.
//!
//! What it reads is an [`IconNode`]: goloop's JSON-RPC and block monitor ([`RpcNode`]), or a chain held in the
//! same process (the e2e tests' ICON) — the same relay messages either way.

use crate::lane::{Failure, Position, Segment, Source};
use btp_primitives::{bmc::MAX_RELAY_MESSAGE_LEN, IconAddress};
use icon_light_client::{
    header::BlockHeader,
    mpt,
    receipt::{event_logs_hash, EventLog},
    relay::{BlockUpdate, EventProof, ReceiptProof, RelayMessage},
    BmvError,
};
use icon_rpc::{
    monitor::{BlockMonitor, BlockNotification, EventFilter},
    IconClient,
};
use std::future::Future;

/// Room left in a relay message for its outer list headers.
const FRAMING: usize = 1024;
/// RLP headers around one block update (its list, its three byte strings, the byte string it is wrapped in),
/// and around one proof node: counted as parts are added, so that a segment stays within the relay message.
const UPDATE_OVERHEAD: usize = 24;
const NODE_OVERHEAD: usize = 4;

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

/// A goloop node: its JSON-RPC endpoint and its block monitor.
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
        BlockMonitor::connect(&self.monitor_url, from, filter).await
    }
}

pub struct IconSource<N = RpcNode> {
    node: N,
    /// ICON's BMC contract.
    bmc: IconAddress,
    /// The parachain BMC's BTP address: the messages' `next`.
    destination: String,
    max_bytes: usize,
}

/// A block update as fetched.
struct Block {
    header: Vec<u8>,
    votes: Vec<u8>,
    next_validators: Option<Vec<u8>>,
}

/// A receipt's proof with the proofs of the events kept from it.
struct Receipt {
    index: u64,
    proof: Vec<Vec<u8>>,
    events: Vec<(u64, Vec<Vec<u8>>)>,
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
    /// The source over goloop's JSON-RPC at `rpc` and its block monitor at `monitor_url`.
    pub fn new(rpc: IconClient, monitor_url: String, bmc: IconAddress, destination: String) -> Self {
        Self::over(RpcNode { rpc, monitor_url }, bmc, destination)
    }
}

impl<N: IconNode> IconSource<N> {
    /// The source over `node`: the messages of ICON's BMC `bmc` to the BMC at BTP address `destination`.
    pub fn over(node: N, bmc: IconAddress, destination: String) -> Self {
        Self { node, bmc, destination, max_bytes: MAX_RELAY_MESSAGE_LEN - FRAMING }
    }

    async fn header(&self, height: u64) -> Result<Vec<u8>, Failure> {
        self.node.block_header(height).await.map_err(transport)
    }

    /// The proofs of the messages in block `header` (receipts and events as the monitor located them) whose
    /// sequence is past `rx_seq`.
    async fn messages(&self, header: &BlockHeader<'_>, located: &[(u64, Vec<u64>)], rx_seq: u64) -> Result<(Vec<Receipt>, u64), Failure> {
        let root = header
            .result
            .normal_receipt_hash
            .ok_or_else(|| invalid(BmvError::new(icon_light_client::ErrorCode::InvalidMpt, "a block with events has no receipt hash")))?;
        let (mut receipts, mut count) = (Vec::new(), 0);
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
                if message.seq > i128::from(rx_seq) {
                    kept.push((*event, proof));
                }
            }
            if !kept.is_empty() {
                count += kept.len() as u64;
                receipts.push(Receipt { index: *index, proof: receipt_proof, events: kept });
            }
        }
        Ok((receipts, count))
    }
}

impl<N: IconNode> Source for IconSource<N> {
    async fn segment(&mut self, at: Position, max_blocks: u64) -> Result<Option<Segment>, Failure> {
        // ICON's consensus is final at once: its last block is as good as any.
        let last = self.node.last_height().await.map_err(transport)?;
        if last <= at.height {
            return Ok(None);
        }
        let end = last.min(at.height.saturating_add(max_blocks.max(1)));
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
        let filter = EventFilter { addr: self.bmc.to_string(), event: MESSAGE_EVENT.into(), indexed: vec![Some(self.destination.clone())] };
        let mut monitor = self.node.blocks(at.height + 1, &filter).await.map_err(transport)?;

        let (mut blocks, mut size, mut receipts, mut messages) = (Vec::<Block>::new(), 0usize, Vec::new(), 0);
        for height in at.height + 1..=end {
            let note = monitor.next().await.map_err(transport)?;
            if note.height != height {
                return Err(Failure::Transport(format!("the block monitor sent block {} for {height}", note.height)));
            }
            let header = self.header(height).await?;
            let votes = self.node.votes(height).await.map_err(transport)?;
            let decoded = BlockHeader::decode(&header).map_err(invalid)?;
            // Where the messages are comes from the monitor: only for this very block.
            if note.hash != decoded.id {
                return Err(Failure::Transport(format!("the block monitor's block {height} is not the header's (a reorganised or inconsistent endpoint)")));
            }
            if parent_id.is_none() {
                parent_id = decoded.prev_id;
            }
            let next_validators = match decoded.next_validators_hash {
                // Against an unknown set the list may be needed: sent when the endpoint has it.
                Some(hash) if validators.is_none() => {
                    validators = Some(hash);
                    match self.node.data_by_hash(&hash).await {
                        Ok(list) => Some(list),
                        Err(e) if e.code() == Some(icon_rpc::code::NOT_FOUND) => None,
                        Err(e) => return Err(transport(e)),
                    }
                }
                Some(hash) if Some(hash) != validators => {
                    validators = Some(hash);
                    Some(self.node.data_by_hash(&hash).await.map_err(transport)?)
                }
                _ => None,
            };
            let found = match note.receipts.is_empty() {
                true => (Vec::new(), 0),
                false => self.messages(&decoded, &note.receipts, at.rx_seq).await?,
            };
            let proofs: usize =
                found.0.iter().map(|r| r.proof.iter().chain(r.events.iter().flat_map(|(_, p)| p)).map(|n| n.len() + NODE_OVERHEAD).sum::<usize>()).sum();
            let grown = size + UPDATE_OVERHEAD + header.len() + votes.len() + next_validators.as_ref().map_or(0, Vec::len) + proofs;
            if grown > self.max_bytes && !blocks.is_empty() {
                break;
            }
            size = grown;
            blocks.push(Block { header, votes, next_validators });
            if found.1 > 0 {
                (receipts, messages) = found;
                break;
            }
        }
        let message = RelayMessage {
            block_updates: blocks
                .iter()
                .map(|b| BlockUpdate { header: &b.header, votes: Some(&b.votes), next_validators: b.next_validators.as_deref() })
                .collect(),
            block_proof: None,
            receipt_proofs: receipts
                .iter()
                .map(|r| ReceiptProof {
                    index: r.index,
                    proof: slices(&r.proof),
                    event_proofs: r.events.iter().map(|(index, proof)| EventProof { index: *index, proof: slices(proof) }).collect(),
                })
                .collect(),
        };
        let to = at.height + blocks.len() as u64;
        let parent = parent_id.ok_or_else(|| invalid(BmvError::new(icon_light_client::ErrorCode::InvalidBlockUpdate, "the first block names no parent")))?;
        Ok(Some(Segment { from: at.height + 1, to, messages, parent, bytes: message.encode() }))
    }
}
