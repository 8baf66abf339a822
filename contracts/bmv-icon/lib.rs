//! The BTP Message Verifier for messages from ICON.
//!
//! A thin shell around the `icon-light-client` crate: it keeps the verifier's state (validator list,
//! Merkle Tree Accumulator, last block id and height), lets only its BMC submit relay messages, and reports
//! what changed in events. The verification itself is the light client's, the same code the relay runs. Its
//! owners administer it as every BTP contract here (`btp_interfaces::Administered`); halted, it verifies nothing.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Overflow must be an error, never a wrapped value or a panic (cargo-contract lints the Wasm build alike).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

/// The contract and the types its users need, without the module path.
pub use self::bmv_icon::{BmvIcon, BmvIconRef, Error};

#[ink::contract]
pub mod bmv_icon {
    use btp_interfaces::{Admin, AdminError, Administered, MessageSpan, Verified, VerifierError, VerifierStatus};
    use icon_light_client::{
        crypto::Secp256k1,
        mta::Mta,
        validators::{CompressedKey, ValidatorSet},
        verifier::{Observer, VerifiedBlock, Verifier},
        ErrorCode, Hash as IconHash,
    };
    use ink::{
        prelude::{string::String, vec::Vec},
        storage::{traits::ManualKey, Lazy},
    };

    /// Why an administrative call failed. Verification refuses with the interface's `VerifierError`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        /// A constructor argument is invalid (network address, validator list).
        InvalidConfiguration,
        /// The stored state is unreadable.
        Corrupted,
    }

    /// The wire code of a light-client refusal: the one place ICON's codes meet the interface's.
    fn wire(code: ErrorCode) -> VerifierError {
        match code {
            ErrorCode::Unknown => VerifierError::Unknown,
            ErrorCode::InvalidMpt => VerifierError::InvalidMpt,
            ErrorCode::InvalidVotes => VerifierError::InvalidVotes,
            ErrorCode::InvalidSequence => VerifierError::InvalidSequence,
            ErrorCode::InvalidBlockUpdate => VerifierError::InvalidBlockUpdate,
            ErrorCode::InvalidBlockProof => VerifierError::InvalidBlockProof,
            ErrorCode::InvalidBlockWitness => VerifierError::InvalidBlockWitness,
            ErrorCode::InvalidSequenceHigher => VerifierError::InvalidSequenceHigher,
            ErrorCode::InvalidBlockUpdateHeightHigher => VerifierError::InvalidBlockUpdateHeightHigher,
            ErrorCode::InvalidBlockUpdateHeightLower => VerifierError::InvalidBlockUpdateHeightLower,
            ErrorCode::InvalidBlockProofHeightHigher => VerifierError::InvalidBlockProofHeightHigher,
            ErrorCode::InvalidBlockWitnessOld => VerifierError::InvalidBlockWitnessOld,
            ErrorCode::DecodeError => VerifierError::DecodeError,
            ErrorCode::NotAcceptedFromNetwork => VerifierError::NotAcceptedFromNetwork,
            ErrorCode::NotAcceptedBmc => VerifierError::NotAcceptedBmc,
        }
    }

    /// secp256k1 through the runtime: `ecdsa_recover` returns a compressed key; k256 decompresses one in Wasm
    /// when a validator's key is seen for the first time (the validator set keeps it from then on).
    struct RuntimeSecp256k1;

    impl Secp256k1 for RuntimeSecp256k1 {
        fn recover(&self, digest: &[u8; 32], signature: &[u8; 65]) -> Option<CompressedKey> {
            let mut compressed = [0u8; 33];
            ink::env::ecdsa_recover(signature, digest, &mut compressed).ok()?;
            Some(compressed)
        }

        fn decompress(&self, key: &CompressedKey) -> Option<[u8; 64]> {
            use k256::elliptic_curve::sec1::ToEncodedPoint;
            let point = k256::PublicKey::from_sec1_bytes(key).ok()?.to_encoded_point(false);
            point.as_bytes().get(1..65)?.try_into().ok()
        }
    }

    /// Emits an event for every validator set a relay message installs.
    struct Events;

    impl Observer for Events {
        fn block(&mut self, block: &VerifiedBlock) {
            if let Some(hash) = block.new_validators {
                use ink::codegen::StaticEnv;
                BmvIcon::env().emit_event(ValidatorsChanged { height: block.height, hash });
            }
        }
    }

    /// A relay message was verified: blocks up to `mta_height` are accumulated and `messages` BTP messages
    /// (from the block at `last_height`) went to the BMC.
    #[ink(event)]
    pub struct RelayMessageVerified {
        mta_height: u64,
        last_height: u64,
        last_block_id: IconHash,
        blocks: u32,
        messages: u32,
    }

    /// The block at `height` installed the validator list with hash `hash`.
    #[ink(event)]
    pub struct ValidatorsChanged {
        height: i64,
        hash: IconHash,
    }

    /// The storage an upgraded code (`set_code`) reads: these fields in this order, and the validator set under
    /// a fixed key.
    #[ink(storage)]
    pub struct BmvIcon {
        admin: Admin,
        bmc: AccountId,
        /// The BMC's BTP address as ICON names it: the `_next` of the ICON BMC's `Message` events.
        bmc_address: String,
        network: String,
        /// The current validator set (`ValidatorSet::encode_state`: the list as ICON committed to it, its hash
        /// and the members' keys learnt so far), in a storage cell of its own: `get_status`, which the BMC asks
        /// twice per relay message, does not load it, and it has the 16 KiB value limit to itself.
        validators: Lazy<Vec<u8>, ManualKey<0x424d_5601>>,
        /// The accumulator in ICON's BMV layout (see `Mta::encode`).
        mta: Vec<u8>,
        last_block_hash: IconHash,
        last_height: u64,
    }

    impl BmvIcon {
        /// Deploys a verifier of the ICON network `network` (e.g. `0x1.icon`) for the BMC contract `bmc`,
        /// whose BTP address on ICON's side is `bmc_address`.
        ///
        /// `validators` is the RLP list that votes on block `mta_offset + 1` (ICON's `icx_getDataByHash` of
        /// header `mta_offset`'s next-validators hash); the accumulator starts empty at `mta_offset`, keeps at
        /// most `root_size` roots (0 = all) and caches `cache_size` recent block ids. `last_block_hash` is the
        /// id of block `mta_offset`: the first update must name it as its parent, which ties this verifier to
        /// one chain from its first block on.
        #[ink(constructor)]
        #[allow(clippy::too_many_arguments)]
        pub fn new(
            bmc: AccountId,
            bmc_address: String,
            network: String,
            validators: Vec<u8>,
            mta_offset: u64,
            root_size: u32,
            cache_size: u32,
            allow_newer_witness: bool,
            last_block_hash: IconHash,
        ) -> Result<Self, Error> {
            btp_primitives::address::validate_network(&network).map_err(|_| Error::InvalidConfiguration)?;
            icon_light_client::verifier::network_id(&network).ok_or(Error::InvalidConfiguration)?;
            btp_primitives::BtpAddress::parse(&bmc_address).map_err(|_| Error::InvalidConfiguration)?;
            let mut stored = Lazy::new();
            stored.set(&ValidatorSet::decode(&validators, &RuntimeSecp256k1).map_err(|_| Error::InvalidConfiguration)?.encode_state());
            let mta = Mta::new(mta_offset, root_size, cache_size, allow_newer_witness).encode();
            Ok(Self { admin: Admin::new(Self::env().caller()), bmc, bmc_address, network, validators: stored, mta, last_block_hash, last_height: mta_offset })
        }

        /// The current validator list (RLP, as ICON committed to it) and its SHA3-256 hash.
        #[ink(message)]
        pub fn validators(&self) -> Result<(Vec<u8>, IconHash), Error> {
            let set = self.validator_set().map_err(|_| Error::Corrupted)?;
            Ok((set.raw().to_vec(), *set.hash()))
        }

        /// The accumulator in ICON's BMV layout: `[height, roots, offset, root_size, cache_size, cache, allow_newer_witness]`.
        #[ink(message)]
        pub fn mta(&self) -> Vec<u8> {
            self.mta.clone()
        }

        /// The ICON network verified, the BMC served and its BTP address.
        #[ink(message)]
        pub fn network(&self) -> (String, AccountId, String) {
            (self.network.clone(), self.bmc, self.bmc_address.clone())
        }

        fn validator_set(&self) -> Result<ValidatorSet, VerifierError> {
            ValidatorSet::decode_state(&self.validators.get().unwrap_or_default()).map_err(|_| VerifierError::Corrupted)
        }

        fn verifier(&self) -> Result<Verifier, VerifierError> {
            Ok(Verifier {
                network: self.network.clone(),
                validators: self.validator_set()?,
                mta: Mta::decode(&self.mta).map_err(|_| VerifierError::Corrupted)?,
                last_block_hash: Some(self.last_block_hash),
                last_height: self.last_height,
            })
        }
    }

    impl btp_interfaces::Verifier for BmvIcon {
        /// Verifies a relay message from the ICON BMC `prev` for the BMC `bmc` (its BTP address), whose link
        /// has received `seq` messages, and returns the BTP messages it proves, in order, with the new status.
        /// Only the BMC may call.
        #[ink(message)]
        fn handle_relay_message(&mut self, bmc: String, prev: String, seq: u128, msg: Vec<u8>) -> Result<Verified, VerifierError> {
            if self.env().caller() != self.bmc {
                return Err(VerifierError::Unauthorized);
            }
            if self.admin.is_halted() {
                return Err(VerifierError::Halted);
            }
            if bmc != self.bmc_address {
                return Err(VerifierError::NotAcceptedBmc);
            }
            let mut verifier = self.verifier()?;
            // A failed call reverts, so the light client may work on the state in place.
            let outcome = verifier.process(&bmc, &prev, seq, &msg, &RuntimeSecp256k1, &mut Events).map_err(|e| wire(e.code))?;
            // Written also when no block was added: the set may have learnt keys.
            self.validators.set(&verifier.validators.encode_state());
            self.mta = verifier.mta.encode();
            self.last_block_hash = verifier.last_block_hash.unwrap_or(self.last_block_hash);
            self.last_height = verifier.last_height;
            self.env().emit_event(RelayMessageVerified {
                mta_height: verifier.mta.height(),
                last_height: verifier.last_height,
                last_block_id: self.last_block_hash,
                blocks: outcome.blocks,
                messages: u32::try_from(outcome.messages.len()).unwrap_or(u32::MAX),
            });
            let status = VerifierStatus { height: verifier.mta.height(), offset: verifier.mta.offset(), last_height: verifier.last_height };
            // The light client reads messages in place: each is a part of `msg`.
            let messages = outcome.messages.iter().map(|m| MessageSpan::within(&msg, m)).collect::<Option<Vec<_>>>().ok_or(VerifierError::Unknown)?;
            Ok(Verified { messages, blocks: outcome.blocks, status })
        }

        /// Where a relay resumes: accumulator height and offset, and the last height that delivered messages.
        #[ink(message)]
        fn status(&self) -> Result<VerifierStatus, VerifierError> {
            let mta = Mta::decode(&self.mta).map_err(|_| VerifierError::Corrupted)?;
            Ok(VerifierStatus { height: mta.height(), offset: mta.offset(), last_height: self.last_height })
        }
    }

    /// Halting stops verification: the BMC refuses every relay message of this network until an owner resumes.
    impl Administered for BmvIcon {
        #[ink(message)]
        fn owners(&self) -> Vec<AccountId> {
            self.admin.owners()
        }

        #[ink(message)]
        fn owner_candidate(&self) -> Option<AccountId> {
            self.admin.candidate()
        }

        #[ink(message)]
        fn propose_owner(&mut self, candidate: Option<AccountId>) -> Result<(), AdminError> {
            self.admin.propose(self.env().caller(), candidate)
        }

        #[ink(message)]
        fn accept_ownership(&mut self) -> Result<(), AdminError> {
            self.admin.accept(self.env().caller())
        }

        #[ink(message)]
        fn remove_owner(&mut self, owner: AccountId) -> Result<(), AdminError> {
            self.admin.remove(self.env().caller(), owner)
        }

        #[ink(message)]
        fn halted(&self) -> bool {
            self.admin.is_halted()
        }

        #[ink(message)]
        fn set_halted(&mut self, halted: bool) -> Result<(), AdminError> {
            self.admin.set_halted(self.env().caller(), halted)
        }

        #[ink(message)]
        fn set_code(&mut self, code_hash: Hash) -> Result<(), AdminError> {
            self.admin.set_code(self.env().caller(), code_hash)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use btp_interfaces::Verifier as _;

        const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../libs/icon-vectors/data/icon/");

        fn vector(name: &str) -> serde_json::Value {
            let text = std::fs::read_to_string(format!("{VECTORS}{name}.json")).expect("vector");
            serde_json::from_str(&text).expect("json")
        }

        fn hex_field(v: &serde_json::Value, key: &str) -> Vec<u8> {
            hex::decode(v[key].as_str().expect(key)).expect("hex")
        }

        fn text(v: &serde_json::Value, key: &str) -> String {
            v[key].as_str().expect(key).to_string()
        }

        /// The runtime's `ecdsa_recover` takes V = 27 / 28 as well as 0 / 1; the host light client (the relay's
        /// pre-check, the vector runner) takes only 0 / 1. Both must refuse alike.
        #[ink::test]
        fn recovery_ids_above_one_are_refused_on_the_contract_path() {
            let ctx = secp256k1::Secp256k1::new();
            let (sk, _) = ctx.generate_keypair(&mut secp256k1::rand::thread_rng());
            let digest = icon_light_client::sha3_256(b"vote");
            let (id, compact) = ctx.sign_ecdsa_recoverable(&secp256k1::Message::from_digest(digest), &sk).serialize_compact();
            let mut sig = [0u8; 65];
            sig[..64].copy_from_slice(&compact);
            sig[64] = u8::try_from(id.to_i32()).unwrap();
            let crypto = RuntimeSecp256k1;
            let signer = icon_light_client::crypto::recover_address(&crypto, &digest, &sig).expect("V as goloop writes it");
            let mut xy = [0u8; 64];
            xy.copy_from_slice(&secp256k1::PublicKey::from_secret_key(&ctx, &sk).serialize_uncompressed()[1..]);
            assert_eq!(signer, icon_light_client::crypto::address_of_key(&xy));
            sig[64] = sig[64].saturating_add(27);
            assert_eq!(icon_light_client::crypto::recover_address(&crypto, &digest, &sig), None);
        }

        /// The BMV in the vector's state, serving the BMC at `bmc` under the vector's BMC address.
        fn deploy(v: &serde_json::Value, bmc: AccountId) -> BmvIcon {
            let state = &v["state"];
            let mta = &state["mta"];
            BmvIcon::new(
                bmc,
                text(&v["input"], "bmc"),
                text(v, "network"),
                hex_field(state, "validators"),
                mta["offset"].as_u64().unwrap(),
                mta["root_size"].as_u64().unwrap() as u32,
                mta["cache_size"].as_u64().unwrap() as u32,
                mta["allow_newer_witness"].as_bool().unwrap_or(false),
                hex_field(state, "last_block_hash").try_into().unwrap(),
            )
            .unwrap()
        }

        #[ink::test]
        fn accepts_the_real_icon_message_once() {
            let accounts = ink::env::test::default_accounts::<ink::env::DefaultEnvironment>();
            let v = vector("icondao_h21172_scenario4");
            let mut bmv = deploy(&v, accounts.bob);
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.bob);
            let input = &v["input"];
            let (bmc, prev, msg) = (text(input, "bmc"), text(input, "prev"), hex_field(input, "relay_message"));
            let verified = bmv.handle_relay_message(bmc.clone(), prev.clone(), 0, msg.clone()).unwrap();
            let messages: Vec<String> = verified.messages.iter().map(|span| hex::encode(span.slice(&msg).expect("a part of the message"))).collect();
            assert_eq!(messages, vec![v["expect"]["btp_messages"][0].as_str().unwrap().to_string()]);
            let status = VerifierStatus { height: 21172, offset: 21171, last_height: 21172 };
            assert_eq!((verified.blocks, verified.status, bmv.status()), (1, status, Ok(status)));
            assert_eq!(bmv.handle_relay_message(bmc, prev, 1, msg), Err(VerifierError::InvalidBlockUpdateHeightLower));
        }

        #[ink::test]
        fn only_the_bmc_may_relay_and_only_for_itself() {
            let accounts = ink::env::test::default_accounts::<ink::env::DefaultEnvironment>();
            let v = vector("icondao_h21172_scenario4");
            let mut bmv = deploy(&v, accounts.bob);
            let input = &v["input"];
            let (bmc, prev, msg) = (text(input, "bmc"), text(input, "prev"), hex_field(input, "relay_message"));
            // Alice is not the BMC.
            assert_eq!(bmv.handle_relay_message(bmc.clone(), prev.clone(), 0, msg.clone()), Err(VerifierError::Unauthorized));
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.bob);
            assert_eq!(bmv.handle_relay_message("btp://0x8.pra/0x00".into(), prev, 0, msg.clone()), Err(VerifierError::NotAcceptedBmc));
            assert_eq!(
                bmv.handle_relay_message(bmc, "btp://0x9.icon/cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a".into(), 0, msg),
                Err(VerifierError::NotAcceptedFromNetwork)
            );
            assert_eq!(bmv.status(), Ok(VerifierStatus { height: 21171, offset: 21171, last_height: 21171 }));
        }

        /// An upgrade (`set_code`) keeps the storage: the layout is the deployed one (`storage-layout.txt`).
        #[test]
        fn the_storage_layout_is_pinned() {
            btp_interfaces::layout::assert_pinned::<BmvIcon>(concat!(env!("CARGO_MANIFEST_DIR"), "/storage-layout.txt"));
        }

        #[ink::test]
        fn a_halted_verifier_verifies_nothing() {
            let accounts = ink::env::test::default_accounts::<ink::env::DefaultEnvironment>();
            let v = vector("icondao_h21172_scenario4");
            let mut bmv = deploy(&v, accounts.bob);
            assert_eq!(bmv.owners(), vec![accounts.alice]);
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.bob);
            assert_eq!(bmv.set_halted(true), Err(AdminError::Unauthorized), "the BMC is not an owner");
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.alice);
            bmv.set_halted(true).unwrap();
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.bob);
            let input = &v["input"];
            let (bmc, prev, msg) = (text(input, "bmc"), text(input, "prev"), hex_field(input, "relay_message"));
            assert_eq!(bmv.handle_relay_message(bmc.clone(), prev.clone(), 0, msg.clone()), Err(VerifierError::Halted));
            assert_eq!(bmv.status(), Ok(VerifierStatus { height: 21171, offset: 21171, last_height: 21171 }), "reads go on");
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.alice);
            bmv.set_halted(false).unwrap();
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(accounts.bob);
            assert_eq!(bmv.handle_relay_message(bmc, prev, 0, msg).map(|v| v.blocks), Ok(1));
        }

        #[ink::test]
        fn constructor_refuses_bad_configuration() {
            let accounts = ink::env::test::default_accounts::<ink::env::DefaultEnvironment>();
            let validators = hex_field(&vector("icondao_h21172_scenario4")["state"], "validators");
            let bmc = String::from("btp://0x8.pra/0x01");
            let new = |bmc: &str, net: &str, validators: Vec<u8>| BmvIcon::new(accounts.bob, bmc.into(), net.into(), validators, 5, 8, 8, true, [7; 32]);
            assert_eq!(new(&bmc, "icon", validators.clone()).err(), Some(Error::InvalidConfiguration));
            assert_eq!(new("0x8.pra/0x01", "0x3.icon", validators.clone()).err(), Some(Error::InvalidConfiguration));
            assert_eq!(new(&bmc, "0x3.icon", vec![0xc0]).err(), Some(Error::InvalidConfiguration));
            let bmv = new(&bmc, "0x3.icon", validators.clone()).unwrap();
            assert_eq!(bmv.validators(), Ok((validators.clone(), icon_light_client::sha3_256(&validators))));
            assert_eq!(bmv.status(), Ok(VerifierStatus { height: 5, offset: 5, last_height: 5 }));
            assert_eq!(bmv.network(), ("0x3.icon".into(), accounts.bob, bmc));
        }
    }
}
