//! The relay's ICON source against the ICON test chain's JSON-RPC and block monitor: what it builds from the
//! answers is what the light client (the BMV's code) accepts — on a live test chain and on a real ICON block.

mod support;

use btp_primitives::{
    nativecoin::{ServiceMessage, SERVICE},
    BtpMessage, IconAddress,
};
use btp_relay::{
    icon::IconSource,
    lane::{Failure, Limit, Position, Source},
    store::{ScannedBlock, Store},
};
use icon_light_client::{crypto::HostSecp256k1, header::BlockHeader, mta::Mta, validators::ValidatorSet, verifier::Verifier};
use icon_rpc::transaction;
use icon_rpc::{monitor::monitor_url, IconClient};
use icon_testnet::Validator;
use serde_json::json;
use std::sync::Arc;
use support::icon::ICX;

const PARA_BMC: &str = "btp://0x501.pra/0x00aa";

fn source(url: &str, link: &str, destination: &str) -> IconSource {
    source_with(url, link, destination, Arc::new(Store::in_memory("test").unwrap()))
}

fn source_with(url: &str, link: &str, destination: &str, store: Arc<Store>) -> IconSource {
    let bmc = btp_primitives::BtpAddress::parse(link).unwrap();
    IconSource::new(IconClient::new(url).unwrap(), monitor_url(url), IconAddress::parse(bmc.account()).unwrap(), destination.into(), store)
}

/// Bob sends 100 ICX to the parachain; the transaction goes into the next block.
async fn transfer(rpc: &IconClient, icon: &support::icon::IconChain, bob: &Validator, timestamp: u64) {
    let call = json!({"method": "transferNativeCoin", "params": {"_to": "btp://0x501.pra/0x0b0b"}});
    rpc.call("icx_sendTransaction", transaction::build(bob, "0x3", &icon.btp.bsh, Some(100 * ICX), Some(call), timestamp)).await.unwrap();
}

/// A live test chain where Bob's transfer is in block 1 and block 2 is empty.
async fn live_transfer(bob: &Validator) -> (support::icon::IconChain, IconClient) {
    let icon = support::icon::start(0, Some(PARA_BMC), bob, None, None);
    let rpc = IconClient::new(&icon.url).unwrap();
    transfer(&rpc, &icon, bob, 1).await;
    icon.shared.produce_block().await;
    icon.shared.produce_block().await;
    (icon, rpc)
}

#[tokio::test]
async fn a_live_chains_transfer_arrives_as_the_light_client_accepts_it() {
    let bob = Validator::from_seed(1000);
    let (icon, rpc) = live_transfer(&bob).await;

    let mut source = source(&icon.url, &icon.bmc, PARA_BMC);
    let segment = source
        .segment(Position { rx_seq: 0, height: 0, offset: 0, last_height: 0, validators: None }, Limit::blocks(512))
        .await
        .unwrap()
        .expect("blocks 1 and 2");
    assert_eq!((segment.from, segment.to, segment.messages), (1, 1, 1), "the segment ends at the block with the message");
    let genesis = BlockHeader::decode(&rpc.block_header(0).await.unwrap()).unwrap().id;
    assert_eq!(segment.parent, genesis);
    let validators = rpc.data_by_hash(&BlockHeader::decode(&rpc.block_header(0).await.unwrap()).unwrap().next_validators_hash.unwrap()).await.unwrap();
    let mut verifier = Verifier {
        network: "0x3.icon".into(),
        validators: ValidatorSet::decode(&validators, &HostSecp256k1).unwrap(),
        mta: Mta::new(0, 0, 0, false),
        last_block_hash: Some(genesis),
        last_height: 0,
    };
    let outcome = verifier.handle_relay_message(PARA_BMC, &icon.bmc, 0, &segment.bytes, &HostSecp256k1).unwrap();
    let request = BtpMessage::decode(outcome.messages[0]).unwrap();
    assert_eq!(request.svc, SERVICE);
    let ServiceMessage::TransferRequest(r) = ServiceMessage::decode(&request.payload).unwrap() else { panic!("a transfer request") };
    assert_eq!((r.from, r.to, r.assets[0].value), (bob.address.to_string(), "0x0b0b".to_string(), 99 * ICX));

    // Delivered already (rx_seq 1): the block is only an update, and the segment runs on to the last block.
    let after = source.segment(Position { rx_seq: 1, height: 0, offset: 0, last_height: 0, validators: None }, Limit::blocks(512)).await.unwrap().unwrap();
    assert_eq!((after.to, after.messages), (2, 0));
    assert!(
        source.segment(Position { rx_seq: 1, height: 2, offset: 0, last_height: 1, validators: None }, Limit::blocks(512)).await.unwrap().is_none(),
        "nothing past the last block"
    );
}

/// A block holding more messages than a segment may carry: the first ones come with its block update, the rest
/// with a proof of the block, and the light client takes each part.
#[tokio::test]
async fn a_blocks_messages_arrive_in_parts_when_a_segment_takes_fewer() {
    let bob = Validator::from_seed(1000);
    let icon = support::icon::start(0, Some(PARA_BMC), &bob, None, None);
    let rpc = IconClient::new(&icon.url).unwrap();
    for timestamp in 1..=3 {
        transfer(&rpc, &icon, &bob, timestamp).await;
    }
    icon.shared.produce_block().await;
    let genesis_bytes = rpc.block_header(0).await.unwrap();
    let genesis = BlockHeader::decode(&genesis_bytes).unwrap();
    let validators = rpc.data_by_hash(&genesis.next_validators_hash.unwrap()).await.unwrap();
    let mut verifier = Verifier {
        network: "0x3.icon".into(),
        validators: ValidatorSet::decode(&validators, &HostSecp256k1).unwrap(),
        mta: Mta::new(0, 0, 0, false),
        last_block_hash: Some(genesis.id),
        last_height: 0,
    };
    let mut source = source(&icon.url, &icon.bmc, PARA_BMC);
    let two = Limit { blocks: 512, messages: 2 };

    let first = source.segment(Position { rx_seq: 0, height: 0, offset: 0, last_height: 0, validators: None }, two).await.unwrap().expect("block 1");
    assert_eq!((first.from, first.to, first.messages), (1, 1, 2));
    let outcome = verifier.handle_relay_message(PARA_BMC, &icon.bmc, 0, &first.bytes, &HostSecp256k1).unwrap();
    assert_eq!((outcome.blocks, outcome.messages.len()), (1, 2));

    // The BMV stands on block 1 with two of its messages: the third comes with a proof of block 1.
    let at = Position { rx_seq: 2, height: 1, offset: 0, last_height: 1, validators: None };
    let rest = source.segment(at, two).await.unwrap().expect("the rest of block 1");
    assert_eq!((rest.from, rest.to, rest.messages), (1, 1, 1));
    let outcome = verifier.handle_relay_message(PARA_BMC, &icon.bmc, 2, &rest.bytes, &HostSecp256k1).unwrap();
    assert_eq!((outcome.blocks, outcome.messages.len()), (0, 1));
    assert!(source.segment(Position { rx_seq: 3, ..at }, two).await.unwrap().is_none(), "all three delivered");
}

#[tokio::test]
async fn a_message_in_a_block_the_bmv_passed_arrives_with_a_block_proof() {
    let bob = Validator::from_seed(1000);
    let (icon, rpc) = live_transfer(&bob).await;
    let header = |h: u64| {
        let rpc = &rpc;
        async move { rpc.block_header(h).await.unwrap() }
    };
    let (genesis, first, second) = (header(0).await, header(1).await, header(2).await);
    let id = |bytes: &[u8]| BlockHeader::decode(bytes).unwrap().id;
    let validators = rpc.data_by_hash(&BlockHeader::decode(&genesis).unwrap().next_validators_hash.unwrap()).await.unwrap();
    // The BMV took blocks 1 and 2 as updates without the message (as a relay that saw none would send them).
    let mut mta = Mta::new(0, 0, 0, false);
    mta.add(id(&first)).unwrap();
    mta.add(id(&second)).unwrap();
    let mut verifier = Verifier {
        network: "0x3.icon".into(),
        validators: ValidatorSet::decode(&validators, &HostSecp256k1).unwrap(),
        mta,
        last_block_hash: Some(id(&second)),
        last_height: 0,
    };

    // A fresh store: the source scans blocks 1 and 2 to find message 1, then proves block 1 against height 2.
    let at = Position { rx_seq: 0, height: 2, offset: 0, last_height: 0, validators: None };
    let mut source = source(&icon.url, &icon.bmc, PARA_BMC);
    let segment = source.segment(at, Limit::blocks(512)).await.unwrap().expect("the block proof");
    assert_eq!((segment.from, segment.to, segment.messages, segment.parent), (1, 1, 1, id(&second)));
    let outcome = verifier.handle_relay_message(PARA_BMC, &icon.bmc, 0, &segment.bytes, &HostSecp256k1).unwrap();
    assert_eq!((outcome.blocks, outcome.messages.len(), outcome.proven_block), (0, 1, Some((1, id(&first)))));

    // Delivered (rx_seq 1, last message block 1): nothing behind any more, and nothing new.
    let at = Position { rx_seq: 1, height: 2, offset: 0, last_height: 1, validators: None };
    assert!(source.segment(at, Limit::blocks(512)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_message_the_monitor_skipped_is_found_when_a_later_one_shows() {
    let bob = Validator::from_seed(1000);
    let (icon, rpc) = live_transfer(&bob).await;
    transfer(&rpc, &icon, &bob, 2).await;
    icon.shared.produce_block().await;
    let id = |bytes: Vec<u8>| BlockHeader::decode(&bytes).unwrap().id;
    // What a monitor that left block 1's message out made the store believe; the BMV has taken blocks 1 and 2.
    let store = Arc::new(Store::in_memory("test").unwrap());
    store
        .record(&[
            ScannedBlock { height: 1, id: id(rpc.block_header(1).await.unwrap()), messages: vec![] },
            ScannedBlock { height: 2, id: id(rpc.block_header(2).await.unwrap()), messages: vec![] },
        ])
        .unwrap();
    let mut source = source_with(&icon.url, &icon.bmc, PARA_BMC, store.clone());
    let at = Position { rx_seq: 0, height: 2, offset: 0, last_height: 0, validators: None };
    // Block 3 holds message 2, so message 1 was skipped: nothing is built on the store, which starts over …
    match source.segment(at, Limit::blocks(512)).await {
        Err(Failure::Transport(e)) => assert!(e.contains("message 2, but message 1 was never found"), "{e}"),
        other => panic!("not the skipped message: {other:?}"),
    }
    assert_eq!(store.scanned().unwrap(), None);
    // … and the rescan finds message 1 behind the BMV.
    let segment = source.segment(at, Limit::blocks(512)).await.unwrap().expect("the block proof");
    assert_eq!((segment.from, segment.to, segment.messages), (1, 1, 1));
}

#[tokio::test]
async fn a_real_icon_block_is_rebuilt_from_rpc_answers() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/libs/icon-vectors/data/icon/icondao_h21172_scenario4.json");
    let vector: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let recorded = hex::decode(text(&vector["input"]["relay_message"])).unwrap();
    let url = support::icon::replay(&[recorded]);
    let (prev, bmc, state) = (text(&vector["input"]["prev"]), text(&vector["input"]["bmc"]), &vector["state"]);

    let segment = source(&url, &prev, &bmc)
        .segment(Position { rx_seq: 0, height: 21171, offset: 21171, last_height: 21171, validators: None }, Limit::blocks(512))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((segment.from, segment.to, segment.messages), (21172, 21172, 1));
    let last_block_hash: [u8; 32] = hex::decode(text(&state["last_block_hash"])).unwrap().try_into().unwrap();
    assert_eq!(segment.parent, last_block_hash, "from the header's parent: the endpoint has no block 21171");
    let mut verifier = Verifier {
        network: "0x3.icon".into(),
        validators: ValidatorSet::decode(&hex::decode(text(&state["validators"])).unwrap(), &HostSecp256k1).unwrap(),
        mta: Mta::new(21171, 8, 8, true),
        last_block_hash: Some(last_block_hash),
        last_height: 21171,
    };
    let outcome = verifier.handle_relay_message(&bmc, &prev, 0, &segment.bytes, &HostSecp256k1).unwrap();
    assert_eq!(hex::encode(outcome.messages[0]), text(&vector["expect"]["btp_messages"][0]));
}
