//! A contract bundle (`.contract`, cargo-contract's JSON): the Wasm code, its hash and the ABI.

use crate::Error;
use contract_metadata::ContractMetadata;
use std::path::{Path, PathBuf};
use subxt::config::{substrate::BlakeTwo256, Hasher};

/// A `.contract` bundle read from disk, its code checked against the hash it claims.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub path: PathBuf,
    /// The contract's name in its metadata (`bmc`, `bmv_icon`, …).
    pub name: String,
    pub wasm: Vec<u8>,
    /// BLAKE2b-256 of `wasm`: what pallet-contracts stores the code under.
    pub code_hash: [u8; 32],
    /// `(selector, label)` of every message in the ABI, to name a message in an error.
    messages: Vec<([u8; 4], String)>,
}

impl Bundle {
    /// Reads and checks the bundle at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let bad = |reason: String| Error::Bundle { path: path.clone(), reason };
        let metadata = ContractMetadata::load(&path).map_err(|e| bad(format!("{e:#}")))?;
        let wasm = metadata.source.wasm.ok_or_else(|| bad("no Wasm code in it (a .json metadata file, not a .contract bundle?)".into()))?.0;
        let code_hash = BlakeTwo256::hash(&wasm).0;
        if code_hash != metadata.source.hash.0 {
            return Err(bad(format!("its Wasm hashes to 0x{} but it claims 0x{}", hex::encode(code_hash), hex::encode(metadata.source.hash.0))));
        }
        let messages = metadata
            .abi
            .get("spec")
            .and_then(|spec| spec["messages"].as_array())
            .ok_or_else(|| bad("no spec.messages in its ABI".into()))?
            .iter()
            .filter_map(|m| {
                let selector = m["selector"].as_str()?.strip_prefix("0x")?;
                let selector: [u8; 4] = hex::decode(selector).ok()?.try_into().ok()?;
                Some((selector, m["label"].as_str()?.to_string()))
            })
            .collect();
        Ok(Self { path, name: metadata.contract.name, wasm, code_hash, messages })
    }

    /// The bundle `<dir>/<name>.contract`, as `scripts/build-contracts.sh` lays bundles out.
    pub fn in_dir(dir: impl AsRef<Path>, name: &str) -> Result<Self, Error> {
        Self::load(dir.as_ref().join(format!("{name}.contract")))
    }

    /// The label of the message that `input` (selector first) calls, if the ABI has it.
    pub fn message_label(&self, input: &[u8]) -> Option<&str> {
        let selector = input.get(..4)?;
        self.messages.iter().find(|(s, _)| s == selector).map(|(_, label)| label.as_str())
    }
}
