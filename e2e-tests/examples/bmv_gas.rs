//! Benchmark of the BMV contract on pallet-contracts: for real ICON relay messages and for mainnet-like chains
//! of 1, 22 and 39 validators (1 block, 10 blocks, and as many as fit the BMC's relay-message limit), what
//! `handle_relay_message` weighs (`ref_time`, `proof_size`) and how much heap it takes, beside the floor it is
//! judged against: per signature one `ecdsa_recover` plus one SHA3-256 permutation, per block the
//! permutations its header needs, a permutation's cost measured inside the contract.
//!
//! `scripts/build-contracts.sh`, then `cargo run -p btp-e2e-tests --features e2e-tests --example bmv_gas`

use btp_e2e_tests::{
    vectors::{self, Relay},
    BmvCalls, Client,
};
use btp_interfaces::Verifier as _;
use btp_primitives::bmc::MAX_RELAY_MESSAGE_LEN;
use icon_light_client::{
    crypto::HostSecp256k1,
    mta::Mta,
    validators::ValidatorSet,
    verifier::{Observer, Verifier},
};
use icon_testnet::{chain::Shape, TestChain, Validator};
use ink_e2e::ContractsBackend;
use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

/// Counts bytes as ink!'s bump allocator spends them: every allocation and every reallocation's new size,
/// nothing given back.
struct BumpCount;

static COUNTING: AtomicBool = AtomicBool::new(false);
static SPENT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for BumpCount {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            SPENT.fetch_add(layout.size(), Ordering::Relaxed);
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            SPENT.fetch_add(new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: BumpCount = BumpCount;

const NETWORK: &str = "0x1.icon";
const PREV: &str = "btp://0x1.icon/cx00000000000000000000000000000000000000b1";
const BMC: &str = "btp://0x501.pra/0x01";
/// A parachain block's normal-class share of ref_time per extrinsic (0.5 s × 75 %).
const BLOCK_REF_TIME: u64 = 375_000_000_000;

/// The heap the contract's path of one call spends: the message argument, the state read from storage, the
/// verification and the state written back, counted on the host with the contract's own code.
fn contract_heap(state: &Verifier, bmc: &str, prev: &str, seq: u128, msg: &[u8]) -> usize {
    let (validators, mta) = (state.validators.encode_state(), state.mta.encode());
    SPENT.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let msg = msg.to_vec();
    let mut verifier = Verifier {
        network: state.network.clone(),
        validators: ValidatorSet::decode_state(&validators).expect("stored set"),
        mta: Mta::decode(&mta).expect("stored accumulator"),
        last_block_hash: state.last_block_hash,
        last_height: state.last_height,
    };
    let outcome = verifier.process(bmc, prev, seq, &msg, &HostSecp256k1, &mut ());
    let written = (verifier.validators.encode_state(), verifier.mta.encode());
    COUNTING.store(false, Ordering::Relaxed);
    outcome.expect("the host accepts what the contract is given");
    drop((written, msg));
    SPENT.load(Ordering::Relaxed)
}

/// Counts the signatures a relay message carries.
struct Signatures(usize);

impl Observer for Signatures {
    fn signer(&mut self, _: &btp_primitives::IconAddress) {
        self.0 += 1;
    }
}

/// One measured call.
#[derive(Debug, Clone, Copy)]
struct Figures {
    bytes: usize,
    blocks: usize,
    signatures: usize,
    ref_time: u64,
    proof_size: u64,
    heap: usize,
}

impl Figures {
    fn print(&self, label: &str) {
        println!(
            "BENCH bmv {label:<34} {:>7} bytes {:>4} blocks {:>5} signatures  ref_time {:>7.2} G  proof_size {:>6} B  heap {:>4} KiB",
            self.bytes,
            self.blocks,
            self.signatures,
            self.ref_time as f64 / 1e9,
            self.proof_size,
            self.heap / 1024
        );
    }
}

/// A BMV contract and its host twin, which stays in the same state and counts what each message holds.
struct Bench {
    calls: BmvCalls,
    host: Verifier,
}

impl Bench {
    async fn relay(&mut self, client: &mut Client, bmc: &str, prev: &str, seq: u128, msg: Vec<u8>) -> Figures {
        let heap = contract_heap(&self.host, bmc, prev, seq, &msg);
        let mut signatures = Signatures(0);
        let outcome = self.host.handle_relay_message_with(bmc, prev, seq, &msg, &HostSecp256k1, &mut signatures).expect("the host accepts");
        let call = self.calls.handle_relay_message(bmc.into(), prev.into(), seq, msg.clone());
        let result = client.call(&ink_e2e::alice(), &call).submit().await.expect("submitted");
        let gas = result.dry_run.exec_result.gas_consumed;
        assert!(result.return_value().is_ok(), "the contract accepts what the host accepts");
        Figures { bytes: msg.len(), blocks: outcome.blocks as usize, signatures: signatures.0, ref_time: gas.ref_time(), proof_size: gas.proof_size(), heap }
    }
}

async fn deploy(client: &mut Client, host: Verifier, bmc: &str) -> Bench {
    let mut ctor = bmv_icon::bmv_icon::BmvIconRef::new(
        ink_e2e::account_id(ink_e2e::AccountKeyring::Alice),
        bmc.into(),
        host.network.clone(),
        host.validators.raw().to_vec(),
        host.mta.offset(),
        host.mta.root_size(),
        host.mta.cache_size(),
        host.mta.allow_newer_witness(),
        host.last_block_hash.expect("deployed with the id of its first block"),
    );
    let calls =
        client.instantiate("bmv_icon", &ink_e2e::alice(), &mut ctor).submit().await.expect("instantiate bmv").call_builder::<bmv_icon::bmv_icon::BmvIcon>();
    Bench { calls, host }
}

/// A mainnet-like chain of `n` validators from block 1000, and a BMV for it.
async fn chain_and_bmv(client: &mut Client, n: u64, shape: Shape, padding: usize) -> (TestChain, Bench) {
    let mut chain = TestChain::with_shape(NETWORK, Validator::set(1, n), 1000, shape);
    chain.pad_headers(padding);
    let host = Verifier {
        network: NETWORK.into(),
        validators: ValidatorSet::decode(&chain.voters_list(), &HostSecp256k1).expect("validators"),
        mta: Mta::new(1000, 0, 0, false),
        last_block_hash: Some(chain.last().id()),
        last_height: 1000,
    };
    let bench = deploy(client, host, BMC).await;
    (chain, bench)
}

/// Relays blocks `from..` of `chain` until every validator has signed once, so that later figures are those
/// of a BMV that knows its validators' keys; returns the next height.
async fn warm_up(client: &mut Client, chain: &mut TestChain, bench: &mut Bench, n: u64) -> i64 {
    let from = chain.height() + 1;
    let blocks = (n / 3 + 1) as i64;
    chain.produce_empty(blocks as usize);
    bench.relay(client, BMC, PREV, 0, chain.relay_message(from, from + blocks - 1, &[])).await;
    from + blocks
}

fn main() {
    let contracts = btp_e2e_tests::release_contracts();
    for wasm in contracts.iter().filter(|w| w.to_string_lossy().contains("bmv_icon")) {
        println!("BENCH bmv_icon.wasm (release): {} bytes", std::fs::metadata(wasm).map(|m| m.len()).unwrap_or(0));
    }
    type Runtime = <ink_e2e::DefaultSandbox as ink_sandbox::Sandbox>::Runtime;
    let schedule: ink_sandbox::pallet_contracts::Schedule<Runtime> =
        <<Runtime as ink_sandbox::pallet_contracts::Config>::Schedule as ink_sandbox::frame_support::traits::Get<_>>::get();
    let recover = schedule.host_fn_weights.ecdsa_recover.ref_time();
    let mut client = btp_e2e_tests::Client::new(contracts);
    let runtime = ink_e2e::tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    runtime.block_on(async {
        // Real ICON data.
        for name in ["icondao_h21172_scenario4", "hugobyte_0x995745_h157_564"] {
            let v = vectors::load(name);
            let Relay { bmc, prev, seq, msg } = vectors::relay(&v["input"]);
            let mut host = icon_vectors::verifier_from_state(&v).expect("vector state");
            // As deployed: with the id of the block before the first update.
            host.last_block_hash = Some(vectors::bmv_state(&v).last_block_hash);
            let mut bench = deploy(&mut client, host, &bmc).await;
            bench.relay(&mut client, &bmc, &prev, seq, msg).await.print(&format!("real {name}"));
        }

        // A SHA3-256 permutation inside the contract: the same 10 blocks of one validator, headers 8 × 136 bytes
        // (the rate) longer.
        let mut tens = Vec::new();
        for padding in [0, 8 * 136] {
            let (mut chain, mut bench) = chain_and_bmv(&mut client, 1, Shape::Minimal, padding).await;
            let from = warm_up(&mut client, &mut chain, &mut bench, 1).await;
            chain.produce_empty(10);
            tens.push(bench.relay(&mut client, BMC, PREV, 0, chain.relay_message(from, from + 9, &[])).await);
        }
        let permutation = (tens[1].ref_time - tens[0].ref_time) / 80;

        // Mainnet-like chains.
        let mut rows = Vec::new();
        for n in [1u64, 22, 39] {
            let (mut chain, mut bench) = chain_and_bmv(&mut client, n, Shape::MainnetLike, 0).await;
            let mut from = warm_up(&mut client, &mut chain, &mut bench, n).await;
            let mut figures = Vec::new();
            for count in [1, 10] {
                chain.produce_empty(count);
                let f = bench.relay(&mut client, BMC, PREV, 0, chain.relay_message(from, from + count as i64 - 1, &[])).await;
                f.print(&format!("{n} validators, {count} blocks"));
                figures.push(f);
                from += count as i64;
            }
            let last = chain.produce_within(from, MAX_RELAY_MESSAGE_LEN);
            let msg = chain.relay_message(from, last, &[]);
            // The same message to a BMV deployed at the block before, which has not seen any key yet.
            let anchor = Verifier {
                network: NETWORK.into(),
                validators: ValidatorSet::decode(bench.host.validators.raw(), &HostSecp256k1).expect("validators"),
                mta: Mta::new(from as u64 - 1, 0, 0, false),
                last_block_hash: Some(chain.block(from - 1).expect("produced").id()),
                last_height: from as u64 - 1,
            };
            let mut fresh = deploy(&mut client, anchor, BMC).await;
            let full = bench.relay(&mut client, BMC, PREV, 0, msg.clone()).await;
            full.print(&format!("{n} validators, full buffer"));
            let first = fresh.relay(&mut client, BMC, PREV, 0, msg).await;
            first.print(&format!("{n} validators, full buffer, keys new"));
            let header_len = chain.last().header_bytes.len();
            rows.push((n, figures[0], figures[1], full, first, header_len));
        }

        // Marginal figures and their floors.
        let per_block = |a: &Figures, b: &Figures| (b.ref_time - a.ref_time) / (b.blocks - a.blocks) as u64;
        let (_, one_1, one_10, _, _, header_len) = rows[0];
        let (_, _, many_10, _, _, _) = rows[1];
        let per_update = per_block(&one_1, &one_10);
        let per_signature = (many_10.ref_time - one_10.ref_time) / (many_10.signatures - one_10.signatures) as u64;
        let signature_floor = recover + permutation;
        let header_floor = (header_len as u64 / 136 + 1) * permutation;
        println!("BENCH floor: ecdsa_recover {:.1} M, SHA3-256 permutation {:.1} M (measured in the contract)", recover as f64 / 1e6, permutation as f64 / 1e6);
        println!(
            "BENCH marginal per signature {:.1} M = {:.2} x floor {:.1} M (recover + 1 permutation)",
            per_signature as f64 / 1e6,
            per_signature as f64 / signature_floor as f64,
            signature_floor as f64 / 1e6
        );
        println!(
            "BENCH marginal per block update (1 signature, {header_len}-byte header) {:.1} M = {:.2} x floor {:.1} M (signature + {} header permutations)",
            per_update as f64 / 1e6,
            per_update as f64 / (signature_floor + header_floor) as f64,
            (signature_floor + header_floor) as f64 / 1e6,
            header_len / 136 + 1
        );
        for (n, one, ten, full, first, _) in &rows {
            let marginal = per_block(one, ten);
            let fit = (BLOCK_REF_TIME - one.ref_time) / marginal + 1;
            println!(
                "BENCH {n:>2} validators: {:.0} M per block, {fit} blocks fit a parachain block's 375 G; the buffer holds {} ({:.0} G, {:.0} G when the keys are new)",
                marginal as f64 / 1e6,
                full.blocks,
                full.ref_time as f64 / 1e9,
                first.ref_time as f64 / 1e9
            );
        }
    });
}
