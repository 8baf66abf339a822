//! BMC + BMV on pallet-contracts with the ICON test chain as ICON: a block signed by ICON validators carries a
//! transfer request and a BMC-internal message; a registered relay submits it to the BMC, which has the BMV
//! verify it across contracts and handles what it proves.
#![cfg(feature = "e2e-tests")]

use bmc::bmc::{Bmc, BmcRef, Error};
use bmv_icon::bmv_icon::BmvIconRef;
use btp_e2e_tests::{client, run};
use btp_interfaces::VerifierStatus;
use btp_primitives::{address::hex_account, bmc::BmcMessage, BtpAddress, BtpMessage, IconAddress};
use icon_testnet::{
    btp::IconBtp,
    chain::ReceiptRef,
    receipt::{EventLog, Receipt},
    TestChain, Validator,
};
use ink_e2e::{AccountKeyring, ContractsBackend};

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;
const ICX: u128 = 1_000_000_000_000_000_000;

#[test]
fn a_relay_message_from_icon_is_verified_and_handled() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let mut bmc_ctor = BmcRef::new("0x501.pra".into());
        let bmc = client.instantiate("bmc", &ink_e2e::alice(), &mut bmc_ctor).submit().await.expect("instantiate bmc");
        let mut calls = bmc.call_builder::<Bmc>();
        let bmc_address = format!("btp://0x501.pra/{}", hex_account(bmc.account_id.as_ref()));

        // ICON: a chain from block 100 and its BMC and native-coin service.
        let mut chain = TestChain::new("0x3.icon", Validator::set(1, 4), 100);
        let icon_bmc = IconAddress::parse("cx00000000000000000000000000000000000000b1").unwrap();
        let mut icon = IconBtp::new("0x3.icon", icon_bmc, IconAddress::parse("cx00000000000000000000000000000000000000b2").unwrap(), 0, ICX);
        let para_bmc = BtpAddress::parse(&bmc_address).unwrap();
        icon.add_link(para_bmc.clone());
        let bob = Validator::from_seed(1000).address;
        icon.mint(bob, 1000 * ICX);
        let icon_link = icon.bmc_address().as_str().to_string();

        let mut bmv_ctor = BmvIconRef::new(bmc.account_id, bmc_address.clone(), "0x3.icon".into(), chain.voters_list(), 100, 0, 0, false, chain.last().id());
        let bmv = client.instantiate("bmv_icon", &ink_e2e::alice(), &mut bmv_ctor).submit().await.expect("instantiate bmv");
        client.call(&ink_e2e::alice(), &calls.add_verifier("0x3.icon".into(), bmv.account_id)).submit().await?.return_value().expect("verifier");
        client.call(&ink_e2e::alice(), &calls.add_link(icon_link.clone())).submit().await?.return_value().expect("link");
        let relay = ink_e2e::account_id(AccountKeyring::Bob);
        client.call(&ink_e2e::alice(), &calls.add_relay(icon_link.clone(), relay)).submit().await?.return_value().expect("relay");

        // Block 101: Bob's transfer toward the parachain (Message seq 1) and ICON's Link announcement (seq 2).
        let to = BtpAddress::parse("btp://0x501.pra/0x0b0b").unwrap();
        let mut events = icon.transfer_native_coin(bob, 100 * ICX, &to).expect("transfer");
        let hmny = BtpAddress::parse("btp://0x7.hmny/0x03").unwrap();
        let announce =
            BtpMessage { src: icon.bmc_address(), dst: para_bmc.clone(), svc: "bmc".into(), sn: 0, payload: BmcMessage::Link { link: hmny.clone() }.encode() };
        events.push(EventLog::bmc_message(icon_bmc, &bmc_address, 2, announce.encode()));
        chain.produce(vec![Receipt::success(icon.bsh, events)]);
        let msg = chain.relay_message(101, 101, &[ReceiptRef { index: 0, events: vec![1, 2] }]);

        // Only the link's relay may submit.
        let stranger = client.call(&ink_e2e::charlie(), &calls.handle_relay_message(icon_link.clone(), msg.clone())).dry_run().await?.return_value();
        assert_eq!(stranger, Err(Error::Unauthorized));
        client.call(&ink_e2e::bob(), &calls.handle_relay_message(icon_link.clone(), msg.clone())).submit().await?.return_value().expect("handled");

        let status = client.call(&ink_e2e::bob(), &calls.get_status(icon_link.clone())).dry_run().await?.return_value().expect("status");
        assert_eq!(status.rx_seq, 2, "both messages count");
        assert_eq!(status.tx_seq, 2, "Init, then the error reply: no nativecoin service is registered");
        assert_eq!(status.verifier, VerifierStatus { height: 101, offset: 100, last_height: 101 });
        assert_eq!((status.relays[0].block_count, status.relays[0].msg_count), (1, 2));
        let links = client.call(&ink_e2e::bob(), &calls.links()).dry_run().await?.return_value();
        assert_eq!(links[0].reachable, vec![hmny.as_str().to_string()], "the Link announcement was applied");

        // The same block again: the BMV refuses it and the BMC reverts with the BMV's code (25 + 9).
        let replay = client.call(&ink_e2e::bob(), &calls.handle_relay_message(icon_link, msg)).dry_run().await?.return_value();
        assert_eq!(replay, Err(Error::Verifier(34)));
        Ok(())
    })
}
