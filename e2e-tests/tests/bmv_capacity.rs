//! The BMV under real load, through the BMC's `handle_relay_message` on pallet-contracts (16 pages of memory, a
//! parachain block's gas): a real 408-block relay message, relay messages as long as the BMC takes of chains with
//! ICON mainnet's 22 validators and with 39, each the first message the BMV sees (every validator's key is new
//! to it), and malformed input, which gets the BMV's `DecodeError` rather than a trap.
#![cfg(feature = "e2e-tests")]

use bmc::bmc::{Bmc, BmcRef, Error};
use bmv_icon::bmv_icon::BmvIconRef;
use btp_e2e_tests::{
    bridge::BmcCalls,
    client, run,
    vectors::{self, Relay},
    Client,
};
use btp_primitives::{address::hex_account, bmc::MAX_RELAY_MESSAGE_LEN, rlp::ListBuilder};
use icon_light_client::ErrorCode;
use icon_testnet::{chain::Shape, TestChain, Validator};
use ink_e2e::{AccountKeyring, ContractsBackend};

type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The ICON BMC of the generated chains.
const ICON_BMC: &str = "btp://0x1.icon/cx00000000000000000000000000000000000000b1";

/// A BMC with a BMV for ICON network `network` (validator list `validators`, accumulator from `offset`, whose
/// block id is `anchor`) and a link to the ICON BMC `link`, relayed by Bob.
async fn stand(client: &mut Client, network: &str, validators: Vec<u8>, offset: u64, anchor: [u8; 32], link: &str) -> BmcCalls {
    let alice = ink_e2e::alice();
    let bmc = client.instantiate("bmc", &alice, &mut BmcRef::new("0x501.pra".into())).submit().await.expect("instantiate bmc");
    let mut calls = bmc.call_builder::<Bmc>();
    let bmc_address = format!("btp://0x501.pra/{}", hex_account(bmc.account_id.as_ref()));
    let mut bmv_ctor = BmvIconRef::new(bmc.account_id, bmc_address, network.into(), validators, offset, 0, 0, false, anchor);
    let bmv = client.instantiate("bmv_icon", &alice, &mut bmv_ctor).submit().await.expect("instantiate bmv");
    client.call(&alice, &calls.add_verifier(network.into(), bmv.account_id)).submit().await.expect("call").return_value().expect("verifier");
    client.call(&alice, &calls.add_link(link.into())).submit().await.expect("call").return_value().expect("link");
    let relay = ink_e2e::account_id(AccountKeyring::Bob);
    client.call(&alice, &calls.add_relay(link.into(), relay)).submit().await.expect("call").return_value().expect("relay");
    calls
}

/// Relays `msg` on `link` as Bob; the BMC's answer (a refusal reverts, so it is taken from the dry run).
async fn relay(client: &mut Client, calls: &mut BmcCalls, link: &str, msg: Vec<u8>) -> Result<(), Error> {
    let call = calls.handle_relay_message(link.into(), msg);
    client.call(&ink_e2e::bob(), &call).dry_run().await.expect("dry run").return_value()?;
    client.call(&ink_e2e::bob(), &call).submit().await.expect("submitted").return_value()
}

async fn accumulator_height(client: &mut Client, calls: &mut BmcCalls, link: &str) -> u64 {
    client.call(&ink_e2e::bob(), &calls.get_status(link.into())).dry_run().await.expect("status").return_value().expect("status").verifier.height
}

#[test]
fn bmv_accepts_the_408_update_real_message_in_one_call() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let v = vectors::load("hugobyte_0x995745_h157_564");
        let state = vectors::bmv_state(&v);
        let Relay { prev, msg, .. } = vectors::relay(&v["input"]);
        assert_eq!(msg.len(), 125_675);
        let mut calls = stand(&mut client, &state.network, state.validators, state.mta_offset, state.last_block_hash, &prev).await;
        relay(&mut client, &mut calls, &prev, msg).await.expect("408 block updates in one call");
        assert_eq!(accumulator_height(&mut client, &mut calls, &prev).await, 564);
        Ok(())
    })
}

/// The longest relay message the BMC takes of a mainnet-like chain of `n` validators, as the first message of a
/// fresh BMV: every signer's key is new to it.
fn full_buffer_of(n: u64) -> E2EResult<()> {
    run(async {
        let mut client = client();
        let mut chain = TestChain::with_shape("0x1.icon", Validator::set(1, n), 1000, Shape::MainnetLike);
        let mut calls = stand(&mut client, "0x1.icon", chain.voters_list(), 1000, chain.last().id(), ICON_BMC).await;
        let last = chain.produce_within(1001, MAX_RELAY_MESSAGE_LEN);
        let msg = chain.relay_message(1001, last, &[]);
        let block = chain.relay_message(last, last, &[]).len();
        assert!(msg.len() + block > MAX_RELAY_MESSAGE_LEN, "{} bytes: one more block would not fit", msg.len());
        relay(&mut client, &mut calls, ICON_BMC, msg).await.expect("a full relay message");
        assert_eq!(accumulator_height(&mut client, &mut calls, ICON_BMC).await, last as u64);
        Ok(())
    })
}

#[test]
fn bmv_accepts_a_full_buffer_of_22_validator_blocks() -> E2EResult<()> {
    full_buffer_of(22)
}

#[test]
fn bmv_accepts_a_full_buffer_of_39_validator_blocks() -> E2EResult<()> {
    full_buffer_of(39)
}

#[test]
fn bmv_refuses_a_flat_30000_item_list_with_decode_error() -> E2EResult<()> {
    run(async {
        let mut client = client();
        let chain = TestChain::new("0x1.icon", Validator::set(1, 4), 1000);
        let mut calls = stand(&mut client, "0x1.icon", chain.voters_list(), 1000, chain.last().id(), ICON_BMC).await;
        let mut flat = ListBuilder::new();
        for _ in 0..30_000 {
            flat.uint(1);
        }
        let msg = ListBuilder::new().raw(&flat.finish()).null().raw(&ListBuilder::new().finish()).finish();
        let decode_error = ErrorCode::DecodeError.btp_code();
        assert_eq!(relay(&mut client, &mut calls, ICON_BMC, msg).await, Err(Error::Verifier(decode_error)), "the BMV's code, not VerifierUnavailable");

        // Longer than the BMC takes: refused before the BMV is called, with the BMC's own error.
        let too_long = ListBuilder::new().bytes(&vec![7; MAX_RELAY_MESSAGE_LEN]).finish();
        assert_eq!(relay(&mut client, &mut calls, ICON_BMC, too_long).await, Err(Error::MessageTooLarge));
        assert_eq!(accumulator_height(&mut client, &mut calls, ICON_BMC).await, 1000);
        Ok(())
    })
}
