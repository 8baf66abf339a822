//! The BMV's relay-message processing: the state it keeps and the rules it applies.
//!
//! Per block update, in order: height = accumulator height + 1; prev id = the last accepted block's id (when
//! known); votes of the current validator set commit the header; a changed next-validators hash must come
//! with the matching list, which becomes the set; the block id joins the accumulator. Without block updates,
//! a block proof shows an older block is in the accumulator. Receipts are then proven against that block's
//! receipt root, and the source BMC's `Message` events to this BMC must carry consecutive sequence numbers
//! from `seq + 1`.

use crate::{
    crypto::Secp256k1,
    error::{ErrorCode, OrCode},
    header::BlockHeader,
    mpt,
    mta::Mta,
    receipt::{event_logs_hash, EventLog},
    relay::RelayMessage,
    sha3_256,
    validators::ValidatorSet,
    votes::CommitVotes,
    BmvError, Hash,
};
use alloc::{string::String, vec::Vec};
use btp_primitives::{BtpAddress, IconAddress};

/// A block whose header the verifier accepted, with the validators whose votes committed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBlock {
    pub height: i64,
    pub id: Hash,
    pub signers: Vec<IconAddress>,
}

/// What one accepted relay message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The BTP messages for the BMC, in sequence order.
    pub messages: Vec<Vec<u8>>,
    pub blocks: Vec<VerifiedBlock>,
    /// Heights of the blocks that installed a new validator set, with the new set's hash.
    pub validator_changes: Vec<(i64, Hash)>,
}

/// Checks that `votes` of `validators` commit `header`; returns the signers.
pub fn verify_block_update(
    header: &BlockHeader,
    votes: Option<&[u8]>,
    validators: &ValidatorSet,
    crypto: &impl Secp256k1,
) -> Result<Vec<IconAddress>, BmvError> {
    let votes = votes.or_code(ErrorCode::InvalidBlockUpdate, "block update has no votes")?;
    CommitVotes::decode(votes)?.verify(header.height, &header.id, validators, crypto)
}

/// The verifier's state: what an ICON BMV stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The ICON network address (`<nid>.icon`) messages must come from.
    pub network: String,
    pub validators: ValidatorSet,
    pub mta: Mta,
    /// Id of the last block taken through a block update; the next update must name it as its parent.
    pub last_block_hash: Option<Hash>,
    /// Height of the last block that delivered messages.
    pub last_height: u64,
}

impl Verifier {
    /// Processes a relay message for the BMC `bmc` (its BTP address) from the ICON BMC `prev`, whose link has
    /// received `seq` messages so far. On error nothing changes.
    pub fn handle_relay_message(&mut self, bmc: &str, prev: &str, seq: u128, msg: &[u8], crypto: &impl Secp256k1) -> Result<Outcome, BmvError> {
        let mut next = self.clone();
        let outcome = next.process(bmc, prev, seq, msg, crypto)?;
        *self = next;
        Ok(outcome)
    }

    /// [`Verifier::handle_relay_message`] without the copy: on error the state is left part-way, for callers
    /// that discard it then (a contract call that fails is reverted).
    pub fn process(&mut self, bmc: &str, prev: &str, seq: u128, msg: &[u8], crypto: &impl Secp256k1) -> Result<Outcome, BmvError> {
        let prev = BtpAddress::parse(prev).or_code(ErrorCode::NotAcceptedFromNetwork, "prev is not a BTP address")?;
        if prev.network() != self.network {
            return Err(BmvError::new(ErrorCode::NotAcceptedFromNetwork, "prev is not on the verified network"));
        }
        let source_bmc = IconAddress::parse(prev.account()).or_code(ErrorCode::NotAcceptedFromNetwork, "prev is not an ICON contract")?;
        let message = RelayMessage::decode(msg)?;
        let mut outcome = Outcome::default();

        let (receipt_root, height) = if !message.block_updates.is_empty() {
            // A block proof beside block updates is ignored, as ICON's Java BMV does: updates prove more.
            let mut last = None;
            for update in &message.block_updates {
                last = Some(self.apply_block_update(update.header, update.votes, update.next_validators, crypto, &mut outcome)?);
            }
            last.or_code(ErrorCode::Unknown, "no block update")?
        } else {
            let proof = message.block_proof.as_ref().or_code(ErrorCode::Unknown, "no block proof")?;
            let header = BlockHeader::decode(proof.header)?;
            let height = u64::try_from(header.height).or_code(ErrorCode::InvalidBlockProof, "negative block height")?;
            if height > self.mta.height() {
                return Err(BmvError::new(ErrorCode::InvalidBlockProofHeightHigher, "block proof is above the accumulator"));
            }
            if proof.witness.is_empty() {
                return Err(BmvError::new(ErrorCode::InvalidBlockWitness, "block proof has no witness"));
            }
            self.mta.verify(&proof.witness, &header.id, height, proof.witness_height)?;
            (header.result.normal_receipt_hash, header.height)
        };

        let mut next_seq = i128::try_from(seq).ok().and_then(|s| s.checked_add(1)).or_code(ErrorCode::Unknown, "sequence overflow")?;
        for receipt_proof in &message.receipt_proofs {
            let root = receipt_root.as_ref().or_code(ErrorCode::Unknown, "block has no receipt hash")?;
            let receipt = mpt::prove(root, &mpt::list_key(receipt_proof.index), &receipt_proof.proof)?;
            let logs_root = event_logs_hash(receipt)?;
            for event_proof in &receipt_proof.event_proofs {
                let log = EventLog::decode(mpt::prove(&logs_root, &mpt::list_key(event_proof.index), &event_proof.proof)?)?;
                if log.address != source_bmc {
                    continue;
                }
                // Messages to other BMCs count on their own links' sequences, so they are passed over first.
                let Some(event) = log.message()?.filter(|e| e.next == bmc) else { continue };
                if event.seq > next_seq {
                    return Err(BmvError::new(ErrorCode::InvalidSequenceHigher, "message sequence skips ahead"));
                }
                if event.seq < next_seq {
                    return Err(BmvError::new(ErrorCode::InvalidSequence, "message already delivered"));
                }
                outcome.messages.push(event.msg.to_vec());
                next_seq = next_seq.checked_add(1).or_code(ErrorCode::Unknown, "sequence overflow")?;
            }
        }
        if !outcome.messages.is_empty() {
            self.last_height = u64::try_from(height).or_code(ErrorCode::Unknown, "negative block height")?;
        }
        Ok(outcome)
    }

    fn apply_block_update(
        &mut self,
        header: &[u8],
        votes: Option<&[u8]>,
        next_validators: Option<&[u8]>,
        crypto: &impl Secp256k1,
        outcome: &mut Outcome,
    ) -> Result<(Option<Hash>, i64), BmvError> {
        let header = BlockHeader::decode(header)?;
        let expected = i128::from(self.mta.height()).saturating_add(1);
        match i128::from(header.height) {
            h if h > expected => return Err(BmvError::new(ErrorCode::InvalidBlockUpdateHeightHigher, "block update skips heights")),
            h if h < expected => return Err(BmvError::new(ErrorCode::InvalidBlockUpdateHeightLower, "block already accumulated")),
            _ => {}
        }
        if let Some(last) = self.last_block_hash {
            if header.prev_id != Some(last) {
                return Err(BmvError::new(ErrorCode::InvalidBlockUpdate, "header does not follow the last block"));
            }
        }
        let signers = verify_block_update(&header, votes, &self.validators, crypto)?;
        let next_hash = header.next_validators_hash.or_code(ErrorCode::InvalidBlockUpdate, "header has no next-validators hash")?;
        if &next_hash != self.validators.hash() {
            let list = next_validators.or_code(ErrorCode::InvalidBlockUpdate, "next validators missing")?;
            if sha3_256(list) != next_hash {
                return Err(BmvError::new(ErrorCode::InvalidBlockUpdate, "next validators do not match the header's hash"));
            }
            self.validators = ValidatorSet::decode(list, crypto).map_err(|e| BmvError::new(ErrorCode::InvalidBlockUpdate, e.reason))?;
            outcome.validator_changes.push((header.height, next_hash));
        }
        self.mta.add(header.id)?;
        self.last_block_hash = Some(header.id);
        outcome.blocks.push(VerifiedBlock { height: header.height, id: header.id, signers });
        Ok((header.result.normal_receipt_hash, header.height))
    }
}
