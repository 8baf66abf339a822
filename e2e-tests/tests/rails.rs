//! The safety rails end to end, with the ICON test chain as ICON and the relay's two jobs done in the open (as in
//! `nativecoin.rs`): halting the BMC, the BMV and the BSH, per-coin caps, the governor's delays (released and
//! cancelled, both ways), the blacklist, and an upgrade of the BSH with transfers under way.
#![cfg(feature = "e2e-tests")]

use bsh_nativecoin::bsh_nativecoin::{CoinBalance, CoinLimits, Direction, Error as BshError, GovernorSettings, TransferDelayed, TransferEnd};
use btp_e2e_tests::{
    bridge::{bob, icon_bob, para_bob, Bridge, ICX, PARA},
    events, pass_blocks, run,
};
use btp_interfaces::{AdminError, Administered};
use btp_primitives::{
    address::hex_account,
    nativecoin::{ServiceMessage, TransferResponse, RC_ERR, RC_OK},
    BtpMessage,
};
use ink_e2e::ContractsBackend;

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

const DELAY: u32 = 5;

fn response(message: &BtpMessage) -> TransferResponse {
    match ServiceMessage::decode(&message.payload).expect("a native-coin message") {
        ServiceMessage::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn icon_to() -> String {
    format!("btp://0x3.icon/{}", icon_bob())
}

/// The BSH's `TransferDelayed` events so far: (id, sn, incoming).
fn delayed(bridge: &Bridge) -> Vec<(u64, u128, bool)> {
    let seen: Vec<(u64, u128, bool, String, u32)> = events::decoded::<TransferDelayed, _>(&bridge.seen, &bridge.bsh);
    seen.into_iter().map(|(id, sn, incoming, _, _)| (id, sn, incoming)).collect()
}

/// Alice (the owner) sets ICX's limits and the governor (a window of 100 blocks, a delay of [`DELAY`]).
async fn limit_icx(bridge: &mut Bridge, limits: CoinLimits) {
    let alice = ink_e2e::alice();
    bridge.client.call(&alice, &bridge.bsh_calls.set_governor(100, DELAY)).submit().await.unwrap().return_value().expect("governor");
    bridge.client.call(&alice, &bridge.bsh_calls.set_coin_limits("ICX".into(), limits)).submit().await.unwrap().return_value().expect("limits");
}

/// Bob sends `value` of his wrapped ICX to his ICON account; the request's sn.
async fn send_icx(bridge: &mut Bridge, value: u128) -> Result<u128, BshError> {
    let call = bridge.bsh_calls.transfer("ICX".into(), value, icon_to());
    let sn = bridge.client.call(&ink_e2e::bob(), &call).submit().await.expect("submitted").return_value();
    bridge.collect();
    sn
}

async fn release(bridge: &mut Bridge, id: u64) -> Result<(), BshError> {
    // Anyone: Charlie is neither owner nor party.
    let call = bridge.bsh_calls.release_delayed(id);
    let done = bridge.client.call(&ink_e2e::charlie(), &call).submit().await.expect("submitted").return_value();
    bridge.collect();
    done
}

#[test]
fn halted_bmc_refuses_relay_messages() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        let alice = ink_e2e::alice();
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 100 * ICX, &para_bob()).expect("Bob's transfer on ICON");

        let stranger = Administered::set_halted(&mut bridge.bmc_calls, true);
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &stranger).dry_run().await?.return_value(), Err(AdminError::Unauthorized));
        let halt = Administered::set_halted(&mut bridge.bmc_calls, true);
        bridge.client.call(&alice, &halt).submit().await?.return_value().expect("halted");
        let refused = bridge.try_relay_to_parachain(events).await;
        assert_eq!(refused, Err("Halted".to_string()), "the relay message is refused whole");
        assert_eq!(bridge.status().await.rx_seq, 0, "reads go on");
        // Nothing leaves either: the BSH's transfer out finds the BMC refusing to send.
        let out = bridge.bsh_calls.transfer_native_coin(icon_to());
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &out).value(1_000_000_000).dry_run().await?.return_value(), Err(BshError::Bmc));

        // Resumed, the same ICON block goes through; then the BMV is halted, and the BMC refuses for it.
        let resume = Administered::set_halted(&mut bridge.bmc_calls, false);
        bridge.client.call(&alice, &resume).submit().await?.return_value().expect("resumed");
        let segment = bridge.next_segment(bridge.para_bmc.as_str().into()).await;
        bridge.submit(segment.bytes).await;
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(99 * ICX));

        let mut bmv = bridge.bmv_calls();
        let halt_bmv = Administered::set_halted(&mut bmv, true);
        bridge.client.call(&alice, &halt_bmv).submit().await?.return_value().expect("BMV halted");
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 10 * ICX, &para_bob()).expect("again");
        assert_eq!(bridge.try_relay_to_parachain(events).await, Err("VerifierHalted".to_string()));
        let resume_bmv = Administered::set_halted(&mut bmv, false);
        bridge.client.call(&alice, &resume_bmv).submit().await?.return_value().expect("BMV resumed");
        let segment = bridge.next_segment(bridge.para_bmc.as_str().into()).await;
        bridge.submit(segment.bytes).await;
        assert_eq!(bridge.status().await.rx_seq, 2);
        Ok(())
    })
}

#[test]
fn halted_bsh_answers_incoming_with_error() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        // A transfer out is under way when the service is halted.
        let sn = send_icx(&mut bridge, 10 * ICX).await.expect("transfer");
        let halt = Administered::set_halted(&mut bridge.bsh_calls, true);
        bridge.client.call(&ink_e2e::alice(), &halt).submit().await?.return_value().expect("halted");
        assert_eq!(send_icx(&mut bridge, ICX).await, Err(BshError::Halted), "no transfer out");

        // ICON's new request is answered with an error, and ICON refunds Bob; the answer to ours still settles.
        let mut answer = bridge.relay_to_icon();
        answer.extend(bridge.node.btp.transfer_native_coin(icon_bob(), 50 * ICX, &para_bob()).expect("Bob's transfer on ICON"));
        bridge.relay_to_parachain(answer).await;
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(89 * ICX), locked: 0, refundable: 0 }, "request {sn} settled");
        let refusal = bridge.outgoing().pop().expect("the response");
        assert_eq!(response(&refusal), TransferResponse { code: RC_ERR, message: "Halted".into() });
        assert_eq!(bridge.backing("ICX").await, 99 * ICX - (10 * ICX - ICX / 10), "nothing minted");
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.refundable(&icon_bob()), 50 * ICX);
        Ok(())
    })
}

#[test]
fn transfer_over_cap_is_refused() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let caps = CoinLimits { max_out: 10 * ICX, max_in: 50 * ICX, ..Default::default() };
        let stranger = bridge.bsh_calls.set_coin_limits("ICX".into(), caps);
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &stranger).dry_run().await?.return_value(), Err(BshError::Unauthorized));
        limit_icx(&mut bridge, caps).await;

        assert_eq!(send_icx(&mut bridge, 10 * ICX + 1).await, Err(BshError::OverCap));
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(99 * ICX), locked: 0, refundable: 0 }, "nothing moved");
        send_icx(&mut bridge, 10 * ICX).await.expect("at the cap");

        // From ICON, 60 ICX is over the incoming cap: an error response, and ICON refunds.
        let mut answer = bridge.relay_to_icon();
        answer.extend(bridge.node.btp.transfer_native_coin(icon_bob(), 61 * ICX, &para_bob()).expect("Bob's transfer on ICON"));
        bridge.relay_to_parachain(answer).await;
        let refusal = bridge.outgoing().pop().expect("the response");
        assert_eq!(response(&refusal), TransferResponse { code: RC_ERR, message: "OverCap".into() });
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(89 * ICX));
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.refundable(&icon_bob()), 61 * ICX);
        Ok(())
    })
}

#[test]
fn governor_delays_a_large_transfer_then_releases_it() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        limit_icx(&mut bridge, CoinLimits { window_limit: 50 * ICX, large: 25 * ICX, ..Default::default() }).await;
        let get = bridge.client.call(&ink_e2e::alice(), &bridge.bsh_calls.governor()).dry_run().await?.return_value();
        assert_eq!(get, GovernorSettings { window: 100, delay: DELAY });

        // 30 ICX is large: it waits. Two of 20 pass (40 of the window's 50); a third of 20 would make 60: it waits.
        let large = send_icx(&mut bridge, 30 * ICX).await.expect("delayed, not refused");
        assert!(bridge.outgoing().is_empty(), "nothing sent yet");
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(69 * ICX), locked: 30 * ICX, refundable: 0 }, "locked meanwhile");
        send_icx(&mut bridge, 20 * ICX).await.expect("within the window's limit");
        send_icx(&mut bridge, 20 * ICX).await.expect("within the window's limit");
        let over = send_icx(&mut bridge, 20 * ICX).await.expect("delayed");
        assert_eq!(delayed(&bridge), vec![(1, large, false), (2, over, false)]);
        assert_eq!(bridge.outgoing().len(), 2);
        let flow = bridge.client.call(&ink_e2e::alice(), &bridge.bsh_calls.flow("ICX".into(), Direction::Out)).dry_run().await?.return_value();
        assert_eq!(flow, 40 * ICX);

        assert_eq!(release(&mut bridge, 1).await, Err(BshError::NotDue));
        pass_blocks(DELAY);
        release(&mut bridge, 1).await.expect("due");
        release(&mut bridge, 2).await.expect("due");
        assert_eq!(release(&mut bridge, 2).await, Err(BshError::NotExistsDelayed), "once");
        let sent: Vec<i128> = bridge.outgoing().iter().map(|m| m.sn).collect();
        assert_eq!(sent, vec![large as i128 + 1, large as i128 + 2, large as i128, over as i128], "each as the request it was numbered");

        // ICON pays all four out; the answers settle them.
        let answer = bridge.relay_to_icon();
        let fees = 4 * (ICX / 10);
        assert_eq!(bridge.node.btp.balance(&icon_bob()), 900 * ICX + 90 * ICX - fees);
        bridge.relay_to_parachain(answer).await;
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(9 * ICX), locked: 0, refundable: 0 });

        // The way in: ICON's 40 ICX is large too. Delivered, the request waits without an answer; released, it is
        // minted and answered.
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 40 * ICX, &para_bob()).expect("Bob's transfer on ICON");
        bridge.relay_to_parachain(events).await;
        assert!(bridge.outgoing().is_empty(), "no answer yet");
        assert_eq!(delayed(&bridge).last(), Some(&(3, 2, true)), "ICON's request 2");
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(9 * ICX));
        pass_blocks(DELAY);
        release(&mut bridge, 3).await.expect("due");
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(48 * ICX), "39 ICX minted (ICON kept 1 ICX fee)");
        let ok = bridge.outgoing().pop().expect("the response");
        assert_eq!((ok.sn, response(&ok).code), (2, RC_OK));
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.pending(2), None, "ICON settled its request");
        assert_eq!(bridge.backing("ICX").await, bridge.node.btp.holdings().1, "ICON's lock backs every wrapped ICX");
        Ok(())
    })
}

/// A transfer ICON refuses (a recipient that is no ICON account) is refunded and leaves the governor's window:
/// failing transfers, which cost only their fee, cannot fill the window and delay everyone else's.
#[test]
fn a_refunded_transfer_leaves_the_window() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        limit_icx(&mut bridge, CoinLimits { window_limit: 50 * ICX, ..Default::default() }).await;
        let flow = |bridge: &Bridge| bridge.bsh_calls.flow("ICX".into(), Direction::Out);
        let to_nobody = bridge.bsh_calls.transfer("ICX".into(), 40 * ICX, "btp://0x3.icon/hx00".into());
        bridge.client.call(&ink_e2e::bob(), &to_nobody).submit().await?.return_value().expect("sent");
        bridge.collect();
        assert_eq!(bridge.client.call(&ink_e2e::alice(), &flow(&bridge)).dry_run().await?.return_value(), 40 * ICX);
        let answer = bridge.relay_to_icon();
        bridge.relay_to_parachain(answer).await;
        assert_eq!(
            bridge.balance(bob(), "ICX").await,
            CoinBalance { usable: Some(59 * ICX), locked: 0, refundable: 40 * ICX - ICX / 10 },
            "refused by ICON; the fee kept"
        );
        assert_eq!(bridge.client.call(&ink_e2e::alice(), &flow(&bridge)).dry_run().await?.return_value(), 0, "it never crossed");
        send_icx(&mut bridge, 30 * ICX).await.expect("sent");
        assert!(delayed(&bridge).is_empty(), "30 of 50: room for it");
        Ok(())
    })
}

#[test]
fn governor_cancel_refunds() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        limit_icx(&mut bridge, CoinLimits { large: 25 * ICX, ..Default::default() }).await;
        let sn = send_icx(&mut bridge, 30 * ICX).await.expect("delayed");
        let by_stranger = bridge.bsh_calls.cancel_delayed(1);
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &by_stranger).dry_run().await?.return_value(), Err(BshError::Unauthorized));
        bridge.client.call(&ink_e2e::alice(), &bridge.bsh_calls.cancel_delayed(1)).submit().await?.return_value().expect("cancelled");
        bridge.collect();
        let ends: Vec<(ink::primitives::AccountId, u128, u32, String)> = events::decoded::<TransferEnd, _>(&bridge.seen, &bridge.bsh);
        assert_eq!(ends.last(), Some(&(bob(), sn, RC_ERR, "Cancelled".to_string())));
        assert!(bridge.outgoing().is_empty(), "never sent");
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(69 * ICX), locked: 0, refundable: 30 * ICX }, "the fee too");
        bridge.client.call(&ink_e2e::bob(), &bridge.bsh_calls.reclaim("ICX".into(), 30 * ICX)).submit().await?.return_value().expect("reclaim");
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(99 * ICX));
        assert_eq!(bridge.backing("ICX").await, 99 * ICX, "ICON backs it all still");

        // ICON's 40 ICX waits; cancelled, it is answered with an error and ICON refunds Bob.
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 40 * ICX, &para_bob()).expect("Bob's transfer on ICON");
        bridge.relay_to_parachain(events).await;
        bridge.client.call(&ink_e2e::alice(), &bridge.bsh_calls.cancel_delayed(2)).submit().await?.return_value().expect("cancelled");
        bridge.collect();
        let refusal = bridge.outgoing().pop().expect("the response");
        assert_eq!((refusal.sn, response(&refusal)), (2, TransferResponse { code: RC_ERR, message: "Cancelled".into() }));
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.refundable(&icon_bob()), 40 * ICX);
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(99 * ICX), "nothing minted");
        assert_eq!(release(&mut bridge, 2).await, Err(BshError::NotExistsDelayed), "a cancelled transfer is gone");
        Ok(())
    })
}

#[test]
fn blacklisted_receiver_gets_error_response() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let alice = ink_e2e::alice();
        // Bob's ICON account is listed: he may not send to it.
        bridge.client.call(&alice, &bridge.bsh_calls.set_blacklisted(icon_to(), true)).submit().await?.return_value().expect("listed");
        assert_eq!(send_icx(&mut bridge, 10 * ICX).await, Err(BshError::Blacklisted));
        bridge.client.call(&alice, &bridge.bsh_calls.set_blacklisted(icon_to(), false)).submit().await?.return_value().expect("unlisted");

        // Bob's parachain account is listed, in another spelling: ICON's transfer to it is answered with an error.
        let upper = format!("btp://{PARA}/0x{}", hex_account(bob().as_ref()).trim_start_matches("0x").to_uppercase());
        bridge.client.call(&alice, &bridge.bsh_calls.set_blacklisted(upper, true)).submit().await?.return_value().expect("listed");
        let listed = bridge.client.call(&alice, &bridge.bsh_calls.is_blacklisted(para_bob().as_str().into())).dry_run().await?.return_value();
        assert!(listed, "one account, whatever its spelling");
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 20 * ICX, &para_bob()).expect("Bob's transfer on ICON");
        bridge.relay_to_parachain(events).await;
        let refusal = bridge.outgoing().pop().expect("the response");
        assert_eq!(response(&refusal), TransferResponse { code: RC_ERR, message: "Blacklisted".into() });
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(99 * ICX), "nothing minted");
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.refundable(&icon_bob()), 20 * ICX);
        assert_eq!(send_icx(&mut bridge, 10 * ICX).await, Err(BshError::Blacklisted), "nor does he send");
        Ok(())
    })
}

#[test]
fn bsh_upgrade_keeps_pending_transfers() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let alice = ink_e2e::alice();
        limit_icx(&mut bridge, CoinLimits { max_out: 50 * ICX, large: 25 * ICX, ..Default::default() }).await;
        // Under way across the upgrade: a request waiting for ICON's answer and a delayed one.
        let pending = send_icx(&mut bridge, 10 * ICX).await.expect("sent");
        send_icx(&mut bridge, 30 * ICX).await.expect("delayed");
        let version = bridge.client.call(&alice, &bridge.bsh_calls.version()).dry_run().await?.return_value();
        assert_eq!(version, 1);

        let upload = ContractsBackend::<ink::env::DefaultEnvironment>::upload(&mut bridge.client, "bsh_nativecoin_next", &alice).submit().await;
        let next = upload.expect("upload").code_hash;
        let by_stranger = Administered::set_code(&mut bridge.bsh_calls, next);
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &by_stranger).dry_run().await?.return_value(), Err(AdminError::Unauthorized));
        let unknown = Administered::set_code(&mut bridge.bsh_calls, ink::primitives::Hash::from([7; 32]));
        assert_eq!(bridge.client.call(&alice, &unknown).dry_run().await?.return_value(), Err(AdminError::InvalidCode));
        let upgrade = Administered::set_code(&mut bridge.bsh_calls, next);
        bridge.client.call(&alice, &upgrade).submit().await?.return_value().expect("upgraded");
        let version = bridge.client.call(&alice, &bridge.bsh_calls.version()).dry_run().await?.return_value();
        assert_eq!(version, 2, "the new code runs, at the same address");

        // The new code reads the old state: balances, limits, the pending and the delayed transfer.
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(59 * ICX), locked: 40 * ICX, refundable: 0 });
        let limits = bridge.client.call(&alice, &bridge.bsh_calls.coin_limits("ICX".into())).dry_run().await?.return_value();
        assert_eq!(limits, CoinLimits { max_out: 50 * ICX, large: 25 * ICX, ..Default::default() });
        assert_eq!(send_icx(&mut bridge, 51 * ICX).await, Err(BshError::OverCap), "the caps hold");
        let owners = Administered::owners(&bridge.bsh_calls);
        assert_eq!(bridge.client.call(&alice, &owners).dry_run().await?.return_value(), vec![ink_e2e::account_id(ink_e2e::AccountKeyring::Alice)]);

        // Both settle: ICON answers the pending one, the delayed one is released and answered.
        pass_blocks(DELAY);
        release(&mut bridge, 1).await.expect("due");
        let answer = bridge.relay_to_icon();
        bridge.relay_to_parachain(answer).await;
        assert_eq!(
            bridge.balance(bob(), "ICX").await,
            CoinBalance { usable: Some(59 * ICX), locked: 0, refundable: 0 },
            "request {pending} and the delayed one"
        );
        assert_eq!(bridge.backing("ICX").await, bridge.node.btp.holdings().1, "ICON's lock backs every wrapped ICX");
        Ok(())
    })
}
