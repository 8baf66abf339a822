//! ICON block header v2 and its block id.

use crate::{
    error::{ErrorCode, OrCode},
    sha3_256, BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::rlp::{ListBuilder, Rlp};

/// A v2 header, read in place from the bytes it was decoded from. `id` is SHA3-256 of the exact bytes received,
/// which is the block id only because goloop hashes its own encoding: re-encoding would break on headers with
/// extension fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader<'a> {
    pub version: i32,
    pub height: i64,
    pub timestamp: i64,
    pub proposer: Option<[u8; 21]>,
    pub prev_id: Option<Hash>,
    pub votes_hash: Option<Hash>,
    pub next_validators_hash: Option<Hash>,
    pub patch_transactions_hash: Option<Hash>,
    pub normal_transactions_hash: Option<Hash>,
    pub logs_bloom: &'a [u8],
    pub result: BlockResult<'a>,
    /// Fields after `Result` (goloop ≥ 1.3: the network-section filter): their encodings, back to back.
    pub extra: &'a [u8],
    /// SHA3-256 of the bytes the header was decoded from.
    pub id: Hash,
}

/// The header's `Result` field: the roots a block's execution produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockResult<'a> {
    pub state_hash: Option<Hash>,
    pub patch_receipt_hash: Option<Hash>,
    /// Root of the normal receipts: what receipt proofs are checked against.
    pub normal_receipt_hash: Option<Hash>,
    /// Items after the receipt roots (ICON's IISS extension data, BTP data): their encodings, back to back.
    pub extra: &'a [u8],
}

const BAD: ErrorCode = ErrorCode::DecodeError;

/// A nullable hash: null and the empty string both mean "none" (goloop writes nil as null, empty as `80`).
pub(crate) fn opt_hash(item: &Rlp<'_>) -> Result<Option<Hash>, BmvError> {
    match item.nullable_bytes().or_code(BAD, "hash is not a byte string")? {
        None | Some([]) => Ok(None),
        Some(b) => b.try_into().map(Some).or_code(BAD, "hash is not 32 bytes"),
    }
}

impl<'a> BlockResult<'a> {
    fn decode(item: &Rlp<'a>) -> Result<Self, BmvError> {
        let bytes = match item.nullable_bytes().or_code(BAD, "header result is not bytes")? {
            None | Some([]) => return Ok(Self::default()),
            Some(b) => b,
        };
        let list = Rlp::new(bytes).or_code(BAD, "header result is not RLP")?;
        // StateHash, PatchReceiptHash, NormalReceiptHash, then optional extension data, flags and BTP data.
        let ([state, patch, normal], extra) = list.at_least::<3>().or_code(BAD, "header result has too few items")?;
        Ok(Self {
            state_hash: opt_hash(&state)?,
            patch_receipt_hash: opt_hash(&patch)?,
            normal_receipt_hash: opt_hash(&normal)?,
            extra: extra.checked_rest().or_code(BAD, "header result extension is not RLP")?,
        })
    }

    /// The encoding goloop writes (none of the roots set: no result at all).
    pub fn encode(&self) -> Option<Vec<u8>> {
        if self.state_hash.is_none() && self.patch_receipt_hash.is_none() && self.normal_receipt_hash.is_none() && self.extra.is_empty() {
            return None;
        }
        let mut l = ListBuilder::new();
        for h in [&self.state_hash, &self.patch_receipt_hash, &self.normal_receipt_hash] {
            l.nullable_bytes(h.as_ref().map(|h| &h[..]));
        }
        Some(l.raw(self.extra).finish())
    }
}

impl<'a> BlockHeader<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BmvError> {
        let item = Rlp::new(bytes).or_code(BAD, "header is not RLP")?;
        // goloop ≥ 1.3 may append fields (the network-section filter) after Result.
        let ([version, height, timestamp, proposer, prev, votes, next_validators, patch_txs, normal_txs, bloom, result], extra) =
            item.at_least::<11>().or_code(BAD, "header has fewer than 11 fields")?;
        let proposer = match proposer.nullable_bytes().or_code(BAD, "proposer is not bytes")? {
            None | Some([]) => None,
            Some(b) => Some(b.try_into().or_code(BAD, "proposer is not 21 bytes")?),
        };
        Ok(Self {
            version: version.i32().or_code(BAD, "version is not an int32")?,
            height: height.i64().or_code(BAD, "height is not an int64")?,
            timestamp: timestamp.i64().or_code(BAD, "timestamp is not an int64")?,
            proposer,
            prev_id: opt_hash(&prev)?,
            votes_hash: opt_hash(&votes)?,
            next_validators_hash: opt_hash(&next_validators)?,
            patch_transactions_hash: opt_hash(&patch_txs)?,
            normal_transactions_hash: opt_hash(&normal_txs)?,
            logs_bloom: bloom.nullable_bytes().or_code(BAD, "logs bloom is not bytes")?.unwrap_or_default(),
            result: BlockResult::decode(&result)?,
            extra: extra.checked_rest().or_code(BAD, "header extension is not RLP")?,
            id: sha3_256(bytes),
        })
    }

    /// The bytes goloop writes for this header: absent values are null. `id` is not part of it.
    pub fn encode(&self) -> Vec<u8> {
        let hash = |h: &Option<Hash>| h.map(|h| h.to_vec());
        let mut l = ListBuilder::new();
        l.int(self.version.into())
            .int(self.height.into())
            .int(self.timestamp.into())
            .nullable_bytes(self.proposer.as_ref().map(|p| &p[..]))
            .nullable_bytes(hash(&self.prev_id).as_deref())
            .nullable_bytes(hash(&self.votes_hash).as_deref())
            .nullable_bytes(hash(&self.next_validators_hash).as_deref())
            .nullable_bytes(hash(&self.patch_transactions_hash).as_deref())
            .nullable_bytes(hash(&self.normal_transactions_hash).as_deref())
            .bytes(self.logs_bloom)
            .nullable_bytes(self.result.encode().as_deref());
        l.raw(self.extra).finish()
    }
}
