//! The contract bundles on a real node, through the ecosystem's own tool: `substrate-contracts-node --dev`
//! (started here, stopped after) and cargo-contract instantiate the BMC and the BMV, wire a link and read the
//! BMC's `get_status`, which asks the BMV.
#![cfg(feature = "e2e-tests")]

use btp_e2e_tests::node::Node;
use icon_testnet::{TestChain, Validator};
use std::path::PathBuf;

fn bundle(name: &str) -> PathBuf {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/contracts")).join(format!("{name}.contract"));
    assert!(path.exists(), "{} is missing: run scripts/build-contracts.sh first", path.display());
    path
}

/// What a dry run answered: `Ok(value)` of the message's `Result`, as cargo-contract prints it.
fn answer(call: &serde_json::Value) -> &serde_json::Value {
    assert_eq!(call["data"]["Tuple"]["ident"], "Ok", "the message was dispatched: {call}");
    &call["data"]["Tuple"]["values"][0]
}

#[test]
fn the_bundles_deploy_wire_and_answer_on_a_real_node() {
    let node = Node::start().expect("substrate-contracts-node (scripts/setup.sh installs it)");
    let (bmc, bmv) = (bundle("bmc"), bundle("bmv_icon"));
    let alice = "//Alice";
    let call = |contract: &str, bundle: &PathBuf, message: &str, args: &[&str], execute: bool| {
        let mut all = vec!["call", "--contract", contract, "--message", message];
        if !args.is_empty() {
            all.push("--args");
            all.extend_from_slice(args);
        }
        if execute {
            all.extend(["--execute", "--skip-confirm"]);
        }
        node.cargo_contract(&all, bundle, alice).unwrap_or_else(|e| panic!("{message}: {e}"))
    };
    let instantiate = |bundle: &PathBuf, args: &[&str]| {
        let mut all = vec!["instantiate", "--constructor", "new", "--args"];
        all.extend_from_slice(args);
        all.extend(["--execute", "--skip-confirm"]);
        let deployed = node.cargo_contract(&all, bundle, alice).expect("instantiated");
        deployed["contract"].as_str().expect("the contract's address").to_string()
    };

    let bmc_account = instantiate(&bmc, &["\"0x501.pra\""]);
    let own = call(&bmc_account, &bmc, "btp_address", &[], false);
    let own = answer(&own)["String"].as_str().expect("a BTP address").to_string();
    assert!(own.starts_with("btp://0x501.pra/0x"), "{own}");

    let icon = TestChain::new("0x3.icon", Validator::set(1, 4), 100);
    let (validators, last) = (format!("0x{}", hex::encode(icon.voters_list())), format!("0x{}", hex::encode(icon.last().id())));
    let own_arg = format!("\"{own}\"");
    let bmv_account = instantiate(&bmv, &[&bmc_account, &own_arg, "\"0x3.icon\"", &validators, "100", "0", "0", "false", &last]);
    let status = call(&bmv_account, &bmv, "Verifier::status", &[], false);
    assert_eq!(answer(&status)["Tuple"]["ident"], "Ok", "{status}");

    let link = "\"btp://0x3.icon/cx0000000000000000000000000000000000000001\"";
    let before = call(&bmc_account, &bmc, "get_status", &[link], false);
    assert_eq!(answer(&before)["Tuple"]["values"][0]["Tuple"]["ident"], "NotExistsLink", "no link yet: {before}");
    call(&bmc_account, &bmc, "add_verifier", &["\"0x3.icon\"", &bmv_account], true);
    call(&bmc_account, &bmc, "add_link", &[link], true);
    let status = call(&bmc_account, &bmc, "get_status", &[link], false);
    let status = answer(&status);
    assert_eq!(status["Tuple"]["ident"], "Ok", "{status}");
    let fields = &status["Tuple"]["values"][0]["Map"];
    assert_eq!(fields["rx_seq"]["UInt"], 0, "{status}");
    assert_eq!(fields["tx_seq"]["UInt"], 1, "the link's Init went out: {status}");
    assert_eq!(fields["verifier"]["Map"]["height"]["UInt"], 100, "the BMV's accumulator, read through the BMC: {status}");
}
