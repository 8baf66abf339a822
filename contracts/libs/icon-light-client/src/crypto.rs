//! secp256k1 public-key recovery and ICON addresses of keys.

use crate::{sha3_256, validators::CompressedKey};
use btp_primitives::IconAddress;

/// What the verifier needs from secp256k1. The host implementation is [`HostSecp256k1`]; the BMV contract
/// implements it with the runtime's `ecdsa_recover`.
pub trait Secp256k1 {
    /// The compressed public key that made the recoverable `signature` (R‖S‖V, V = 0 or 1) over `digest`, or
    /// `None` when nothing can be recovered.
    fn recover(&self, digest: &[u8; 32], signature: &[u8; 65]) -> Option<CompressedKey>;

    /// The uncompressed form (X‖Y) of a compressed public key, or `None` if it is not on the curve.
    fn decompress(&self, key: &CompressedKey) -> Option<[u8; 64]>;
}

/// ICON's account address of a public key: type byte 0 and the last 20 bytes of SHA3-256(X‖Y).
pub fn address_of_key(xy: &[u8; 64]) -> IconAddress {
    let digest = sha3_256(xy);
    let mut id = [0u8; 20];
    id.copy_from_slice(&digest[12..]);
    IconAddress::account(id)
}

/// The key that made `signature` over `digest`, if the signature is 65 bytes, its recovery id is 0 or 1 (as
/// goloop writes it) and it is recoverable. The id is checked here, for every implementation alike:
/// libsecp256k1 also takes 2 and 3, and the runtime's `ecdsa_recover` takes 27 and 28, so a relay's pre-check
/// and the chain would disagree.
pub fn recover_key(crypto: &impl Secp256k1, digest: &[u8; 32], signature: &[u8]) -> Option<CompressedKey> {
    let signature: &[u8; 65] = signature.try_into().ok()?;
    if signature[64] > 1 {
        return None;
    }
    crypto.recover(digest, signature)
}

/// The address whose key made `signature` over `digest` (see [`recover_key`]).
pub fn recover_address(crypto: &impl Secp256k1, digest: &[u8; 32], signature: &[u8]) -> Option<IconAddress> {
    Some(address_of_key(&crypto.decompress(&recover_key(crypto, digest, signature)?)?))
}

/// libsecp256k1 on the host.
#[cfg(feature = "host-crypto")]
#[derive(Debug, Default, Clone, Copy)]
pub struct HostSecp256k1;

#[cfg(feature = "host-crypto")]
impl Secp256k1 for HostSecp256k1 {
    fn recover(&self, digest: &[u8; 32], signature: &[u8; 65]) -> Option<CompressedKey> {
        use secp256k1::{
            ecdsa::{RecoverableSignature, RecoveryId},
            Message, SECP256K1,
        };
        let id = RecoveryId::from_i32(i32::from(signature[64])).ok()?;
        let sig = RecoverableSignature::from_compact(&signature[..64], id).ok()?;
        Some(SECP256K1.recover_ecdsa(&Message::from_digest(*digest), &sig).ok()?.serialize())
    }

    fn decompress(&self, key: &CompressedKey) -> Option<[u8; 64]> {
        let key = secp256k1::PublicKey::from_slice(key).ok()?;
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&key.serialize_uncompressed()[1..]);
        Some(xy)
    }
}

#[cfg(all(test, feature = "host-crypto"))]
mod tests {
    use super::*;

    #[test]
    fn recovers_what_was_signed() {
        let ctx = secp256k1::Secp256k1::new();
        let (sk, pk) = ctx.generate_keypair(&mut secp256k1::rand::thread_rng());
        let digest = sha3_256(b"vote");
        let (id, compact) = ctx.sign_ecdsa_recoverable(&secp256k1::Message::from_digest(digest), &sk).serialize_compact();
        let mut sig = [0u8; 65];
        sig[..64].copy_from_slice(&compact);
        sig[64] = id.to_i32() as u8;
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&pk.serialize_uncompressed()[1..]);
        assert_eq!(recover_address(&HostSecp256k1, &digest, &sig), Some(address_of_key(&xy)));
        assert_eq!(HostSecp256k1.decompress(&pk.serialize()), Some(xy));
        assert_eq!(recover_address(&HostSecp256k1, &digest, &sig[..64]), None);
        for v in [2, 3, 27, 28, 7] {
            let mut other = sig;
            other[64] = v;
            assert_eq!(recover_address(&HostSecp256k1, &digest, &other), None, "recovery id {v}");
        }
    }
}
