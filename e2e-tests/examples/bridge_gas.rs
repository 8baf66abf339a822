//! Gas benchmark of the whole bridge on pallet-contracts: the weight (`ref_time`, `proof_size`) of the calls a
//! transfer makes on the parachain, with the BMV, BMC and native-coin BSH working together, and every contract's
//! Wasm size.
//!
//! `scripts/build-contracts.sh`, then `cargo run -p btp-e2e-tests --features e2e-tests --example bridge_gas`

use btp_e2e_tests::bridge::{bob, icon_bob, para_bob, Bridge, DOT, ICX};
use ink_e2e::ContractsBackend;

fn print(what: &str, (ref_time, proof_size): (u64, u64)) {
    println!("BENCH {what}: ref_time {ref_time} proof_size {proof_size}");
}

fn main() {
    for wasm in btp_e2e_tests::release_contracts() {
        let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
        println!("BENCH {} (release): {size} bytes", wasm.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    }
    let runtime = ink_e2e::tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    runtime.block_on(async {
        let mut bridge = Bridge::new().await;

        // ICON → parachain: one ICON block, one transfer request; the BMV verifies, the BSH mints and answers.
        let events = bridge.node.btp.transfer_native_coin(icon_bob(), 100 * ICX, &para_bob()).expect("transfer on ICON");
        print("relay message, 1 block, 1 transfer request (verify + mint + response)", bridge.relay_to_parachain(events).await);
        bridge.relay_to_icon();

        // Ten requests in one block: what each further message adds.
        let events = requests(&mut bridge, 1);
        let one = bridge.relay_to_parachain(events).await;
        bridge.relay_to_icon();
        let events = requests(&mut bridge, 10);
        let ten = bridge.relay_to_parachain(events).await;
        print("relay message, 1 block, 10 transfer requests", ten);
        bridge.relay_to_icon();
        println!("BENCH marginal per delivered transfer: ref_time {} proof_size {}", (ten.0 - one.0) / 9, (ten.1 - one.1) / 9);

        // Parachain → ICON: the user's calls, then the response that settles them.
        let to = format!("btp://0x3.icon/{}", icon_bob());
        let call = bridge.bsh_calls.transfer("ICX".into(), 50 * ICX, to.clone());
        let result = bridge.client.call(&ink_e2e::bob(), &call).submit().await.expect("transfer");
        print("transfer (wrapped ICX: lock + BMC send_message)", weight(&result.dry_run.exec_result.gas_consumed));
        let call = bridge.bsh_calls.transfer_native_coin(to);
        let result = bridge.client.call(&ink_e2e::bob(), &call).value(100 * DOT).submit().await.expect("transfer_native_coin");
        print("transfer_native_coin (lock + BMC send_message)", weight(&result.dry_run.exec_result.gas_consumed));
        bridge.collect();
        let answer = bridge.relay_to_icon();
        print("relay message, 1 block, 2 responses (verify + settle + burn)", bridge.relay_to_parachain(answer).await);
        assert_eq!(bridge.balance(bob(), "ICX").await.locked, 0, "settled");

        // The most requests one relay message carries within a parachain block's budget (the sandbox's gas
        // limit): found by dry runs on fresh bridges, the largest count that still goes through, and what stops
        // the next one (the relay message's length or the block's gas).
        let (mut fits, mut fails, mut why) = (1usize, 256usize, String::from("not tried"));
        while fails - fits > 1 {
            let n = (fits + fails) / 2;
            let mut fresh = Bridge::new().await;
            let events = requests(&mut fresh, n);
            match fresh.try_relay_to_parachain(events).await {
                Ok(_) => fits = n,
                Err(e) => (fails, why) = (n, e),
            }
        }
        println!("BENCH max transfers per relay message: {fits} ({fails} fail: {why})");
    });
}

/// `n` transfer requests of Bob's on ICON toward the parachain, in one ICON transaction's events.
fn requests(bridge: &mut Bridge, n: usize) -> Vec<icon_testnet::receipt::EventLog> {
    (0..n).flat_map(|_| bridge.node.btp.transfer_native_coin(icon_bob(), 2 * ICX, &para_bob()).expect("transfer on ICON")).collect()
}

fn weight(w: &ink_sandbox::Weight) -> (u64, u64) {
    (w.ref_time(), w.proof_size())
}
