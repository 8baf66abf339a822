//! `relay deploy` against a real node (`substrate-contracts-node --dev`, started here and stopped after) and the
//! ICON test chain (on loopback, in this process): the bridge deployed and wired, its status read through the
//! parachain crate and through cargo-contract with the bundle's metadata, a re-run that changes nothing, and one
//! that adds a coin. Needs scripts/setup.sh (the node, cargo-contract) and scripts/build-contracts.sh (the bundles).

mod support;

use bmc::bmc::Bmc;
use bsh_nativecoin::bsh_nativecoin::BshNativecoin;
use btp_interfaces::events::Message as BtpMessageEvent;
use btp_parachain::{calls, AccountId32, Error, Message, Parachain, Signer};
use icon_testnet::Validator;
use std::{path::Path, process::Command, str::FromStr};
use support::node::Node;

const FERDIE: &str = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL";

/// Runs `relay deploy` as a user would; returns what it printed, or fails the test with its error.
fn relay_deploy(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_relay")).arg("deploy").args(args).env("RELAY_SURI", "//Alice").output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "relay deploy {args:?} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

fn deployment(path: &Path) -> toml::Value {
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What a cargo-contract dry run answered: `Ok(value)` of the message's `Result`.
fn answer(call: &serde_json::Value) -> &serde_json::Value {
    assert_eq!(call["data"]["Tuple"]["ident"], "Ok", "the message was dispatched: {call}");
    &call["data"]["Tuple"]["values"][0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_deploy_wires_the_bridge_on_a_real_node_and_a_rerun_changes_nothing() {
    let node = Node::start().expect("substrate-contracts-node (scripts/setup.sh installs it)");
    let icon = support::icon::start(100, None, &Validator::from_seed(1000), None, None);
    let (icon_url, icon_bmc) = (icon.url.clone(), icon.bmc.clone());
    let dir = std::env::temp_dir().join(format!("btp-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deployment.toml");
    let (file_arg, bundles) = (file.to_str().unwrap(), support::bundles());
    let bundles_arg = bundles.to_str().unwrap();
    let url = node.url();

    let first = relay_deploy(&[
        "--deployment",
        file_arg,
        "--bundles",
        bundles_arg,
        "--parachain-url",
        &url,
        "--network",
        "0x501.pra",
        "--icon-url",
        &icon_url,
        "--icon-bmc",
        &icon_bmc,
        "--icon-height",
        "100",
        "--relay",
        FERDIE,
        "--coin",
        "ICX:ICX:18:0:100000000000000000:0x3.icon",
    ]);
    // In rounds, each one `Utility::batch_all`: the three contracts with their code; the BMV as verifier, the
    // service and ICX; the link (it needs the verifier); its relay (it needs the link).
    assert!(first.contains("submitted 4 extrinsics"), "{first}");
    for change in [
        "instantiated bmc at",
        "instantiated bmv-icon at",
        "instantiated bsh-nativecoin at",
        "BMC: verifier for 0x3.icon",
        "BMC: service nativecoin",
        "BSH: coin ICX",
        "BMC: link to",
        "BMC: relay 5CiPPse",
    ] {
        assert!(first.contains(change), "{change:?} not done: {first}");
    }
    let written = deployment(&file);
    let contracts = &written["contracts"];
    let bmc = AccountId32::from_str(contracts["bmc"].as_str().unwrap()).unwrap();
    let bsh = AccountId32::from_str(contracts["bsh"].as_str().unwrap()).unwrap();
    assert_eq!(written["icon"]["bmc"].as_str(), Some(icon_bmc.as_str()));
    assert_eq!(written["icon"]["network"].as_str(), Some("0x3.icon"));
    assert_eq!(written["parachain"]["url"].as_str(), Some(url.as_str()));
    let bmc_bundle = support::bundle("bmc");
    assert_eq!(contracts["bmc_code_hash"].as_str(), Some(hex::encode(bmc_bundle.code_hash).as_str()));

    // Through the parachain crate: the BMC's status of the link, which asks the BMV.
    let para = Parachain::connect(&url).await.unwrap();
    let alice = Signer::from_uri("//Alice").unwrap();
    let status = para.query(&alice.account(), &bmc_bundle, &Message::new(calls::<Bmc>(&bmc).get_status(icon_bmc.clone()))).await.unwrap().unwrap();
    assert_eq!((status.rx_seq, status.tx_seq, status.verifier.height), (0, 1, 100), "{status:?}");
    assert_eq!(status.relays.iter().map(|r| AccountId32(*r.account.as_ref()).to_string()).collect::<Vec<_>>(), [FERDIE]);
    let bsh_bundle = support::bundle("bsh_nativecoin");
    let coins = para.query(&alice.account(), &bsh_bundle, &Message::new(calls::<BshNativecoin>(&bsh).coin_names())).await.unwrap();
    assert_eq!(coins, ["DOT", "ICX"]);

    // Through cargo-contract, with the bundle's metadata: the same status.
    let link = format!("\"{icon_bmc}\"");
    let bmc_path = bundles.join("bmc.contract");
    let call = ["call", "--contract", contracts["bmc"].as_str().unwrap(), "--message", "get_status", "--args", &link];
    let printed = node.cargo_contract(&call, &bmc_path, "//Alice").expect("cargo contract call --dry-run");
    let status = answer(&printed);
    assert_eq!(status["Tuple"]["ident"], "Ok", "{status}");
    let fields = &status["Tuple"]["values"][0]["Map"];
    assert_eq!((fields["rx_seq"]["UInt"].as_u64(), fields["tx_seq"]["UInt"].as_u64()), (Some(0), Some(1)), "{status}");
    assert_eq!(fields["verifier"]["Map"]["height"]["UInt"], 100, "{status}");

    // The same file again: nothing submitted, the signer's nonce where it was, the file as it was.
    let nonce = para.account_nonce(&alice.account()).await.unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    let again = relay_deploy(&["--deployment", file_arg, "--bundles", bundles_arg]);
    assert!(again.contains("submitted 0 extrinsics"), "{again}");
    assert_eq!(para.account_nonce(&alice.account()).await.unwrap(), nonce);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    // A coin more: only its registration is submitted.
    let more = relay_deploy(&["--deployment", file_arg, "--bundles", bundles_arg, "--coin", "ETH:ETH:18:0:0:0x3.icon"]);
    assert!(more.contains("submitted 1 extrinsics: BSH: coin ETH"), "{more}");

    // Failures by kind: the contract's own error named from the bundle, the runtime's by its pallet error.
    let bob = Signer::from_uri("//Bob").unwrap();
    match para.dry_run(&bob.account(), &bmc_bundle, &Message::new(calls::<Bmc>(&bmc).add_link(icon_bmc.clone()))).await {
        Err(Error::Contract { message, error, .. }) => assert_eq!((message.as_str(), error.as_str()), ("add_link", "Err(Unauthorized)")),
        other => panic!("not the BMC's refusal: {other:?}"),
    }
    match para.query(&alice.account(), &bmc_bundle, &Message::new(calls::<Bmc>(&alice.account()).links())).await {
        Err(e @ Error::Dispatch(_)) => assert!(e.to_string().contains("Contracts::ContractNotFound"), "{e}"),
        other => panic!("not the runtime's refusal: {other:?}"),
    }

    // Events of a call: the link removed and added again sends ICON an Init message with the next sequence.
    para.call(&alice, &bmc_bundle, &Message::new(calls::<Bmc>(&bmc).remove_link(icon_bmc.clone()))).await.unwrap().0.unwrap();
    let (added, included) = para.call(&alice, &bmc_bundle, &Message::new(calls::<Bmc>(&bmc).add_link(icon_bmc.clone()))).await.unwrap();
    added.unwrap();
    let sent: Vec<BtpMessageEvent> = included.emitted.iter().filter(|e| e.contract == bmc).filter_map(|e| e.decode()).collect();
    assert_eq!(sent.iter().map(|m| (m.next.as_str(), m.seq)).collect::<Vec<_>>(), [(icon_bmc.as_str(), 2)]);
    std::fs::remove_dir_all(&dir).unwrap();
}
