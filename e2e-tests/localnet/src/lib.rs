//! A local Polkadot network: two `rococo-local` validators (Alice, Bob; `polkadot` 18 with its workers) and
//! `substrate-contracts-node` collating its `contracts-parachain-local` chain as para 1000, registered in the
//! relay chain's genesis. setup.sh installs the three binaries.
//!
//! Every port is a free one on 127.0.0.1, every base path is inside one temporary folder, and every process is
//! stopped (and the folder removed) when the [`Network`] is dropped, also when a test panics; a process killed
//! before it could drop its network takes the nodes along (the folder stays).

use std::{
    fs,
    net::{TcpListener, TcpStream},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// The parachain's id in the relay chain (the collator's chain spec names it).
pub const PARA_ID: u32 = 1000;
const COLLATOR_CHAIN: &str = "contracts-parachain-local";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{command} failed: {output}")]
    Command { command: String, output: String },
    #[error("the relay chain's spec: {0}")]
    Spec(String),
    #[error("{node} exited ({status}); the end of its log {log}:\n{tail}")]
    Exited { node: String, status: String, log: String, tail: String },
    #[error("{0}")]
    Timeout(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// How the network is set up.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The relay chain's PVF execution timeout for backing (its executor parameter `PvfExecTimeout(Backing)`);
    /// `None` keeps polkadot's default (2 s).
    pub backing_timeout: Option<Duration>,
}

/// One process of the network.
struct Node {
    name: &'static str,
    program: &'static str,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn spawn(name: &'static str, program: &'static str, args: Vec<String>, dir: &Path) -> Result<Self, Error> {
        let mut node = Self { name, program, args, log: dir.join(format!("{name}.log")), child: None };
        node.start()?;
        Ok(node)
    }

    fn start(&mut self) -> Result<(), Error> {
        let log = fs::OpenOptions::new().create(true).append(true).open(&self.log).map_err(io(format!("{}", self.log.display())))?;
        let err = log.try_clone().map_err(io("a log file"))?;
        let mut command = Command::new(self.program);
        // A process that ends without dropping the network (killed) takes its nodes along. The signal follows the
        // thread that spawns, so the network is started and restarted from one long-lived thread (a test's, or
        // `localnet`'s main).
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child =
            command.args(&self.args).stdin(Stdio::null()).stdout(log).stderr(err).spawn().map_err(io(format!("starting {} ({})", self.name, self.program)))?;
        self.child = Some(child);
        Ok(())
    }

    /// An error if the process has exited, with the end of its log.
    fn alive(&mut self) -> Result<(), Error> {
        let Some(child) = self.child.as_mut() else { return Ok(()) };
        match child.try_wait().map_err(io(self.name))? {
            None => Ok(()),
            Some(status) => {
                let text = fs::read_to_string(&self.log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(15)..].join("\n");
                Err(Error::Exited { node: self.name.into(), status: status.to_string(), log: self.log.display().to_string(), tail })
            }
        }
    }

    /// SIGINT (the node closes its database), SIGKILL after 10 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A running network; dropping it stops every process and removes its folder.
pub struct Network {
    dir: PathBuf,
    nodes: Vec<Node>,
    relay_rpc: u16,
    para_rpc: u16,
}

/// The collator's position in [`Network::nodes`].
const COLLATOR: usize = 2;

fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(io("a free port"))?.port())
}

fn run(program: &str, args: &[&str]) -> Result<Vec<u8>, Error> {
    let out = Command::new(program).args(args).output().map_err(io(format!("running {program}")))?;
    if !out.status.success() {
        return Err(Error::Command { command: format!("{program} {}", args.join(" ")), output: String::from_utf8_lossy(&out.stderr).into_owned() });
    }
    Ok(out.stdout)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim().to_string()
}

/// The relay chain's raw spec with para 1000 at genesis: rococo-local's, its `paras` given the collator's genesis
/// head and code (the field that makes it a parachain rather than a parathread is `parachain`).
fn relay_chain_spec(dir: &Path, config: &Config) -> Result<PathBuf, Error> {
    let plain = run("polkadot", &["build-spec", "--chain", "rococo-local", "--disable-default-bootnode"])?;
    let mut spec: serde_json::Value = serde_json::from_slice(&plain).map_err(|e| Error::Spec(e.to_string()))?;
    let head = text(run("substrate-contracts-node", &["export-genesis-head", "--chain", COLLATOR_CHAIN])?);
    let code = text(run("substrate-contracts-node", &["export-genesis-wasm", "--chain", COLLATOR_CHAIN])?);
    let patch = spec
        .pointer_mut("/genesis/runtimeGenesis/patch")
        .and_then(|p| p.as_object_mut())
        .ok_or_else(|| Error::Spec("no genesis patch in rococo-local's spec".into()))?;
    patch.insert("paras".into(), serde_json::json!({ "paras": [[PARA_ID, { "genesis_head": head, "validation_code": code, "parachain": true }]] }));
    if let Some(timeout) = config.backing_timeout {
        let params = patch
            .get_mut("configuration")
            .and_then(|c| c.pointer_mut("/config/executor_params"))
            .ok_or_else(|| Error::Spec("no executor parameters in rococo-local's configuration".into()))?;
        *params = serde_json::json!([{ "PvfExecTimeout": ["Backing", timeout.as_millis() as u64] }]);
    }
    let plain_path = dir.join("relay-chain-plain.json");
    fs::write(&plain_path, serde_json::to_vec(&spec).map_err(|e| Error::Spec(e.to_string()))?).map_err(io("the plain spec"))?;
    let raw = run("polkadot", &["build-spec", "--chain", &plain_path.to_string_lossy(), "--raw", "--disable-default-bootnode"])?;
    let raw_path = dir.join("relay-chain.json");
    fs::write(&raw_path, raw).map_err(io("the raw spec"))?;
    Ok(raw_path)
}

/// A node key (a fixed one per node: the network is private to loopback) and its peer id.
fn node_key(dir: &Path, n: u8) -> Result<(String, String), Error> {
    let key = format!("{n:064x}");
    let file = dir.join(format!("node-key-{n}"));
    fs::write(&file, &key).map_err(io("a node key"))?;
    let peer = text(run("polkadot", &["key", "inspect-node-key", "--file", &file.to_string_lossy()])?);
    Ok((key, peer))
}

/// The arguments every node of the network takes: loopback only, no telemetry, Prometheus or mDNS.
fn common(base: &Path, key: &str, p2p: u16, rpc: u16) -> Vec<String> {
    let mut args: Vec<String> = vec!["--base-path".into(), base.to_string_lossy().into(), "--node-key".into(), key.into()];
    args.extend(["--listen-addr".into(), format!("/ip4/127.0.0.1/tcp/{p2p}"), "--rpc-port".into(), rpc.to_string()]);
    args.extend(["--no-prometheus", "--no-telemetry", "--no-mdns", "--no-hardware-benchmarks"].map(String::from));
    args
}

static NETWORKS: AtomicU32 = AtomicU32::new(0);

impl Network {
    /// Starts the network and waits until the parachain has a finalized block (2-3 minutes on 2 cores).
    pub async fn start(config: Config) -> Result<Self, Error> {
        let dir = std::env::temp_dir().join(format!("btp-localnet-{}-{}", std::process::id(), NETWORKS.fetch_add(1, Ordering::Relaxed)));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(io(format!("{}", dir.display())))?;
        let mut network = Self { dir, nodes: Vec::new(), relay_rpc: 0, para_rpc: 0 };
        network.spawn(&config)?;
        network.wait_for_para_finality(Duration::from_secs(300)).await?;
        Ok(network)
    }

    fn spawn(&mut self, config: &Config) -> Result<(), Error> {
        let dir = self.dir.clone();
        let spec = relay_chain_spec(&dir, config)?;
        let spec = spec.to_string_lossy().to_string();
        let (alice_key, alice_peer) = node_key(&dir, 1)?;
        let alice_p2p = free_port()?;
        let bootnode = format!("/ip4/127.0.0.1/tcp/{alice_p2p}/p2p/{alice_peer}");
        self.relay_rpc = free_port()?;
        let mut alice = vec!["--chain".into(), spec.clone(), "--alice".into()];
        alice.extend(common(&dir.join("alice"), &alice_key, alice_p2p, self.relay_rpc));
        self.nodes.push(Node::spawn("alice", "polkadot", alice, &dir)?);

        let (bob_key, _) = node_key(&dir, 2)?;
        let mut bob = vec!["--chain".into(), spec.clone(), "--bob".into(), "--bootnodes".into(), bootnode.clone()];
        bob.extend(common(&dir.join("bob"), &bob_key, free_port()?, free_port()?));
        self.nodes.push(Node::spawn("bob", "polkadot", bob, &dir)?);

        // The collator, then after `--` its embedded relay-chain node.
        let (para_key, _) = node_key(&dir, 3)?;
        let (embedded_key, _) = node_key(&dir, 4)?;
        self.para_rpc = free_port()?;
        let mut collator = vec!["--collator".into(), "--alice".into(), "--chain".into(), COLLATOR_CHAIN.into()];
        collator.extend(common(&dir.join("collator"), &para_key, free_port()?, self.para_rpc));
        collator.extend(["--".into(), "--chain".into(), spec, "--bootnodes".into(), bootnode]);
        collator.extend(common(&dir.join("collator-relay"), &embedded_key, free_port()?, free_port()?));
        self.nodes.push(Node::spawn("collator", "substrate-contracts-node", collator, &dir)?);
        Ok(())
    }

    /// The parachain's RPC (the collator's), `ws://127.0.0.1:…`.
    pub fn parachain_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.para_rpc)
    }

    /// The relay chain's RPC (Alice's), `ws://127.0.0.1:…`.
    pub fn relay_chain_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.relay_rpc)
    }

    /// Where the nodes' logs are (`alice.log`, `bob.log`, `collator.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// An error if a node has exited.
    pub fn check(&mut self) -> Result<(), Error> {
        self.nodes.iter_mut().try_for_each(Node::alive)
    }

    /// Stops the collator (SIGINT) and starts it again on its ports, keys and chain; returns once its RPC answers.
    pub async fn restart_collator(&mut self) -> Result<(), Error> {
        self.nodes[COLLATOR].stop();
        self.nodes[COLLATOR].start()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", self.para_rpc)).is_err() {
            self.check()?;
            if Instant::now() > deadline {
                return Err(Error::Timeout("the restarted collator's RPC did not answer within 2 minutes".into()));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }

    /// The parachain's finalized height as its collator tells it; `None` while its RPC does not answer.
    pub async fn para_finalized_height(&self) -> Option<u64> {
        finalized_height(self.para_rpc).await
    }

    /// The relay chain's finalized height as Alice tells it; `None` while her RPC does not answer.
    pub async fn relay_chain_finalized_height(&self) -> Option<u64> {
        finalized_height(self.relay_rpc).await
    }

    /// Waits until the parachain has a finalized block past genesis: a candidate backed and included.
    pub async fn wait_for_para_finality(&mut self, within: Duration) -> Result<u64, Error> {
        let deadline = Instant::now() + within;
        loop {
            self.check()?;
            if let Some(height) = self.para_finalized_height().await.filter(|h| *h > 0) {
                return Ok(height);
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!("no parachain block was finalized within {within:?} (logs in {})", self.dir.display())));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// The finalized height of the node serving RPC on `port`.
async fn finalized_height(port: u16) -> Option<u64> {
    let rpc = format!("http://127.0.0.1:{port}");
    let head = call(&rpc, "chain_getFinalizedHead", serde_json::json!([])).await?;
    let header = call(&rpc, "chain_getHeader", serde_json::json!([head])).await?;
    u64::from_str_radix(header.get("number")?.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// One JSON-RPC call over HTTP; `None` on any failure (the caller polls).
async fn call(url: &str, method: &str, params: serde_json::Value) -> Option<serde_json::Value> {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let answer: serde_json::Value = reqwest::Client::new().post(url).json(&body).timeout(Duration::from_secs(10)).send().await.ok()?.json().await.ok()?;
    answer.get("result").cloned()
}

impl Drop for Network {
    fn drop(&mut self) {
        // The collator first: its blocks need the validators, not the other way round.
        for node in self.nodes.iter_mut().rev() {
            node.stop();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
