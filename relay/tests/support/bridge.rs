//! The relay binary between the parachain and the ICON test chain: a `relay start` process and both chains with
//! the bridge deployed by `relay deploy`, on a dev node or on a relay chain's parachain.

use super::{icon::IconChain, node::Node};
use bmc::bmc::{Bmc, BmcRef};
use bsh_nativecoin::bsh_nativecoin::BshNativecoin;
use btp_parachain::{calls, contract_address, AccountId32, Constructor, Message, Parachain, Signer};
use btp_primitives::address::hex_account;
use icon_rpc::transaction;
use icon_testnet::{node::LiveNode, Validator};
use serde_json::json;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const PARA: &str = "0x501.pra";

/// A parachain node the bridge is deployed on: the dev node or the local relay chain's collator.
pub trait ParachainNode {
    /// Its WebSocket RPC.
    fn url(&self) -> String;
}

impl ParachainNode for Node {
    fn url(&self) -> String {
        Node::url(self)
    }
}

impl ParachainNode for btp_localnet::Network {
    fn url(&self) -> String {
        self.parachain_url()
    }
}

/// A `relay start` process, stopped (SIGTERM, then a kill) when dropped, and where it serves `/metrics`.
pub struct Relay(Child, String);

impl Relay {
    /// Starts `relay start` as //Alice, its files (`relay.toml`, `relay.log`, keys, store) in `deployment`'s
    /// directory.
    pub fn start(deployment: &Path) -> Self {
        Self::start_as(deployment, "relay", "//Alice")
    }

    /// Starts `relay start` signing with `suri`, its log in `deployment`'s directory (`<name>.log`, appended), as
    /// an operator would: the first start imports the key into an encrypted key file (`relay keys import`) and
    /// writes the configuration (`relay init-config`); the key file and the store (`<name>-store.redb`) come in
    /// through the environment's overrides of the configuration, the pause through the command line's.
    pub fn start_as(deployment: &Path, name: &str, suri: &str) -> Self {
        Self::start_with(deployment, name, suri, &[])
    }

    /// As [`Relay::start_as`], with more of the configuration's environment overrides (`RELAY_PARACHAIN_URL`, …).
    pub fn start_with(deployment: &Path, name: &str, suri: &str, overrides: &[(&str, &str)]) -> Self {
        let file = |suffix: &str| deployment.with_file_name(format!("{name}{suffix}"));
        let (config, key_file, password, icon_key) = (file(".toml"), file("-key.json"), file("-password"), file("-icon-key.json"));
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
            let out =
                relay().args(["keys", "import", "--key-file"]).arg(&key_file).arg("--password-file").arg(&password).env("RELAY_SURI", suri).output().unwrap();
            assert!(out.status.success(), "relay keys import: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), Signer::from_uri(suri).unwrap().account().to_string(), "it prints the account");
            let out = relay()
                .args(["init-config", "--deployment"])
                .arg(deployment)
                .arg("--bundles")
                .arg(super::bundles())
                .arg("--output")
                .arg(&config)
                .output()
                .unwrap();
            assert!(out.status.success(), "relay init-config: {}", String::from_utf8_lossy(&out.stderr));
            // The relay's ICON account: a keystore as ICON's wallets write it, under the same password.
            let secret: [u8; 32] = rand::random();
            let dir = deployment.parent().unwrap();
            let icon_key_name = icon_key.file_name().unwrap().to_str().unwrap();
            eth_keystore::encrypt_key(dir, &mut rand::thread_rng(), secret, "a relay's password", Some(icon_key_name)).unwrap();
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(file(".log")).unwrap();
        let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        let child = relay()
            .args(["start", "--config"])
            .arg(&config)
            .args(["--idle-ms", "200"])
            .env("RELAY_STORE", file("-store.redb"))
            .env("RELAY_SIGNER_KEY_FILE", &key_file)
            .env("RELAY_SIGNER_PASSWORD_FILE", &password)
            .env("RELAY_ICON_KEY_FILE", &icon_key)
            .env("RELAY_ICON_PASSWORD_FILE", &password)
            .env("RELAY_METRICS_LISTEN", &metrics)
            .env("RELAY_METRICS_WATCH_MS", "500")
            .env("RELAY_LANE_MAX_BACKOFF_MS", "2000")
            .envs(overrides.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self(child, metrics)
    }

    /// `GET path` of the relay's metrics server: the status line and the body.
    pub async fn get(&self, path: &str) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.1).await.expect("the metrics server");
        stream.write_all(format!("GET {path} HTTP/1.0\r\nhost: {}\r\n\r\n", self.1).as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        (head.lines().next().unwrap_or_default().to_string(), body.to_string())
    }

    /// SIGKILL: the relay stops wherever it is, as in a crash.
    pub fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }

    pub fn stop(&mut self) -> bool {
        if let Ok(Some(status)) = self.0.try_wait() {
            eprintln!("the relay had exited already: {status}");
            return false;
        }
        super::stop(&mut self.0, "-TERM", Duration::from_secs(20)).is_some_and(|status| status.success())
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
pub struct Bridge<N = Node> {
    pub node: N,
    pub icon: IconChain,
    pub para: Parachain,
    pub deployment: PathBuf,
    pub bsh: AccountId32,
    pub bmc: AccountId32,
    pub dir: PathBuf,
}

impl Bridge<Node> {
    pub async fn new(name: &str, bob: &Validator, forged_votes_from: Option<i64>) -> Self {
        Self::on(Node::start().expect("substrate-contracts-node (scripts/setup.sh installs it)"), name, bob, forged_votes_from).await
    }

    pub async fn on(node: Node, name: &str, bob: &Validator, forged_votes_from: Option<i64>) -> Self {
        Self::on_with(node, name, bob, |icon| icon.forged_votes_from = forged_votes_from).await
    }
}

impl<N: ParachainNode> Bridge<N> {
    /// The bridge on `node`, ICON's test chain set up further by `configure`.
    pub async fn on_with(node: N, name: &str, bob: &Validator, configure: impl FnOnce(&mut LiveNode)) -> Self {
        Self::on_chains(node, name, bob, Duration::from_millis(500), configure).await
    }

    /// The bridge on `node`, ICON's test chain sealing a block every `interval` and set up further by `configure`.
    pub async fn on_chains(node: N, name: &str, bob: &Validator, interval: Duration, configure: impl FnOnce(&mut LiveNode)) -> Self {
        // The parachain BMC's address follows from its deployer, code and constructor: ICON's BMC links to it
        // before it exists.
        let alice = Signer::from_uri("//Alice").unwrap();
        let bmc_bundle = super::bundle("bmc");
        let input = Constructor::new(BmcRef::new(PARA.into())).input;
        let bmc = AccountId32(contract_address(&alice.account().0, &bmc_bundle.code_hash, &input, &[]));
        let para_bmc = format!("btp://{PARA}/{}", hex_account(&bmc.0));
        let icon = super::icon::start_with(0, Some(&para_bmc), bob, Some(interval), configure);
        let dir = std::env::temp_dir().join(format!("btp-relay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let deployment = dir.join("deployment.toml");
        let out = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["deploy", "--deployment", deployment.to_str().unwrap(), "--bundles", super::bundles().to_str().unwrap()])
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

    /// Runs `relay deploy` again on the deployment file with `options` (as //Alice, the contracts' owner).
    pub fn redeploy(&self, options: &[&str]) {
        let out = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["deploy", "--deployment", self.deployment.to_str().unwrap(), "--bundles", super::bundles().to_str().unwrap()])
            .args(options)
            .env("RELAY_SURI", "//Alice")
            .output()
            .unwrap();
        assert!(out.status.success(), "relay deploy {options:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// What `relay trace NETWORK SN` prints for this deployment.
    pub fn trace(&self, network: &str, sn: u128) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["trace", network, &sn.to_string(), "--deployment", self.deployment.to_str().unwrap(), "--bundles", super::bundles().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "relay trace {network} {sn}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `from` sends `value` of ICX on ICON to `to` (an account on the parachain).
    pub async fn transfer_on_icon(&self, from: &Validator, value: u128, to: &AccountId32, timestamp: u64) {
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

    pub async fn wrapped_icx(&self, owner: &AccountId32) -> u128 {
        let bsh_bundle = super::bundle("bsh_nativecoin");
        let id = self.para.query(owner, &bsh_bundle, &Message::new(calls::<BshNativecoin>(&self.bsh).coin_id("ICX".into()))).await.unwrap().unwrap();
        self.para.query(owner, &bsh_bundle, &Message::new(calls::<BshNativecoin>(&self.bsh).balance_of(owner.0.into(), id))).await.unwrap()
    }

    pub async fn status(&self) -> bmc::bmc::LinkStatus {
        let bmc_bundle = super::bundle("bmc");
        let status = self.para.query(&self.bmc, &bmc_bundle, &Message::new(calls::<Bmc>(&self.bmc).get_status(self.icon.bmc.clone()))).await.unwrap();
        status.unwrap()
    }

    /// Waits until `owner` holds `value` wrapped ICX (at most `within`).
    pub async fn wait_for_wrapped(&self, owner: &AccountId32, value: u128, within: Duration) {
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

impl<N> Drop for Bridge<N> {
    /// Removes the test's files, but keeps them (the relay's log among them) when the test failed.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for a look: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits until `done` holds (polled every 250 ms), failing with `what` after `within`.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, done: F)
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
