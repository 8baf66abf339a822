//! ICON validator lists: decoding, hashing, membership and quorum, and the public keys learnt from votes.

use crate::{
    crypto::{address_of_key, Secp256k1},
    error::{ErrorCode, OrCode},
    sha3_256, BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::{
    rlp::{ListBuilder, Rlp},
    IconAddress,
};

/// A compressed secp256k1 public key, as the runtime's `ecdsa_recover` returns it.
pub type CompressedKey = [u8; 33];

const BAD: ErrorCode = ErrorCode::DecodeError;

/// A validator set as ICON commits to it: `hash` is SHA3-256 of the exact list bytes, which is what a header's
/// next-validators hash names.
///
/// Votes recover to compressed keys, and an ICON address hashes the uncompressed key, so matching a vote to a
/// member needs a key decompression, which costs more in Wasm than everything else a vote needs. The set
/// remembers each member's key once one of its votes was matched (or the list named the key), and the BMV keeps
/// the set with its keys: from then on a vote is matched by comparing 33 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    addresses: Vec<IconAddress>,
    keys: Vec<Option<CompressedKey>>,
    hash: Hash,
    raw: Vec<u8>,
}

/// Most validators in a set. ICON has 22 main P-Reps; the bound keeps a stored set (list, addresses and learnt
/// keys, about 100 bytes a member) inside pallet-contracts' 16 KiB limit on one storage value.
pub const MAX_VALIDATORS: usize = 128;

impl ValidatorSet {
    /// Decodes an RLP list whose items are 21-byte addresses or, for validators registered by key, 33-byte
    /// compressed public keys (goloop allows both). An empty set is refused: goloop's quorum rule would let
    /// any block through with no votes at all.
    pub fn decode(raw: &[u8], crypto: &impl Secp256k1) -> Result<Self, BmvError> {
        let list = Rlp::new(raw).or_code(BAD, "validator list is not RLP")?;
        let (mut addresses, mut keys) = (Vec::new(), Vec::new());
        for item in list.iter().or_code(BAD, "validator list is not a list")? {
            if addresses.len() >= MAX_VALIDATORS {
                return Err(BmvError::new(BAD, "validator list is longer than MAX_VALIDATORS"));
            }
            let bytes = item.or_code(BAD, "validator is not RLP")?.bytes().or_code(BAD, "validator is not bytes")?;
            let (address, key) = match bytes.len() {
                21 => (IconAddress::from_bytes(bytes).or_code(BAD, "validator address has a bad type byte")?, None),
                33 => {
                    let key: &CompressedKey = bytes.try_into().or_code(BAD, "validator key is not 33 bytes")?;
                    (address_of_key(&crypto.decompress(key).or_code(BAD, "validator key is not on the curve")?), Some(*key))
                }
                _ => return Err(BmvError::new(BAD, "validator is neither an address nor a public key")),
            };
            addresses.push(address);
            keys.push(key);
        }
        Self::from_parts(addresses, keys, raw)
    }

    /// The rules every set obeys, received or built: distinct members, at least one.
    fn from_parts(addresses: Vec<IconAddress>, keys: Vec<Option<CompressedKey>>, raw: &[u8]) -> Result<Self, BmvError> {
        if addresses.is_empty() {
            return Err(BmvError::new(BAD, "validator set is empty"));
        }
        if addresses.iter().enumerate().any(|(i, a)| addresses[..i].contains(a)) {
            return Err(BmvError::new(BAD, "validator listed twice"));
        }
        Ok(Self { addresses, keys, hash: sha3_256(raw), raw: raw.to_vec() })
    }

    /// The list goloop commits to for validators registered by address.
    pub fn from_addresses(addresses: &[IconAddress]) -> Result<Self, BmvError> {
        let mut l = ListBuilder::new();
        addresses.iter().for_each(|a| {
            l.bytes(&a.0);
        });
        Self::from_parts(addresses.to_vec(), alloc::vec![None; addresses.len()], &l.finish())
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

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn contains(&self, address: &IconAddress) -> bool {
        self.addresses.contains(address)
    }

    /// goloop's rule: `votes > ⌊2n/3⌋`.
    pub fn is_quorum(&self, votes: usize) -> bool {
        votes > self.addresses.len().saturating_mul(2) / 3
    }

    /// The index of the member whose key is `key`, learning the key on first sight; `None` for a non-member.
    pub fn index_of_key(&mut self, key: &CompressedKey, crypto: &impl Secp256k1) -> Option<usize> {
        if let Some(i) = self.keys.iter().position(|k| k.as_ref() == Some(key)) {
            return Some(i);
        }
        let address = address_of_key(&crypto.decompress(key)?);
        let i = self.addresses.iter().position(|a| *a == address)?;
        self.keys[i] = Some(*key);
        Some(i)
    }

    /// Takes over the keys `previous` learnt for members both sets share.
    pub fn inherit_keys(&mut self, previous: &ValidatorSet) {
        for (address, key) in previous.addresses.iter().zip(&previous.keys) {
            if let (Some(key), Some(i)) = (key, self.addresses.iter().position(|a| a == address)) {
                self.keys[i].get_or_insert(*key);
            }
        }
    }

    /// The set with its learnt keys, for a BMV's storage: `[list, hash, [address ‖ key?, …]]`.
    pub fn encode_state(&self) -> Vec<u8> {
        let mut members = ListBuilder::new();
        let mut entry = Vec::with_capacity(54);
        for (address, key) in self.addresses.iter().zip(&self.keys) {
            entry.clear();
            entry.extend_from_slice(&address.0);
            if let Some(key) = key {
                entry.extend_from_slice(key);
            }
            members.bytes(&entry);
        }
        ListBuilder::new().bytes(&self.raw).bytes(&self.hash).raw(&members.finish()).finish()
    }

    /// Reads what [`ValidatorSet::encode_state`] wrote, without decompressing or hashing anything again.
    pub fn decode_state(bytes: &[u8]) -> Result<Self, BmvError> {
        let [raw, hash, members] = Rlp::new(bytes).and_then(|r| r.fixed()).or_code(BAD, "stored validator set is not [list, hash, members]")?;
        let (mut addresses, mut keys) = (Vec::new(), Vec::new());
        for member in members.iter().or_code(BAD, "stored members are not a list")? {
            let member = member.and_then(|m| m.bytes()).or_code(BAD, "stored member is not bytes")?;
            let (address, key) = member.split_at_checked(21).or_code(BAD, "stored member is shorter than an address")?;
            addresses.push(IconAddress::from_bytes(address).or_code(BAD, "stored member is not an ICON address")?);
            keys.push(match key {
                [] => None,
                key => Some(key.try_into().or_code(BAD, "stored key is not 33 bytes")?),
            });
        }
        Ok(Self {
            addresses,
            keys,
            hash: hash.array().or_code(BAD, "stored hash is not 32 bytes")?,
            raw: raw.bytes().or_code(BAD, "stored list is not bytes")?.to_vec(),
        })
    }
}

#[cfg(all(test, feature = "host-crypto"))]
mod tests {
    use super::*;
    use crate::crypto::HostSecp256k1;

    fn key_and_address(seed: u8) -> (CompressedKey, IconAddress) {
        let secret = secp256k1::SecretKey::from_slice(&[seed; 32]).unwrap();
        let public = secp256k1::PublicKey::from_secret_key(secp256k1::SECP256K1, &secret);
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&public.serialize_uncompressed()[1..]);
        (public.serialize(), address_of_key(&xy))
    }

    #[test]
    fn keys_are_learnt_kept_and_inherited() {
        let (_, a1) = key_and_address(1);
        let (k2, a2) = key_and_address(2);
        let (k3, _) = key_and_address(3);
        let mut set = ValidatorSet::from_addresses(&[a1, a2]).unwrap();
        assert_eq!(set.index_of_key(&k2, &HostSecp256k1), Some(1));
        assert_eq!(set.index_of_key(&k3, &HostSecp256k1), None, "not a member");
        let stored = ValidatorSet::decode_state(&set.encode_state()).unwrap();
        assert_eq!(stored, set);
        assert_eq!(stored.keys, vec![None, Some(k2)]);

        let mut next = ValidatorSet::from_addresses(&[a2]).unwrap();
        next.inherit_keys(&set);
        assert_eq!(next.keys, vec![Some(k2)]);
    }

    #[test]
    fn a_list_of_keys_knows_its_keys() {
        let (k1, a1) = key_and_address(1);
        let raw = ListBuilder::new().bytes(&k1).finish();
        let set = ValidatorSet::decode(&raw, &HostSecp256k1).unwrap();
        assert_eq!((set.addresses(), &set.keys[..]), (&[a1][..], &[Some(k1)][..]));
        assert_eq!(ValidatorSet::decode_state(&set.encode_state()).unwrap(), set);
    }
}
