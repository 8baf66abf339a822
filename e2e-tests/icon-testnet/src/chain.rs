//! A chain of goloop blocks: headers, commit votes from the current validators, validator-set changes,
//! receipts, and relay messages built from them with receipt, event and accumulator proofs.

use crate::{keys::Validator, mpt::MerkleList, receipt::Receipt};
use btp_primitives::IconAddress;
use icon_light_client::{
    header::{BlockHeader, BlockResult},
    mta,
    relay::{BlockProof, BlockUpdate, EventProof, ReceiptProof, RelayMessage},
    sha3_256,
    validators::ValidatorSet,
    verifier::network_id,
    votes::{CommitVotes, PartSetId, VoteItem, VoteMessage},
    Hash,
};

/// One block and what a relay needs of it.
#[derive(Debug, Clone)]
pub struct Block {
    /// The header's bytes; the block id is their SHA3-256.
    pub header_bytes: Vec<u8>,
    /// The commit votes for this block (what `icx_getVotesByHeight` returns).
    pub votes: Vec<u8>,
    /// The validator list this block's header names, when it differs from the previous header's.
    pub next_validators: Option<Vec<u8>>,
    pub receipts: Vec<Receipt>,
}

impl Block {
    pub fn header(&self) -> BlockHeader<'_> {
        BlockHeader::decode(&self.header_bytes).expect("this chain's own header")
    }

    pub fn height(&self) -> i64 {
        self.header().height
    }

    pub fn id(&self) -> Hash {
        sha3_256(&self.header_bytes)
    }

    fn receipt_list(&self) -> MerkleList {
        receipt_list(&self.receipts)
    }
}

fn receipt_list(receipts: &[Receipt]) -> MerkleList {
    let encoded: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode).collect();
    MerkleList::new(&encoded)
}

/// Which events of which receipt of a block a relay message proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRef {
    pub index: u64,
    pub events: Vec<u64>,
}

/// A vote as a validator made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedVote {
    pub timestamp: i64,
    pub signature: Vec<u8>,
}

/// The commit votes of a block, open to changes (tests make invalid ones from valid ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Votes {
    pub round: i32,
    /// The part-set count word: part count, and the network id in bits 32–63 on goloop ≥ 1.3.13.
    pub count: u64,
    pub part_set_hash: Vec<u8>,
    pub items: Vec<SignedVote>,
}

impl Votes {
    /// What `icx_getVotesByHeight` returns.
    pub fn encode(&self) -> Vec<u8> {
        let items: Vec<VoteItem<'_>> = self.items.iter().map(|v| VoteItem { timestamp: v.timestamp, signature: &v.signature }).collect();
        CommitVotes::encode(self.round, &self.part_set_id(), &items)
    }

    fn part_set_id(&self) -> PartSetId<'_> {
        PartSetId { count: self.count, hash: Some(&self.part_set_hash) }
    }
}

/// Signs the commit votes for block `id` at `height`: every signer's vote message over the same part set,
/// whose count word is `count`.
pub fn sign_votes_with_count(signers: &[&Validator], height: i64, id: &Hash, round: i32, timestamp: i64, count: u64) -> Votes {
    let mut votes = Votes { round, count, part_set_hash: sha3_256(id).to_vec(), items: Vec::new() };
    let mut message = VoteMessage::default();
    message.start(height, round, id, &votes.part_set_id());
    for (i, signer) in signers.iter().enumerate() {
        let timestamp = timestamp + i as i64;
        let signature = signer.sign(&sha3_256(message.with_timestamp(timestamp))).to_vec();
        votes.items.push(SignedVote { timestamp, signature });
    }
    votes
}

/// Signs the commit votes for block `id` at `height` as goloop before v1.3.13 did: no network id.
pub fn sign_votes(signers: &[&Validator], height: i64, id: &Hash, round: i32, timestamp: i64) -> Votes {
    sign_votes_with_count(signers, height, id, round, timestamp, 1)
}

/// How the blocks of a [`TestChain`] look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Small headers, every validator votes, no network id in the votes.
    Minimal,
    /// Like ICON mainnet: headers with ICON's fields and sizes (about 420 bytes: transactions hash, a logs
    /// bloom, a result with extension data), votes from goloop's minimum quorum ⌊2n/3⌋ + 1 of the set, a
    /// different subset from block to block, and the network id in the part-set count word.
    MainnetLike,
}

fn list_of(validators: &[Validator]) -> Vec<u8> {
    let addresses: Vec<IconAddress> = validators.iter().map(|v| v.address).collect();
    ValidatorSet::from_addresses(&addresses).expect("distinct test validators").raw().to_vec()
}

/// A goloop chain from an anchor block at `offset` (where a BMV would be deployed) onward.
#[derive(Debug, Clone)]
pub struct TestChain {
    network: String,
    /// The set that votes on the next block: the one the last header named.
    voters: Vec<Validator>,
    /// The set the next header will name.
    next: Vec<Validator>,
    blocks: Vec<Block>,
    timestamp: i64,
    shape: Shape,
    /// Bytes of an extra header field after `Result` (goloop ≥ 1.3 appends fields there), to vary header size.
    header_padding: usize,
}

/// Microseconds between blocks.
const BLOCK_INTERVAL: i64 = 1_000_000;

impl TestChain {
    /// A chain whose block `offset` names `validators` as the set voting on block `offset + 1`.
    pub fn new(network: &str, validators: Vec<Validator>, offset: i64) -> Self {
        Self::with_shape(network, validators, offset, Shape::Minimal)
    }

    /// [`TestChain::new`] with blocks of `shape`.
    pub fn with_shape(network: &str, validators: Vec<Validator>, offset: i64, shape: Shape) -> Self {
        let mut chain = Self {
            network: network.into(),
            voters: validators.clone(),
            next: validators,
            blocks: Vec::new(),
            timestamp: 1_700_000_000_000_000,
            shape,
            header_padding: 0,
        };
        chain.push_block(offset, None, Vec::new());
        chain
    }

    pub fn network(&self) -> &str {
        &self.network
    }

    /// The anchor's height: a BMV for this chain starts its accumulator here.
    pub fn offset(&self) -> i64 {
        self.blocks[0].height()
    }

    pub fn height(&self) -> i64 {
        self.last().height()
    }

    pub fn last(&self) -> &Block {
        self.blocks.last().expect("the anchor block is always there")
    }

    pub fn block(&self, height: i64) -> Option<&Block> {
        usize::try_from(height - self.offset()).ok().and_then(|i| self.blocks.get(i))
    }

    /// The validator list (RLP) that votes on the next block.
    pub fn voters_list(&self) -> Vec<u8> {
        list_of(&self.voters)
    }

    pub fn voters(&self) -> &[Validator] {
        &self.voters
    }

    /// Headers from the next block on carry an extra field of `bytes` bytes (0: none), so that what a header's
    /// size costs can be measured.
    pub fn pad_headers(&mut self, bytes: usize) {
        self.header_padding = bytes;
    }

    /// The next block's header names `next`; its votes still come from the current set, and `next` votes from
    /// the block after it on.
    pub fn change_validators(&mut self, next: Vec<Validator>) {
        self.next = next;
    }

    /// Produces a block holding `receipts`, voted by every current validator.
    pub fn produce(&mut self, receipts: Vec<Receipt>) -> &Block {
        let height = self.height() + 1;
        let prev = self.last().id();
        self.push_block(height, Some(prev), receipts);
        self.last()
    }

    /// Produces `count` empty blocks.
    pub fn produce_empty(&mut self, count: usize) {
        for _ in 0..count {
            self.produce(Vec::new());
        }
    }

    fn push_block(&mut self, height: i64, prev_id: Option<Hash>, receipts: Vec<Receipt>) {
        self.timestamp += BLOCK_INTERVAL;
        let changed = self.blocks.last().is_some_and(|_| self.next != self.voters);
        let next_list = list_of(&self.next);
        let receipt_root = receipt_list(&receipts).root();
        let mainnet = self.shape == Shape::MainnetLike;
        let seeded = |label: &str| sha3_256(format!("{label} {height}").as_bytes());
        // ICON's result: state hash, patch receipts (none), normal receipts, then the IISS extension data.
        let extension = mainnet.then(|| {
            let mut data = btp_primitives::rlp::ListBuilder::new();
            data.bytes(&seeded("iiss")).bytes(&seeded("prep")).bytes(&seeded("issue")).null().bytes(&seeded("reward"));
            btp_primitives::rlp::encode_bytes(&data.finish())
        });
        // A logs bloom as goloop writes it: trailing zero bytes cut.
        let bloom = if mainnet { seeded("bloom").to_vec() } else { Vec::new() };
        let padding = (self.header_padding > 0).then(|| btp_primitives::rlp::encode_bytes(&vec![0x5a; self.header_padding]));
        let header = BlockHeader {
            version: 2,
            height,
            timestamp: self.timestamp,
            proposer: Some(self.voters[(height as usize) % self.voters.len()].address.0),
            prev_id,
            votes_hash: self.blocks.last().map(|b| sha3_256(&b.votes)),
            next_validators_hash: Some(sha3_256(&next_list)),
            patch_transactions_hash: None,
            normal_transactions_hash: receipt_root.map(|r| sha3_256(&r)).or(mainnet.then(|| seeded("transactions"))),
            logs_bloom: &bloom,
            result: BlockResult {
                state_hash: Some(sha3_256(&height.to_be_bytes())),
                patch_receipt_hash: None,
                normal_receipt_hash: receipt_root,
                extra: extension.as_deref().unwrap_or_default(),
            },
            extra: padding.as_deref().unwrap_or_default(),
            id: [0; 32],
        };
        let header_bytes = header.encode();
        let id = sha3_256(&header_bytes);
        let votes = match self.shape {
            Shape::Minimal => sign_votes(&self.voters.iter().collect::<Vec<_>>(), height, &id, 0, self.timestamp + 1000),
            Shape::MainnetLike => {
                // goloop's minimum quorum, a different subset each block.
                let n = self.voters.len();
                let quorum = n * 2 / 3 + 1;
                let signers: Vec<&Validator> = (0..quorum).map(|i| &self.voters[(height as usize + i) % n]).collect();
                let nid = network_id(&self.network).expect("an ICON network address");
                sign_votes_with_count(&signers, height, &id, 0, self.timestamp + 1000, 1 | (u64::from(nid) << 32))
            }
        };
        self.voters = self.next.clone();
        self.blocks.push(Block { header_bytes, votes: votes.encode(), next_validators: changed.then_some(next_list), receipts });
    }

    /// Produces empty blocks for as long as the relay message with the updates from `from` on
    /// (`relay_message(from, h, &[])`) stays within `max_len` bytes; returns the last height `h` that fits.
    pub fn produce_within(&mut self, from: i64, max_len: usize) -> i64 {
        loop {
            self.produce(Vec::new());
            if self.relay_message(from, self.height(), &[]).len() > max_len {
                return self.height() - 1;
            }
        }
    }

    /// The block ids after the anchor, oldest first: the leaves of the accumulator.
    pub fn accumulator_leaves(&self) -> Vec<Hash> {
        self.blocks[1..].iter().map(Block::id).collect()
    }

    fn receipt_proofs(&self, block: &Block, refs: &[ReceiptRef]) -> Vec<OwnedReceiptProof> {
        let receipts = block.receipt_list();
        refs.iter()
            .map(|r| {
                let receipt = &block.receipts[r.index as usize];
                let events = receipt.event_list();
                let event_proofs = r.events.iter().map(|e| (*e, events.proof(*e).expect("event exists"))).collect();
                (r.index, receipts.proof(r.index).expect("receipt exists"), event_proofs)
            })
            .collect()
    }

    /// A relay message with block updates for `from..=to` and proofs of `receipts` of block `to`.
    pub fn relay_message(&self, from: i64, to: i64, receipts: &[ReceiptRef]) -> Vec<u8> {
        let blocks: Vec<&Block> = (from..=to).map(|h| self.block(h).expect("produced block")).collect();
        let proofs = self.receipt_proofs(blocks.last().expect("non-empty range"), receipts);
        let block_updates =
            blocks.iter().map(|b| BlockUpdate { header: &b.header_bytes, votes: Some(&b.votes), next_validators: b.next_validators.as_deref() }).collect();
        RelayMessage { block_updates, block_proof: None, receipt_proofs: borrow_proofs(&proofs) }.encode()
    }

    /// A relay message proving, by an accumulator witness built at accumulator height `at`, that block
    /// `height` is accumulated, with proofs of its `receipts`.
    pub fn block_proof_message(&self, height: i64, at: i64, receipts: &[ReceiptRef]) -> Vec<u8> {
        let block = self.block(height).expect("produced block");
        let leaves = self.accumulator_leaves();
        let known = &leaves[..(at - self.offset()) as usize];
        let witness = mta::witness(known, (height - self.offset() - 1) as usize).expect("block within the accumulator");
        let proofs = self.receipt_proofs(block, receipts);
        let message = RelayMessage {
            block_updates: Vec::new(),
            block_proof: Some(BlockProof { header: &block.header_bytes, witness_height: at as u64, witness }),
            receipt_proofs: borrow_proofs(&proofs),
        };
        message.encode()
    }
}

/// A receipt proof whose nodes this chain owns: (receipt index, proof nodes, [(event index, proof nodes)]).
type OwnedReceiptProof = (u64, Vec<Vec<u8>>, Vec<(u64, Vec<Vec<u8>>)>);

fn borrow_proofs(proofs: &[OwnedReceiptProof]) -> Vec<ReceiptProof<'_>> {
    proofs
        .iter()
        .map(|(index, nodes, events)| ReceiptProof {
            index: *index,
            proof: nodes.iter().map(Vec::as_slice).collect(),
            event_proofs: events.iter().map(|(i, n)| EventProof { index: *i, proof: n.iter().map(Vec::as_slice).collect() }).collect(),
        })
        .collect()
}
