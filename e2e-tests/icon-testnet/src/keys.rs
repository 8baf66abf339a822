//! Validator keys: ICON wallets derived from small seeds, for test chains.

use icon_light_client::sha3_256;
use icon_rpc::wallet::Wallet;
use std::ops::Deref;

/// A key that signs like an ICON validator or account: an [`icon_rpc::wallet::Wallet`] from a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator(Wallet);

impl Validator {
    /// The key derived from `seed` (SHA3-256 of a label and the seed): the same seed, the same key.
    pub fn from_seed(seed: u64) -> Self {
        let mut material = b"icon-testnet validator ".to_vec();
        material.extend_from_slice(&seed.to_be_bytes());
        Self(Wallet::from_secret(&sha3_256(&material)).expect("a SHA3 digest is a valid key with overwhelming probability"))
    }

    /// `count` validators from consecutive seeds.
    pub fn set(first_seed: u64, count: u64) -> Vec<Self> {
        (first_seed..first_seed + count).map(Self::from_seed).collect()
    }
}

/// The chain's dev accounts (`icon-testnet --dev-accounts`), as a `--dev` Substrate node has //Alice: the BMC's
/// owner, who adds links, and Bob, funded with 1,000 ICX.
pub fn dev_owner() -> Validator {
    Validator::from_seed(0x0d3e_0001)
}

pub fn dev_bob() -> Validator {
    Validator::from_seed(0x0d3e_0002)
}

impl Deref for Validator {
    type Target = Wallet;

    fn deref(&self) -> &Wallet {
        &self.0
    }
}
