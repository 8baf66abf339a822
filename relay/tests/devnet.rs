//! `scripts/devnet.sh`, the newcomer's one command: it brings up a dev node and the ICON test chain on loopback,
//! deploys the bridge, prints where everything is, and on Ctrl-C stops all it started.

mod support;

use std::{
    io::{BufRead, BufReader},
    net::TcpStream,
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// Stops the devnet however the test ends: Ctrl-C, then, if it has not stopped within 30 s, a kill of its whole
/// process group (the script and every node it started).
struct Devnet(Child);

impl Devnet {
    /// `scripts/devnet.sh` as a terminal starts it: in a process group of its own, Ctrl-C at its default. A
    /// harness started in the background inherits Ctrl-C ignored, and bash cannot trap a signal ignored on entry.
    fn start(mut command: Command) -> Self {
        // SAFETY: between fork and exec only async-signal-safe calls, touching no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        Self(command.process_group(0).spawn().unwrap())
    }

    fn interrupt(&mut self) -> bool {
        support::stop(&mut self.0, "-INT", Duration::from_secs(30)).is_some()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if !self.interrupt() {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0.id())]).status();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn devnet_comes_up_with_a_deployment_file_and_ctrl_c_stops_it() {
    let binaries = Path::new(env!("CARGO_BIN_EXE_relay")).parent().unwrap();
    assert!(binaries.join("icon-testnet").exists(), "build the ICON test chain first: cargo build -p icon-testnet");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = std::env::temp_dir().join(format!("btp-devnet-{}", std::process::id()));
    let (para_port, icon_port) = (support::free_port(), support::free_port());
    let mut command = Command::new("bash");
    command
        .arg("scripts/devnet.sh")
        .current_dir(root)
        .env("PARA_PORT", para_port.to_string())
        .env("ICON_PORT", icon_port.to_string())
        .env("DEVNET_DIR", &dir)
        .env("DEVNET_BINARIES", binaries)
        .stdout(Stdio::piped());
    let mut devnet = Devnet::start(command);
    let (lines, printed) = mpsc::channel();
    let stdout = devnet.0.stdout.take().unwrap();
    std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).try_for_each(|line| lines.send(line)));
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    let file = loop {
        let line = printed.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_else(|_| panic!("devnet did not come up: {seen:#?}"));
        if let Some(path) = line.trim().strip_prefix("deployment file: ").filter(|_| line.starts_with(' ')) {
            break path.to_string();
        }
        seen.push(line);
    };
    let deployment: toml::Value = toml::from_str(&std::fs::read_to_string(root.join(&file)).unwrap()).unwrap();
    assert!(deployment["contracts"]["bmc"].as_str().is_some_and(|a| a.starts_with('5')), "{deployment}");
    assert_eq!(deployment["parachain"]["url"].as_str(), Some(format!("ws://127.0.0.1:{para_port}").as_str()));
    assert!(TcpStream::connect(("127.0.0.1", icon_port)).is_ok(), "the ICON test chain is up");
    // The relay takes ICON's blocks: the BMV's height moves.
    let status = || {
        let out = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["status", "--deployment"])
            .arg(root.join(&file))
            .arg("--bundles")
            .arg(root.join("target/contracts"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bmv_height = |s: &str| s.split("BMV height ").nth(1).and_then(|r| r.split(',').next()).and_then(|h| h.parse::<u64>().ok());
    let first = bmv_height(&status()).expect("relay status shows the BMV's height");
    let moved = Instant::now() + Duration::from_secs(90);
    while bmv_height(&status()).unwrap_or(0) <= first {
        assert!(Instant::now() < moved, "the relay did not move the BMV: {}", status());
        std::thread::sleep(Duration::from_millis(500));
    }

    assert!(devnet.interrupt(), "devnet.sh did not stop on Ctrl-C");
    for port in [para_port, icon_port] {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} is still open after Ctrl-C");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
