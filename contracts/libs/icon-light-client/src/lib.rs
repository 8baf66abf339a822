//! The ICON light client: everything a BTP verifier of ICON needs, in plain `no_std` Rust, so that the BMV
//! contract and the relay run the same code.
//!
//! Follows goloop's formats byte for byte: block header v2 ([`header`]), commit votes ([`votes`]), validator
//! lists ([`validators`]), the block-hash Merkle Tree Accumulator ([`mta`]), receipt and event-log Merkle
//! Patricia proofs ([`mpt`], [`receipt`]) and the BMV's relay-message processing ([`verifier`]).
//! Signature recovery is behind the [`crypto::Secp256k1`] trait: the host uses libsecp256k1, the contract its
//! runtime's `ecdsa_recover`.
#![cfg_attr(not(feature = "std"), no_std)]
// Overflow on input must be an error, never a wrapped value or a panic: every operation is checked, saturating or
// annotated with why it cannot overflow.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

extern crate alloc;

pub mod crypto;
pub mod error;
pub mod header;
pub mod mpt;
pub mod mta;
pub mod receipt;
pub mod relay;
pub mod validators;
pub mod verifier;
pub mod votes;

pub use error::{BmvError, ErrorCode};

/// A SHA3-256 digest: block ids, vote digests, trie and accumulator nodes.
pub type Hash = [u8; 32];

/// SHA3-256 (FIPS-202, not Keccak), as goloop hashes everything.
pub fn sha3_256(data: &[u8]) -> Hash {
    use sha3::Digest;
    sha3::Sha3_256::digest(data).into()
}

/// SHA3-256 of two concatenated hashes: an inner node of the accumulator.
pub fn sha3_256_pair(left: &Hash, right: &Hash) -> Hash {
    use sha3::Digest;
    let mut h = sha3::Sha3_256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha3_is_fips_not_keccak() {
        assert_eq!(hex::encode(super::sha3_256(b"")), "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    }
}
