//! The `relay` binary between a real node (`substrate-contracts-node --dev`) and the ICON test chain, with no
//! test code in between: the seed's story, and a relay killed and restarted.

mod support;

use bmc::bmc::{Bmc, BmcRef};
use bsh_nativecoin::bsh_nativecoin::BshNativecoin;
use btp_parachain::{calls, contract_address, AccountId32, Constructor, Message, Parachain, Signer};
use btp_primitives::address::hex_account;
use icon_rpc::transaction;
use icon_testnet::{server::Faults, Validator};
use serde_json::json;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use support::{
    icon::{IconChain, ICX},
    node::Node,
};

const PARA: &str = "0x501.pra";

/// A `relay start` process, stopped (SIGTERM, then a kill) when dropped, and where it serves `/metrics`.
struct Relay(Child, String);

impl Relay {
    /// Starts `relay start`, its log in `deployment`'s directory (`relay.log`, appended), as an operator would:
    /// the first start imports //Alice into an encrypted key file (`relay keys import`) and writes the
    /// configuration (`relay init-config`); the key file comes in through the environment's overrides of the
    /// configuration, the pause through the command line's.
    fn start(deployment: &Path) -> Self {
        let (config, key_file, password) =
            (deployment.with_file_name("relay.toml"), deployment.with_file_name("relay-key.json"), deployment.with_file_name("password"));
        let icon_key = deployment.with_file_name("icon-key.json");
        // None of the test process's own RELAY_* settings reach the relay.
        let relay = || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
            for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("RELAY_") && name != "RELAY_LOG") {
                command.env_remove(name);
            }
            command
        };
        if !config.exists() {
            std::fs::write(&password, "a relay's password\n").unwrap();
            let out = relay()
                .args(["keys", "import", "--key-file"])
                .arg(&key_file)
                .arg("--password-file")
                .arg(&password)
                .env("RELAY_SURI", "//Alice")
                .output()
                .unwrap();
            assert!(out.status.success(), "relay keys import: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), Signer::from_uri("//Alice").unwrap().account().to_string(), "it prints the account");
            let out = relay()
                .args(["init-config", "--deployment"])
                .arg(deployment)
                .arg("--bundles")
                .arg(support::bundles())
                .arg("--output")
                .arg(&config)
                .output()
                .unwrap();
            assert!(out.status.success(), "relay init-config: {}", String::from_utf8_lossy(&out.stderr));
            // The relay's ICON account: a keystore as ICON's wallets write it, under the same password.
            let secret: [u8; 32] = rand::random();
            let dir = deployment.parent().unwrap();
            eth_keystore::encrypt_key(dir, &mut rand::thread_rng(), secret, "a relay's password", Some("icon-key.json")).unwrap();
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(deployment.with_file_name("relay.log")).unwrap();
        let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        let child = relay()
            .args(["start", "--config"])
            .arg(&config)
            .args(["--idle-ms", "200"])
            .env("RELAY_SIGNER_KEY_FILE", &key_file)
            .env("RELAY_SIGNER_PASSWORD_FILE", &password)
            .env("RELAY_ICON_KEY_FILE", &icon_key)
            .env("RELAY_ICON_PASSWORD_FILE", &password)
            .env("RELAY_METRICS_LISTEN", &metrics)
            .env("RELAY_LANE_MAX_BACKOFF_MS", "2000")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self(child, metrics)
    }

    /// `GET path` of the relay's metrics server: the status line and the body.
    async fn get(&self, path: &str) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.1).await.expect("the metrics server");
        stream.write_all(format!("GET {path} HTTP/1.0\r\nhost: {}\r\n\r\n", self.1).as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        (head.lines().next().unwrap_or_default().to_string(), body.to_string())
    }

    fn stop(&mut self) -> bool {
        if let Ok(Some(status)) = self.0.try_wait() {
            eprintln!("the relay had exited already: {status}");
            return false;
        }
        support::stop(&mut self.0, "-TERM", Duration::from_secs(20)).is_some_and(|status| status.success())
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.stop() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Both chains with the bridge deployed by `relay deploy` (as //Alice, who also relays).
struct Bridge {
    node: Node,
    icon: IconChain,
    para: Parachain,
    deployment: PathBuf,
    bsh: AccountId32,
    bmc: AccountId32,
    dir: PathBuf,
}

impl Bridge {
    async fn new(name: &str, bob: &Validator, forged_votes_from: Option<i64>) -> Self {
        Self::on(Node::start().expect("substrate-contracts-node (scripts/setup.sh installs it)"), name, bob, forged_votes_from).await
    }

    async fn on(node: Node, name: &str, bob: &Validator, forged_votes_from: Option<i64>) -> Self {
        // The parachain BMC's address follows from its deployer, code and constructor: ICON's BMC links to it
        // before it exists.
        let alice = Signer::from_uri("//Alice").unwrap();
        let bmc_bundle = support::bundle("bmc");
        let input = Constructor::new(BmcRef::new(PARA.into())).input;
        let bmc = AccountId32(contract_address(&alice.account().0, &bmc_bundle.code_hash, &input, &[]));
        let para_bmc = format!("btp://{PARA}/{}", hex_account(&bmc.0));
        let icon = support::icon::start(0, Some(&para_bmc), bob, Some(Duration::from_millis(500)), forged_votes_from);
        let dir = std::env::temp_dir().join(format!("btp-relay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let deployment = dir.join("deployment.toml");
        let out = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["deploy", "--deployment", deployment.to_str().unwrap(), "--bundles", support::bundles().to_str().unwrap()])
            .args(["--parachain-url", &node.url(), "--network", PARA, "--icon-url", &icon.url, "--icon-bmc", &icon.bmc])
            .args(["--coin", "ICX:ICX:18:0:100000000000000000:0x3.icon"])
            .env("RELAY_SURI", "//Alice")
            .output()
            .unwrap();
        assert!(out.status.success(), "relay deploy: {}", String::from_utf8_lossy(&out.stderr));
        let written: toml::Value = toml::from_str(&std::fs::read_to_string(&deployment).unwrap()).unwrap();
        assert_eq!(written["contracts"]["bmc"].as_str(), Some(bmc.to_string().as_str()), "where the address rule put it");
        let bsh = written["contracts"]["bsh"].as_str().unwrap().parse().unwrap();
        let para = Parachain::connect(&node.url()).await.unwrap();
        Self { node, icon, para, deployment, bsh, bmc, dir }
    }

    /// `from` sends `value` of ICX on ICON to `to` (an account on the parachain).
    async fn transfer_on_icon(&self, from: &Validator, value: u128, to: &AccountId32, timestamp: u64) {
        let to = format!("btp://{PARA}/{}", hex_account(&to.0));
        let tx =
            transaction::build(from, "0x3", &self.icon.btp.bsh, Some(value), Some(json!({"method": "transferNativeCoin", "params": {"_to": to}})), timestamp);
        // Through an endpoint that may be failing on purpose: sent again until it is in (or known already).
        let icon = icon_rpc::IconClient::new(&self.icon.url).unwrap();
        loop {
            match icon.call("icx_sendTransaction", tx.clone()).await {
                Ok(_) => return,
                Err(e) if e.system_subcode() == Some(icon_rpc::code::DUPLICATE_TRANSACTION) => return,
                Err(e) if e.is_transient() => continue,
                Err(e) => panic!("ICON refused the transfer: {e}"),
            }
        }
    }

    async fn wrapped_icx(&self, owner: &AccountId32) -> u128 {
        let bsh_bundle = support::bundle("bsh_nativecoin");
        let id = self.para.query(owner, &bsh_bundle, &Message::new(calls::<BshNativecoin>(&self.bsh).coin_id("ICX".into()))).await.unwrap().unwrap();
        self.para.query(owner, &bsh_bundle, &Message::new(calls::<BshNativecoin>(&self.bsh).balance_of(owner.0.into(), id))).await.unwrap()
    }

    async fn status(&self) -> bmc::bmc::LinkStatus {
        let bmc_bundle = support::bundle("bmc");
        let status = self.para.query(&self.bmc, &bmc_bundle, &Message::new(calls::<Bmc>(&self.bmc).get_status(self.icon.bmc.clone()))).await.unwrap();
        status.unwrap()
    }

    /// Waits until `owner` holds `value` wrapped ICX (at most `within`).
    async fn wait_for_wrapped(&self, owner: &AccountId32, value: u128, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let held = self.wrapped_icx(owner).await;
            if held == value {
                return;
            }
            assert!(held < value, "more minted than sent: {held}");
            assert!(Instant::now() < deadline, "{owner} holds {held} wrapped ICX, not {value}, after {within:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Bridge {
    /// Removes the test's files, but keeps them (the relay's log among them) when the test failed.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for a look: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The seed's story: Bob sends 100 ICX on ICON with a 1 ICX fee; the relay carries the locked 99 across and the
/// parachain mints 99 wrapped ICX to Bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_delivers_the_seed_scenario() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("seed", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    let mut relay = Relay::start(&bridge.deployment);
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    bridge.wait_for_wrapped(&bob, 99 * ICX, Duration::from_secs(60)).await;
    assert_eq!(bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap(), 900 * ICX, "Bob paid 100 ICX on ICON");
    assert_eq!(bridge.status().await.rx_seq, 1, "one message: the transfer");
    assert!(relay.stop(), "the relay stops cleanly on SIGTERM");
    let status = Command::new(env!("CARGO_BIN_EXE_relay")).args(["status", "--config"]).arg(bridge.deployment.with_file_name("relay.toml")).output().unwrap();
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(printed.contains("messages sent 1") && printed.contains("rx_seq 1") && printed.contains("0 messages pending"), "{printed}");
}

/// Both ways through the relay: the seed's story, the OK response back on ICON, then Bob sends 50 wrapped ICX
/// back to ICON, where 49.9 ICX (the parachain keeps 0.1 ICX of fee) are released to him, and ICON's OK response
/// settles the transfer on the parachain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_round_trip() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("round", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap();
    let _relay = Relay::start(&bridge.deployment);
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob.account(), 1).await;
    bridge.wait_for_wrapped(&bob.account(), 99 * ICX, Duration::from_secs(60)).await;
    let icon = icon_rpc::IconClient::new(&bridge.icon.url).unwrap();
    let icon_bsh = bridge.icon.btp.bsh.to_string();
    let locked = || async {
        let b = icon.call_contract(&icon_bsh, "balanceOf", json!({"_owner": icon_bob.address.to_string(), "_coinName": "ICX"})).await.unwrap();
        icon_rpc::parse_t_amount(b["locked"].as_str().unwrap()).unwrap()
    };
    wait_until("ICON takes the parachain's OK response", Duration::from_secs(60), || async { locked().await == 0 }).await;

    let bsh_bundle = support::bundle("bsh_nativecoin");
    let back = calls::<BshNativecoin>(&bridge.bsh).transfer("ICX".into(), 50 * ICX, format!("btp://0x3.icon/{}", icon_bob.address));
    bridge.para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap().0.expect("Bob's transfer back");
    let usable = || async { bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap() };
    wait_until("ICON releases 49.9 ICX to Bob", Duration::from_secs(60), || async { usable().await == 900 * ICX + 499 * ICX / 10 }).await;
    let balance = || async {
        let call = calls::<BshNativecoin>(&bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
        bridge.para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap()
    };
    wait_until("ICON's OK response settles the transfer on the parachain", Duration::from_secs(60), || async { balance().await.locked == 0 }).await;
    assert_eq!(balance().await.usable, Some(49 * ICX), "99 minted, 50 sent back");
    assert_eq!(bridge.status().await.rx_seq, 2, "the parachain took the transfer and the response");
}

/// With 30 % of ICON's JSON-RPC calls failing (system errors and stalled answers), ICON's block monitor dropping
/// sessions, and the parachain node restarted mid-run, 50 transfers each way all complete, each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_under_faults() {
    const EACH_WAY: u64 = 50;
    let icon_bob = Validator::from_seed(1000);
    let base = std::env::temp_dir().join(format!("btp-relay-faults-node-{}", std::process::id()));
    let mut bridge = Bridge::on(Node::start_in(&base).expect("substrate-contracts-node"), "faults", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap();
    bridge.icon.shared.set_faults(Faults { rpc_failures: 0.3, stall: Duration::from_millis(300), monitor_drops: 0.05 });
    let _relay = Relay::start(&bridge.deployment);
    // Toward the parachain: half, the node restarts under the relay, the other half. 1 ICX of each 2 is ICON's fee.
    for n in 1..=EACH_WAY / 2 {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    bridge.wait_for_wrapped(&bob.account(), u128::from(EACH_WAY / 2) * ICX, Duration::from_secs(180)).await;
    bridge.node.restart().expect("the node restarts on its chain");
    bridge.para.reconnect().await.unwrap();
    for n in EACH_WAY / 2 + 1..=EACH_WAY {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    bridge.wait_for_wrapped(&bob.account(), u128::from(EACH_WAY) * ICX, Duration::from_secs(180)).await;

    // Toward ICON: 0.4 ICX each, 0.1 ICX of it the parachain's fee.
    let bsh_bundle = support::bundle("bsh_nativecoin");
    for _ in 0..EACH_WAY {
        let back = calls::<BshNativecoin>(&bridge.bsh).transfer("ICX".into(), 4 * ICX / 10, format!("btp://0x3.icon/{}", icon_bob.address));
        bridge.para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap().0.expect("Bob's transfer back");
    }
    let usable = || async { bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap() };
    let expected = 1_000 * ICX - u128::from(EACH_WAY) * 2 * ICX + u128::from(EACH_WAY) * 3 * ICX / 10;
    wait_until("ICON releases 0.3 ICX to Bob per transfer back", Duration::from_secs(180), || async { usable().await >= expected }).await;
    let balance = || async {
        let call = calls::<BshNativecoin>(&bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
        bridge.para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap()
    };
    wait_until("ICON's responses settle every transfer back", Duration::from_secs(180), || async { balance().await.locked == 0 }).await;
    assert_eq!(usable().await, expected, "each transfer back released once");
    assert_eq!(balance().await.usable, Some(u128::from(EACH_WAY) * ICX - u128::from(EACH_WAY) * 4 * ICX / 10));
    assert_eq!(bridge.wrapped_icx(&bob.account()).await, u128::from(EACH_WAY) * 6 * ICX / 10, "each transfer minted once");
    assert_eq!(bridge.status().await.rx_seq, 2 * EACH_WAY, "50 transfers and 50 responses, each once");
    drop(bridge);
    let _ = std::fs::remove_dir_all(&base);
}

/// While transfers flow both ways, `/metrics` is Prometheus text with the lanes' series, non-zero where traffic
/// went, and `/health` reports both chains answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_during_traffic() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("metrics", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    let relay = Relay::start(&bridge.deployment);
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    bridge.wait_for_wrapped(&bob, 99 * ICX, Duration::from_secs(60)).await;
    // Both lanes' rounds that delivered have ended (a submission ends when its block is final): the transfer, and
    // the OK response toward ICON.
    let delivered_to_icon = |text: &str| {
        ["parachain_to_icon", "icon_to_parachain"]
            .iter()
            .all(|lane| sample(text, &format!(r#"btp_relay_messages_delivered_total{{lane="{lane}"}}"#)).is_some_and(|v| v > 0.0))
            && sample(text, r#"btp_relay_rx_seq{lane="icon_to_parachain"}"#).is_some_and(|v| v > 0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let (status, text) = relay.get("/metrics").await;
        assert!(status.contains("200"), "{status}");
        if delivered_to_icon(&text) {
            break text;
        }
        assert!(Instant::now() < deadline, "a lane delivered nothing:\n{text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        assert!(line.starts_with('#') || prometheus_sample(line), "not Prometheus text: {line}");
    }
    assert!(text.lines().any(|l| l == "# EOF") || text.contains("# TYPE"), "{text}");
    for (series, at_least) in [
        (r#"btp_relay_rx_seq{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_messages_delivered_total{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_rounds_total{lane="icon_to_parachain",outcome="delivered"}"#, 1.0),
        (r#"btp_relay_submission_seconds_count{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_submission_seconds_count{lane="parachain_to_icon"}"#, 1.0),
        (r#"btp_relay_verifier_height{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_delivered_height{lane="parachain_to_icon"}"#, 1.0),
        (r#"btp_relay_chain_contact_age_seconds{chain="icon"}"#, 0.0),
        (r#"btp_relay_chain_contact_age_seconds{chain="parachain"}"#, 0.0),
    ] {
        let value = sample(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
        assert!(value >= at_least, "{series} = {value}:\n{text}");
    }
    let (status, body) = relay.get("/health").await;
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(status.contains("200"), "{status}: {body}");
    assert_eq!((health["chains"]["icon"]["ok"].as_bool(), health["chains"]["parachain"]["ok"].as_bool()), (Some(true), Some(true)), "{body}");
}

/// The value of the sample `series` (name and labels as printed) in Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A sample line: a metric name, optional `{label="value",…}`, a value.
fn prometheus_sample(line: &str) -> bool {
    let (series, value) = match line.rsplit_once(' ') {
        Some(parts) => parts,
        None => return false,
    };
    let name_end = series.find('{').unwrap_or(series.len());
    let name_ok = !series[..name_end].is_empty() && series[..name_end].chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    let labels_ok = name_end == series.len()
        || (series.ends_with('}') && series[name_end + 1..series.len() - 1].split(',').all(|l| l.split_once('=').is_some_and(|(_, v)| v.starts_with('"'))));
    name_ok && labels_ok && (value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value))
}

/// Waits until `done` holds (polled every 250 ms), failing with `what` after `within`.
async fn wait_until<F, Fut>(what: &str, within: Duration, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !done().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A relay killed with SIGKILL 20 times at arbitrary points while 50 transfers arrive, and started again, delivers
/// every transfer exactly once: it
/// keeps nothing of its own, each round starts from the parachain BMC's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_survives_kill_9() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("kill9", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    const TRANSFERS: u64 = 50;
    const KILLS: u64 = 20;
    let log = bridge.deployment.with_file_name("relay.log");
    let submissions = || std::fs::read_to_string(&log).unwrap_or_default().matches("submitting").count();
    // Pauses from a fixed xorshift sequence: arbitrary points, the same ones on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let mut sent = 0;
    for kill in 1..=KILLS {
        // 2 or 3 transfers before each start: 50 in all.
        for _ in 0..(if kill <= TRANSFERS - 2 * KILLS { 3 } else { 2 }) {
            sent += 1;
            bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob, sent).await;
        }
        let before = submissions();
        let mut relay = Relay::start(&bridge.deployment);
        if kill % 2 == 0 {
            // In the middle of a submission: killed as soon as it says it submits (or after 30 s at most).
            let deadline = Instant::now() + Duration::from_secs(30);
            while submissions() == before && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(random(1200))).await;
        relay.0.kill().unwrap();
        relay.0.wait().unwrap();
    }
    assert_eq!(sent, TRANSFERS);
    assert!(submissions() >= KILLS as usize / 2, "killed mid-submission at least half of the times");
    let _relay = Relay::start(&bridge.deployment);
    bridge.wait_for_wrapped(&bob, u128::from(TRANSFERS) * ICX, Duration::from_secs(90)).await;
    assert_eq!(bridge.status().await.rx_seq, TRANSFERS, "each transfer's message once");
}

/// A source serving votes that do not sign their blocks: the relay checks each segment with the light client on
/// the BMV's state, logs the refusal with ICON's error code and pays for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_never_pays_for_a_refused_message() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("refused", &icon_bob, Some(0)).await;
    let alice = Signer::from_uri("//Alice").unwrap().account();
    let (nonce, height) = (bridge.para.account_nonce(&alice).await.unwrap(), bridge.status().await.verifier.height);
    let bob = Signer::from_uri("//Bob").unwrap().account();
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    let mut relay = Relay::start(&bridge.deployment);
    let log = bridge.deployment.with_file_name("relay.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap().contains("InvalidVotes") {
        assert!(Instant::now() < deadline, "no refusal logged: {}", std::fs::read_to_string(&log).unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(relay.stop());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("refused (code 27)"), "ICON's code for invalid votes: {logged}");
    assert_eq!(bridge.para.account_nonce(&alice).await.unwrap(), nonce, "nothing submitted");
    assert_eq!(bridge.status().await.verifier.height, height);
    assert_eq!(bridge.wrapped_icx(&bob).await, 0);
}

/// Real ICON blocks: 408 consecutive block updates (157..564) recorded from a goloop node, served as ICON serves
/// them, relayed to a BMV deployed with that chain's state at block 156.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_replays_real_icon_blocks() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/libs/icon-vectors/data/icon/hugobyte_0x995745_h157_564.json");
    let vector: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let icon_url = support::icon::replay(&[hex::decode(text(&vector["input"]["relay_message"])).unwrap()]);
    let node = Node::start().expect("substrate-contracts-node");
    let dir = std::env::temp_dir().join(format!("btp-relay-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let deployment = dir.join("deployment.toml");
    let (link, state) = (text(&vector["input"]["prev"]), &vector["state"]);
    let out = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["deploy", "--deployment", deployment.to_str().unwrap(), "--bundles", support::bundles().to_str().unwrap()])
        .args(["--parachain-url", &node.url(), "--network", PARA, "--icon-url", &icon_url, "--icon-bmc", &link])
        .args(["--icon-height", "156", "--icon-block-hash", &text(&state["last_block_hash"]), "--icon-validators", &text(&state["validators"])])
        .env("RELAY_SURI", "//Alice")
        .output()
        .unwrap();
    assert!(out.status.success(), "relay deploy: {}", String::from_utf8_lossy(&out.stderr));
    let written: toml::Value = toml::from_str(&std::fs::read_to_string(&deployment).unwrap()).unwrap();
    let bmc: AccountId32 = written["contracts"]["bmc"].as_str().unwrap().parse().unwrap();
    let para = Parachain::connect(&node.url()).await.unwrap();
    let alice = Signer::from_uri("//Alice").unwrap().account();
    let nonce = para.account_nonce(&alice).await.unwrap();
    let bmc_bundle = support::bundle("bmc");
    let height = || async { para.query(&bmc, &bmc_bundle, &Message::new(calls::<Bmc>(&bmc).get_status(link.clone()))).await.unwrap().unwrap().verifier.height };
    assert_eq!(height().await, 156);
    let _relay = Relay::start(&deployment);
    let deadline = Instant::now() + Duration::from_secs(120);
    while height().await < 564 {
        assert!(Instant::now() < deadline, "the BMV is at {} of 564", height().await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(height().await, 564, "every recorded block, and no further");
    let extrinsics = para.account_nonce(&alice).await.unwrap() - nonce;
    assert!(extrinsics <= 2, "408 small blocks fit one relay message or two: {extrinsics} extrinsics");
    let _ = std::fs::remove_dir_all(&dir);
}
