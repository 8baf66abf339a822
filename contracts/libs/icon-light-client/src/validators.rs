//! ICON validator lists: decoding, hashing, membership and quorum.

use crate::{
    crypto::{address_of_key, Secp256k1},
    error::{ErrorCode, OrCode},
    sha3_256, BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::{rlp::Rlp, IconAddress};

/// A validator set as ICON commits to it: `hash` is SHA3-256 of the exact list bytes, which is what a header's
/// next-validators hash names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    addresses: Vec<IconAddress>,
    hash: Hash,
    raw: Vec<u8>,
}

impl ValidatorSet {
    /// Decodes an RLP list whose items are 21-byte addresses or, for validators registered by key, 33-byte
    /// compressed public keys (goloop allows both). An empty set is refused: goloop's quorum rule would let
    /// any block through with no votes at all.
    pub fn decode(raw: &[u8], crypto: &impl Secp256k1) -> Result<Self, BmvError> {
        const BAD: ErrorCode = ErrorCode::DecodeError;
        let list = Rlp::new(raw).or_code(BAD, "validator list is not RLP")?;
        let mut addresses = Vec::new();
        for item in list.items().or_code(BAD, "validator list is not a list")? {
            let bytes = item.bytes().or_code(BAD, "validator is not bytes")?;
            let address = match bytes.len() {
                21 => IconAddress::from_bytes(bytes).or_code(BAD, "validator address has a bad type byte")?,
                33 => {
                    let key: &[u8; 33] = bytes.try_into().or_code(BAD, "validator key is not 33 bytes")?;
                    address_of_key(&crypto.decompress(key).or_code(BAD, "validator key is not on the curve")?)
                }
                _ => return Err(BmvError::new(BAD, "validator is neither an address nor a public key")),
            };
            addresses.push(address);
        }
        Self::from_parts(addresses, raw)
    }

    /// The rules every set obeys, received or built: distinct members, at least one.
    fn from_parts(addresses: Vec<IconAddress>, raw: &[u8]) -> Result<Self, BmvError> {
        const BAD: ErrorCode = ErrorCode::DecodeError;
        if addresses.is_empty() {
            return Err(BmvError::new(BAD, "validator set is empty"));
        }
        if addresses.iter().enumerate().any(|(i, a)| addresses[..i].contains(a)) {
            return Err(BmvError::new(BAD, "validator listed twice"));
        }
        Ok(Self { addresses, hash: sha3_256(raw), raw: raw.to_vec() })
    }

    /// The list goloop commits to for validators registered by address.
    pub fn from_addresses(addresses: &[IconAddress]) -> Result<Self, BmvError> {
        let mut l = btp_primitives::rlp::ListBuilder::new();
        addresses.iter().for_each(|a| {
            l.bytes(&a.0);
        });
        Self::from_parts(addresses.to_vec(), &l.finish())
    }

    pub fn addresses(&self) -> &[IconAddress] {
        &self.addresses
    }

    pub fn hash(&self) -> &Hash {
        &self.hash
    }

    /// The list bytes this set was decoded from.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn contains(&self, address: &IconAddress) -> bool {
        self.addresses.contains(address)
    }

    /// goloop's rule: `votes > ⌊2n/3⌋`.
    pub fn is_quorum(&self, votes: usize) -> bool {
        votes > self.addresses.len().saturating_mul(2) / 3
    }
}
