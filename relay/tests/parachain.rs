//! The bridge on a real Polkadot parachain: the local relay chain (two rococo-local validators) with
//! substrate-contracts-node collating para 1000, the contracts deployed there by `relay deploy` and the `relay`
//! binary between it and the ICON test chain. Blocks come every 12 s and are final once the relay chain's GRANDPA
//! finalizes the relay block that included them; each is executed again by the validators within their backing
//! timeout (polkadot's default, 2 s).
//!
//! Starting the network and deploying take minutes, so its tests share one: this binary runs them in order on
//! one bridge (libtest-mimic keeps cargo test's interface: names, filters, `--list`) and stops every node after,
//! also when a test fails. Each test counts from the balances it finds.

mod support;

use btp_localnet::{Config, Network};
use btp_parachain::{calls, Message, Signer};
use icon_rpc::transaction;
use icon_testnet::Validator;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::json;
use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::{
    bridge::{wait_until, Bridge, Relay, PARA},
    icon::ICX,
};

/// One bridge for every test of the binary, with its relay.
struct Fixture {
    // Declared first so that it is dropped first: the relay stops before the chains.
    relay: Relay,
    bridge: Bridge<Network>,
    icon_bob: Validator,
}

impl Fixture {
    async fn start() -> Self {
        let network = Network::start(Config::default()).await.unwrap_or_else(|e| panic!("the local relay chain and parachain: {e}"));
        let icon_bob = Validator::from_seed(1000);
        // The relay carries an update per ICON block, about 30 per parachain round of some 35 s; ICON's own 2 s
        // would leave it a backlog of the minutes the deployment takes to work off first.
        let bridge = Bridge::on_chains(network, "parachain", &icon_bob, Duration::from_secs(6), |_| {}).await;
        let relay = Relay::start(&bridge.deployment);
        Self { relay, bridge, icon_bob }
    }

    /// ICON's BSH: what `owner` has locked there.
    async fn locked_on_icon(&self) -> u128 {
        let icon = icon_rpc::IconClient::new(&self.bridge.icon.url).unwrap();
        let owner = self.icon_bob.address.to_string();
        let b = icon.call_contract(&self.bridge.icon.btp.bsh.to_string(), "balanceOf", json!({"_owner": owner, "_coinName": "ICX"})).await.unwrap();
        icon_rpc::parse_t_amount(b["locked"].as_str().unwrap()).unwrap()
    }

    async fn icx_on_icon(&self) -> u128 {
        self.bridge.icon.shared.with(|b| b.balance(&self.icon_bob.address)).await.unwrap()
    }

    /// Bob sends `value` ICX on ICON to //Bob on the parachain and waits until the wrapped ICX (less ICON's fixed
    /// fee of 1 ICX) are minted and ICON has the parachain's answer.
    async fn icon_to_parachain(&self, value: u128, timestamp: u64) {
        let bob = Signer::from_uri("//Bob").unwrap().account();
        let before = self.bridge.wrapped_icx(&bob).await;
        let icx_before = self.icx_on_icon().await;
        self.bridge.transfer_on_icon(&self.icon_bob, value, &bob, timestamp).await;
        self.bridge.wait_for_wrapped(&bob, before + value - ICX, Duration::from_secs(600)).await;
        assert_eq!(self.icx_on_icon().await, icx_before - value, "Bob paid {value} on ICON");
        wait_until("ICON takes the parachain's answer and unlocks", Duration::from_secs(600), || async { self.locked_on_icon().await == 0 }).await;
    }
}

/// The bridge, once the first test started it (or why it could not be: the other tests fail at once).
type Shared = Arc<Mutex<Option<Result<Fixture, String>>>>;
type Scenario = for<'a> fn(&'a mut Fixture) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// The seed's story: Bob's 100 ICX, 1 ICX of fee, 99 wrapped ICX on the parachain, through the relay binary.
fn seed_scenario_on_a_parachain(f: &mut Fixture) -> Pin<Box<dyn Future<Output = ()> + '_>> {
    Box::pin(async move {
        f.icon_to_parachain(100 * ICX, 1).await;
    })
}

/// There and back: 100 ICX to the parachain, then 50 wrapped ICX back to ICON, where 49.9 ICX are released to
/// Bob, and ICON's answer settles the transfer on the parachain.
fn round_trip_on_a_parachain(f: &mut Fixture) -> Pin<Box<dyn Future<Output = ()> + '_>> {
    Box::pin(async move {
        f.icon_to_parachain(100 * ICX, 2).await;
        let bob = Signer::from_uri("//Bob").unwrap();
        let bsh_bundle = support::bundle("bsh_nativecoin");
        let para = &f.bridge.para;
        let balance = || async {
            let call = calls::<bsh_nativecoin::bsh_nativecoin::BshNativecoin>(&f.bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
            para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap()
        };
        let usable = balance().await.usable.unwrap_or(0);
        let icx_before = f.icx_on_icon().await;
        let back = calls::<bsh_nativecoin::bsh_nativecoin::BshNativecoin>(&f.bridge.bsh).transfer(
            "ICX".into(),
            50 * ICX,
            format!("btp://0x3.icon/{}", f.icon_bob.address),
        );
        let (answer, included) = para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap();
        answer.expect("Bob's transfer back");
        let back_sn = included.emitted.iter().find_map(|e| e.decode::<bsh_nativecoin::bsh_nativecoin::TransferStart>()).expect("TransferStart").sn;
        wait_until("ICON releases 49.9 ICX to Bob", Duration::from_secs(600), || async { f.icx_on_icon().await == icx_before + 499 * ICX / 10 }).await;
        wait_until("ICON's answer settles the transfer on the parachain", Duration::from_secs(600), || async { balance().await.locked == 0 }).await;
        assert_eq!(balance().await.usable, Some(usable - 50 * ICX), "50 sent back");
        // The operator's views work on a parachain: the trace from both chains, the status, the metrics. The
        // trace tells finalized blocks only, a little after the balance read at the best block.
        let stages = [
            "sent on the parachain: block ",
            "relayed to ICON: block ",
            "on ICON: carried out (code 0)",
            "answer delivered on the parachain: block ",
            "transfer ended on the parachain: code 0",
        ];
        wait_until("relay trace shows every stage, final", Duration::from_secs(180), || async {
            let printed = f.bridge.trace("0x501.pra", back_sn);
            stages.iter().all(|stage| printed.contains(stage))
        })
        .await;
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["status", "--config"])
            .arg(f.bridge.deployment.with_file_name("relay.toml"))
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && printed.contains("pending 0"), "relay status: {printed}");
        let (_, metrics) = f.relay.get("/metrics").await;
        assert!(metrics.lines().any(|l| l.starts_with("btp_relay_rounds_total{") && l.contains("outcome=\"delivered\"") && !l.ends_with(" 0")), "{metrics}");
    })
}

/// The collator is stopped and started again while transfers are under way: every one is minted once, and the
/// parachain BMC took each message once.
fn relay_survives_a_collator_restart(f: &mut Fixture) -> Pin<Box<dyn Future<Output = ()> + '_>> {
    Box::pin(async move {
        const TRANSFERS: u64 = 3;
        let bob = Signer::from_uri("//Bob").unwrap().account();
        let before = f.bridge.wrapped_icx(&bob).await;
        let rx_seq = f.bridge.status().await.rx_seq;
        for n in 0..TRANSFERS {
            f.bridge.transfer_on_icon(&f.icon_bob, 10 * ICX, &bob, 100 + n).await;
        }
        // Mid-run: once the relay is submitting toward the collator.
        tokio::time::sleep(Duration::from_secs(20)).await;
        f.bridge.node.restart_collator().await.unwrap_or_else(|e| panic!("the collator's restart: {e}"));
        f.bridge.wait_for_wrapped(&bob, before + u128::from(TRANSFERS) * 9 * ICX, Duration::from_secs(900)).await;
        assert_eq!(f.bridge.status().await.rx_seq, rx_seq + TRANSFERS, "each transfer's message taken once");
        wait_until("ICON takes the parachain's answers", Duration::from_secs(600), || async { f.locked_on_icon().await == 0 }).await;
    })
}

/// Twelve transfers in one ICON block: their messages cost more than the relay's ref_time budget lets one relay
/// message carry, so they go in parts (the block's update with the first, then proofs of the block with the
/// rest); each is minted once.
fn a_busy_icon_block_is_delivered_in_parts(f: &mut Fixture) -> Pin<Box<dyn Future<Output = ()> + '_>> {
    Box::pin(async move {
        const TRANSFERS: u64 = 12;
        let bob = Signer::from_uri("//Bob").unwrap().account();
        let before = f.bridge.wrapped_icx(&bob).await;
        let rx_seq = f.bridge.status().await.rx_seq;
        let to = format!("btp://{PARA}/{}", btp_primitives::address::hex_account(&bob.0));
        let call = json!({"method": "transferNativeCoin", "params": {"_to": to}});
        let bsh = &f.bridge.icon.btp.bsh;
        let sent: Vec<_> = (0..TRANSFERS).map(|n| transaction::build(&f.icon_bob, "0x3", bsh, Some(10 * ICX), Some(call.clone()), 300 + n)).collect();
        // Sent while the ICON test chain is held, so that its next block takes them all.
        let taken = f
            .bridge
            .icon
            .shared
            .with(|icon| sent.iter().map(|tx| icon.send_transaction(tx.as_object().expect("a transaction")).map(drop)).collect::<Vec<_>>())
            .await;
        assert!(taken.iter().all(Result::is_ok), "ICON takes the transfers: {taken:?}");
        f.bridge.wait_for_wrapped(&bob, before + u128::from(TRANSFERS) * 9 * ICX, Duration::from_secs(900)).await;
        assert_eq!(f.bridge.status().await.rx_seq, rx_seq + TRANSFERS, "each transfer's message taken once");
        let log = strip_colours(&std::fs::read_to_string(f.bridge.deployment.with_file_name("relay.log")).unwrap_or_default());
        let parts: Vec<_> = log.lines().filter(|l| l.contains("btp_relay::parachain") && l.contains(" submitting ") && !l.contains(" messages=0 ")).collect();
        assert!(log.contains("one block's messages too many for a segment"), "the block's messages were not split: {parts:#?}");
    })
}

/// Where a transfer stood at a moment: the wall clock and both chains' finalized heights.
#[derive(Clone, Copy)]
struct Moment {
    at: Instant,
    para: u64,
    relay_chain: u64,
}

impl Fixture {
    async fn moment(&self) -> Moment {
        let network = &self.bridge.node;
        Moment {
            at: Instant::now(),
            para: network.para_finalized_height().await.unwrap_or(0),
            relay_chain: network.relay_chain_finalized_height().await.unwrap_or(0),
        }
    }
}

/// Median and maximum of each column over the transfers: seconds, parachain blocks, relay-chain blocks.
fn summary(way: &str, spans: &[(Moment, Moment)]) {
    let column = |f: &dyn Fn(&(Moment, Moment)) -> f64| {
        let mut v: Vec<f64> = spans.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (secs, secs_max) = column(&|(a, b)| b.at.duration_since(a.at).as_secs_f64());
    let (para, para_max) = column(&|(a, b)| b.para.saturating_sub(a.para) as f64);
    let (relay, relay_max) = column(&|(a, b)| b.relay_chain.saturating_sub(a.relay_chain) as f64);
    println!(
        "  {way}: {} transfers, median {secs:.1} s (max {secs_max:.1} s), {para:.0} parachain blocks (max {para_max:.0}), {relay:.0} relay-chain blocks (max {relay_max:.0})",
        spans.len()
    );
}

/// The figures of the bridge on this parachain, printed (a benchmark: nothing is asserted on time): ten transfers
/// each way, from sent to final at the other end; and the relay messages the relay built under the parachain's
/// limits, from its log of dry runs.
fn parachain_figures(f: &mut Fixture) -> Pin<Box<dyn Future<Output = ()> + '_>> {
    Box::pin(async move {
        let f = &*f;
        const TRANSFERS: u64 = 10;
        let bsh_bundle = support::bundle("bsh_nativecoin");
        let para = &f.bridge.para;
        let bsh = calls::<bsh_nativecoin::bsh_nativecoin::BshNativecoin>(&f.bridge.bsh);
        let id = para.query(&f.bridge.bsh, &bsh_bundle, &Message::new(bsh.coin_id("ICX".into()))).await.unwrap().expect("ICX registered");

        // ICON → parachain: sent on ICON until the wrapped ICX are in a finalized parachain block. Two transfers to
        // each of five dev accounts, so that they can send ICX back at once below.
        let senders: Vec<Signer> = ["//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"].iter().map(|uri| Signer::from_uri(uri).unwrap()).collect();
        let wrapped = |n: usize, height: u64| {
            let to = senders[n % senders.len()].account();
            let bsh = calls::<bsh_nativecoin::bsh_nativecoin::BshNativecoin>(&f.bridge.bsh);
            let bundle = bsh_bundle.clone();
            async move { para.query_at(height, &to, &bundle, &Message::new(bsh.balance_of(to.0.into(), id))).await.unwrap() }
        };
        let now = f.moment().await;
        let mut held_before = Vec::new();
        for n in 0..senders.len() {
            held_before.push(wrapped(n, now.para).await);
        }
        let mut spans = Vec::new();
        for n in 0..TRANSFERS as usize {
            f.bridge.transfer_on_icon(&f.icon_bob, 3 * ICX, &senders[n % senders.len()].account(), 1_000 + n as u64).await;
            spans.push((f.moment().await, None));
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(900);
        while spans.iter().any(|(_, done)| done.is_none()) {
            assert!(Instant::now() < deadline, "ICON → parachain transfers not all minted within 15 minutes");
            let now = f.moment().await;
            for (n, before) in held_before.iter().enumerate() {
                // The k-th transfer to an account is in once it holds k × 2 ICX more (3 sent, 1 of fee).
                let minted = (wrapped(n, now.para).await - before) / (2 * ICX);
                for (_, done) in spans.iter_mut().skip(n).step_by(senders.len()).take(minted as usize).filter(|(_, done)| done.is_none()) {
                    *done = Some(now);
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let there: Vec<_> = spans.into_iter().map(|(sent, done)| (sent, done.expect("all done"))).collect();

        // Parachain → ICON: from the transfer's finalized parachain block until ICON released the ICX; the five
        // accounts send two each, at once.
        let icon_recipients: Vec<_> = (0..TRANSFERS).map(|n| Validator::from_seed(5_000 + n).address).collect();
        let send = |n: usize| {
            let back = calls::<bsh_nativecoin::bsh_nativecoin::BshNativecoin>(&f.bridge.bsh).transfer(
                "ICX".into(),
                2 * ICX,
                format!("btp://0x3.icon/{}", icon_recipients[n]),
            );
            let (signer, bundle) = (&senders[n % senders.len()], bsh_bundle.clone());
            async move {
                let (answer, _) = para.call(signer, &bundle, &Message::new(back)).await.unwrap();
                answer.expect("a transfer to ICON");
                f.moment().await
            }
        };
        let mut spans = Vec::new();
        for round in (0..TRANSFERS as usize).collect::<Vec<_>>().chunks(senders.len()) {
            for sent in futures_util::future::join_all(round.iter().map(|n| send(*n))).await {
                spans.push((sent, None));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(900);
        while spans.iter().any(|(_, done)| done.is_none()) {
            assert!(Instant::now() < deadline, "parachain → ICON transfers not all released within 15 minutes");
            let now = f.moment().await;
            for ((_, done), to) in spans.iter_mut().zip(&icon_recipients).filter(|((_, done), _)| done.is_none()) {
                if f.bridge.icon.shared.with(|b| b.balance(to)).await.unwrap() > 0 {
                    *done = Some(now);
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let back: Vec<_> = spans.into_iter().map(|(sent, done)| (sent, done.expect("all done"))).collect();

        // The relay messages toward the parachain, as the relay logged their dry runs (its log is coloured).
        let log = strip_colours(&std::fs::read_to_string(f.bridge.deployment.with_file_name("relay.log")).unwrap_or_default());
        let field = |line: &str, name: &str| {
            line.split(&format!(" {name}=")).nth(1).and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next()).and_then(|v| v.parse::<u64>().ok())
        };
        let submitted: Vec<(u64, u64, u64, u64)> = log
            .lines()
            .filter(|l| l.contains("btp_relay::parachain") && l.contains(" submitting "))
            .filter_map(|l| Some((field(l, "from")?, field(l, "to")?, field(l, "messages")?, field(l, "ref_time")?)))
            .collect();
        let largest = submitted.iter().max_by_key(|s| s.3).copied().unwrap_or_default();
        let most = submitted.iter().max_by_key(|s| s.2).copied().unwrap_or_default();
        let per_block = submitted.iter().filter(|s| s.2 == 0 && s.1 > s.0).map(|s| s.3 / (s.1 - s.0 + 1)).max().unwrap_or(0);
        println!("figures on the local parachain (rococo-local, 2 validators, substrate-contracts-node 0.42 collating para 1000; ICON test chain, 4 validators, a block every 6 s):");
        summary("ICON transfer sent → wrapped ICX in a finalized parachain block", &there);
        summary("parachain transfer in a finalized block → ICX released on ICON", &back);
        println!(
            "  relay messages to the parachain: {} submitted; the largest {} G ref_time ({} ICON blocks, {} messages); the most messages in one: {} ({} blocks, {} G); ≤ {} G ref_time per ICON block update (4 validators)",
            submitted.len(),
            largest.3 / 1_000_000_000,
            largest.1 - largest.0 + 1,
            largest.2,
            most.2,
            most.1 - most.0 + 1,
            most.3 / 1_000_000_000,
            per_block as f64 / 1e9,
        );
        println!(
            "  the limits: the relay's budget {} G ref_time per relay message ([lane] max_ref_time; the chain's own extrinsic limit {})",
            btp_relay::config::DEFAULT_MAX_REF_TIME / 1_000_000_000,
            limits_line(&log)
        );
    })
}

/// `text` without its ANSI colour sequences (`ESC [ … m`).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// The chain's limits as the relay logged them.
fn limits_line(log: &str) -> String {
    log.lines()
        .find(|l| l.contains("the parachain's limits of one extrinsic"))
        .and_then(|l| l.split("extrinsic ").nth(1))
        .unwrap_or("not logged")
        .trim()
        .to_string()
}

fn main() -> std::process::ExitCode {
    let mut args = Arguments::from_args();
    // One bridge: its tests take turns.
    args.test_threads = Some(1);
    let shared: Shared = Arc::new(Mutex::new(None));
    let runtime = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());
    let scenarios: [(&str, Scenario); 5] = [
        ("seed_scenario_on_a_parachain", seed_scenario_on_a_parachain),
        ("round_trip_on_a_parachain", round_trip_on_a_parachain),
        ("relay_survives_a_collator_restart", relay_survives_a_collator_restart),
        ("a_busy_icon_block_is_delivered_in_parts", a_busy_icon_block_is_delivered_in_parts),
        ("parachain_figures", parachain_figures),
    ];
    let trials = scenarios
        .into_iter()
        .map(|(name, scenario)| {
            let (shared, runtime) = (shared.clone(), runtime.clone());
            // The figures take ten minutes more than CI's budget has left: run by hand with `--include-ignored`.
            Trial::test(name, move || run(&shared, &runtime, scenario)).with_ignored_flag(name == "parachain_figures")
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    // Every node stops here, whatever the tests did.
    drop(shared.lock().unwrap_or_else(|e| e.into_inner()).take());
    conclusion.exit_code()
}

/// Runs `scenario` on the shared bridge (started by the first test that runs), a panic reported as the failure.
fn run(shared: &Shared, runtime: &tokio::runtime::Runtime, scenario: Scenario) -> Result<(), Failed> {
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let started = std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(Fixture::start())));
        *guard = Some(started.map_err(|panic| format!("the bridge on the local parachain did not come up: {}", panic_message(panic))));
    }
    let fixture = match guard.as_mut().expect("set above") {
        Ok(fixture) => fixture,
        Err(e) => return Err(Failed::from(e.as_str())),
    };
    std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(scenario(fixture)))).map_err(|panic| Failed::from(panic_message(panic)))
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panicked".into())
}
