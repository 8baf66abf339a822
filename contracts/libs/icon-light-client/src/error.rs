//! BMV errors, with the codes ICON's BMVs report (local code + 25).

use core::fmt;

/// The BMV error codes of ICON's BTP (`BMVException`), in the order of their local code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unknown = 0,
    InvalidMpt = 1,
    InvalidVotes = 2,
    InvalidSequence = 3,
    InvalidBlockUpdate = 4,
    InvalidBlockProof = 5,
    InvalidBlockWitness = 6,
    InvalidSequenceHigher = 7,
    InvalidBlockUpdateHeightHigher = 8,
    InvalidBlockUpdateHeightLower = 9,
    InvalidBlockProofHeightHigher = 10,
    InvalidBlockWitnessOld = 11,
    DecodeError = 12,
    NotAcceptedFromNetwork = 13,
    NotAcceptedBmc = 14,
}

impl ErrorCode {
    /// The code with local number `code` (0–14), as a BMV's error index carries it.
    pub fn from_local(code: u8) -> Option<Self> {
        const ALL: [ErrorCode; 15] = [
            ErrorCode::Unknown,
            ErrorCode::InvalidMpt,
            ErrorCode::InvalidVotes,
            ErrorCode::InvalidSequence,
            ErrorCode::InvalidBlockUpdate,
            ErrorCode::InvalidBlockProof,
            ErrorCode::InvalidBlockWitness,
            ErrorCode::InvalidSequenceHigher,
            ErrorCode::InvalidBlockUpdateHeightHigher,
            ErrorCode::InvalidBlockUpdateHeightLower,
            ErrorCode::InvalidBlockProofHeightHigher,
            ErrorCode::InvalidBlockWitnessOld,
            ErrorCode::DecodeError,
            ErrorCode::NotAcceptedFromNetwork,
            ErrorCode::NotAcceptedBmc,
        ];
        ALL.get(usize::from(code)).copied()
    }

    /// The absolute BTP error code (BMV range 25–39) that the BMC reports.
    pub fn btp_code(self) -> u32 {
        // Local codes are 0..=14.
        (self as u32).wrapping_add(25)
    }

    /// The Java `BMVException` name, as relays and the test vectors spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::InvalidMpt => "InvalidMPT",
            Self::InvalidVotes => "InvalidVotes",
            Self::InvalidSequence => "InvalidSequence",
            Self::InvalidBlockUpdate => "InvalidBlockUpdate",
            Self::InvalidBlockProof => "InvalidBlockProof",
            Self::InvalidBlockWitness => "InvalidBlockWitness",
            Self::InvalidSequenceHigher => "InvalidSequenceHigher",
            Self::InvalidBlockUpdateHeightHigher => "InvalidBlockUpdateHeightHigher",
            Self::InvalidBlockUpdateHeightLower => "InvalidBlockUpdateHeightLower",
            Self::InvalidBlockProofHeightHigher => "InvalidBlockProofHeightHigher",
            Self::InvalidBlockWitnessOld => "InvalidBlockWitnessOld",
            Self::DecodeError => "DecodeError",
            Self::NotAcceptedFromNetwork => "NotAcceptedFromNetwork",
            Self::NotAcceptedBmc => "NotAcceptedBmc",
        }
    }
}

/// A verification failure: its code and a short reason for logs and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BmvError {
    pub code: ErrorCode,
    pub reason: &'static str,
}

impl BmvError {
    pub const fn new(code: ErrorCode, reason: &'static str) -> Self {
        Self { code, reason }
    }
}

impl fmt::Display for BmvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code.name(), self.code.btp_code(), self.reason)
    }
}

/// Shorthand used by the decoders: any malformed byte becomes this code with this reason.
pub(crate) trait OrCode<T> {
    fn or_code(self, code: ErrorCode, reason: &'static str) -> Result<T, BmvError>;
}

impl<T, E> OrCode<T> for Result<T, E> {
    fn or_code(self, code: ErrorCode, reason: &'static str) -> Result<T, BmvError> {
        self.map_err(|_| BmvError::new(code, reason))
    }
}

impl<T> OrCode<T> for Option<T> {
    fn or_code(self, code: ErrorCode, reason: &'static str) -> Result<T, BmvError> {
        self.ok_or(BmvError::new(code, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_codes_round_trip() {
        for code in 0u8..15 {
            let e = ErrorCode::from_local(code).unwrap();
            assert_eq!(e as u8, code);
            assert_eq!(e.btp_code(), 25 + u32::from(code));
        }
        assert_eq!(ErrorCode::from_local(15), None);
        assert_eq!(ErrorCode::InvalidMpt.name(), "InvalidMPT");
    }
}
