//! A real node for the tests that talk to one: `substrate-contracts-node --dev --tmp` (setup.sh installs it) on free
//! loopback ports, stopped when dropped. Instant seal: each submitted transaction gets its own block.

use std::{
    io,
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

/// A running dev node.
pub struct Node {
    child: Child,
    rpc_port: u16,
    p2p: String,
    /// Where its chain is kept (a restart continues it); `None`: `--tmp`.
    base_path: Option<PathBuf>,
}

impl Node {
    /// Starts a node with a fresh chain and waits until its RPC answers (at most a minute).
    pub fn start() -> io::Result<Self> {
        Self::spawn(super::free_port(), format!("/ip4/127.0.0.1/tcp/{}", super::free_port()), None)
    }

    /// Starts a node whose chain is kept in `base_path`, so that [`Node::restart`] continues it.
    pub fn start_in(base_path: &Path) -> io::Result<Self> {
        Self::spawn(super::free_port(), format!("/ip4/127.0.0.1/tcp/{}", super::free_port()), Some(base_path.to_path_buf()))
    }

    /// Stops the node and starts it again on the same ports and chain (started with [`Node::start_in`]).
    pub fn restart(&mut self) -> io::Result<()> {
        self.shut_down();
        let fresh = Self::spawn(self.rpc_port, self.p2p.clone(), self.base_path.clone())?;
        // The old process has exited and been reaped: dropping it would signal its pid, which may be another's now.
        std::mem::forget(std::mem::replace(self, fresh));
        Ok(())
    }

    fn spawn(rpc_port: u16, p2p: String, base_path: Option<PathBuf>) -> io::Result<Self> {
        let mut command = Command::new("substrate-contracts-node");
        match &base_path {
            Some(dir) => command.arg("--dev").arg("--base-path").arg(dir),
            None => command.args(["--dev", "--tmp"]),
        };
        let child = command
            .args(["--no-prometheus", "--no-telemetry", "--listen-addr", &p2p, "--rpc-port", &rpc_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut node = Self { child, rpc_port, p2p, base_path };
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

impl Node {
    /// Asks the node to stop (so that `--tmp` removes its chain) and kills it if it has not within 10 s.
    fn shut_down(&mut self) {
        if super::stop(&mut self.child, "-INT", Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shut_down();
    }
}
