//! Validator keys: secp256k1 keys derived from seeds, ICON addresses, recoverable signatures.

use btp_primitives::IconAddress;
use icon_light_client::{crypto::address_of_key, sha3_256, Hash};
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

/// A key that signs like an ICON validator or account (R‖S‖V with V 0/1, over SHA3-256 digests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    secret: SecretKey,
    pub address: IconAddress,
}

impl Validator {
    /// The key derived from `seed` (SHA3-256 of a label and the seed): the same seed, the same key.
    pub fn from_seed(seed: u64) -> Self {
        let mut material = b"icon-testnet validator ".to_vec();
        material.extend_from_slice(&seed.to_be_bytes());
        let secret = SecretKey::from_slice(&sha3_256(&material)).expect("a SHA3 digest is a valid key with overwhelming probability");
        let public = PublicKey::from_secret_key(SECP256K1, &secret);
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&public.serialize_uncompressed()[1..]);
        Self { secret, address: address_of_key(&xy) }
    }

    /// `count` validators from consecutive seeds.
    pub fn set(first_seed: u64, count: u64) -> Vec<Self> {
        (first_seed..first_seed + count).map(Self::from_seed).collect()
    }

    /// A recoverable signature of `digest`.
    pub fn sign(&self, digest: &Hash) -> [u8; 65] {
        let (id, compact) = SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(*digest), &self.secret).serialize_compact();
        let mut sig = [0u8; 65];
        sig[..64].copy_from_slice(&compact);
        sig[64] = u8::try_from(id.to_i32()).expect("recovery ids are 0..=3");
        sig
    }

    /// The 33-byte compressed public key (goloop accepts validators registered by key).
    pub fn public_key(&self) -> [u8; 33] {
        PublicKey::from_secret_key(SECP256K1, &self.secret).serialize()
    }
}
