//! Commit votes: decoding, the exact bytes validators sign, and the quorum rule.

use crate::{
    crypto::{recover_address, Secp256k1},
    error::{ErrorCode, OrCode},
    sha3_256,
    validators::ValidatorSet,
    BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::{
    rlp::{ListBuilder, Rlp},
    IconAddress,
};

/// `Type` of a precommit vote: the only kind that commits a block.
const VOTE_TYPE_PRECOMMIT: i128 = 1;

/// The block part-set id votes refer to. `count` is a 64-bit "count word" on newer goloop (part count in the
/// low 16 bits, app data above); it is signed as received, so it is kept whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSetId {
    pub count: u64,
    pub hash: Option<Vec<u8>>,
}

impl PartSetId {
    fn encode(&self) -> Vec<u8> {
        ListBuilder::new().uint(self.count.into()).nullable_bytes(self.hash.as_deref()).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteItem {
    /// Microseconds; each validator's own clock, part of what it signs.
    pub timestamp: i64,
    /// R‖S‖V; kept as received, since a wrong length is an invalid vote, not a malformed list.
    pub signature: Vec<u8>,
}

/// The commit vote list for one block, as `icx_getVotesByHeight` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitVotes {
    pub round: i32,
    pub part_set_id: PartSetId,
    pub items: Vec<VoteItem>,
}

const BAD: ErrorCode = ErrorCode::DecodeError;

impl CommitVotes {
    pub fn decode(bytes: &[u8]) -> Result<Self, BmvError> {
        let item = Rlp::new(bytes).or_code(BAD, "votes are not RLP")?;
        // goloop ≥ 1.3 appends NTS proofs for BTP 2; they play no part in BTP 1 block votes.
        let ([round, psid, items], _) = item.at_least::<3>().or_code(BAD, "votes have fewer than 3 fields")?;
        let [count, hash] = psid.fixed().or_code(BAD, "part set id is not [count, hash]")?;
        let items = items
            .nullable_items()
            .or_code(BAD, "vote items are not a list")?
            .iter()
            .map(|v| {
                let [ts, sig] = v.fixed().or_code(BAD, "vote item is not [timestamp, signature]")?;
                Ok(VoteItem {
                    timestamp: ts.i64().or_code(BAD, "vote timestamp is not an int64")?,
                    signature: sig.nullable_bytes().or_code(BAD, "signature is not bytes")?.unwrap_or_default().to_vec(),
                })
            })
            .collect::<Result<_, BmvError>>()?;
        Ok(Self {
            round: round.i32().or_code(BAD, "round is not an int32")?,
            part_set_id: PartSetId {
                count: count.u64().or_code(BAD, "part set count is not a uint64")?,
                hash: hash.nullable_bytes().or_code(BAD, "part set hash is not bytes")?.map(<[u8]>::to_vec),
            },
            items,
        })
    }

    /// The bytes goloop writes for a commit vote list (BTP 1: round, part-set id, items).
    pub fn encode(&self) -> Vec<u8> {
        let mut items = ListBuilder::new();
        for item in &self.items {
            items.raw(&ListBuilder::new().int(item.timestamp.into()).bytes(&item.signature).finish());
        }
        ListBuilder::new().int(self.round.into()).raw(&self.part_set_id.encode()).raw(&items.finish()).finish()
    }

    /// The bytes a validator signed for `item`: `[height, round, 1, block id, [count, hash], timestamp]`.
    pub fn vote_message(&self, height: i64, block_id: &Hash, item: &VoteItem) -> Vec<u8> {
        ListBuilder::new()
            .int(height.into())
            .int(self.round.into())
            .int(VOTE_TYPE_PRECOMMIT)
            .bytes(block_id)
            .raw(&self.part_set_id.encode())
            .int(item.timestamp.into())
            .finish()
    }

    /// Checks that these votes commit block `block_id` at `height` under `validators`: every vote recovers to
    /// a distinct member, and more than two thirds of the set voted. Returns the signers in vote order.
    pub fn verify(&self, height: i64, block_id: &Hash, validators: &ValidatorSet, crypto: &impl Secp256k1) -> Result<Vec<IconAddress>, BmvError> {
        let mut signers: Vec<IconAddress> = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let digest = sha3_256(&self.vote_message(height, block_id, item));
            let signer = recover_address(crypto, &digest, &item.signature).or_code(ErrorCode::InvalidVotes, "signature does not recover")?;
            if !validators.contains(&signer) {
                return Err(BmvError::new(ErrorCode::InvalidVotes, "vote from a non-validator"));
            }
            if signers.contains(&signer) {
                return Err(BmvError::new(ErrorCode::InvalidVotes, "duplicated vote"));
            }
            signers.push(signer);
        }
        if !validators.is_quorum(signers.len()) {
            return Err(BmvError::new(ErrorCode::InvalidVotes, "not more than 2/3 of validators voted"));
        }
        Ok(signers)
    }
}
