//! pallet-contracts' runtime API (`ContractsApi_call`, `ContractsApi_instantiate`) in SCALE, and its address rule.
//!
//! Our own types rather than the pallet crate's: a relay should not build a runtime to talk to one, and these
//! layouts decode the same on the node's pallet-contracts 38 and the sandbox's 31 (relay-stack.md §2).

use scale::{Decode, Encode};
use subxt::config::{substrate::BlakeTwo256, Hasher};

/// Weight: compute time and proof size.
#[derive(Encode, Decode, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weight {
    #[codec(compact)]
    pub ref_time: u64,
    #[codec(compact)]
    pub proof_size: u64,
}

impl Weight {
    /// The weight plus `percent` per cent of it: state can change between a dry run and the block.
    pub fn with_margin(self, percent: u64) -> Self {
        let add = |v: u64| v.saturating_add(v.saturating_mul(percent) / 100);
        Self { ref_time: add(self.ref_time), proof_size: add(self.proof_size) }
    }
}

/// What a call would charge or refund for storage.
#[derive(Encode, Decode, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageDeposit {
    Refund(u128),
    Charge(u128),
}

impl StorageDeposit {
    /// The deposit limit to submit with: what the dry run charged (a refund needs no limit above zero).
    pub fn limit(&self) -> u128 {
        match *self {
            Self::Charge(v) => v,
            Self::Refund(_) => 0,
        }
    }
}

/// A contract's return: flags (bit 0: reverted) and its output.
#[derive(Decode, Clone, Debug, PartialEq, Eq)]
pub struct ExecReturnValue {
    pub flags: u32,
    pub data: Vec<u8>,
}

impl ExecReturnValue {
    /// The contract reverted: its message returned an `Err` and nothing it did stays.
    pub fn reverted(&self) -> bool {
        self.flags & 1 == 1
    }
}

/// A constructor's return and the new contract's address.
#[derive(Decode, Clone, Debug, PartialEq, Eq)]
pub struct InstantiateReturnValue {
    pub result: ExecReturnValue,
    pub account_id: [u8; 32],
}

/// A dry run's answer: `result` is the contract's return, or the runtime's `DispatchError` undecoded (subxt
/// decodes it with the chain's metadata).
#[derive(Clone, Debug)]
pub struct ContractResult<T> {
    pub gas_required: Weight,
    pub storage_deposit: StorageDeposit,
    pub result: Result<T, Vec<u8>>,
}

impl<T: Decode> ContractResult<T> {
    /// Decodes a `ContractResult` up to its result; the events after it are not read (a dry run's events
    /// include the best block's own, relay-stack.md §2.9).
    pub fn decode(mut bytes: &[u8]) -> Result<Self, scale::Error> {
        let input = &mut bytes;
        let _consumed = Weight::decode(input)?;
        let gas_required = Weight::decode(input)?;
        let storage_deposit = StorageDeposit::decode(input)?;
        let _debug_message = Vec::<u8>::decode(input)?;
        let result = match u8::decode(input)? {
            0 => Ok(T::decode(input)?),
            1 => Err(input.to_vec()),
            _ => return Err("a ContractResult's result is neither Ok nor Err".into()),
        };
        Ok(Self { gas_required, storage_deposit, result })
    }
}

/// `ContractsApi_call`'s arguments.
#[derive(Encode)]
pub struct CallRequest {
    pub origin: [u8; 32],
    pub dest: [u8; 32],
    pub value: u128,
    pub gas_limit: Option<Weight>,
    pub storage_deposit_limit: Option<u128>,
    pub input_data: Vec<u8>,
}

/// The code a contract is instantiated from: the Wasm itself, uploaded in the same call, or code on chain.
#[derive(Encode)]
pub enum Code {
    Upload(Vec<u8>),
    Existing([u8; 32]),
}

/// `ContractsApi_instantiate`'s arguments.
#[derive(Encode)]
pub struct InstantiateRequest {
    pub origin: [u8; 32],
    pub value: u128,
    pub gas_limit: Option<Weight>,
    pub storage_deposit_limit: Option<u128>,
    pub code: Code,
    pub data: Vec<u8>,
    pub salt: Vec<u8>,
}

/// Where pallet-contracts puts the contract that `deployer` instantiates from `code_hash` with constructor
/// `input` and `salt` (its `DefaultAddressGenerator`, CREATE2-like): so a deployment can find its contracts
/// again without having to remember them.
pub fn contract_address(deployer: &[u8; 32], code_hash: &[u8; 32], input: &[u8], salt: &[u8]) -> [u8; 32] {
    BlakeTwo256::hash(&(b"contract_addr_v1", deployer, code_hash, input, salt).encode()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reverted_dry_run_decodes_with_its_output() {
        // gas 1/2, 3/4, Charge(5), no debug message, Ok(flags 1, data 00 01 16), then events (ignored)
        let mut bytes = vec![];
        Weight { ref_time: 1, proof_size: 2 }.encode_to(&mut bytes);
        Weight { ref_time: 3, proof_size: 4 }.encode_to(&mut bytes);
        StorageDeposit::Charge(5).encode_to(&mut bytes);
        Vec::<u8>::new().encode_to(&mut bytes);
        bytes.push(0);
        1u32.encode_to(&mut bytes);
        vec![0u8, 1, 0x16].encode_to(&mut bytes);
        bytes.extend([0, 0xff]);
        let r = ContractResult::<ExecReturnValue>::decode(&bytes).unwrap();
        assert_eq!((r.gas_required, r.storage_deposit.limit()), (Weight { ref_time: 3, proof_size: 4 }, 5));
        let value = r.result.unwrap();
        assert!(value.reverted());
        assert_eq!(value.data, [0, 1, 0x16]);
    }

    #[test]
    fn a_dispatch_error_is_kept_for_the_metadata() {
        let mut bytes = Weight::default().encode();
        bytes.extend(Weight::default().encode());
        bytes.extend(StorageDeposit::Refund(0).encode());
        bytes.extend(Vec::<u8>::new().encode());
        bytes.extend([1, 3, 8, 7, 0, 0, 0]);
        assert_eq!(ContractResult::<ExecReturnValue>::decode(&bytes).unwrap().result, Err(vec![3, 8, 7, 0, 0, 0]));
        assert!(ContractResult::<ExecReturnValue>::decode(&bytes[..bytes.len() - 7]).is_err(), "cut short");
    }

    #[test]
    fn the_margin_saturates() {
        assert_eq!(Weight { ref_time: 100, proof_size: 10 }.with_margin(20), Weight { ref_time: 120, proof_size: 12 });
        assert_eq!(Weight { ref_time: u64::MAX, proof_size: 0 }.with_margin(20).ref_time, u64::MAX);
    }
}

/// frame-system's `BlockWeights` constant, as far as an extrinsic's limit goes.
#[derive(Decode, Clone, Copy, Debug)]
pub struct BlockWeights {
    pub _base_block: Weight,
    pub max_block: Weight,
    /// Normal, operational and mandatory, in that order: a contract call is normal.
    pub per_class: [WeightsPerClass; 3],
}

/// One dispatch class's limits (`None`: unlimited within the block).
#[derive(Decode, Clone, Copy, Debug)]
pub struct WeightsPerClass {
    pub _base_extrinsic: Weight,
    pub max_extrinsic: Option<Weight>,
    pub max_total: Option<Weight>,
    pub _reserved: Option<Weight>,
}

/// cumulus' `PersistedValidationData`: what the relay chain gave the parachain block to build on, with the proof
/// of validity's size limit.
#[derive(Decode, Clone, Debug)]
pub struct ValidationData {
    pub _parent_head: Vec<u8>,
    pub _relay_parent_number: u32,
    pub _relay_parent_storage_root: [u8; 32],
    pub max_pov_size: u32,
}
