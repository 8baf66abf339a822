//! An ICON account key: secp256k1, its `hx` address, and recoverable signatures (R‖S‖V, V 0/1) over SHA3-256
//! digests, as goloop signs and checks transactions and votes.

use btp_primitives::IconAddress;
use icon_light_client::{crypto::address_of_key, Hash};
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

/// A key that signs ICON transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    secret: SecretKey,
    pub address: IconAddress,
}

impl Wallet {
    /// The wallet of a 32-byte secret key; `None` if the bytes are not a valid key.
    pub fn from_secret(secret: &[u8; 32]) -> Option<Self> {
        let secret = SecretKey::from_slice(secret).ok()?;
        let public = PublicKey::from_secret_key(SECP256K1, &secret);
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&public.serialize_uncompressed()[1..]);
        Some(Self { secret, address: address_of_key(&xy) })
    }

    /// A recoverable signature of `digest`.
    pub fn sign(&self, digest: &Hash) -> [u8; 65] {
        let (id, compact) = SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(*digest), &self.secret).serialize_compact();
        let mut signature = [0u8; 65];
        signature[..64].copy_from_slice(&compact);
        // Recovery ids are 0..=3.
        signature[64] = id.to_i32() as u8;
        signature
    }

    /// The 33-byte compressed public key (goloop accepts validators registered by key).
    pub fn public_key(&self) -> [u8; 33] {
        PublicKey::from_secret_key(SECP256K1, &self.secret).serialize()
    }
}
