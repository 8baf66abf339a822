//! End-to-end tests of the BTP contracts on a real `pallet-contracts` runtime (`tests/`), and the gas benchmark
//! (`examples/bmv_gas.rs`). Run `scripts/build-contracts.sh` first, then
//! `cargo test -p btp-e2e-tests --features e2e-tests`.
//!
//! The tests deploy the release artefacts of `target/contracts/` (what would be deployed for real) into
//! ink_e2e's sandbox: `pallet-contracts` in-process, no node. This library holds what they share.

use std::path::PathBuf;

pub mod bridge;

pub use sandbox::pass_blocks;

/// The sandbox client the tests use: a real runtime with pallet-contracts and funded dev accounts.
pub type Client = ink_e2e::SandboxClient<ink::primitives::AccountId, ink::primitives::Hash, ParachainSandbox>;

/// ink_e2e's default runtime, with a parachain's gas budget for a call instead of the sandbox's 0.1 s: the
/// normal-class share of a parachain block (0.5 s × 75 % of ref_time, a 5 MiB proof). Real relay messages of
/// 200 ICON blocks need about 0.11 s; a test limit below what a parachain allows would refuse them.
#[derive(Default)]
#[repr(transparent)]
pub struct ParachainSandbox(ink_e2e::DefaultSandbox);

mod sandbox {
    use super::ParachainSandbox;
    use ink_e2e::DefaultSandbox;
    use ink_sandbox::{api::prelude::SystemAPI, frame_support::sp_runtime::traits::Dispatchable, frame_system, Sandbox, Snapshot, Weight};
    use std::cell::Cell;

    type Runtime = <DefaultSandbox as Sandbox>::Runtime;

    thread_local! {
        static BLOCKS_TO_PASS: Cell<u32> = const { Cell::new(0) };
    }

    /// Lets `n` blocks pass before the test's next call or query: the sandbox makes no block by itself, and
    /// what waits for a block number (the governor's delays) needs them.
    pub fn pass_blocks(n: u32) {
        BLOCKS_TO_PASS.with(|b| b.set(b.get().saturating_add(n)));
    }

    impl ParachainSandbox {
        fn pass_pending_blocks(&mut self) {
            let blocks = BLOCKS_TO_PASS.with(|b| b.replace(0));
            if blocks > 0 {
                self.0.build_blocks(blocks);
            }
        }

        fn wrap(inner: &mut DefaultSandbox) -> &mut Self {
            // SAFETY: `ParachainSandbox` is `repr(transparent)` over `DefaultSandbox`, so both have one layout.
            unsafe { &mut *(inner as *mut DefaultSandbox).cast::<Self>() }
        }
    }

    impl Sandbox for ParachainSandbox {
        type Runtime = Runtime;

        fn execute_with<T>(&mut self, execute: impl FnOnce() -> T) -> T {
            self.pass_pending_blocks();
            self.0.execute_with(|| {
                let out = execute();
                crate::events::collect::<Runtime>();
                out
            })
        }

        fn dry_run<T>(&mut self, action: impl FnOnce(&mut Self) -> T) -> T {
            // Outside the dry run, which rolls back what happens in it.
            self.pass_pending_blocks();
            crate::events::DRY_RUN.with(|d| d.set(true));
            let out = self.0.dry_run(|inner| action(Self::wrap(inner)));
            crate::events::DRY_RUN.with(|d| d.set(false));
            out
        }

        fn register_extension<E: core::any::Any + ink_sandbox::Extension>(&mut self, ext: E) {
            self.0.register_extension(ext)
        }

        fn initialize_block(height: frame_system::pallet_prelude::BlockNumberFor<Runtime>, parent_hash: <Runtime as frame_system::Config>::Hash) {
            DefaultSandbox::initialize_block(height, parent_hash)
        }

        fn finalize_block(height: frame_system::pallet_prelude::BlockNumberFor<Runtime>) -> <Runtime as frame_system::Config>::Hash {
            DefaultSandbox::finalize_block(height)
        }

        fn default_actor() -> ink_sandbox::AccountIdFor<Runtime> {
            DefaultSandbox::default_actor()
        }

        fn default_gas_limit() -> Weight {
            Weight::from_parts(375_000_000_000, 5 * 1024 * 1024)
        }

        fn get_metadata() -> ink_sandbox::RuntimeMetadataPrefixed {
            DefaultSandbox::get_metadata()
        }

        fn convert_account_to_origin(
            account: ink_sandbox::AccountIdFor<Runtime>,
        ) -> <<Runtime as frame_system::Config>::RuntimeCall as Dispatchable>::RuntimeOrigin {
            DefaultSandbox::convert_account_to_origin(account)
        }

        fn take_snapshot(&mut self) -> Snapshot {
            self.0.take_snapshot()
        }

        fn restore_snapshot(&mut self, snapshot: Snapshot) {
            self.0.restore_snapshot(snapshot)
        }
    }
}

/// The events contracts emitted in submitted calls (ink_e2e's sandbox client does not return them). Each test
/// runs its runtime on one thread, so the log is per thread.
pub mod events {
    use ink_sandbox::{frame_system, pallet_contracts};
    use std::cell::{Cell, RefCell};

    /// An event a contract emitted: its topics (the first is the event's signature) and SCALE data.
    #[derive(Debug, Clone)]
    pub struct Emitted {
        pub contract: [u8; 32],
        pub topics: Vec<[u8; 32]>,
        pub data: Vec<u8>,
    }

    thread_local! {
        static LOG: RefCell<Vec<Emitted>> = const { RefCell::new(Vec::new()) };
        pub(crate) static DRY_RUN: Cell<bool> = const { Cell::new(false) };
    }

    /// Moves the runtime's `ContractEmitted` events into the log (not those of dry runs, which are rolled back).
    pub(crate) fn collect<R>()
    where
        R: frame_system::Config<Hash = ink_sandbox::H256, AccountId = ink_sandbox::AccountId32> + pallet_contracts::Config,
        <R as frame_system::Config>::RuntimeEvent: TryInto<pallet_contracts::Event<R>>,
    {
        if DRY_RUN.with(Cell::get) {
            return;
        }
        let records = frame_system::Pallet::<R>::read_events_no_consensus();
        let emitted: Vec<Emitted> = records
            .filter_map(|record| {
                let topics = record.topics.iter().map(|t| t.0).collect();
                match record.event.clone().try_into() {
                    Ok(pallet_contracts::Event::ContractEmitted { contract, data }) => Some(Emitted { contract: contract.into(), topics, data }),
                    _ => None,
                }
            })
            .collect();
        frame_system::Pallet::<R>::reset_events();
        LOG.with(|log| log.borrow_mut().extend(emitted));
    }

    /// Takes the events emitted since the last call.
    pub fn take() -> Vec<Emitted> {
        LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
    }

    /// The BMC `bmc`'s `Message` events among `events`: (next BMC, seq, RLP BTP message).
    pub fn bmc_messages(events: &[Emitted], bmc: &ink::primitives::AccountId) -> Vec<(String, u64, Vec<u8>)> {
        decoded::<btp_interfaces::events::Message, btp_interfaces::events::Message>(events, bmc).into_iter().map(|m| (m.next, m.seq, m.msg)).collect()
    }

    /// `contract`'s events of type `E` among `events`, decoded as `T` (the event itself, or a tuple of its fields
    /// where they are private).
    pub fn decoded<E: ink::env::Event, T: parity_scale_codec::Decode>(events: &[Emitted], contract: &ink::primitives::AccountId) -> Vec<T> {
        of::<E>(events, contract).iter().map(|data| T::decode(&mut &data[..]).expect("the event's fields")).collect()
    }

    /// The data of `contract`'s events of type `E` among `events`.
    pub fn of<E: ink::env::Event>(events: &[Emitted], contract: &ink::primitives::AccountId) -> Vec<Vec<u8>> {
        let signature = E::SIGNATURE_TOPIC.expect("events have a signature topic");
        events.iter().filter(|e| e.contract == *AsRef::<[u8; 32]>::as_ref(contract) && e.topics.first() == Some(&signature)).map(|e| e.data.clone()).collect()
    }
}

/// The release Wasm of every contract, as `scripts/build-contracts.sh` leaves them.
pub fn release_contracts() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/contracts"));
    ["bmc", "bmv_icon", "bsh_nativecoin", "bsh_nativecoin_next", "test_service"]
        .iter()
        .map(|name| {
            let wasm = dir.join(format!("{name}.wasm"));
            assert!(wasm.exists(), "{} is missing: run scripts/build-contracts.sh first", wasm.display());
            wasm
        })
        .collect()
}

/// A fresh runtime with every contract's code available by name (`"bmv_icon"`, …).
pub fn client() -> Client {
    Client::new(release_contracts())
}

/// The BMV's call builder, as `instantiate` returns it.
pub type BmvCalls = <bmv_icon::bmv_icon::BmvIcon as ink::codegen::ContractCallBuilder>::Type;

/// Deploys the BMV in a vector's state for the BMC at `bmc_address`; Alice plays that BMC.
pub async fn deploy_bmv(client: &mut Client, vector: &serde_json::Value, bmc_address: String) -> BmvCalls {
    use ink_e2e::ContractsBackend;
    let s = vectors::bmv_state(vector);
    let mut ctor = bmv_icon::bmv_icon::BmvIconRef::new(
        ink_e2e::account_id(ink_e2e::AccountKeyring::Alice),
        bmc_address,
        s.network,
        s.validators,
        s.mta_offset,
        s.root_size,
        s.cache_size,
        s.allow_newer_witness,
        s.last_block_hash,
    );
    client.instantiate("bmv_icon", &ink_e2e::alice(), &mut ctor).submit().await.expect("instantiate bmv").call_builder::<bmv_icon::bmv_icon::BmvIcon>()
}

/// Runs an async test body to completion.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    ink_e2e::tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime").block_on(test)
}

pub mod vectors {
    use serde_json::Value;

    /// Loads `contracts/libs/icon-vectors/data/icon/<name>.json`.
    pub fn load(name: &str) -> Value {
        let path = format!("{}/../contracts/libs/icon-vectors/data/icon/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub fn text(v: &Value, key: &str) -> String {
        v[key].as_str().unwrap_or_else(|| panic!("missing string {key}")).to_string()
    }

    pub fn bytes(v: &Value, key: &str) -> Vec<u8> {
        hex::decode(text(v, key)).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    /// A BMV's constructor arguments taken from a vector's `state`.
    pub struct BmvState {
        pub network: String,
        pub validators: Vec<u8>,
        pub mta_offset: u64,
        pub root_size: u32,
        pub cache_size: u32,
        pub allow_newer_witness: bool,
        pub last_block_hash: [u8; 32],
    }

    /// Read as the vector runner reads it; a freshly deployed BMV has an empty accumulator.
    pub fn bmv_state(vector: &Value) -> BmvState {
        let v = icon_vectors::verifier_from_state(vector).unwrap_or_else(|e| panic!("vector state: {e}"));
        assert_eq!(v.mta.height(), v.mta.offset(), "a freshly deployed BMV cannot hold pre-added leaves");
        BmvState {
            network: v.network,
            validators: v.validators.raw().to_vec(),
            mta_offset: v.mta.offset(),
            root_size: v.mta.root_size(),
            cache_size: v.mta.cache_size(),
            allow_newer_witness: v.mta.allow_newer_witness(),
            last_block_hash: v.last_block_hash.unwrap_or_else(|| first_parent(vector)),
        }
    }

    /// The id a BMV is deployed with, for a vector whose state does not name it: the parent of the first block
    /// its (first) relay message updates, as a deployer reads it from header `offset + 1`.
    fn first_parent(vector: &Value) -> [u8; 32] {
        let input = vector.get("steps").map_or(&vector["input"], |s| &s[0]["input"]);
        let msg = bytes(input, "relay_message");
        let message = icon_light_client::relay::ReceivedRelayMessage::decode(&msg).expect("relay message");
        let update = message.block_updates().next().expect("a block update").expect("decodable");
        icon_light_client::header::BlockHeader::decode(update.header).expect("header").prev_id.expect("a parent")
    }

    /// One `handle_relay_message` call.
    pub struct Relay {
        pub bmc: String,
        pub prev: String,
        pub seq: u128,
        pub msg: Vec<u8>,
    }

    pub fn relay(input: &Value) -> Relay {
        Relay { bmc: text(input, "bmc"), prev: text(input, "prev"), seq: input["seq"].as_u64().expect("seq").into(), msg: bytes(input, "relay_message") }
    }

    /// The error names a reject expectation allows.
    pub fn allowed_errors(expect: &Value) -> Vec<String> {
        let mut names = vec![text(expect, "error")];
        if let Some(alts) = expect["error_alternatives"].as_array() {
            names.extend(alts.iter().filter_map(Value::as_str).map(String::from));
        }
        names
    }

    /// The ICON name of a BMV error: its wire code is the BMV's local error code.
    pub fn error_name(error: &btp_interfaces::VerifierError) -> String {
        let code = parity_scale_codec::Encode::encode(error)[0];
        icon_light_client::ErrorCode::from_local(code).map_or_else(|| format!("{error:?}"), |c| c.name().to_string())
    }
}
