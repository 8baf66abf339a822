//! ICON block header v2 and its block id.

use crate::{
    error::{ErrorCode, OrCode},
    sha3_256, BmvError, Hash,
};
use btp_primitives::rlp::Rlp;

/// The fields of a v2 header a verifier uses. `id` is SHA3-256 of the exact bytes received, which is the block
/// id only because goloop hashes its own encoding: re-encoding would break on headers with extension fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub version: i32,
    pub height: i64,
    pub timestamp: i64,
    pub proposer: Option<[u8; 21]>,
    pub prev_id: Option<Hash>,
    pub votes_hash: Option<Hash>,
    pub next_validators_hash: Option<Hash>,
    pub patch_transactions_hash: Option<Hash>,
    pub normal_transactions_hash: Option<Hash>,
    pub logs_bloom: alloc::vec::Vec<u8>,
    pub result: BlockResult,
    pub id: Hash,
}

/// The header's `Result` field: the roots a block's execution produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockResult {
    pub state_hash: Option<Hash>,
    pub patch_receipt_hash: Option<Hash>,
    /// Root of the normal receipts: what receipt proofs are checked against.
    pub normal_receipt_hash: Option<Hash>,
}

const BAD: ErrorCode = ErrorCode::DecodeError;

/// A nullable hash: null and the empty string both mean "none" (goloop writes nil as null, empty as `80`).
pub(crate) fn opt_hash(item: &Rlp<'_>) -> Result<Option<Hash>, BmvError> {
    match item.nullable_bytes().or_code(BAD, "hash is not a byte string")? {
        None | Some([]) => Ok(None),
        Some(b) => b.try_into().map(Some).or_code(BAD, "hash is not 32 bytes"),
    }
}

impl BlockResult {
    fn decode(item: &Rlp<'_>) -> Result<Self, BmvError> {
        let bytes = match item.nullable_bytes().or_code(BAD, "header result is not bytes")? {
            None | Some([]) => return Ok(Self::default()),
            Some(b) => b,
        };
        let list = Rlp::new(bytes).or_code(BAD, "header result is not RLP")?;
        // StateHash, PatchReceiptHash, NormalReceiptHash, then optional extension data, flags and BTP data.
        let ([state, patch, normal], _) = list.at_least::<3>().or_code(BAD, "header result has too few items")?;
        Ok(Self { state_hash: opt_hash(&state)?, patch_receipt_hash: opt_hash(&patch)?, normal_receipt_hash: opt_hash(&normal)? })
    }
}

impl BlockHeader {
    pub fn decode(bytes: &[u8]) -> Result<Self, BmvError> {
        let item = Rlp::new(bytes).or_code(BAD, "header is not RLP")?;
        // goloop ≥ 1.3 may append fields (the network-section filter) after Result.
        let ([version, height, timestamp, proposer, prev, votes, next_validators, patch_txs, normal_txs, bloom, result], _) =
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
            logs_bloom: bloom.nullable_bytes().or_code(BAD, "logs bloom is not bytes")?.unwrap_or_default().to_vec(),
            result: BlockResult::decode(&result)?,
            id: sha3_256(bytes),
        })
    }
}
