//! `localnet` (run by `scripts/devnet.sh --parachain`): starts the local Polkadot network of [`btp_localnet`],
//! prints its endpoints as one JSON line once the parachain finalizes blocks, and runs until SIGINT or SIGTERM, when
//! it stops every node it started.

use btp_localnet::{Config, Network};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() {
    // A slow machine may set a longer backing timeout for its validators (milliseconds).
    let backing_timeout = std::env::var("LOCALNET_BACKING_TIMEOUT_MS").ok().and_then(|ms| ms.parse().ok()).map(Duration::from_millis);
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        eprintln!("localnet: cannot listen for signals");
        std::process::exit(1);
    };
    let network = tokio::select! {
        network = Network::start(Config { backing_timeout }) => network,
        _ = term.recv() => return,
        _ = int.recv() => return,
    };
    let network = match network {
        Ok(network) => network,
        Err(e) => {
            eprintln!("localnet: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "{}",
        serde_json::json!({ "parachain": network.parachain_url(), "relay_chain": network.relay_chain_url(), "logs": network.dir().display().to_string() })
    );
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    drop(network);
}
