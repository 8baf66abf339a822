//! The relay message a relay sends to the BMV: block updates, or a block proof, and receipt proofs.
//!
//! Nested parts are "bytes(X)": byte strings holding a complete encoding. All slices borrow the message.

use crate::{
    error::{ErrorCode, OrCode},
    BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::rlp::{ListBuilder, Rlp};

const BAD: ErrorCode = ErrorCode::DecodeError;

/// A new block: header, its commit votes, and the next validator list when the header changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockUpdate<'a> {
    pub header: &'a [u8],
    pub votes: Option<&'a [u8]>,
    pub next_validators: Option<&'a [u8]>,
}

/// An already accumulated block, proven by an MTA witness built at accumulator height `witness_height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockProof<'a> {
    pub header: &'a [u8],
    pub witness_height: u64,
    pub witness: Vec<Hash>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventProof<'a> {
    pub index: u64,
    pub proof: Vec<&'a [u8]>,
}

/// Receipt `index` of the block's normal receipts, with proofs of some of its event logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptProof<'a> {
    pub index: u64,
    pub proof: Vec<&'a [u8]>,
    pub event_proofs: Vec<EventProof<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelayMessage<'a> {
    pub block_updates: Vec<BlockUpdate<'a>>,
    pub block_proof: Option<BlockProof<'a>>,
    pub receipt_proofs: Vec<ReceiptProof<'a>>,
}

/// Null and the empty string both mean "absent".
fn optional<'a>(item: &Rlp<'a>) -> Result<Option<&'a [u8]>, BmvError> {
    Ok(item.nullable_bytes().or_code(BAD, "expected bytes")?.filter(|b| !b.is_empty()))
}

/// A byte string holding the RLP list of proof node encodings.
fn proof_nodes<'a>(item: &Rlp<'a>) -> Result<Vec<&'a [u8]>, BmvError> {
    item.nested()
        .and_then(|list| list.nullable_iter())
        .or_code(BAD, "proof is not bytes(list)")?
        .map(|n| n.or_code(BAD, "proof node is not RLP")?.bytes().or_code(BAD, "proof node is not bytes"))
        .collect()
}

fn index(item: &Rlp<'_>) -> Result<u64, BmvError> {
    item.u64().or_code(BAD, "index is not a non-negative integer")
}

impl<'a> RelayMessage<'a> {
    /// Decodes a relay message; one without block updates and without a block proof is refused (`Unknown`).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BmvError> {
        let [updates, proof, receipts] = Rlp::new(bytes).and_then(|r| r.fixed()).or_code(BAD, "relay message is not a 3-item list")?;
        let block_updates: Vec<BlockUpdate<'a>> = updates
            .nullable_iter()
            .or_code(BAD, "block updates are not a list")?
            .map(|u| {
                let u = u.or_code(BAD, "list item is not RLP")?;
                let [header, votes, next] = u.nested().and_then(|l| l.fixed()).or_code(BAD, "block update is not bytes([header, votes, validators])")?;
                Ok(BlockUpdate { header: header.bytes().or_code(BAD, "header is not bytes")?, votes: optional(&votes)?, next_validators: optional(&next)? })
            })
            .collect::<Result<_, BmvError>>()?;
        let block_proof = match optional(&proof)? {
            None => None,
            Some(bytes) => {
                let [header, witness] = Rlp::new(bytes).and_then(|l| l.fixed()).or_code(BAD, "block proof is not [header, witness]")?;
                let [height, hashes] = witness.fixed().or_code(BAD, "block witness is not [height, hashes]")?;
                Some(BlockProof {
                    header: header.bytes().or_code(BAD, "block proof header is not bytes")?,
                    witness_height: height.u64().or_code(BAD, "witness height is not a non-negative integer")?,
                    witness: hashes
                        .nullable_iter()
                        .or_code(BAD, "witness is not a list")?
                        .map(|h| h.or_code(BAD, "witness hash is not RLP")?.array().or_code(BAD, "witness hash is not 32 bytes"))
                        .collect::<Result<_, _>>()?,
                })
            }
        };
        if block_updates.is_empty() && block_proof.is_none() {
            return Err(BmvError::new(ErrorCode::Unknown, "relay message has neither block updates nor a block proof"));
        }
        let receipt_proofs = receipts
            .nullable_iter()
            .or_code(BAD, "receipt proofs are not a list")?
            .map(|r| {
                let r = r.or_code(BAD, "list item is not RLP")?;
                let [idx, proof, events] = r.nested().and_then(|l| l.fixed()).or_code(BAD, "receipt proof is not bytes([index, proof, events])")?;
                let event_proofs = events
                    .nullable_iter()
                    .or_code(BAD, "event proofs are not a list")?
                    .map(|e| {
                        let e = e.or_code(BAD, "list item is not RLP")?;
                        let [idx, proof] = e.fixed().or_code(BAD, "event proof is not [index, proof]")?;
                        Ok(EventProof { index: index(&idx)?, proof: proof_nodes(&proof)? })
                    })
                    .collect::<Result<_, BmvError>>()?;
                Ok(ReceiptProof { index: index(&idx)?, proof: proof_nodes(&proof)?, event_proofs })
            })
            .collect::<Result<_, BmvError>>()?;
        Ok(Self { block_updates, block_proof, receipt_proofs })
    }

    /// The encoding a relay sends; the inverse of [`RelayMessage::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let nodes = |proof: &[&[u8]]| {
            let mut l = ListBuilder::new();
            proof.iter().for_each(|n| {
                l.bytes(n);
            });
            l.finish()
        };
        let mut updates = ListBuilder::new();
        for u in &self.block_updates {
            let bu = ListBuilder::new().bytes(u.header).nullable_bytes(u.votes).nullable_bytes(u.next_validators).finish();
            updates.bytes(&bu);
        }
        let mut out = ListBuilder::new();
        out.raw(&updates.finish());
        match &self.block_proof {
            None => out.null(),
            Some(p) => {
                let mut hashes = ListBuilder::new();
                p.witness.iter().for_each(|h| {
                    hashes.bytes(h);
                });
                let witness = ListBuilder::new().uint(p.witness_height.into()).raw(&hashes.finish()).finish();
                out.bytes(&ListBuilder::new().bytes(p.header).raw(&witness).finish())
            }
        };
        let mut receipts = ListBuilder::new();
        for r in &self.receipt_proofs {
            let mut events = ListBuilder::new();
            for e in &r.event_proofs {
                events.raw(&ListBuilder::new().uint(e.index.into()).bytes(&nodes(&e.proof)).finish());
            }
            receipts.bytes(&ListBuilder::new().uint(r.index.into()).bytes(&nodes(&r.proof)).raw(&events.finish()).finish());
        }
        out.raw(&receipts.finish());
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_list_of_single_bytes_is_a_decode_error_at_its_first_item() {
        let mut updates = ListBuilder::new();
        for _ in 0..30_000 {
            updates.uint(1);
        }
        let msg = ListBuilder::new().raw(&updates.finish()).null().raw(&ListBuilder::new().finish()).finish();
        let err = RelayMessage::decode(&msg).unwrap_err();
        assert_eq!(err.code, ErrorCode::DecodeError, "{err:?}");
    }
}
