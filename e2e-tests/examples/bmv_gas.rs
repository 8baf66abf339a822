//! Gas benchmark of the BMV contract on pallet-contracts: prints the weight (`ref_time`, `proof_size`) that
//! `handle_relay_message` uses for real ICON relay messages, beside the work in each (signatures recovered and
//! SHA3 hashes), and the BMV's Wasm size.
//!
//! `scripts/build-contracts.sh`, then `cargo run -p btp-e2e-tests --features e2e-tests --example bmv_gas`

use btp_e2e_tests::vectors::{self, Relay};
use icon_light_client::{relay::RelayMessage, votes::CommitVotes};
use ink_e2e::ContractsBackend;

/// What a message makes the BMV do, counted on the host from the message itself.
fn work(msg: &[u8]) -> String {
    let m = RelayMessage::decode(msg).expect("relay message");
    let votes: usize = m.block_updates.iter().map(|u| CommitVotes::decode(u.votes.expect("votes")).expect("votes").items.len()).sum();
    let mpt_nodes: usize = m.receipt_proofs.iter().map(|r| r.proof.len() + r.event_proofs.iter().map(|e| e.proof.len()).sum::<usize>()).sum();
    let headers = m.block_updates.len() + usize::from(m.block_proof.is_some());
    format!(
        "{} bytes, {headers} headers, {votes} signatures; SHA3: {headers} block ids + {votes} vote digests + {mpt_nodes} MPT nodes + ~{} MTA nodes + 1 key hash per distinct signer",
        msg.len(),
        m.block_updates.len()
    )
}

fn main() {
    let contracts = btp_e2e_tests::release_contracts();
    for wasm in contracts.iter().filter(|w| w.to_string_lossy().contains("bmv_icon")) {
        println!("BENCH bmv_icon.wasm (release): {} bytes", std::fs::metadata(wasm).map(|m| m.len()).unwrap_or(0));
    }
    let mut client = btp_e2e_tests::Client::new(contracts);
    let runtime = ink_e2e::tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    runtime.block_on(async {
        let cases: [(&str, Option<usize>); 3] =
            [("icondao_h21172_scenario4", None), ("hugobyte_0x995745_derived_split_sequence", Some(0)), ("hugobyte_0x995745_derived_split_sequence", Some(1))];
        for (name, step) in cases {
            let v = vectors::load(name);
            let bmc_address = vectors::text(if step.is_some() { &v["steps"][0]["input"] } else { &v["input"] }, "bmc");
            let mut bmv = btp_e2e_tests::deploy_bmv(&mut client, &v, bmc_address).await;
            // Earlier steps of a sequence are applied first; the figure is for the named step.
            let steps: Vec<_> = match step {
                None => vec![v["input"].clone()],
                Some(last) => v["steps"].as_array().expect("steps")[..=last].iter().map(|s| s["input"].clone()).collect(),
            };
            for (i, input) in steps.iter().enumerate() {
                let Relay { bmc, prev, seq, msg } = vectors::relay(input);
                let call = bmv.handle_relay_message(bmc, prev, seq, msg.clone());
                if i + 1 < steps.len() {
                    client.call(&ink_e2e::alice(), &call).submit().await.expect("earlier step");
                    continue;
                }
                let result = client.call(&ink_e2e::alice(), &call).submit().await.expect("measured step");
                let gas = result.dry_run.exec_result.gas_consumed;
                assert!(result.return_value().is_ok(), "{name} accepted");
                let label = step.map_or(String::new(), |s| format!(" step {s}"));
                println!("BENCH handle_relay_message {name}{label}: ref_time {} proof_size {} | {}", gas.ref_time(), gas.proof_size(), work(&msg));
            }
        }
    });
}
