//! A real node for the tests that talk to one: `substrate-contracts-node --dev --tmp` (setup.sh installs it) on free
//! loopback ports, stopped when dropped. Instant seal: each submitted transaction gets its own block.

use std::{
    io,
    net::TcpStream,
    path::Path,
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

/// A running dev node.
pub struct Node {
    child: Child,
    rpc_port: u16,
}

impl Node {
    /// Starts a node with a fresh chain and waits until its RPC answers (at most a minute).
    pub fn start() -> io::Result<Self> {
        let rpc_port = super::free_port();
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", super::free_port());
        let child = Command::new("substrate-contracts-node")
            .args(["--dev", "--tmp", "--no-prometheus", "--no-telemetry", "--listen-addr", &p2p, "--rpc-port", &rpc_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut node = Self { child, rpc_port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", rpc_port)).is_err() {
            if let Some(status) = node.child.try_wait()? {
                return Err(io::Error::other(format!("the node exited: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("the node's RPC did not answer within a minute"));
            }
            thread::sleep(Duration::from_millis(200));
        }
        Ok(node)
    }

    /// The node's WebSocket RPC.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// Runs `cargo contract <args>` against this node with the contract bundle `bundle` (signing with `suri`),
    /// JSON out; an error carries what cargo-contract printed.
    pub fn cargo_contract(&self, args: &[&str], bundle: &Path, suri: &str) -> io::Result<serde_json::Value> {
        let Output { status, stdout, stderr } =
            Command::new("cargo-contract").arg("contract").args(args).args(["--url", &self.url(), "--suri", suri, "--output-json"]).arg(bundle).output()?;
        if !status.success() {
            return Err(io::Error::other(format!("cargo contract {args:?}: {}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr))));
        }
        serde_json::from_slice(&stdout)
            .map_err(|e| io::Error::other(format!("cargo contract {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&stdout))))
    }
}

impl Drop for Node {
    /// Asks the node to stop (so that `--tmp` removes its chain) and kills it if it has not within 10 s.
    fn drop(&mut self) {
        if super::stop(&mut self.child, "-INT", Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
