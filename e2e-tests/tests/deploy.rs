//! Every contract uploads and instantiates on pallet-contracts and answers a call.
#![cfg(feature = "e2e-tests")]

use bmc::bmc::{Bmc, BmcRef};
use bmv_icon::bmv_icon::{BmvIcon, BmvIconRef};
use bsh_nativecoin::bsh_nativecoin::{BshNativecoin, BshNativecoinRef};
use btp_e2e_tests::{client, run, vectors};
use ink_e2e::ContractsBackend;

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

#[test]
fn all_contracts_instantiate_and_answer() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let mut bmc_ctor = BmcRef::new("0x501.pra".into());
        let bmc = client.instantiate("bmc", &ink_e2e::alice(), &mut bmc_ctor).submit().await.expect("instantiate bmc");
        let bmc_address = client.call(&ink_e2e::alice(), &bmc.call_builder::<Bmc>().btp_address()).dry_run().await?;
        let bmc_btp = format!("btp://0x501.pra/{}", btp_primitives::address::hex_account(bmc.account_id.as_ref()));
        assert_eq!(bmc_address.return_value(), bmc_btp);

        let state = vectors::bmv_state(&vectors::load("icondao_h21172_scenario4"));
        let mut bmv_ctor = BmvIconRef::new(bmc.account_id, bmc_btp.clone(), state.network, state.validators, 21171, 8, 8, true, state.last_block_hash);
        let bmv = client.instantiate("bmv_icon", &ink_e2e::alice(), &mut bmv_ctor).submit().await.expect("instantiate bmv");
        let network = client.call(&ink_e2e::bob(), &bmv.call_builder::<BmvIcon>().network()).dry_run().await?;
        assert_eq!(network.return_value(), ("0x3.icon".to_string(), bmc.account_id, bmc_btp));

        // The BMC reports its link with the BMV's status, asked across contracts.
        let icon = "btp://0x3.icon/cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a".to_string();
        let mut bmc_calls = bmc.call_builder::<Bmc>();
        client.call(&ink_e2e::alice(), &bmc_calls.add_verifier("0x3.icon".into(), bmv.account_id)).submit().await?.return_value().expect("verifier");
        client.call(&ink_e2e::alice(), &bmc_calls.add_link(icon.clone())).submit().await?.return_value().expect("link");
        let status = client.call(&ink_e2e::bob(), &bmc_calls.get_status(icon)).dry_run().await?.return_value().expect("status");
        assert_eq!(
            (status.rx_seq, status.tx_seq, status.verifier),
            (0, 1, btp_interfaces::VerifierStatus { height: 21171, offset: 21171, last_height: 21171 }),
            "tx_seq 1: the Init message"
        );

        let mut bsh_ctor = BshNativecoinRef::new(bmc.account_id, "0x501.pra".into(), "DOT".into(), 10, 0);
        let bsh = client.instantiate("bsh_nativecoin", &ink_e2e::alice(), &mut bsh_ctor).submit().await.expect("instantiate bsh");
        let coins = client.call(&ink_e2e::bob(), &bsh.call_builder::<BshNativecoin>().coin_names()).dry_run().await?;
        assert_eq!(coins.return_value(), vec!["DOT".to_string()]);
        Ok(())
    })
}
