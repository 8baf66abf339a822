//! A BTP Message Verifier (BMV) as its BMC calls it.

use ink::prelude::{string::String, vec::Vec};

/// Where a verifier stands: what a relay resumes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct VerifierStatus {
    /// Height of the last block the verifier accumulated: the next block update is for `height + 1`.
    pub height: u64,
    /// The accumulator's offset: blocks at or below it cannot be proven.
    pub offset: u64,
    /// Height of the last block whose messages were delivered.
    pub last_height: u64,
}

/// What a verified relay message proved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct Verified {
    /// The BTP messages for the BMC, in sequence order.
    pub messages: Vec<Vec<u8>>,
    /// Block updates the verifier accepted.
    pub blocks: u32,
    /// The verifier after the message.
    pub status: VerifierStatus,
}

/// Why a verifier refused a relay message. Codes 0–14 are the BMV codes of ICON's BTP (`BMVException`, absolute
/// BTP code 25 + code; `icon_light_client::ErrorCode` names them); the rest are this interface's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum VerifierError {
    #[codec(index = 0)]
    Unknown,
    #[codec(index = 1)]
    InvalidMpt,
    #[codec(index = 2)]
    InvalidVotes,
    #[codec(index = 3)]
    InvalidSequence,
    #[codec(index = 4)]
    InvalidBlockUpdate,
    #[codec(index = 5)]
    InvalidBlockProof,
    #[codec(index = 6)]
    InvalidBlockWitness,
    #[codec(index = 7)]
    InvalidSequenceHigher,
    #[codec(index = 8)]
    InvalidBlockUpdateHeightHigher,
    #[codec(index = 9)]
    InvalidBlockUpdateHeightLower,
    #[codec(index = 10)]
    InvalidBlockProofHeightHigher,
    #[codec(index = 11)]
    InvalidBlockWitnessOld,
    #[codec(index = 12)]
    DecodeError,
    #[codec(index = 13)]
    NotAcceptedFromNetwork,
    #[codec(index = 14)]
    NotAcceptedBmc,
    /// The caller is not the verifier's BMC.
    #[codec(index = 64)]
    Unauthorized,
    /// The verifier's own state is unreadable: it cannot verify anything until fixed.
    #[codec(index = 65)]
    Corrupted,
}

impl VerifierError {
    /// The absolute BTP code (BMV range 25–39) a BMC reports, for ICON's codes.
    pub fn btp_code(self) -> Option<u32> {
        let local = scale::Encode::encode(&self)[0];
        (local < 15).then(|| u32::from(local).saturating_add(25))
    }
}

/// A BMV: verifies relay messages from one network for one BMC.
#[ink::trait_definition]
pub trait Verifier {
    /// Verifies a relay message from the source BMC `prev` for the BMC `bmc` (its BTP address), whose link has
    /// received `seq` messages, and returns the BTP messages it proves with the verifier's new status. Only the
    /// verifier's BMC may call; a refusal changes nothing.
    #[ink(message)]
    fn handle_relay_message(&mut self, bmc: String, prev: String, seq: u128, msg: Vec<u8>) -> Result<Verified, VerifierError>;

    /// Where the verifier stands.
    #[ink(message)]
    fn status(&self) -> Result<VerifierStatus, VerifierError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_pinned() {
        assert_eq!(VerifierError::Unknown.btp_code(), Some(25));
        assert_eq!(VerifierError::DecodeError.btp_code(), Some(37));
        assert_eq!(VerifierError::NotAcceptedBmc.btp_code(), Some(39));
        assert_eq!(VerifierError::Unauthorized.btp_code(), None);
        assert_eq!(scale::Encode::encode(&VerifierError::Corrupted), vec![65]);
    }
}
