//! The native-coin service end to end: BMC + BMV + BSH on pallet-contracts, the ICON test chain as ICON (its
//! validators sign every block, its BMC and native-coin service model ICON's), and the relay's two jobs done in
//! the open: ICON blocks with their BMC messages go to the parachain BMC as relay messages the BMV verifies, and
//! the parachain BMC's `Message` events go back to ICON's BMC.
#![cfg(feature = "e2e-tests")]

use bsh_nativecoin::bsh_nativecoin::{CoinBalance, Error as BshError};
use btp_e2e_tests::{
    bridge::{bob, icon_bob, para_bob, Bridge, DOT, ICX, PARA},
    events, run,
};
use btp_primitives::{
    message::REQUEST_SN_BASE,
    nativecoin::{ServiceMessage, TransferRequest, TransferResponse, RC_ERR, RC_OK},
    BtpAddress, BtpMessage, IconAddress,
};
use icon_testnet::receipt::{EventLog, Receipt};
use ink_e2e::{ChainBackend, ContractsBackend};

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

fn response(message: &BtpMessage) -> TransferResponse {
    match ServiceMessage::decode(&message.payload).expect("a native-coin message") {
        ServiceMessage::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

#[test]
fn seed_scenario_icx_to_parachain() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        let icx_id = bsh_nativecoin::ledger::token_id("ICX");

        // On ICON: Bob sends 100 ICX to his parachain account; ICON's service keeps 1 ICX as fee, 99 travel.
        let to = para_bob();
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 100 * ICX, &to).expect("Bob's transfer on ICON");
        assert_eq!(bridge.node.btp.balance(&icon_bob()), 900 * ICX);
        assert_eq!(bridge.node.btp.holdings(), (100 * ICX, 0, 0), "the whole value waits for the answer");

        // The relay brings ICON's block to the parachain BMC; the BMV verifies the validators' votes and the
        // receipt proof, the BMC hands the request to the BSH, which mints.
        bridge.relay_to_parachain(events).await;
        let status = bridge.status().await;
        assert_eq!(
            (status.rx_seq, status.verifier),
            (1, btp_interfaces::VerifierStatus { height: 101, offset: 100, last_height: 101 }),
            "the BMV accepted ICON block 101 and its one message"
        );
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(99 * ICX), locked: 0, refundable: 0 });
        let balance = bridge.client.call(&ink_e2e::alice(), &bridge.bsh_calls.balance_of(bob(), icx_id)).dry_run().await?.return_value();
        assert_eq!(balance, 99 * ICX, "99 wrapped ICX in Bob's parachain account");
        assert_eq!(bridge.backing("ICX").await, 99 * ICX);

        // The parachain BMC emitted the OK response toward ICON (after its Init to ICON).
        let out = bridge.outgoing();
        let ok = out.last().expect("the response");
        assert_eq!((ok.src.clone(), ok.dst.clone(), ok.svc.as_str(), ok.sn), (bridge.para_bmc.clone(), bridge.node.btp.bmc_address(), "nativecoin", 1));
        assert_eq!(response(ok), TransferResponse { code: RC_OK, message: "Transfer Success".into() });

        // Relayed to ICON, it settles Bob's transfer there.
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.holdings(), (0, 99 * ICX, ICX));
        assert_eq!(bridge.node.btp.pending(1), None);
        Ok(())
    })
}

#[test]
fn a_transfer_in_a_block_the_bmv_passed_is_minted_from_a_block_proof() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 100 * ICX, &para_bob()).expect("Bob's transfer on ICON");
        let bsh = bridge.node.btp.bsh;
        bridge.node.produce(vec![Receipt::success(bsh, events)]);
        for _ in 0..3 {
            bridge.node.produce(vec![]);
        }
        // A relay watching for another BMC's messages sends ICON blocks 101..=104 as bare updates.
        let blind = bridge.next_segment("btp://0x501.pra/0x00ff".into()).await;
        assert_eq!((blind.from, blind.to, blind.messages), (101, 104, 0));
        bridge.submit(blind.bytes).await;
        let passed = bridge.status().await;
        assert_eq!((passed.rx_seq, passed.verifier.height, passed.verifier.last_height), (0, 104, 100), "past Bob's block without his transfer");

        // The relay finds message 1 in block 101, behind the BMV, and proves that block against its accumulator.
        let proof = bridge.next_segment(bridge.para_bmc.as_str().to_string()).await;
        assert_eq!((proof.from, proof.to, proof.messages), (101, 101, 1));
        bridge.submit(proof.bytes).await;
        let after = bridge.status().await;
        assert_eq!((after.rx_seq, after.verifier.height, after.verifier.last_height), (1, 104, 101));
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(99 * ICX), locked: 0, refundable: 0 });
        Ok(())
    })
}

#[test]
fn bob_sends_50_wrapped_icx_back_with_a_fee_burned_on_ok() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let to = format!("btp://0x3.icon/{}", icon_bob());
        let sn = bridge.client.call(&ink_e2e::bob(), &bridge.bsh_calls.transfer("ICX".into(), 50 * ICX, to)).submit().await?.return_value().expect("transfer");
        assert_eq!(sn, REQUEST_SN_BASE, "above every number ICON uses");
        bridge.collect();
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(49 * ICX), locked: 50 * ICX, refundable: 0 });
        let request = bridge.outgoing().pop().expect("the request");
        let ServiceMessage::TransferRequest(TransferRequest { to, assets, .. }) = ServiceMessage::decode(&request.payload).unwrap() else {
            panic!("a request")
        };
        assert_eq!((to, assets[0].value), (icon_bob().to_string(), 50 * ICX - ICX / 10), "0.1 ICX fee stays on the parachain");

        let answer = bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.balance(&icon_bob()), 900 * ICX + 49 * ICX + 9 * ICX / 10, "ICON released 49.9 ICX to Bob");
        bridge.relay_to_parachain(answer).await;
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(49 * ICX), locked: 0, refundable: 0 });
        assert_eq!(bridge.backing("ICX").await, 99 * ICX - (50 * ICX - ICX / 10), "49.9 wrapped ICX burned");
        assert_eq!(bridge.node.btp.holdings().1, bridge.backing("ICX").await, "ICON's lock still backs every wrapped ICX");
        assert_eq!(bridge.fees().await, vec![("DOT".into(), 0), ("ICX".into(), ICX / 10)]);
        let pending = bridge.client.call(&ink_e2e::alice(), &bridge.bsh_calls.pending_request(sn)).dry_run().await?.return_value();
        assert_eq!(pending, None);
        Ok(())
    })
}

#[test]
fn the_parachain_coin_travels_to_icon_and_comes_back() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        let to = format!("btp://0x3.icon/{}", icon_bob());
        let before = bridge.client.free_balance(bob()).await?;
        let call = bridge.bsh_calls.transfer_native_coin(to.clone());
        bridge.client.call(&ink_e2e::bob(), &call).value(100 * DOT).submit().await?.return_value().expect("transfer");
        bridge.collect();
        assert!(bridge.client.free_balance(bob()).await? <= before - 100 * DOT);
        assert_eq!(bridge.balance(bob(), "DOT").await, CoinBalance { usable: None, locked: 100 * DOT, refundable: 0 });
        let fee = 100 * DOT / 1_000 + DOT / 100;
        let answer = bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.wrapped_balance("DOT", &icon_bob()), 100 * DOT - fee, "wrapped DOT on ICON");
        bridge.relay_to_parachain(answer).await;
        assert_eq!(bridge.balance(bob(), "DOT").await, CoinBalance { usable: None, locked: 0, refundable: 0 });
        assert_eq!(bridge.backing("DOT").await, 100 * DOT - fee, "held here as backing");
        assert_eq!(bridge.fees().await[0], ("DOT".into(), fee));

        // Back: ICON sends 30 DOT to Bob's parachain account; the BSH pays them out of the backing.
        let request = ServiceMessage::TransferRequest(TransferRequest {
            from: icon_bob().to_string(),
            to: para_bob().account().into(),
            assets: vec![btp_primitives::nativecoin::Asset { coin_name: "DOT".into(), value: 30 * DOT }],
        });
        let message =
            BtpMessage { src: bridge.node.btp.bmc_address(), dst: bridge.para_bmc.clone(), svc: "nativecoin".into(), sn: 9, payload: request.encode() };
        let seq = bridge.node.btp.link_status(&bridge.para_bmc).unwrap().tx_seq + 1;
        let event = EventLog::bmc_message(bridge.node.btp.bmc, bridge.para_bmc.as_str(), seq, message.encode());
        let before = bridge.client.free_balance(bob()).await?;
        bridge.relay_to_parachain(vec![event]).await;
        assert_eq!(bridge.client.free_balance(bob()).await?, before + 30 * DOT);
        assert_eq!(bridge.backing("DOT").await, 70 * DOT - fee);
        assert_eq!(response(bridge.outgoing().last().unwrap()).code, RC_OK);
        Ok(())
    })
}

#[test]
fn a_failing_incoming_request_is_answered_with_an_error_and_mints_nothing() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        // Bob on ICON gets his parachain account wrong: not a 32-byte account.
        let to = BtpAddress::parse(&format!("btp://{PARA}/0x0b0b")).unwrap();
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 100 * ICX, &to).expect("transfer on ICON");
        bridge.relay_to_parachain(events).await;
        let refusal = bridge.outgoing().pop().expect("the response");
        assert_eq!(response(&refusal), TransferResponse { code: RC_ERR, message: "InvalidAddress".into() });
        assert_eq!(bridge.backing("ICX").await, 0, "nothing minted");
        let status = bridge.status().await;
        assert_eq!(status.rx_seq, 1, "the message was delivered and answered, not refused by the BMC");

        // ICON makes the whole 100 ICX refundable, and Bob reclaims it.
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.refundable(&icon_bob()), 100 * ICX);
        bridge.node.btp.reclaim(icon_bob(), 100 * ICX).expect("reclaim on ICON");
        assert_eq!(bridge.node.btp.balance(&icon_bob()), 1_000 * ICX);
        Ok(())
    })
}

#[test]
fn a_refused_outgoing_transfer_is_refunded_without_its_fee_and_reclaimed() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        // ICON refuses: the recipient is not an ICON address.
        let call = bridge.bsh_calls.transfer("ICX".into(), 20 * ICX, "btp://0x3.icon/0xnotanaddress".into());
        bridge.client.call(&ink_e2e::bob(), &call).submit().await?.return_value().expect("transfer");
        bridge.collect();
        let answer = bridge.relay_to_icon();
        bridge.relay_to_parachain(answer).await;
        let amount = 20 * ICX - ICX / 10;
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(79 * ICX), locked: 0, refundable: amount }, "the fee is kept");
        assert_eq!(bridge.fees().await[1], ("ICX".into(), ICX / 10), "it paid for the relays' work");
        let too_much = bridge.client.call(&ink_e2e::bob(), &bridge.bsh_calls.reclaim("ICX".into(), 20 * ICX)).dry_run().await?.return_value();
        assert_eq!(too_much, Err(BshError::Insufficient));
        bridge.client.call(&ink_e2e::bob(), &bridge.bsh_calls.reclaim("ICX".into(), amount)).submit().await?.return_value().expect("reclaim");
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(99 * ICX - ICX / 10), locked: 0, refundable: 0 });
        assert_eq!(bridge.backing("ICX").await, 99 * ICX, "nothing burned: ICON still holds it all");
        Ok(())
    })
}

#[test]
fn fees_are_gathered_to_an_aggregator_on_icon() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let to = format!("btp://0x3.icon/{}", icon_bob());
        bridge.client.call(&ink_e2e::bob(), &bridge.bsh_calls.transfer("ICX".into(), 10 * ICX, to.clone())).submit().await?.return_value().expect("ICX");
        let call = bridge.bsh_calls.transfer_native_coin(to);
        bridge.client.call(&ink_e2e::bob(), &call).value(100 * DOT).submit().await?.return_value().expect("DOT");
        bridge.collect();
        let answer = bridge.relay_to_icon();
        bridge.relay_to_parachain(answer).await;
        let dot_fee = 100 * DOT / 1_000 + DOT / 100;
        assert_eq!(bridge.fees().await, vec![("DOT".into(), dot_fee), ("ICX".into(), ICX / 10)]);

        // Each term's gathering, asked for now by the owner: the BSH sends its fees to the aggregator, fee-free.
        let fa = IconAddress::parse("hx00000000000000000000000000000000000000fa").unwrap();
        let alice = ink_e2e::alice();
        bridge
            .client
            .call(&alice, &bridge.bmc_calls.set_fee_gathering(Some(format!("btp://0x3.icon/{fa}")), 100))
            .submit()
            .await?
            .return_value()
            .expect("aggregator");
        bridge.client.call(&alice, &bridge.bmc_calls.gather_fees()).submit().await?.return_value().expect("gather");
        bridge.collect();
        assert_eq!(bridge.fees().await, vec![("DOT".into(), 0), ("ICX".into(), 0)]);
        let answer = bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.wrapped_balance("DOT", &fa), dot_fee);
        assert_eq!(bridge.node.btp.balance(&fa), ICX / 10);
        bridge.relay_to_parachain(answer).await;
        assert_eq!(bridge.backing("ICX").await, 99 * ICX - 10 * ICX, "the gathered wrapped ICX is burned: ICON paid it out");
        assert_eq!(bridge.fees().await, vec![("DOT".into(), 0), ("ICX".into(), 0)]);
        Ok(())
    })
}

#[test]
fn wrapped_coins_go_to_a_contract_only_if_it_accepts_them() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let icx = bsh_nativecoin::ledger::token_id("ICX");
        let mut ctor = test_service::test_service::TestServiceRef::new(bridge.bmc);
        let receiver = bridge.client.instantiate("test_service", &ink_e2e::alice(), &mut ctor).submit().await.expect("instantiate receiver");
        let call = bridge.bsh_calls.safe_transfer_from(bob(), receiver.account_id, icx, 5 * ICX, vec![]);
        bridge.client.call(&ink_e2e::bob(), &call).submit().await?.return_value().expect("accepted");
        let seen = bridge
            .client
            .call(&ink_e2e::alice(), &receiver.call_builder::<test_service::test_service::TestService>().received())
            .dry_run()
            .await?
            .return_value();
        assert_eq!(seen, vec![test_service::test_service::Received::Tokens { operator: bob(), from: bob(), id: icx, value: 5 * ICX }]);
        let balances = bridge.bsh_calls.balance_of_batch(vec![bob(), receiver.account_id], vec![icx, icx]);
        assert_eq!(bridge.client.call(&ink_e2e::alice(), &balances).dry_run().await?.return_value(), Ok(vec![94 * ICX, 5 * ICX]));

        // The receiver has no batch hook, and the BMC no hook at all: both transfers are refused, nothing moves.
        let batch = bridge.bsh_calls.safe_batch_transfer_from(bob(), receiver.account_id, vec![icx], vec![ICX], vec![]);
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &batch).dry_run().await?.return_value(), Err(BshError::TransferRejected));
        let to_bmc = bridge.bsh_calls.safe_transfer_from(bob(), bridge.bmc, icx, ICX, vec![]);
        assert_eq!(bridge.client.call(&ink_e2e::bob(), &to_bmc).dry_run().await?.return_value(), Err(BshError::TransferRejected));
        let to_person = bridge.bsh_calls.safe_transfer_from(bob(), ink_e2e::account_id(ink_e2e::AccountKeyring::Eve), icx, ICX, vec![]);
        bridge.client.call(&ink_e2e::bob(), &to_person).submit().await?.return_value().expect("an account needs no hook");
        assert_eq!(bridge.balance(bob(), "ICX").await.usable, Some(93 * ICX));
        Ok(())
    })
}

/// ICON's answer to our request cannot be delivered (here: the service's gas is cut). BTP's error reply would carry
/// our request's number, and ICON's service would refund its own request of that number; numbered from 2^64, ours
/// match none of ICON's, and the BMC sends none: it keeps the verified answer, from which the request is settled
/// later. ICON's own request in the same relay message fails as usual and ICON refunds it.
#[test]
fn undeliverable_answer_gets_no_error_reply_and_is_settled_from_the_kept_answer() -> E2EResult<()> {
    run(async {
        let mut bridge = Bridge::new().await;
        bridge.seed().await;
        let alice = ink_e2e::alice();
        let to = format!("btp://0x3.icon/{}", icon_bob());
        let sn = bridge.client.call(&ink_e2e::bob(), &bridge.bsh_calls.transfer("ICX".into(), 10 * ICX, to)).submit().await?.return_value().expect("transfer");
        bridge.collect();
        let mut answer = bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.balance(&icon_bob()), 900 * ICX + 10 * ICX - ICX / 10, "ICON paid Bob out");
        // In the same ICON block: ICON's request 2 (Bob sends 5 ICX more).
        answer.extend(bridge.node.btp.transfer_native_coin(icon_bob(), 5 * ICX, &para_bob()).expect("transfer on ICON"));

        let normal = bridge.client.call(&alice, &bridge.bmc_calls.service_gas()).dry_run().await?.return_value();
        let starved = bmc::bmc::GasLimit { ref_time: 1_000, proof_size: 1_000 };
        bridge.client.call(&alice, &bridge.bmc_calls.set_service_gas(starved)).submit().await?.return_value().expect("gas cut");
        bridge.relay_to_parachain(answer).await;
        let undelivered: Vec<(String, u128, u32, bool)> = events::decoded::<bmc::bmc::AnswerUndelivered, _>(&bridge.seen, &bridge.bmc);
        assert_eq!(undelivered, vec![("nativecoin".to_string(), sn, 40, true)], "the answer is kept");
        let out = bridge.outgoing();
        let [error] = out.as_slice() else { panic!("one error reply: {out:?}") };
        assert_eq!(error.sn, -2, "only ICON's own request hears of a failure");
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(89 * ICX), locked: 10 * ICX, refundable: 0 }, "still waiting");
        bridge.relay_to_icon();
        assert_eq!(bridge.node.btp.refundable(&icon_bob()), 5 * ICX, "ICON refunds its request 2, and nothing else");

        bridge.client.call(&alice, &bridge.bmc_calls.set_service_gas(normal)).submit().await?.return_value().expect("gas back");
        // Anyone settles it from the kept answer, exactly as ICON answered: nobody chooses the outcome.
        let taken = btp_interfaces::MessageCenter::take_undelivered_answer(&mut bridge.bmc_calls, "nativecoin".into(), sn);
        assert_eq!(
            bridge.client.call(&ink_e2e::charlie(), &taken).dry_run().await?.return_value(),
            Err(btp_interfaces::BmcError::Unauthorized),
            "only the service takes it"
        );
        bridge.client.call(&ink_e2e::charlie(), &bridge.bsh_calls.settle_request(sn)).submit().await?.return_value().expect("settled");
        let again = bridge.client.call(&ink_e2e::charlie(), &bridge.bsh_calls.settle_request(sn)).dry_run().await?.return_value();
        assert_eq!(again, Err(BshError::NotExistsRequest), "once");
        assert_eq!(bridge.balance(bob(), "ICX").await, CoinBalance { usable: Some(89 * ICX), locked: 0, refundable: 0 });
        assert_eq!(bridge.backing("ICX").await, bridge.node.btp.holdings().1, "ICON's lock backs every wrapped ICX again");
        Ok(())
    })
}
