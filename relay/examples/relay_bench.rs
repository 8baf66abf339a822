//! The relay's own cost of catching up, on real ICON data and on a 22-validator test chain: how many relay
//! messages (one parachain extrinsic each) the blocks take, and the relay's CPU time per block update — building the
//! segment from ICON's JSON-RPC and block monitor, and checking it with the light client on the BMV's state, as
//! `relay start` does before it pays. The ICON side is served on loopback by a thread of its own, so its work is not
//! counted; the parachain's gas is `e2e-tests/examples/bmv_gas.rs`'s.
//!
//! Goal: ≤ 1 ms of relay CPU per block update.

#[path = "../tests/support/icon.rs"]
#[allow(dead_code)] // the tests' part
mod icon_support;

use btp_relay::{
    icon::IconSource,
    lane::{Limit, Position, Source},
    store::Store,
};
use icon_light_client::{crypto::HostSecp256k1, mta::Mta, validators::ValidatorSet, verifier::Verifier};
use icon_rpc::{monitor::monitor_url, IconClient};
use icon_testnet::{chain::Shape, node::LiveNode, TestChain, Validator};
use std::{sync::Arc, time::Duration};

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `t`, which lives for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

struct CatchUp {
    blocks: u64,
    messages: u64,
    bytes: usize,
    build: Duration,
    check: Duration,
}

/// Relays blocks `from + 1 ..= to` from `url` into `verifier` as the relay's lane would, segment by segment.
async fn catch_up(url: &str, link: &str, mut verifier: Verifier, from: u64, to: u64) -> CatchUp {
    let bmc = btp_primitives::BtpAddress::parse(link).unwrap();
    let icon_bmc = btp_primitives::IconAddress::parse(bmc.account()).unwrap();
    let destination = "btp://0x501.pra/0x00aa";
    let store = Arc::new(Store::in_memory("bench").unwrap());
    let mut source = IconSource::new(IconClient::new(url).unwrap(), monitor_url(url), icon_bmc, destination.into(), store);
    let mut at = Position { rx_seq: 0, height: from, offset: from, last_height: 0, validators: None };
    let mut done = CatchUp { blocks: 0, messages: 0, bytes: 0, build: Duration::ZERO, check: Duration::ZERO };
    while at.height < to {
        let started = thread_cpu();
        let segment = source.segment(at, Limit::blocks(512)).await.expect("a segment").expect("blocks to relay");
        let built = thread_cpu();
        verifier.last_block_hash = Some(segment.parent);
        verifier.handle_relay_message(destination, link, 0, &segment.bytes, &HostSecp256k1).expect("the segment verifies");
        done.check += thread_cpu() - built;
        done.build += built - started;
        done.blocks += segment.to - segment.from + 1;
        done.messages += 1;
        done.bytes += segment.bytes.len();
        at.height = segment.to;
    }
    done
}

fn report(what: &str, c: &CatchUp) {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / c.blocks as f64;
    println!(
        "BENCH relay catch-up, {what}: {} block updates in {} relay messages ({} bytes); relay CPU per block update {:.0} µs (segment {:.0} µs, light-client check {:.0} µs)",
        c.blocks,
        c.messages,
        c.bytes,
        per(c.build + c.check),
        per(c.build),
        per(c.check)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/libs/icon-vectors/data/icon/hugobyte_0x995745_h157_564.json");
    let vector: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let url = icon_support::replay(&[hex::decode(text(&vector["input"]["relay_message"])).unwrap()]);
    let state = &vector["state"];
    let verifier = Verifier {
        network: "0x995745.icon".into(),
        validators: ValidatorSet::decode(&hex::decode(text(&state["validators"])).unwrap(), &HostSecp256k1).unwrap(),
        mta: Mta::new(156, 0, 0, false),
        last_block_hash: None,
        last_height: 156,
    };
    report("real ICON blocks 157..564 (1 validator)", &catch_up(&url, &text(&vector["input"]["prev"]), verifier, 156, 564).await);

    let mut chain = TestChain::with_shape(icon_support::NETWORK, Validator::set(1, 22), 0, Shape::MainnetLike);
    let validators = ValidatorSet::decode(&chain.voters_list(), &HostSecp256k1).unwrap();
    chain.produce_empty(1000);
    let btp = icon_testnet::btp::IconBtp::new(icon_support::NETWORK, icon_support::contract(0xb1), icon_support::contract(0xb2), 0, 0);
    let link = btp.bmc_address().as_str().to_string();
    let (url, _) = icon_support::serve_on_loopback(Box::new(LiveNode::new(chain, btp)), None);
    let verifier = Verifier { network: icon_support::NETWORK.into(), validators, mta: Mta::new(0, 0, 0, false), last_block_hash: None, last_height: 0 };
    report("test chain of 22 validators, mainnet-like blocks 1..1000", &catch_up(&url, &link, verifier, 0, 1000).await);
}
