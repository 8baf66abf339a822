#![allow(dead_code)] // each test binary uses a part

pub mod bridge;
pub mod icon;
pub mod node;
pub mod proxy;

use btp_parachain::Bundle;
use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, ExitStatus},
    time::{Duration, Instant},
};

/// The release bundles `scripts/build-contracts.sh` wrote.
pub fn bundles() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/contracts"));
    assert!(dir.join("bmc.contract").exists(), "{} has no bundles: run scripts/build-contracts.sh first", dir.display());
    dir
}

/// The bundle of contract `name` (`bmc`, `bmv_icon`, `bsh_nativecoin`).
pub fn bundle(name: &str) -> Bundle {
    Bundle::in_dir(bundles(), name).unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends `signal` (`-INT`, `-TERM`) to `child` and waits up to `within` for it to exit; `None` if it has not.
pub fn stop(child: &mut Child, signal: &str, within: Duration) -> Option<ExitStatus> {
    let _ = Command::new("kill").args([signal, &child.id().to_string()]).status();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
