//! The ICON test chain for the relay's tests: in this process, on a free loopback port, serving until the test
//! process ends.

use btp_primitives::{BtpAddress, IconAddress};
use icon_testnet::{
    btp::IconBtp,
    node::{Backend, LiveNode, Replay},
    server::{serve, Shared},
    TestChain, Validator,
};
use std::{sync::Arc, time::Duration};

pub const ICX: u128 = 1_000_000_000_000_000_000;
pub const NETWORK: &str = "0x3.icon";

/// A running ICON test chain.
pub struct IconChain {
    pub url: String,
    /// Its BMC as a BTP address.
    pub bmc: String,
    pub btp: IconBtp,
    pub shared: Arc<Shared>,
}

/// A test ICON contract address.
pub fn contract(n: u8) -> IconAddress {
    IconAddress::contract([n; 20])
}

/// A chain of 4 validators at height `offset`, with a link to `link` (the parachain BMC) when given, Bob's ICON
/// account funded with 1,000 ICX, and a block every `interval` when given (else blocks only on request). With
/// `forged_votes_from`, the votes it serves from that height on do not sign their blocks.
pub fn start(offset: i64, link: Option<&str>, bob: &Validator, interval: Option<Duration>, forged_votes_from: Option<i64>) -> IconChain {
    start_with(offset, link, bob, interval, |node| node.forged_votes_from = forged_votes_from)
}

/// As [`start`], the node set up further by `configure` before it serves (relays of the link, say).
pub fn start_with(offset: i64, link: Option<&str>, bob: &Validator, interval: Option<Duration>, configure: impl FnOnce(&mut LiveNode)) -> IconChain {
    let mut btp = IconBtp::new(NETWORK, contract(0xb1), contract(0xb2), 0, ICX);
    if let Some(link) = link {
        btp.add_link(BtpAddress::parse(link).unwrap());
    }
    btp.mint(bob.address, 1_000 * ICX);
    let bmc = btp.bmc_address().as_str().to_string();
    let mut node = LiveNode::new(TestChain::new(NETWORK, Validator::set(1, 4), offset), btp.clone());
    configure(&mut node);
    let (url, shared) = serve_on_loopback(Box::new(node), interval);
    IconChain { url, bmc, btp, shared }
}

/// The real ICON blocks of relay-message vectors, served as `icon-testnet --replay` serves them; its URL.
pub fn replay(relay_messages: &[Vec<u8>]) -> String {
    let mut replay = Replay::default();
    for message in relay_messages {
        replay.add_relay_message(message).unwrap();
    }
    serve_on_loopback(Box::new(replay), None).0
}

/// Serves `backend` over JSON-RPC and the block monitor on a free loopback port; its URL.
pub fn serve_on_loopback(backend: Box<dyn Backend>, interval: Option<Duration>) -> (String, Arc<Shared>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v3", listener.local_addr().unwrap());
    let shared = Shared::new(backend);
    let serving = shared.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            serve(tokio::net::TcpListener::from_std(listener).unwrap(), serving, interval).await.unwrap();
        });
    });
    (url, shared)
}
