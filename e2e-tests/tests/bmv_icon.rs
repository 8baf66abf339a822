//! The BMV contract on pallet-contracts verifies real ICON data as the light client does on the host: SHA3 in
//! Wasm, `ecdsa_recover` as the runtime's host function, k256 decompression in Wasm.
#![cfg(feature = "e2e-tests")]

use btp_e2e_tests::{
    client, deploy_bmv, run,
    vectors::{self, Relay},
};
use btp_interfaces::{Verifier as _, VerifierStatus};
use btp_primitives::BtpMessage;
use ink_e2e::ContractsBackend;

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

#[test]
fn real_icon_block_delivers_its_btp_message() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let v = vectors::load("icondao_h21172_scenario4");
        let Relay { bmc, prev, seq, msg } = vectors::relay(&v["input"]);
        let mut bmv = deploy_bmv(&mut client, &v, bmc.clone()).await;

        let result = client.call(&ink_e2e::alice(), &bmv.handle_relay_message(bmc.clone(), prev.clone(), seq, msg.clone())).submit().await?;
        let spans = result.return_value().expect("accepted").messages;
        let messages: Vec<&[u8]> = spans.iter().map(|span| span.slice(&msg).expect("a part of the relay message")).collect();
        let expected: Vec<String> = v["expect"]["btp_messages"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect();
        assert_eq!(messages.iter().map(hex::encode).collect::<Vec<_>>(), expected);
        let decoded = BtpMessage::decode(messages[0]).expect("BTP message");
        assert_eq!(decoded.src.as_str(), "btp://0x3.icon/cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a");
        assert_eq!(decoded.dst.as_str(), bmc);
        assert_eq!((decoded.svc.as_str(), decoded.sn), ("Coin/WrappedCoin", 1));

        let status = client.call(&ink_e2e::bob(), &bmv.status()).dry_run().await?.return_value();
        assert_eq!(status, Ok(VerifierStatus { height: 21172, offset: 21171, last_height: 21172 }));
        // The same block again is already accumulated.
        let replay = client.call(&ink_e2e::alice(), &bmv.handle_relay_message(bmc, prev, 1, msg)).dry_run().await?.return_value();
        assert_eq!(replay.map_err(|e| vectors::error_name(&e)), Err("InvalidBlockUpdateHeightLower".to_string()));
        Ok(())
    })
}

#[test]
fn tampered_icon_data_is_rejected_with_icons_codes() -> E2EResult<()> {
    run(async {
        let mut client = client();
        for name in [
            "icondao_h21172_scenario6",
            "icondao_h21172_scenario7",
            "icondao_h21172_scenario8",
            "icondao_h21172_scenario14",
            "icondao_h21172_derived_sig_r_byte_flipped",
            "icondao_h21172_derived_votes_round_1",
            "icondao_h21172_derived_receipt_proof_node_flipped",
            "icondao_h21172_derived_event_proof_node_flipped",
            "icondao_h21172_derived_seq_lower",
        ] {
            let v = vectors::load(name);
            let Relay { bmc, prev, seq, msg } = vectors::relay(&v["input"]);
            let mut bmv = deploy_bmv(&mut client, &v, bmc.clone()).await;
            let result = client.call(&ink_e2e::alice(), &bmv.handle_relay_message(bmc, prev, seq, msg)).dry_run().await?.return_value();
            let error = vectors::error_name(&result.expect_err(name));
            let allowed = vectors::allowed_errors(&v["expect"]);
            assert!(allowed.contains(&error), "{name}: got {error}, expected one of {allowed:?}");
            let status = client.call(&ink_e2e::bob(), &bmv.status()).dry_run().await?.return_value().expect("status");
            assert_eq!(status.height, vectors::bmv_state(&v).mta_offset, "{name}: a rejected message changes nothing");
        }
        Ok(())
    })
}

#[test]
fn a_relay_sequence_moves_the_accumulator_step_by_step() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let v = vectors::load("hugobyte_0x995745_derived_split_sequence");
        let steps = v["steps"].as_array().expect("steps");
        let mut bmv = deploy_bmv(&mut client, &v, vectors::text(&steps[0]["input"], "bmc")).await;
        for (i, step) in steps.iter().enumerate() {
            let Relay { bmc, prev, seq, msg } = vectors::relay(&step["input"]);
            let call = bmv.handle_relay_message(bmc, prev, seq, msg);
            let expect = &step["expect"];
            let before = client.call(&ink_e2e::bob(), &bmv.status()).dry_run().await?.return_value().expect("status");
            if expect["result"] == "accept" {
                let messages = client.call(&ink_e2e::alice(), &call).submit().await?.return_value().expect("accepted").messages;
                assert!(messages.is_empty(), "step {i}: these blocks carry no BTP messages");
                let after = client.call(&ink_e2e::bob(), &bmv.status()).dry_run().await?.return_value().expect("status");
                assert_eq!(after.height, expect["mta_height"].as_u64().unwrap(), "step {i}");
                assert_eq!(after.offset, 156, "step {i}: no pruning with root_size 0");
            } else {
                let error = client.call(&ink_e2e::alice(), &call).dry_run().await?.return_value().expect_err("rejected");
                assert!(vectors::allowed_errors(expect).contains(&vectors::error_name(&error)), "step {i}: {error:?}");
                let after = client.call(&ink_e2e::bob(), &bmv.status()).dry_run().await?.return_value().expect("status");
                assert_eq!(after, before, "step {i}: a rejected step changes nothing");
            }
        }
        Ok(())
    })
}
