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

/// A relay message to be sent: what a relay assembles and [`RelayMessage::encode`] writes.
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

fn index(item: &Rlp<'_>) -> Result<u64, BmvError> {
    item.u64().or_code(BAD, "index is not a non-negative integer")
}

/// Longest accumulator witness: one hash per level of a tree of at most 2^64 leaves.
pub const MAX_WITNESS: usize = 64;

/// A received relay message, read in place: its lists are decoded item by item as they are walked, so a
/// message of any shape costs memory for its decoded items one at a time, never for all of them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedRelayMessage<'a> {
    block_updates: Rlp<'a>,
    block_proof: Option<(&'a [u8], u64, Rlp<'a>)>,
    receipt_proofs: Rlp<'a>,
}

/// The node encodings of one Merkle Patricia proof, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofNodes<'a>(Rlp<'a>);

impl<'a> ProofNodes<'a> {
    /// A byte string holding the RLP list of proof node encodings.
    fn decode(item: &Rlp<'a>) -> Result<Self, BmvError> {
        let list = item.nested().or_code(BAD, "proof is not bytes(list)")?;
        list.nullable_iter().or_code(BAD, "proof is not bytes(list)")?;
        Ok(Self(list))
    }

    pub fn iter(&self) -> impl Iterator<Item = Result<&'a [u8], BmvError>> + 'a {
        self.0.nullable_iter().unwrap_or_default().map(|n| n.and_then(|n| n.bytes()).or_code(BAD, "proof node is not bytes"))
    }
}

/// A receipt proof as received: receipt `index`, its proof nodes and the proofs of some of its event logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedReceiptProof<'a> {
    pub index: u64,
    pub proof: ProofNodes<'a>,
    events: Rlp<'a>,
}

impl<'a> ReceivedReceiptProof<'a> {
    /// `(event index, proof nodes)` of each event proof.
    pub fn event_proofs(&self) -> impl Iterator<Item = Result<(u64, ProofNodes<'a>), BmvError>> + 'a {
        self.events.nullable_iter().unwrap_or_default().map(|e| {
            let [idx, proof] = e.and_then(|e| e.fixed()).or_code(BAD, "event proof is not [index, proof]")?;
            Ok((index(&idx)?, ProofNodes::decode(&proof)?))
        })
    }
}

impl<'a> ReceivedRelayMessage<'a> {
    /// Decodes a relay message's outer structure; one without block updates and without a block proof is
    /// refused (`Unknown`). Malformed items inside the lists are found as they are walked.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BmvError> {
        let [updates, proof, receipts] = Rlp::new(bytes).and_then(|r| r.fixed()).or_code(BAD, "relay message is not a 3-item list")?;
        updates.nullable_iter().or_code(BAD, "block updates are not a list")?;
        receipts.nullable_iter().or_code(BAD, "receipt proofs are not a list")?;
        let block_proof = match optional(&proof)? {
            None => None,
            Some(bytes) => {
                let [header, witness] = Rlp::new(bytes).and_then(|l| l.fixed()).or_code(BAD, "block proof is not [header, witness]")?;
                let [height, hashes] = witness.fixed().or_code(BAD, "block witness is not [height, hashes]")?;
                hashes.nullable_iter().or_code(BAD, "witness is not a list")?;
                Some((
                    header.bytes().or_code(BAD, "block proof header is not bytes")?,
                    height.u64().or_code(BAD, "witness height is not a non-negative integer")?,
                    hashes,
                ))
            }
        };
        // Only whether the list has an item: the first update is decoded once, when it is walked.
        let no_updates = updates.nullable_iter().is_ok_and(|mut items| items.next().is_none());
        let message = Self { block_updates: updates, block_proof, receipt_proofs: receipts };
        if no_updates && block_proof.is_none() {
            return Err(BmvError::new(ErrorCode::Unknown, "relay message has neither block updates nor a block proof"));
        }
        Ok(message)
    }

    pub fn block_updates(&self) -> impl Iterator<Item = Result<BlockUpdate<'a>, BmvError>> + 'a {
        self.block_updates.nullable_iter().unwrap_or_default().map(|u| {
            let u = u.or_code(BAD, "list item is not RLP")?;
            let [header, votes, next] = u.nested().and_then(|l| l.fixed()).or_code(BAD, "block update is not bytes([header, votes, validators])")?;
            Ok(BlockUpdate { header: header.bytes().or_code(BAD, "header is not bytes")?, votes: optional(&votes)?, next_validators: optional(&next)? })
        })
    }

    /// The block proof, its witness read in full: at most [`MAX_WITNESS`] hashes, more can prove nothing.
    pub fn block_proof(&self) -> Result<Option<BlockProof<'a>>, BmvError> {
        let Some((header, witness_height, hashes)) = self.block_proof else { return Ok(None) };
        let mut witness = Vec::new();
        for h in hashes.nullable_iter().unwrap_or_default() {
            if witness.len() == MAX_WITNESS {
                return Err(BmvError::new(ErrorCode::InvalidBlockWitness, "witness is longer than any accumulator"));
            }
            witness.push(h.or_code(BAD, "witness hash is not RLP")?.array().or_code(BAD, "witness hash is not 32 bytes")?);
        }
        Ok(Some(BlockProof { header, witness_height, witness }))
    }

    /// Everything the message holds, decoded into one value (for hosts: a relay re-sending it, a test).
    pub fn collect(&self) -> Result<RelayMessage<'a>, BmvError> {
        let nodes = |p: ProofNodes<'a>| p.iter().collect::<Result<Vec<_>, _>>();
        Ok(RelayMessage {
            block_updates: self.block_updates().collect::<Result<_, _>>()?,
            block_proof: self.block_proof()?,
            receipt_proofs: self
                .receipt_proofs()
                .map(|r| {
                    let r = r?;
                    let event_proofs =
                        r.event_proofs().map(|e| e.and_then(|(index, p)| Ok(EventProof { index, proof: nodes(p)? }))).collect::<Result<_, _>>()?;
                    Ok(ReceiptProof { index: r.index, proof: nodes(r.proof)?, event_proofs })
                })
                .collect::<Result<_, BmvError>>()?,
        })
    }

    pub fn receipt_proofs(&self) -> impl Iterator<Item = Result<ReceivedReceiptProof<'a>, BmvError>> + 'a {
        self.receipt_proofs.nullable_iter().unwrap_or_default().map(|r| {
            let r = r.or_code(BAD, "list item is not RLP")?;
            let [idx, proof, events] = r.nested().and_then(|l| l.fixed()).or_code(BAD, "receipt proof is not bytes([index, proof, events])")?;
            events.nullable_iter().or_code(BAD, "event proofs are not a list")?;
            Ok(ReceivedReceiptProof { index: index(&idx)?, proof: ProofNodes::decode(&proof)?, events })
        })
    }
}

impl RelayMessage<'_> {
    /// The encoding a relay sends; what [`ReceivedRelayMessage::decode`] reads.
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
        let err = ReceivedRelayMessage::decode(&msg).and_then(|m| m.block_updates().try_for_each(|u| u.map(|_| ()))).unwrap_err();
        assert_eq!(err.code, ErrorCode::DecodeError, "{err:?}");
    }
}
