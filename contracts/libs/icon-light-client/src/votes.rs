//! Commit votes: decoding, the exact bytes validators sign, and the quorum rule.
//!
//! Verification runs once per vote of every block a relay message carries, inside a contract whose allocator
//! never frees: votes are read in place from the message, and each vote message is written into one buffer that
//! every vote of the relay message reuses.

use crate::{
    crypto::{recover_key, Secp256k1},
    error::{ErrorCode, OrCode},
    sha3_256,
    validators::ValidatorSet,
    BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::{
    rlp::{self, IntItem, ListBuilder, Rlp},
    IconAddress,
};

/// `Type` of a precommit vote: the only kind that commits a block.
const VOTE_TYPE_PRECOMMIT: i128 = 1;

const BAD: ErrorCode = ErrorCode::DecodeError;

/// The block part-set id votes refer to. `count` is a 64-bit "count word" on newer goloop (part count in the
/// low 16 bits, app data above, the network id in bits 32–63); it is signed as received, so it is kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSetId<'a> {
    pub count: u64,
    pub hash: Option<&'a [u8]>,
}

impl PartSetId<'_> {
    fn write(&self, out: &mut ListBuilder) {
        out.list(|l| {
            l.uint(self.count.into()).nullable_bytes(self.hash);
        });
    }

    /// The network id goloop puts into the count word's bits 32–63 since v1.3.13 (`None` before).
    pub fn network_id(&self) -> Option<u32> {
        u32::try_from(self.count >> 32).ok().filter(|nid| *nid != 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteItem<'a> {
    /// Microseconds; each validator's own clock, part of what it signs.
    pub timestamp: i64,
    /// R‖S‖V; kept as received, since a wrong length is an invalid vote, not a malformed list.
    pub signature: &'a [u8],
}

/// The commit vote list for one block, as `icx_getVotesByHeight` returns it; its items are read as they are
/// walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitVotes<'a> {
    pub round: i32,
    pub part_set_id: PartSetId<'a>,
    items: Rlp<'a>,
}

impl<'a> CommitVotes<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BmvError> {
        let item = Rlp::new(bytes).or_code(BAD, "votes are not RLP")?;
        // goloop ≥ 1.3 appends NTS proofs for BTP 2; they play no part in BTP 1 block votes.
        let ([round, psid, items], _) = item.at_least::<3>().or_code(BAD, "votes have fewer than 3 fields")?;
        let [count, hash] = psid.fixed().or_code(BAD, "part set id is not [count, hash]")?;
        items.nullable_iter().or_code(BAD, "vote items are not a list")?;
        Ok(Self {
            round: round.i32().or_code(BAD, "round is not an int32")?,
            part_set_id: PartSetId {
                count: count.u64().or_code(BAD, "part set count is not a uint64")?,
                hash: hash.nullable_bytes().or_code(BAD, "part set hash is not bytes")?,
            },
            items,
        })
    }

    /// The vote items, decoded one at a time.
    pub fn items(&self) -> impl Iterator<Item = Result<VoteItem<'a>, BmvError>> + 'a {
        self.items.nullable_iter().unwrap_or_default().map(|v| {
            let [ts, sig] = v.and_then(|v| v.fixed()).or_code(BAD, "vote item is not [timestamp, signature]")?;
            Ok(VoteItem {
                timestamp: ts.i64().or_code(BAD, "vote timestamp is not an int64")?,
                signature: sig.nullable_bytes().or_code(BAD, "signature is not bytes")?.unwrap_or_default(),
            })
        })
    }

    /// The bytes goloop writes for a commit vote list (BTP 1: round, part-set id, items).
    pub fn encode(round: i32, part_set_id: &PartSetId<'_>, items: &[VoteItem<'_>]) -> Vec<u8> {
        let mut list = ListBuilder::new();
        for item in items {
            list.raw(&ListBuilder::new().int(item.timestamp.into()).bytes(item.signature).finish());
        }
        let mut votes = ListBuilder::new();
        votes.int(round.into());
        part_set_id.write(&mut votes);
        votes.raw(&list.finish()).finish()
    }
}

/// Checks vote lists block after block; what it reuses from block to block is allocated once, so a relay
/// message of many blocks costs the memory of one.
#[derive(Debug, Clone)]
pub struct VoteChecker<'c, C> {
    crypto: &'c C,
    /// The id of the network the votes must be for (goloop signs it since v1.3.13).
    nid: Option<u32>,
    message: VoteMessage,
    seen: Vec<bool>,
}

impl<'c, C: Secp256k1> VoteChecker<'c, C> {
    pub fn new(crypto: &'c C, nid: Option<u32>) -> Self {
        Self { crypto, nid, message: VoteMessage::default(), seen: Vec::new() }
    }

    pub fn crypto(&self) -> &'c C {
        self.crypto
    }

    /// Checks that `votes` commit block `block_id` at `height` under `validators`: every vote recovers to a
    /// distinct member, and more than two thirds of the set voted. Each signer is handed to `signer`, in vote
    /// order; the count of signers is returned.
    pub fn check(
        &mut self,
        votes: &CommitVotes<'_>,
        height: i64,
        block_id: &Hash,
        validators: &mut ValidatorSet,
        mut signer: impl FnMut(&IconAddress),
    ) -> Result<usize, BmvError> {
        const INVALID: ErrorCode = ErrorCode::InvalidVotes;
        // goloop refuses consensus messages of another network; votes from before the id was signed carry none.
        if let (Some(signed), Some(ours)) = (votes.part_set_id.network_id(), self.nid) {
            if signed != ours {
                return Err(BmvError::new(INVALID, "votes are for another network"));
            }
        }
        self.message.start(height, votes.round, block_id, &votes.part_set_id);
        self.seen.clear();
        self.seen.resize(validators.len(), false);
        let mut count = 0usize;
        for item in votes.items() {
            let item = item?;
            let digest = sha3_256(self.message.with_timestamp(item.timestamp));
            let key = recover_key(self.crypto, &digest, item.signature).or_code(INVALID, "signature does not recover")?;
            let index = validators.index_of_key(&key, self.crypto).or_code(INVALID, "vote from a non-validator")?;
            let seen = self.seen.get_mut(index).or_code(INVALID, "vote from a non-validator")?;
            if core::mem::replace(seen, true) {
                return Err(BmvError::new(INVALID, "duplicated vote"));
            }
            count = count.saturating_add(1);
            signer(&validators.addresses()[index]);
        }
        if !validators.is_quorum(count) {
            return Err(BmvError::new(INVALID, "not more than 2/3 of validators voted"));
        }
        Ok(count)
    }
}

/// The bytes a validator signs for a vote on a block: `[height, round, 1, block id, [count, hash], timestamp]`.
/// Everything but the timestamp is the same for every vote of a block, so it is written once per block.
#[derive(Debug, Default, Clone)]
pub struct VoteMessage {
    shared: ListBuilder,
    message: Vec<u8>,
}

impl VoteMessage {
    /// Starts the messages of the votes on block `block_id` at `height`.
    pub fn start(&mut self, height: i64, round: i32, block_id: &Hash, part_set_id: &PartSetId<'_>) {
        self.shared.clear();
        self.shared.int(height.into()).int(round.into()).int(VOTE_TYPE_PRECOMMIT).bytes(block_id);
        part_set_id.write(&mut self.shared);
    }

    /// The message of the vote made at `timestamp`.
    pub fn with_timestamp(&mut self, timestamp: i64) -> &[u8] {
        let timestamp = IntItem::signed(timestamp.into());
        let shared = self.shared.payload();
        self.message.clear();
        rlp::write_list_header(&mut self.message, shared.len().saturating_add(timestamp.as_bytes().len()));
        self.message.extend_from_slice(shared);
        self.message.extend_from_slice(timestamp.as_bytes());
        &self.message
    }
}
