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
    relay::{BlockUpdate, ReceivedRelayMessage},
    sha3_256,
    validators::ValidatorSet,
    votes::{CommitVotes, VoteChecker},
    BmvError, Hash,
};
use alloc::{string::String, vec::Vec};
use btp_primitives::{BtpAddress, IconAddress};

/// A block whose header the verifier accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedBlock {
    pub height: i64,
    pub id: Hash,
    /// The hash of the validator set this block installed, when it changed the set.
    pub new_validators: Option<Hash>,
}

/// What happens while a relay message is verified, reported as it happens so that nothing per block or per
/// vote is kept: the contract emits events, the vector runner and the relay record what they need.
pub trait Observer {
    /// A vote of the block being checked recovered to `signer`, a member; votes are reported in order.
    fn signer(&mut self, _signer: &IconAddress) {}
    /// A block update was accepted.
    fn block(&mut self, _block: &VerifiedBlock) {}
}

impl Observer for () {}

/// A block update as a [`Recorder`] saw it: the block and its signers in vote order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    pub block: VerifiedBlock,
    pub signers: Vec<IconAddress>,
}

/// Keeps everything reported, for hosts that show or compare it (the vector runner, a relay's log, tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorder {
    pub blocks: Vec<BlockRecord>,
    signers: Vec<IconAddress>,
}

impl Observer for Recorder {
    fn signer(&mut self, signer: &IconAddress) {
        self.signers.push(*signer);
    }

    fn block(&mut self, block: &VerifiedBlock) {
        let signers = core::mem::take(&mut self.signers);
        self.blocks.push(BlockRecord { block: *block, signers });
    }
}

/// What one accepted relay message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome<'m> {
    /// The BTP messages for the BMC, in sequence order: parts of the relay message, verbatim.
    pub messages: Vec<&'m [u8]>,
    /// Block updates accepted.
    pub blocks: u32,
    /// Height and id of the block a block proof proved.
    pub proven_block: Option<(i64, Hash)>,
}

/// Checks that `votes` of `validators` commit `header`; each signer goes to `signer`.
pub fn verify_block_update<C: Secp256k1>(
    header: &BlockHeader<'_>,
    votes: Option<&[u8]>,
    validators: &mut ValidatorSet,
    checker: &mut VoteChecker<'_, C>,
    signer: impl FnMut(&IconAddress),
) -> Result<usize, BmvError> {
    let votes = votes.or_code(ErrorCode::InvalidBlockUpdate, "block update has no votes")?;
    checker.check(&CommitVotes::decode(votes)?, header.height, &header.id, validators, signer)
}

/// The network id of an ICON network address (`0x3.icon` → 3).
pub fn network_id(network: &str) -> Option<u32> {
    let (nid, _) = network.split_once('.')?;
    u32::from_str_radix(nid.strip_prefix("0x")?, 16).ok()
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
    pub fn handle_relay_message<'m>(&mut self, bmc: &str, prev: &str, seq: u128, msg: &'m [u8], crypto: &impl Secp256k1) -> Result<Outcome<'m>, BmvError> {
        self.handle_relay_message_with(bmc, prev, seq, msg, crypto, &mut ())
    }

    /// [`Verifier::handle_relay_message`], reporting to `observer` as it goes (also for a message that then
    /// fails).
    pub fn handle_relay_message_with<'m>(
        &mut self,
        bmc: &str,
        prev: &str,
        seq: u128,
        msg: &'m [u8],
        crypto: &impl Secp256k1,
        observer: &mut impl Observer,
    ) -> Result<Outcome<'m>, BmvError> {
        let mut next = self.clone();
        let outcome = next.process(bmc, prev, seq, msg, crypto, observer)?;
        *self = next;
        Ok(outcome)
    }

    /// [`Verifier::handle_relay_message`] without the copy, reporting to `observer`: on error the state is left
    /// part-way, for callers that discard it then (a contract call that fails is reverted).
    pub fn process<'m>(
        &mut self,
        bmc: &str,
        prev: &str,
        seq: u128,
        msg: &'m [u8],
        crypto: &impl Secp256k1,
        observer: &mut impl Observer,
    ) -> Result<Outcome<'m>, BmvError> {
        let prev = BtpAddress::parse(prev).or_code(ErrorCode::NotAcceptedFromNetwork, "prev is not a BTP address")?;
        if prev.network() != self.network {
            return Err(BmvError::new(ErrorCode::NotAcceptedFromNetwork, "prev is not on the verified network"));
        }
        let source_bmc = IconAddress::parse(prev.account()).or_code(ErrorCode::NotAcceptedFromNetwork, "prev is not an ICON contract")?;
        let message = ReceivedRelayMessage::decode(msg)?;
        let mut outcome = Outcome::default();

        let mut last = None;
        let mut checker = VoteChecker::new(crypto, network_id(&self.network));
        for update in message.block_updates() {
            last = Some(self.apply_block_update(&update?, &mut checker, observer)?);
            outcome.blocks = outcome.blocks.saturating_add(1);
        }
        let (receipt_root, height) = match last {
            // A block proof beside block updates is ignored, as ICON's Java BMV does: updates prove more.
            Some(last) => last,
            None => {
                let proof = message.block_proof()?.or_code(ErrorCode::Unknown, "no block proof")?;
                let header = BlockHeader::decode(proof.header)?;
                let height = u64::try_from(header.height).or_code(ErrorCode::InvalidBlockProof, "negative block height")?;
                if height > self.mta.height() {
                    return Err(BmvError::new(ErrorCode::InvalidBlockProofHeightHigher, "block proof is above the accumulator"));
                }
                // Without a witness only the newest block, alone in the first root, can be proven (as ICON's
                // Java BMV accepts); against an older accumulator an empty witness proves nothing.
                if proof.witness.is_empty() && proof.witness_height < self.mta.height() {
                    return Err(BmvError::new(ErrorCode::InvalidBlockWitness, "an empty witness proves nothing against an older accumulator"));
                }
                self.mta.verify(&proof.witness, &header.id, height, proof.witness_height)?;
                outcome.proven_block = Some((header.height, header.id));
                (header.result.normal_receipt_hash, header.height)
            }
        };

        let mut next_seq = i128::try_from(seq).ok().and_then(|s| s.checked_add(1)).or_code(ErrorCode::Unknown, "sequence overflow")?;
        for receipt_proof in message.receipt_proofs() {
            let receipt_proof = receipt_proof?;
            let root = receipt_root.as_ref().or_code(ErrorCode::Unknown, "block has no receipt hash")?;
            let receipt = mpt::prove(root, mpt::list_key(receipt_proof.index).as_bytes(), receipt_proof.proof.iter())?;
            let logs_root = event_logs_hash(receipt)?;
            for event_proof in receipt_proof.event_proofs() {
                let (index, proof) = event_proof?;
                let log = EventLog::decode(mpt::prove(&logs_root, mpt::list_key(index).as_bytes(), proof.iter())?)?;
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
                outcome.messages.push(event.msg);
                next_seq = next_seq.checked_add(1).or_code(ErrorCode::Unknown, "sequence overflow")?;
            }
        }
        if !outcome.messages.is_empty() {
            self.last_height = u64::try_from(height).or_code(ErrorCode::Unknown, "negative block height")?;
        }
        Ok(outcome)
    }

    fn apply_block_update<C: Secp256k1>(
        &mut self,
        update: &BlockUpdate<'_>,
        checker: &mut VoteChecker<'_, C>,
        observer: &mut impl Observer,
    ) -> Result<(Option<Hash>, i64), BmvError> {
        let header = BlockHeader::decode(update.header)?;
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
        verify_block_update(&header, update.votes, &mut self.validators, checker, |s| observer.signer(s))?;
        let next_hash = header.next_validators_hash.or_code(ErrorCode::InvalidBlockUpdate, "header has no next-validators hash")?;
        let mut new_validators = None;
        if &next_hash != self.validators.hash() {
            let list = update.next_validators.or_code(ErrorCode::InvalidBlockUpdate, "next validators missing")?;
            if sha3_256(list) != next_hash {
                return Err(BmvError::new(ErrorCode::InvalidBlockUpdate, "next validators do not match the header's hash"));
            }
            let mut next = ValidatorSet::decode(list, checker.crypto()).map_err(|e| BmvError::new(ErrorCode::InvalidBlockUpdate, e.reason))?;
            next.inherit_keys(&self.validators);
            self.validators = next;
            new_validators = Some(next_hash);
        }
        self.mta.add(header.id)?;
        self.last_block_hash = Some(header.id);
        observer.block(&VerifiedBlock { height: header.height, id: header.id, new_validators });
        Ok((header.result.normal_receipt_hash, header.height))
    }
}
