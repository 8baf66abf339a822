//! `icon-testnet`: a test stand-in for an ICON node, speaking ICON JSON-RPC v3 on loopback.
//!
//! Live (default): produces a block every `--block-interval-ms`, signed by `--validators` test keys, with an
//! ICON-side BMC and native-coin service that users reach through signed `icx_sendTransaction`s (the BMC's
//! `--owner` adds links with `addLink`, as on ICON; `--dev-accounts` makes a fixed test key the owner and funds a
//! fixed Bob with 1,000 ICX, both printed). With
//! `--mainnet-like` the blocks look like ICON mainnet's (header fields and sizes, votes from ⌊2n/3⌋ + 1
//! validators, the network id signed in the votes).
//! Replay: `--replay FILE…` serves the real ICON blocks recorded in relay-message vectors.
//! Either way `--rpc-failures SHARE` fails that share of JSON-RPC calls (half with goloop's system error, half
//! after a 2 s stall with HTTP 504) and `--monitor-drops SHARE` drops the block monitor's session after that share
//! of notifications: an unreliable endpoint for a relay to survive.
//!
//! On start it prints one JSON line: the address it listens on and the ICON-side BTP addresses.

use btp_primitives::{BtpAddress, IconAddress};
use icon_testnet::{
    btp::IconBtp,
    chain::Shape,
    keys::{dev_bob, dev_owner},
    node::{Backend, LiveNode, Replay},
    server::{serve, Faults, Shared},
    TestChain, Validator,
};
use std::time::Duration;

const USAGE: &str = "usage: icon-testnet [--listen ADDR] [--network NET] [--validators N] [--offset HEIGHT]
                    [--block-interval-ms MS] [--link BTP_ADDRESS]... [--fund ADDRESS=LOOP]... [--owner ADDRESS]
                    [--dev-accounts]
                    [--fee-ratio BPS] [--fixed-fee LOOP] [--mainnet-like]
                    [--rpc-failures SHARE] [--monitor-drops SHARE]
       icon-testnet [--listen ADDR] --replay VECTOR.json... [--rpc-failures SHARE] [--monitor-drops SHARE]";

struct Options {
    listen: String,
    network: String,
    validators: u64,
    offset: i64,
    interval_ms: u64,
    links: Vec<BtpAddress>,
    funds: Vec<(IconAddress, u128)>,
    owner: Option<IconAddress>,
    dev_accounts: bool,
    fee_ratio: u128,
    fixed_fee: u128,
    replay: Vec<String>,
    shape: Shape,
    faults: Faults,
}

/// A share in [0, 1].
fn share(flag: &str, text: String) -> Result<f64, String> {
    text.parse::<f64>().ok().filter(|s| (0.0..=1.0).contains(s)).ok_or(format!("{flag}: {text} is not a share between 0 and 1"))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        listen: "127.0.0.1:9080".into(),
        network: "0x3.icon".into(),
        validators: 4,
        offset: 0,
        interval_ms: 1000,
        links: Vec::new(),
        funds: Vec::new(),
        owner: None,
        dev_accounts: false,
        fee_ratio: 0,
        fixed_fee: 10u128.pow(18),
        replay: Vec::new(),
        shape: Shape::Minimal,
        faults: Faults { stall: Duration::from_secs(2), ..Faults::default() },
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u128>().map_err(|_| format!("{flag}: {v} is not a number"));
        match flag.as_str() {
            "--listen" => o.listen = value()?,
            "--rpc-failures" => o.faults.rpc_failures = share(flag, value()?)?,
            "--monitor-drops" => o.faults.monitor_drops = share(flag, value()?)?,
            "--network" => o.network = value()?,
            "--validators" => o.validators = number(value()?)? as u64,
            "--offset" => o.offset = number(value()?)? as i64,
            "--block-interval-ms" => o.interval_ms = number(value()?)? as u64,
            "--link" => o.links.push(BtpAddress::parse(&value()?).map_err(|e| format!("--link: {e}"))?),
            "--fund" => {
                let v = value()?;
                let (addr, amount) = v.split_once('=').ok_or("--fund takes ADDRESS=LOOP")?;
                o.funds.push((IconAddress::parse(addr).map_err(|e| format!("--fund: {e}"))?, number(amount.into())?));
            }
            "--dev-accounts" => {
                o.owner = Some(dev_owner().address);
                o.funds.push((dev_bob().address, 1_000 * 10u128.pow(18)));
                o.dev_accounts = true;
            }
            "--owner" => o.owner = Some(IconAddress::parse(&value()?).map_err(|e| format!("--owner: {e}"))?),
            "--fee-ratio" => o.fee_ratio = number(value()?)?,
            "--fixed-fee" => o.fixed_fee = number(value()?)?,
            "--mainnet-like" => o.shape = Shape::MainnetLike,
            "--replay" => {
                o.replay.push(value()?);
                o.replay.extend(it.by_ref().cloned());
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    btp_primitives::address::validate_network(&o.network).map_err(|e| format!("--network: {e}"))?;
    if o.validators == 0 {
        return Err("--validators must be at least 1".into());
    }
    Ok(o)
}

fn replay(files: &[String]) -> Result<Replay, String> {
    let mut replay = Replay::default();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        let vector: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        let inputs: Vec<&serde_json::Value> = match vector["steps"].as_array() {
            Some(steps) => steps.iter().map(|s| &s["input"]).collect(),
            None => vec![&vector["input"]],
        };
        for input in inputs {
            let hex_text = input["relay_message"].as_str().ok_or(format!("{file}: not a relay-message vector"))?;
            let bytes = hex::decode(hex_text).map_err(|e| format!("{file}: {e}"))?;
            replay.add_relay_message(&bytes).map_err(|e| format!("{file}: {e}"))?;
        }
    }
    Ok(replay)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let (backend, interval, info): (Box<dyn Backend>, _, _) = if options.replay.is_empty() {
        let chain = TestChain::with_shape(&options.network, Validator::set(1, options.validators), options.offset, options.shape);
        let contract = |label: &str| IconAddress::contract(icon_light_client::sha3_256(label.as_bytes())[..20].try_into().expect("20 bytes"));
        let mut btp = IconBtp::new(&options.network, contract("icon-testnet bmc"), contract("icon-testnet nativecoin"), options.fee_ratio, options.fixed_fee);
        for link in options.links {
            btp.add_link(link);
        }
        for (account, amount) in options.funds {
            btp.mint(account, amount);
        }
        let mut info = serde_json::json!({"bmc": btp.bmc.to_string(), "bmc_address": btp.bmc_address().as_str(), "nativecoin": btp.bsh.to_string()});
        if options.dev_accounts {
            info["owner"] = dev_owner().address.to_string().into();
            info["bob"] = dev_bob().address.to_string().into();
        }
        let mut node = LiveNode::new(chain, btp);
        node.owner = options.owner;
        (Box::new(node), Some(Duration::from_millis(options.interval_ms)), info)
    } else {
        match replay(&options.replay) {
            Ok(r) => {
                let heights = r.heights();
                (Box::new(r), None, serde_json::json!({"replay_heights": [heights.first(), heights.last()], "blocks": heights.len()}))
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    };
    let listener = match tokio::net::TcpListener::bind(&options.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", options.listen);
            std::process::exit(1);
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut line = info;
    line["listen"] = format!("http://{address}/api/v3").into();
    println!("{line}");
    let shared = Shared::new(backend);
    shared.set_faults(options.faults);
    if let Err(e) = serve(listener, shared, interval).await {
        eprintln!("server stopped: {e}");
        std::process::exit(1);
    }
}
