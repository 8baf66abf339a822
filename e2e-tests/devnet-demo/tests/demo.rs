//! `scripts/devnet.sh --demo` and `--parachain --demo`: the seed's story through the real relay between a dev node
//! (or the local relay chain's parachain) and the ICON test chain, there and its answer back, printed step by step;
//! the script then stops everything it started.

use std::{
    net::{TcpListener, TcpStream},
    path::Path,
    process::Command,
    sync::Mutex,
};

/// The demos take turns: two chains' worth of nodes at once on two cores would slow the parachain's validators
/// past their backing timeout.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

#[test]
fn devnet_demo_tells_the_seed_story() {
    demo(&[]);
}

/// The same on the local relay chain's parachain: about five minutes (the network, a deployment in rounds awaited
/// until final, both ways).
#[test]
fn devnet_parachain_demo() {
    demo(&["--parachain"]);
}

/// Runs `devnet.sh --demo` with `options` and checks every step of the story was told, both chains' balances
/// settled at the end, and nothing left listening.
fn demo(options: &[&str]) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // devnet-demo and localnet are this package's binaries, built for this test; relay and icon-testnet are built
    // beside them when their packages' tests are built too (`cargo test --workspace`).
    let binaries = Path::new(env!("CARGO_BIN_EXE_devnet-demo")).parent().unwrap();
    assert_eq!(Path::new(env!("CARGO_BIN_EXE_localnet")).parent(), Some(binaries));
    for binary in ["relay", "icon-testnet"] {
        assert!(binaries.join(binary).exists(), "build {binary} first: cargo build --bin {binary}");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("btp-devnet-demo{}-{}", options.concat(), std::process::id()));
    let (para_port, icon_port) = (free_port(), free_port());
    let out = Command::new("bash")
        .arg("scripts/devnet.sh")
        .args(options)
        .arg("--demo")
        .current_dir(&root)
        .env("PARA_PORT", para_port.to_string())
        .env("ICON_PORT", icon_port.to_string())
        .env("DEVNET_DIR", &dir)
        .env("DEVNET_BINARIES", binaries)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    println!("{printed}");
    let relay_log = std::fs::read_to_string(dir.join("relay.log")).unwrap_or_default();
    assert!(out.status.success(), "devnet.sh {options:?} --demo failed: {}\nthe relay's log:\n{relay_log}", String::from_utf8_lossy(&out.stderr));
    for step in [
        "ICON: Bob hx",
        "holds 1000 ICX",
        "addLink",
        "Bob sends 100 ICX on ICON",
        "keeps 1 ICX as its fee and sends 99: Bob holds 900 ICX and has 100 ICX locked",
        "minted in parachain block",
        "parachain: Bob holds 99 ICX wrapped",
        "releases Bob's lock",
        "settled: ICON: Bob holds 900 ICX (0 ICX locked) · parachain: Bob holds 99 ICX wrapped",
        "devnet stopped",
    ] {
        assert!(printed.contains(step), "the demo did not print {step:?}");
    }
    for port in [para_port, icon_port] {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} still open after the demo");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
