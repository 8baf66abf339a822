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
    votes::{CommitVotes, PartSetId, VoteItem},
    Hash,
};

/// One block and what a relay needs of it.
#[derive(Debug, Clone)]
pub struct Block {
    pub header: BlockHeader,
    /// The header's bytes; `header.id` is their SHA3-256.
    pub header_bytes: Vec<u8>,
    /// The commit votes for this block (what `icx_getVotesByHeight` returns).
    pub votes: Vec<u8>,
    /// The validator list this block's header names, when it differs from the previous header's.
    pub next_validators: Option<Vec<u8>>,
    pub receipts: Vec<Receipt>,
}

impl Block {
    pub fn height(&self) -> i64 {
        self.header.height
    }

    pub fn id(&self) -> Hash {
        self.header.id
    }

    fn receipt_list(&self) -> MerkleList {
        let encoded: Vec<Vec<u8>> = self.receipts.iter().map(Receipt::encode).collect();
        MerkleList::new(&encoded)
    }
}

/// Which events of which receipt of a block a relay message proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRef {
    pub index: u64,
    pub events: Vec<u64>,
}

/// Signs the commit votes for block `id` at `height`: every signer's vote message over the same part set.
pub fn sign_votes(signers: &[&Validator], height: i64, id: &Hash, round: i32, timestamp: i64) -> CommitVotes {
    let mut votes = CommitVotes { round, part_set_id: PartSetId { count: 1, hash: Some(sha3_256(id).to_vec()) }, items: Vec::new() };
    for (i, signer) in signers.iter().enumerate() {
        let item = VoteItem { timestamp: timestamp + i as i64, signature: Vec::new() };
        let digest = sha3_256(&votes.vote_message(height, id, &item));
        votes.items.push(VoteItem { signature: signer.sign(&digest).to_vec(), ..item });
    }
    votes
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
}

/// Microseconds between blocks.
const BLOCK_INTERVAL: i64 = 1_000_000;

impl TestChain {
    /// A chain whose block `offset` names `validators` as the set voting on block `offset + 1`.
    pub fn new(network: &str, validators: Vec<Validator>, offset: i64) -> Self {
        let mut chain = Self { network: network.into(), voters: validators.clone(), next: validators, blocks: Vec::new(), timestamp: 1_700_000_000_000_000 };
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
        let mut block = Block {
            header: BlockHeader {
                version: 2,
                height,
                timestamp: self.timestamp,
                proposer: Some(self.voters[(height as usize) % self.voters.len()].address.0),
                prev_id,
                votes_hash: self.blocks.last().map(|b| sha3_256(&b.votes)),
                next_validators_hash: Some(sha3_256(&next_list)),
                patch_transactions_hash: None,
                normal_transactions_hash: None,
                logs_bloom: Vec::new(),
                result: BlockResult {
                    state_hash: Some(sha3_256(&height.to_be_bytes())),
                    patch_receipt_hash: None,
                    normal_receipt_hash: None,
                    extra: Vec::new(),
                },
                extra: Vec::new(),
                id: [0; 32],
            },
            header_bytes: Vec::new(),
            votes: Vec::new(),
            next_validators: changed.then_some(next_list),
            receipts,
        };
        if !block.receipts.is_empty() {
            let receipts = block.receipt_list();
            block.header.result.normal_receipt_hash = receipts.root();
            block.header.normal_transactions_hash = receipts.root().map(|r| sha3_256(&r));
        }
        block.header_bytes = block.header.encode();
        block.header.id = sha3_256(&block.header_bytes);
        let signers: Vec<&Validator> = self.voters.iter().collect();
        block.votes = sign_votes(&signers, height, &block.header.id, 0, self.timestamp + 1000).encode();
        self.voters = self.next.clone();
        self.blocks.push(block);
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
