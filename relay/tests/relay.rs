//! The `relay` binary between a real node (`substrate-contracts-node --dev`) and the ICON test chain, with no
//! test code in between: the seed's story, and a relay killed and restarted.

mod support;

use bmc::bmc::Bmc;
use bsh_nativecoin::bsh_nativecoin::BshNativecoin;
use btp_parachain::{calls, AccountId32, Message, Parachain, Signer};
use btp_primitives::address::hex_account;
use icon_testnet::{server::Faults, Validator};
use serde_json::json;
use std::{
    process::Command,
    time::{Duration, Instant},
};
use support::{
    bridge::{wait_until, Bridge, Relay, PARA},
    icon::ICX,
    node::Node,
};

/// The seed's story: Bob sends 100 ICX on ICON with a 1 ICX fee; the relay carries the locked 99 across and the
/// parachain mints 99 wrapped ICX to Bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_delivers_the_seed_scenario() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("seed", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    let mut relay = Relay::start(&bridge.deployment);
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    bridge.wait_for_wrapped(&bob, 99 * ICX, Duration::from_secs(60)).await;
    assert_eq!(bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap(), 900 * ICX, "Bob paid 100 ICX on ICON");
    assert_eq!(bridge.status().await.rx_seq, 1, "one message: the transfer");
    assert!(relay.stop(), "the relay stops cleanly on SIGTERM");
    let status = Command::new(env!("CARGO_BIN_EXE_relay")).args(["status", "--config"]).arg(bridge.deployment.with_file_name("relay.toml")).output().unwrap();
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(printed.contains("ICON → parachain: sent 1, taken 1, pending 0\n"), "{printed}");
    assert!(status.status.success(), "nothing stuck: {printed}");
}

/// Both ways through the relay: the seed's story, the OK response back on ICON, then Bob sends 50 wrapped ICX
/// back to ICON, where 49.9 ICX (the parachain keeps 0.1 ICX of fee) are released to him, and ICON's OK response
/// settles the transfer on the parachain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_round_trip() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("round", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap();
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob.account(), 1).await;
    // Sent, and no relay yet: the trace stops there.
    let sent = |printed: &str| printed.contains("sent on ICON: block ") && printed.contains(", BTP message 1 to btp://0x501.pra/");
    let deadline = Instant::now() + Duration::from_secs(10);
    let printed = loop {
        let printed = bridge.trace("0x3.icon", 1);
        if sent(&printed) || Instant::now() > deadline {
            break printed;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(sent(&printed) && printed.contains("relayed to the parachain: not yet"), "{printed}");
    let _relay = Relay::start(&bridge.deployment);
    bridge.wait_for_wrapped(&bob.account(), 99 * ICX, Duration::from_secs(60)).await;
    let icon = icon_rpc::IconClient::new(&bridge.icon.url).unwrap();
    let icon_bsh = bridge.icon.btp.bsh.to_string();
    let locked = || async {
        let b = icon.call_contract(&icon_bsh, "balanceOf", json!({"_owner": icon_bob.address.to_string(), "_coinName": "ICX"})).await.unwrap();
        icon_rpc::parse_t_amount(b["locked"].as_str().unwrap()).unwrap()
    };
    wait_until("ICON takes the parachain's OK response", Duration::from_secs(60), || async { locked().await == 0 }).await;

    let bsh_bundle = support::bundle("bsh_nativecoin");
    let back = calls::<BshNativecoin>(&bridge.bsh).transfer("ICX".into(), 50 * ICX, format!("btp://0x3.icon/{}", icon_bob.address));
    let (answer, included) = bridge.para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap();
    answer.expect("Bob's transfer back");
    let back_sn = included.emitted.iter().find_map(|e| e.decode::<bsh_nativecoin::bsh_nativecoin::TransferStart>()).expect("TransferStart").sn;
    let usable = || async { bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap() };
    wait_until("ICON releases 49.9 ICX to Bob", Duration::from_secs(60), || async { usable().await == 900 * ICX + 499 * ICX / 10 }).await;
    let balance = || async {
        let call = calls::<BshNativecoin>(&bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
        bridge.para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap()
    };
    wait_until("ICON's OK response settles the transfer on the parachain", Duration::from_secs(60), || async { balance().await.locked == 0 }).await;
    assert_eq!(balance().await.usable, Some(49 * ICX), "99 minted, 50 sent back");
    assert_eq!(bridge.status().await.rx_seq, 2, "the parachain took the transfer and the response");
    // Every stage of both transfers, from the chains.
    let printed = bridge.trace("0x3.icon", 1);
    for stage in [
        "relayed to the parachain: block ",
        "on the parachain: carried out (code 0)",
        // Message 1 toward ICON is the parachain BMC's own, sent when the link was added.
        "answer sent: BTP message 2 to btp://0x3.icon/",
        "answer delivered on ICON: block ",
        "transfer ended on ICON: code 0",
    ] {
        assert!(printed.contains(stage), "{stage} missing:\n{printed}");
    }
    assert!(printed.contains("relayed to the parachain: block ") && printed.contains(", transaction 0x"), "{printed}");
    let printed = bridge.trace("0x501.pra", back_sn);
    for stage in [
        &format!("transfer {back_sn} from 0x501.pra"),
        "sent on the parachain: block ",
        ", BTP message 3 to btp://0x3.icon/",
        "relayed to ICON: block ",
        "on ICON: carried out (code 0)",
        "answer delivered on the parachain: block ",
        "transfer ended on the parachain: code 0",
    ] {
        assert!(printed.contains(stage), "{stage} missing:\n{printed}");
    }
}

/// With 30 % of ICON's JSON-RPC calls failing (system errors and stalled answers), ICON's block monitor dropping
/// sessions, and the parachain node restarted mid-run, 50 transfers each way all complete, each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_under_faults() {
    const EACH_WAY: u64 = 50;
    let icon_bob = Validator::from_seed(1000);
    let base = std::env::temp_dir().join(format!("btp-relay-faults-node-{}", std::process::id()));
    let mut bridge = Bridge::on(Node::start_in(&base).expect("substrate-contracts-node"), "faults", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap();
    bridge.icon.shared.set_faults(Faults { rpc_failures: 0.3, stall: Duration::from_millis(300), monitor_drops: 0.05, ..Faults::default() });
    let _relay = Relay::start(&bridge.deployment);
    // Toward the parachain: half, the node restarts under the relay, the other half. 1 ICX of each 2 is ICON's fee.
    for n in 1..=EACH_WAY / 2 {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    bridge.wait_for_wrapped(&bob.account(), u128::from(EACH_WAY / 2) * ICX, Duration::from_secs(180)).await;
    bridge.node.restart().expect("the node restarts on its chain");
    bridge.para.reconnect().await.unwrap();
    for n in EACH_WAY / 2 + 1..=EACH_WAY {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    bridge.wait_for_wrapped(&bob.account(), u128::from(EACH_WAY) * ICX, Duration::from_secs(180)).await;

    // Toward ICON: 0.4 ICX each, 0.1 ICX of it the parachain's fee.
    let bsh_bundle = support::bundle("bsh_nativecoin");
    for _ in 0..EACH_WAY {
        let back = calls::<BshNativecoin>(&bridge.bsh).transfer("ICX".into(), 4 * ICX / 10, format!("btp://0x3.icon/{}", icon_bob.address));
        bridge.para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap().0.expect("Bob's transfer back");
    }
    let usable = || async { bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap() };
    let expected = 1_000 * ICX - u128::from(EACH_WAY) * 2 * ICX + u128::from(EACH_WAY) * 3 * ICX / 10;
    wait_until("ICON releases 0.3 ICX to Bob per transfer back", Duration::from_secs(180), || async { usable().await >= expected }).await;
    let balance = || async {
        let call = calls::<BshNativecoin>(&bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
        bridge.para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap()
    };
    wait_until("ICON's responses settle every transfer back", Duration::from_secs(180), || async { balance().await.locked == 0 }).await;
    assert_eq!(usable().await, expected, "each transfer back released once");
    assert_eq!(balance().await.usable, Some(u128::from(EACH_WAY) * ICX - u128::from(EACH_WAY) * 4 * ICX / 10));
    assert_eq!(bridge.wrapped_icx(&bob.account()).await, u128::from(EACH_WAY) * 6 * ICX / 10, "each transfer minted once");
    assert_eq!(bridge.status().await.rx_seq, 2 * EACH_WAY, "50 transfers and 50 responses, each once");
    drop(bridge);
    let _ = std::fs::remove_dir_all(&base);
}

/// A submission whose answer is lost in transport (the node took it, the relay heard nothing back) is in doubt:
/// the relay waits until the node's pool holds none of its extrinsics and reads the BMC's status again, instead of
/// signing the same segment once more with the next nonce. Every extrinsic it pays for is a relay message the BMC
/// took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_lost_in_transport_is_never_paid_twice() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("lost", &icon_bob, None).await;
    let alice = Signer::from_uri("//Alice").unwrap().account();
    let (nonce, first) = (bridge.para.account_nonce(&alice).await.unwrap(), bridge.para.finalized_height().await.unwrap() + 1);
    let proxy = support::proxy::LosingProxy::start(&bridge.node.url(), 1).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    let mut relay = Relay::start_with(&bridge.deployment, "relay", "//Alice", &[("RELAY_PARACHAIN_URL", &proxy.url)]);
    bridge.wait_for_wrapped(&bob, 99 * ICX, Duration::from_secs(120)).await;
    assert_eq!(proxy.lost(), 1, "the first submission went unanswered");
    // The round after the lost one has begun by now: time for it to send whatever it sends.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(relay.stop());
    wait_until("the relay's last extrinsic is final", Duration::from_secs(30), || async {
        bridge.para.pending_transactions(&alice).await.unwrap() == 0
            && bridge.para.finalized_height().await.unwrap() == bridge.para.best_height().await.unwrap()
    })
    .await;
    let paid = bridge.para.account_nonce(&alice).await.unwrap() - nonce;
    let mut taken = 0;
    for block in first..=bridge.para.finalized_height().await.unwrap() {
        let emitted = bridge.para.emitted_at(block).await.unwrap();
        taken += emitted.iter().filter(|e| e.contract == bridge.bmc && e.decode::<btp_interfaces::events::RelayMessageHandled>().is_some()).count() as u64;
    }
    assert!(paid >= 1, "the transfer was relayed");
    assert_eq!(paid, taken, "each extrinsic the relay paid for is a relay message the BMC took: none sent twice");
}

/// While transfers flow both ways, `/metrics` is Prometheus text with the lanes' series, non-zero where traffic
/// went, and `/health` reports both chains answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_during_traffic() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("metrics", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    let relay = Relay::start(&bridge.deployment);
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    bridge.wait_for_wrapped(&bob, 99 * ICX, Duration::from_secs(60)).await;
    // Both lanes' rounds that delivered have ended (a submission ends when its block is final): the transfer, and
    // the OK response toward ICON.
    let delivered_to_icon = |text: &str| {
        ["parachain_to_icon", "icon_to_parachain"]
            .iter()
            .all(|lane| sample(text, &format!(r#"btp_relay_messages_delivered_total{{lane="{lane}"}}"#)).is_some_and(|v| v > 0.0))
            && sample(text, r#"btp_relay_rx_seq{lane="icon_to_parachain"}"#).is_some_and(|v| v > 0.0)
            // The chains as read apart from the lanes, every 500 ms here.
            && sample(text, r#"btp_relay_link_relay_messages{chain="parachain"}"#).is_some_and(|v| v > 0.0)
            && sample(text, r#"btp_relay_sent_seq{lane="parachain_to_icon"}"#).is_some_and(|v| v > 0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let (status, text) = relay.get("/metrics").await;
        assert!(status.contains("200"), "{status}");
        if delivered_to_icon(&text) {
            break text;
        }
        assert!(Instant::now() < deadline, "a lane delivered nothing:\n{text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        assert!(line.starts_with('#') || prometheus_sample(line), "not Prometheus text: {line}");
    }
    assert!(text.lines().any(|l| l == "# EOF") || text.contains("# TYPE"), "{text}");
    for (series, at_least) in [
        (r#"btp_relay_rx_seq{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_messages_delivered_total{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_rounds_total{lane="icon_to_parachain",outcome="delivered"}"#, 1.0),
        (r#"btp_relay_submission_seconds_count{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_submission_seconds_count{lane="parachain_to_icon"}"#, 1.0),
        (r#"btp_relay_verifier_height{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_delivered_height{lane="parachain_to_icon"}"#, 1.0),
        (r#"btp_relay_chain_contact_age_seconds{chain="icon"}"#, 0.0),
        (r#"btp_relay_chain_contact_age_seconds{chain="parachain"}"#, 0.0),
        (r#"btp_relay_chain_height{chain="icon",head="latest"}"#, 1.0),
        (r#"btp_relay_chain_height{chain="parachain",head="latest"}"#, 1.0),
        (r#"btp_relay_chain_height{chain="parachain",head="finalized"}"#, 1.0),
        (r#"btp_relay_sent_seq{lane="icon_to_parachain"}"#, 1.0),
        (r#"btp_relay_sent_seq{lane="parachain_to_icon"}"#, 1.0),
        (r#"btp_relay_pending_messages{lane="icon_to_parachain"}"#, 0.0),
        (r#"btp_relay_link_relay_messages{chain="parachain"}"#, 1.0),
        (r#"btp_relay_link_relay_blocks{chain="parachain"}"#, 1.0),
        (r#"btp_relay_balance{chain="parachain"}"#, 1.0),
        (r#"btp_relay_balance{chain="icon"}"#, 0.0),
        (r#"btp_relay_reconnects_total{chain="parachain"}"#, 0.0),
    ] {
        let value = sample(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
        assert!(value >= at_least, "{series} = {value}:\n{text}");
    }
    assert_eq!(sample(&text, r#"btp_relay_link_stuck{lane="icon_to_parachain"}"#), Some(0.0), "{text}");
    // The halt switches, read from the contracts on the node: both running.
    for contract in ["bmc", "bmv"] {
        assert_eq!(sample(&text, &format!(r#"btp_relay_contract_halted{{contract="{contract}"}}"#)), Some(0.0), "{text}");
    }
    let (status, body) = relay.get("/health").await;
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(status.contains("200"), "{status}: {body}");
    assert_eq!((health["chains"]["icon"]["ok"].as_bool(), health["chains"]["parachain"]["ok"].as_bool()), (Some(true), Some(true)), "{body}");
}

/// Two relays on one link (//Alice and //Charlie, each with its own keys, store and metrics). With rotation off
/// they race: every message is delivered once both ways, a segment refused because the other's landed first is
/// counted as accepted, and the BMC's count per relay adds up to what each relay's metrics say it delivered. With
/// rotation on, each submits only in its turn (the other waits: `not_our_turn`), and when //Alice stops, //Charlie
/// takes her turns over. The parachain makes a block a second meanwhile, as a real one would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_one_link() {
    const TRANSFERS: u64 = 8;
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("two-relays", &icon_bob, None).await;
    let (alice, charlie) = (Signer::from_uri("//Alice").unwrap().account(), Signer::from_uri("//Charlie").unwrap().account());
    bridge.redeploy(&["--relay", &alice.to_string(), "--relay", &charlie.to_string()]);
    let bob = Signer::from_uri("//Bob").unwrap();
    let mut first = Relay::start(&bridge.deployment);
    let second = Relay::start_as(&bridge.deployment, "charlie", "//Charlie");
    for n in 1..=TRANSFERS {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    bridge.wait_for_wrapped(&bob.account(), u128::from(TRANSFERS) * ICX, Duration::from_secs(90)).await;
    let bsh_bundle = support::bundle("bsh_nativecoin");
    for _ in 0..TRANSFERS / 2 {
        let back = calls::<BshNativecoin>(&bridge.bsh).transfer("ICX".into(), 4 * ICX / 10, format!("btp://0x3.icon/{}", icon_bob.address));
        bridge.para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap().0.expect("Bob's transfer back");
    }
    let usable = || async { bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap() };
    let released = |n: u64| 1_000 * ICX - u128::from(TRANSFERS) * 2 * ICX + u128::from(n) * 3 * ICX / 10;
    wait_until("ICON releases each transfer back", Duration::from_secs(90), || async { usable().await >= released(TRANSFERS / 2) }).await;
    let balance = || async {
        let call = calls::<BshNativecoin>(&bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
        bridge.para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap()
    };
    wait_until("ICON's responses settle the transfers back", Duration::from_secs(90), || async { balance().await.locked == 0 }).await;
    // Each message once: transfers and responses, both ways.
    let to_parachain = TRANSFERS + TRANSFERS / 2;
    assert_eq!(usable().await, released(TRANSFERS / 2), "each transfer back released once");
    assert_eq!(bridge.wrapped_icx(&bob.account()).await, u128::from(TRANSFERS) * ICX - u128::from(TRANSFERS / 2) * 4 * ICX / 10);
    let status = bridge.status().await;
    assert_eq!(status.rx_seq, to_parachain, "the transfers and the responses to Bob's, each once");
    let counted: u64 = status.relays.iter().map(|r| r.msg_count).sum();
    assert_eq!(counted, to_parachain, "the BMC credits each message to one relay: {:?}", status.relays);
    // Both relays' metrics agree with the BMC on who delivered what toward the parachain, and add up to every
    // message toward ICON. A relay counts a delivery when its block is final: a moment after the chain shows it.
    let delivered = |text: &str, lane: &str, relay: &str| {
        sample(text, &format!(r#"btp_relay_messages_delivered_total{{lane="{lane}",relay="{relay}"}}"#)).unwrap_or(0.0) as u64
    };
    let credited = |account: &AccountId32| status.relays.iter().find(|r| AsRef::<[u8; 32]>::as_ref(&r.account) == &account.0).map_or(0, |r| r.msg_count);
    let icon_rx = |text: &str| samples(text, r#"btp_relay_messages_delivered_total{lane="parachain_to_icon"}"#).iter().sum::<f64>() as u64;
    let icon = icon_rpc::IconClient::new(&bridge.icon.url).unwrap();
    let para_bmc = format!("btp://{PARA}/{}", hex_account(&bridge.bmc.0));
    let icon_status = icon.call_contract(&bridge.icon.btp.bmc.to_string(), "getStatus", json!({"_link": para_bmc})).await.unwrap();
    // The parachain BMC's own message on linking, the responses and the transfers back.
    let icon_rx_seq = icon_rpc::parse_t_int(&icon_status["rx_seq"]).unwrap();
    assert!(icon_rx_seq >= TRANSFERS + TRANSFERS / 2, "{icon_status}");
    {
        let (first, second, alice, charlie, credited) = (&first, &second, &alice, &charlie, &credited);
        wait_until("both relays' metrics count what each delivered", Duration::from_secs(30), || async move {
            let (text_a, text_c) = (first.get("/metrics").await.1, second.get("/metrics").await.1);
            delivered(&text_a, "icon_to_parachain", &alice.to_string()) == credited(alice)
                && delivered(&text_c, "icon_to_parachain", &charlie.to_string()) == credited(charlie)
                && icon_rx(&text_a) + icon_rx(&text_c) == icon_rx_seq
        })
        .await;
    }

    // Rotation on: 1-second blocks on both sides, two ICON blocks per turn, a turn passed on after 2 blocks late.
    // The owner (//Alice) configures it while her relay is stopped: one signer, one nonce.
    assert!(first.stop());
    bridge.redeploy(&["--rotation", "1000:1000:2:2"]);
    assert!(bridge.status().await.rotate_term > 0, "rotation on");
    let mut first = Relay::start(&bridge.deployment);
    let ticker = {
        let (url, bmc, dave) = (bridge.node.url(), bridge.bmc.clone(), Signer::from_uri("//Dave").unwrap());
        tokio::spawn(async move {
            let para = Parachain::connect(&url).await.unwrap();
            let bundle = support::bundle("bmc");
            loop {
                let _ = para.call(&dave, &bundle, &Message::new(calls::<Bmc>(&bmc).btp_address())).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let before = bridge.status().await.relays;
    for n in TRANSFERS + 1..=TRANSFERS + TRANSFERS / 2 {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    let minted = u128::from(TRANSFERS + TRANSFERS / 2) * ICX - u128::from(TRANSFERS / 2) * 4 * ICX / 10;
    bridge.wait_for_wrapped(&bob.account(), minted, Duration::from_secs(90)).await;
    let waited = |text: &str| samples(text, r#"btp_relay_rounds_total{lane="icon_to_parachain",outcome="not_our_turn"}"#).iter().sum::<f64>();
    let (text_a, text_c) = (first.get("/metrics").await.1, second.get("/metrics").await.1);
    assert!(waited(&text_a) + waited(&text_c) > 0.0, "a relay waited for its turn:\n{text_a}\n{text_c}");
    // //Alice stops: her turns pass to //Charlie, who delivers the rest alone.
    assert!(first.stop());
    let after_first = bridge.status().await.relays;
    for n in TRANSFERS + TRANSFERS / 2 + 1..=2 * TRANSFERS {
        bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob.account(), n).await;
    }
    let minted = u128::from(2 * TRANSFERS) * ICX - u128::from(TRANSFERS / 2) * 4 * ICX / 10;
    bridge.wait_for_wrapped(&bob.account(), minted, Duration::from_secs(120)).await;
    ticker.abort();
    let status = bridge.status().await;
    assert_eq!(status.rx_seq, 2 * TRANSFERS + TRANSFERS / 2, "every message once");
    let count = |relays: &[bmc::bmc::Relay], account: &AccountId32| {
        relays.iter().find(|r| AsRef::<[u8; 32]>::as_ref(&r.account) == &account.0).map_or(0, |r| r.msg_count)
    };
    assert_eq!(count(&status.relays, &alice), count(&after_first, &alice), "//Alice delivered nothing after she stopped");
    assert_eq!(count(&status.relays, &charlie), count(&after_first, &charlie) + TRANSFERS / 2, "//Charlie took over");
    let with_rotation = |relays: &[bmc::bmc::Relay]| count(relays, &alice) + count(relays, &charlie);
    assert_eq!(with_rotation(&after_first) - with_rotation(&before), TRANSFERS / 2, "with both running, each message once");
}

/// The value of the first sample of `series` in Prometheus text: `name{label="value",…}` matches a sample of that
/// name with at least those labels.
fn sample(text: &str, series: &str) -> Option<f64> {
    samples(text, series).into_iter().next()
}

/// The values of every sample of `series` (as for [`sample`]).
fn samples(text: &str, series: &str) -> Vec<f64> {
    let labels = |s: &str| -> (String, Vec<String>) {
        match s.split_once('{') {
            Some((name, rest)) => (name.to_string(), rest.trim_end_matches('}').split(',').filter(|l| !l.is_empty()).map(str::to_string).collect()),
            None => (s.to_string(), vec![]),
        }
    };
    let (name, wanted) = labels(series);
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(s, _)| {
            let (n, have) = labels(s);
            n == name && wanted.iter().all(|w| have.contains(w))
        })
        .filter_map(|(_, v)| v.parse().ok())
        .collect()
}

/// A sample line: a metric name, optional `{label="value",…}`, a value.
fn prometheus_sample(line: &str) -> bool {
    let (series, value) = match line.rsplit_once(' ') {
        Some(parts) => parts,
        None => return false,
    };
    let name_end = series.find('{').unwrap_or(series.len());
    let name_ok = !series[..name_end].is_empty() && series[..name_end].chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    let labels_ok = name_end == series.len()
        || (series.ends_with('}') && series[name_end + 1..series.len() - 1].split(',').all(|l| l.split_once('=').is_some_and(|(_, v)| v.starts_with('"'))));
    name_ok && labels_ok && (value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value))
}

/// A relay killed with SIGKILL 20 times at arbitrary points while 50 transfers arrive, and started again, delivers
/// every transfer exactly once: it
/// keeps nothing of its own, each round starts from the parachain BMC's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_survives_kill_9() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("kill9", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap().account();
    const TRANSFERS: u64 = 50;
    const KILLS: u64 = 20;
    let log = bridge.deployment.with_file_name("relay.log");
    let submissions = || std::fs::read_to_string(&log).unwrap_or_default().matches("submitting").count();
    // Pauses from a fixed xorshift sequence: arbitrary points, the same ones on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let mut sent = 0;
    for kill in 1..=KILLS {
        // 2 or 3 transfers before each start: 50 in all.
        for _ in 0..(if kill <= TRANSFERS - 2 * KILLS { 3 } else { 2 }) {
            sent += 1;
            bridge.transfer_on_icon(&icon_bob, 2 * ICX, &bob, sent).await;
        }
        let before = submissions();
        let mut relay = Relay::start(&bridge.deployment);
        if kill % 2 == 0 {
            // In the middle of a submission: killed as soon as it says it submits (or after 30 s at most).
            let deadline = Instant::now() + Duration::from_secs(30);
            while submissions() == before && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(random(1200))).await;
        relay.kill();
    }
    assert_eq!(sent, TRANSFERS);
    assert!(submissions() >= KILLS as usize / 2, "killed mid-submission at least half of the times");
    let _relay = Relay::start(&bridge.deployment);
    bridge.wait_for_wrapped(&bob, u128::from(TRANSFERS) * ICX, Duration::from_secs(90)).await;
    assert_eq!(bridge.status().await.rx_seq, TRANSFERS, "each transfer's message once");
}

/// A source serving votes that do not sign their blocks: the relay checks each segment with the light client on
/// the BMV's state, logs the refusal with ICON's error code and pays for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_never_pays_for_a_refused_message() {
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("refused", &icon_bob, Some(0)).await;
    let alice = Signer::from_uri("//Alice").unwrap().account();
    let (nonce, height) = (bridge.para.account_nonce(&alice).await.unwrap(), bridge.status().await.verifier.height);
    let bob = Signer::from_uri("//Bob").unwrap().account();
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob, 1).await;
    let mut relay = Relay::start(&bridge.deployment);
    let log = bridge.deployment.with_file_name("relay.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap().contains("InvalidVotes") {
        assert!(Instant::now() < deadline, "no refusal logged: {}", std::fs::read_to_string(&log).unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // ICON makes a block every 500 ms: the transfer's message is more than 3 blocks old and not taken.
    let status = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["status", "--stuck-after", "3", "--config"])
        .arg(bridge.deployment.with_file_name("relay.toml"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(printed.contains("ICON → parachain: sent 1, taken 0, pending 1 — STUCK: message 1 was sent at least 3 ICON blocks ago"), "{printed}");
    assert_eq!(status.status.code(), Some(3), "a stuck link's exit status: {printed}");
    assert!(relay.stop());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("refused (code 27)"), "ICON's code for invalid votes: {logged}");
    assert_eq!(bridge.para.account_nonce(&alice).await.unwrap(), nonce, "nothing submitted");
    assert_eq!(bridge.status().await.verifier.height, height);
    assert_eq!(bridge.wrapped_icx(&bob).await, 0);
}

/// Both chains through two endpoints each (two doors to one ICON test chain, two to one node): the first of each
/// closes mid-run, and the relay goes on through the second, nothing lost and nothing doubled; the metrics say
/// which endpoint is down, and that it is up again once it reopens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_fails_over_between_endpoints() {
    use support::proxy::TcpForward;
    let icon_bob = Validator::from_seed(1000);
    let bridge = Bridge::new("failover", &icon_bob, None).await;
    let bob = Signer::from_uri("//Bob").unwrap();
    let icon_server = bridge.icon.url.trim_start_matches("http://").trim_end_matches("/api/v3").to_string();
    let node = bridge.node.url().trim_start_matches("ws://").to_string();
    let (mut icon_first, icon_second) = (TcpForward::start(&icon_server).await, TcpForward::start(&icon_server).await);
    let (mut para_first, para_second) = (TcpForward::start(&node).await, TcpForward::start(&node).await);
    let icon_urls = format!("http://{}/api/v3,http://{}/api/v3", icon_first.addr, icon_second.addr);
    let para_urls = format!("ws://{},ws://{}", para_first.addr, para_second.addr);
    let relay = Relay::start_with(&bridge.deployment, "relay", "//Alice", &[("RELAY_ICON_URL", &icon_urls), ("RELAY_PARACHAIN_URL", &para_urls)]);
    bridge.transfer_on_icon(&icon_bob, 100 * ICX, &bob.account(), 1).await;
    bridge.wait_for_wrapped(&bob.account(), 99 * ICX, Duration::from_secs(60)).await;

    icon_first.close();
    para_first.close();
    bridge.transfer_on_icon(&icon_bob, 10 * ICX, &bob.account(), 2).await;
    bridge.wait_for_wrapped(&bob.account(), 108 * ICX, Duration::from_secs(120)).await;
    let bsh_bundle = support::bundle("bsh_nativecoin");
    let back = calls::<BshNativecoin>(&bridge.bsh).transfer("ICX".into(), 50 * ICX, format!("btp://0x3.icon/{}", icon_bob.address));
    bridge.para.call(&bob, &bsh_bundle, &Message::new(back)).await.unwrap().0.expect("Bob's transfer back");
    let usable = || async { bridge.icon.shared.with(|b| b.balance(&icon_bob.address)).await.unwrap() };
    let expected = 1_000 * ICX - 110 * ICX + 499 * ICX / 10;
    wait_until("ICON releases 49.9 ICX to Bob through the second endpoints", Duration::from_secs(120), || async { usable().await == expected }).await;
    let endpoint_up = |text: &str, door: &str| sample(text, &format!("btp_relay_endpoint_up{{chain=\"icon\",endpoint=\"http://{door}/api/v3\"}}"));
    wait_until("the metrics say the first ICON endpoint is down", Duration::from_secs(30), || async {
        let (_, text) = relay.get("/metrics").await;
        endpoint_up(&text, &icon_first.addr) == Some(0.0) && endpoint_up(&text, &icon_second.addr) == Some(1.0)
    })
    .await;
    icon_first.open().await;
    wait_until("and up again once it answers", Duration::from_secs(30), || async {
        let (_, text) = relay.get("/metrics").await;
        endpoint_up(&text, &icon_first.addr) == Some(1.0)
    })
    .await;
    let locked = || async {
        let call = calls::<BshNativecoin>(&bridge.bsh).coin_balance_of(bob.account().0.into(), "ICX".into());
        bridge.para.query(&bob.account(), &bsh_bundle, &Message::new(call)).await.unwrap().unwrap().locked
    };
    wait_until("ICON's response settles the transfer back", Duration::from_secs(60), || async { locked().await == 0 }).await;
    assert_eq!(usable().await, expected, "released once");
    assert_eq!(bridge.wrapped_icx(&bob.account()).await, 58 * ICX, "each transfer minted once");
    assert_eq!(bridge.status().await.rx_seq, 3, "both transfers and the response, each once");
    let logged = std::fs::read_to_string(bridge.deployment.with_file_name("relay.log")).unwrap();
    assert!(!logged.contains("rejected after submission"), "nothing paid for twice: {logged}");
}

/// Toward ICON, a relay account that is not a relay of ICON's link: ICON's dry run of each transaction answers the
/// BMC's `Unauthorized` (code 11), which the relay logs, and it sends ICON nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icon_lane_never_pays_for_a_foreseeable_refusal() {
    let icon_bob = Validator::from_seed(1000);
    let node = Node::start().expect("substrate-contracts-node");
    let bridge = Bridge::on_with(node, "not-a-relay", &icon_bob, |icon| {
        // The link's one relay on ICON is somebody else.
        let link = icon.btp.links().keys().next().cloned().expect("the link to the parachain");
        icon.add_relay(link, btp_primitives::IconAddress::parse("hx00000000000000000000000000000000000000ee").unwrap());
    })
    .await;
    let mut relay = Relay::start(&bridge.deployment);
    let log = bridge.deployment.with_file_name("relay.log");
    // Message 1 toward ICON is the parachain BMC's own, sent when the link was added: the lane tries to deliver it.
    wait_until("the refusal is logged", Duration::from_secs(60), || async { std::fs::read_to_string(&log).unwrap_or_default().contains("refused (code 11)") })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(relay.stop());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("Unauthorized"), "ICON's reason: {logged}");
    let sent: usize = bridge
        .icon
        .shared
        .with(|node| (0..=node.last_height()).map(|h| node.transactions(h).iter().filter(|tx| tx["data"]["method"] == "handleRelayMessage").count()).sum())
        .await;
    assert_eq!(sent, 0, "no relay message paid for on ICON");
    assert!(!logged.contains("submitting to ICON"), "{logged}");
}

/// Real ICON blocks: 408 consecutive block updates (157..564) recorded from a goloop node, served as ICON serves
/// them, relayed to a BMV deployed with that chain's state at block 156.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_replays_real_icon_blocks() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/libs/icon-vectors/data/icon/hugobyte_0x995745_h157_564.json");
    let vector: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let icon_url = support::icon::replay(&[hex::decode(text(&vector["input"]["relay_message"])).unwrap()]);
    let node = Node::start().expect("substrate-contracts-node");
    let dir = std::env::temp_dir().join(format!("btp-relay-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let deployment = dir.join("deployment.toml");
    let (link, state) = (text(&vector["input"]["prev"]), &vector["state"]);
    let out = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["deploy", "--deployment", deployment.to_str().unwrap(), "--bundles", support::bundles().to_str().unwrap()])
        .args(["--parachain-url", &node.url(), "--network", PARA, "--icon-url", &icon_url, "--icon-bmc", &link])
        .args(["--icon-height", "156", "--icon-block-hash", &text(&state["last_block_hash"]), "--icon-validators", &text(&state["validators"])])
        .env("RELAY_SURI", "//Alice")
        .output()
        .unwrap();
    assert!(out.status.success(), "relay deploy: {}", String::from_utf8_lossy(&out.stderr));
    let written: toml::Value = toml::from_str(&std::fs::read_to_string(&deployment).unwrap()).unwrap();
    let bmc: AccountId32 = written["contracts"]["bmc"].as_str().unwrap().parse().unwrap();
    let para = Parachain::connect(&node.url()).await.unwrap();
    let alice = Signer::from_uri("//Alice").unwrap().account();
    let nonce = para.account_nonce(&alice).await.unwrap();
    let bmc_bundle = support::bundle("bmc");
    let height = || async { para.query(&bmc, &bmc_bundle, &Message::new(calls::<Bmc>(&bmc).get_status(link.clone()))).await.unwrap().unwrap().verifier.height };
    assert_eq!(height().await, 156);
    let _relay = Relay::start(&deployment);
    let deadline = Instant::now() + Duration::from_secs(120);
    while height().await < 564 {
        assert!(Instant::now() < deadline, "the BMV is at {} of 564", height().await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(height().await, 564, "every recorded block, and no further");
    let extrinsics = para.account_nonce(&alice).await.unwrap() - nonce;
    assert!(extrinsics <= 2, "408 small blocks fit one relay message or two: {extrinsics} extrinsics");
    let _ = std::fs::remove_dir_all(&dir);
}
