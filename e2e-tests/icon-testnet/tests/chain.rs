//! The light client accepts what the stand-in produces, and rejects each negative variant with the right code.

use btp_primitives::{rlp::ListBuilder, BtpAddress, BtpMessage};
use icon_light_client::{
    crypto::HostSecp256k1,
    mta::Mta,
    relay::{BlockProof, BlockUpdate, ReceivedRelayMessage, RelayMessage},
    validators::ValidatorSet,
    verifier::{Recorder, Verifier},
    ErrorCode,
};
use icon_testnet::{
    chain::{sign_votes, ReceiptRef, Shape},
    receipt::{EventLog, Receipt},
    TestChain, Validator,
};

const NETWORK: &str = "0x3.icon";
const BMC: &str = "btp://0x501.pra/0x00000000000000000000000000000000000000000000000000000000000000aa";
const PREV: &str = "btp://0x3.icon/cx0000000000000000000000000000000000000001";

fn icon_bmc() -> btp_primitives::IconAddress {
    btp_primitives::IconAddress::parse(&PREV[15..]).unwrap()
}

/// The BMV's state for a chain: deployed at the anchor, with the voters of the next block.
fn verifier_for(chain: &TestChain) -> Verifier {
    Verifier {
        network: NETWORK.into(),
        validators: ValidatorSet::decode(&chain.voters_list(), &HostSecp256k1).unwrap(),
        mta: Mta::new(chain.offset() as u64, 0, 4, true),
        last_block_hash: Some(chain.last().id()),
        last_height: chain.offset() as u64,
    }
}

fn btp_message(sn: i128) -> Vec<u8> {
    BtpMessage { src: BtpAddress::parse(PREV).unwrap(), dst: BtpAddress::parse(BMC).unwrap(), svc: "nativecoin".into(), sn, payload: vec![sn as u8] }.encode()
}

#[test]
fn fifty_blocks_with_two_validator_changes_verify() {
    let mut chain = TestChain::new(NETWORK, Validator::set(1, 4), 1000);
    let mut verifier = verifier_for(&chain);
    chain.produce_empty(19);
    chain.change_validators(Validator::set(10, 7));
    chain.produce_empty(16);
    chain.change_validators(Validator::set(30, 3));
    chain.produce_empty(14);
    let receipt = Receipt::success(
        icon_bmc(),
        vec![
            EventLog::bmc_message(icon_bmc(), BMC, 1, btp_message(1)),
            EventLog::bmc_message(icon_bmc(), "btp://0x7.eth/0x01", 9, btp_message(9)),
            EventLog::bmc_message(icon_bmc(), BMC, 2, btp_message(2)),
        ],
    );
    chain.produce(vec![receipt]);
    assert_eq!(chain.height(), 1050);

    let mut changes = Vec::new();
    for from in (1001..=1050).step_by(10) {
        let to = from + 9;
        let refs = if to == 1050 { vec![ReceiptRef { index: 0, events: vec![0, 1, 2] }] } else { vec![] };
        let mut recorder = Recorder::default();
        let msg = chain.relay_message(from, to, &refs);
        let outcome = verifier.handle_relay_message_with(BMC, PREV, 0, &msg, &HostSecp256k1, &mut recorder).unwrap();
        changes.extend(recorder.blocks.iter().filter(|b| b.block.new_validators.is_some()).map(|b| b.block.height));
        if to == 1050 {
            // The message to another BMC is passed over.
            assert_eq!(outcome.messages, vec![&btp_message(1)[..], &btp_message(2)[..]]);
        }
    }
    assert_eq!(changes, vec![1020, 1036]);
    assert_eq!(verifier.mta.height(), 1050);
    assert_eq!(verifier.validators.raw(), chain.voters_list());
    assert_eq!(verifier.last_height, 1050);
}

#[test]
fn block_proofs_reach_accumulated_blocks() {
    let mut chain = TestChain::new(NETWORK, Validator::set(1, 4), 0);
    let mut verifier = verifier_for(&chain);
    chain.produce_empty(5);
    chain.produce(vec![Receipt::success(icon_bmc(), vec![EventLog::bmc_message(icon_bmc(), BMC, 1, btp_message(1))])]);
    chain.produce_empty(10);
    verifier.handle_relay_message(BMC, PREV, 0, &chain.relay_message(1, 16, &[]), &HostSecp256k1).unwrap();
    let events = [ReceiptRef { index: 0, events: vec![0] }];
    let msg = chain.block_proof_message(6, 16, &events);
    let outcome = verifier.clone().handle_relay_message(BMC, PREV, 0, &msg, &HostSecp256k1).unwrap();
    assert_eq!(outcome.messages, vec![&btp_message(1)[..]]);
    // A witness from a relay that knows 4 more blocks than the BMV is accepted (newer-witness rule).
    chain.produce_empty(4);
    let msg = chain.block_proof_message(6, 20, &events);
    let outcome = verifier.clone().handle_relay_message(BMC, PREV, 0, &msg, &HostSecp256k1).unwrap();
    assert_eq!(outcome.messages.len(), 1);
    let err = verifier.handle_relay_message(BMC, PREV, 0, &chain.block_proof_message(18, 20, &[]), &HostSecp256k1).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidBlockProofHeightHigher);
}

/// A message with block `height`'s update, its votes replaced by `votes`.
fn with_votes(chain: &TestChain, height: i64, votes: &[u8]) -> Vec<u8> {
    let block = chain.block(height).unwrap();
    RelayMessage {
        block_updates: vec![BlockUpdate { header: &block.header_bytes, votes: Some(votes), next_validators: block.next_validators.as_deref() }],
        ..Default::default()
    }
    .encode()
}

#[test]
fn negative_variants_get_the_right_codes() {
    let validators = Validator::set(1, 4);
    let mut chain = TestChain::new(NETWORK, validators.clone(), 0);
    let verifier = verifier_for(&chain);
    chain.change_validators(Validator::set(20, 4));
    chain.produce_empty(2);
    let block = chain.block(1).unwrap().clone();
    let (id, ts) = (block.id(), block.header().timestamp);
    let stranger = Validator::from_seed(99);
    let check = |msg: Vec<u8>, code: ErrorCode, what: &str| {
        let err = verifier.clone().handle_relay_message(BMC, PREV, 0, &msg, &HostSecp256k1).expect_err(what);
        assert_eq!(err.code, code, "{what}: {err}");
    };
    let v: Vec<&Validator> = validators.iter().collect();
    // 3 of 4 is the quorum (> 8/3); 2 is not.
    verifier.clone().handle_relay_message(BMC, PREV, 0, &with_votes(&chain, 1, &sign_votes(&v[..3], 1, &id, 0, ts).encode()), &HostSecp256k1).unwrap();
    check(with_votes(&chain, 1, &sign_votes(&v[..2], 1, &id, 0, ts).encode()), ErrorCode::InvalidVotes, "too few");
    check(with_votes(&chain, 1, &sign_votes(&[v[0], v[1], v[2], &stranger], 1, &id, 0, ts).encode()), ErrorCode::InvalidVotes, "a stranger");
    check(with_votes(&chain, 1, &sign_votes(&[v[0], v[1], v[1]], 1, &id, 0, ts).encode()), ErrorCode::InvalidVotes, "a repeated voter");
    let mut bad = sign_votes(&v, 1, &id, 0, ts);
    bad.items[0].signature[5] ^= 1;
    check(with_votes(&chain, 1, &bad.encode()), ErrorCode::InvalidVotes, "a bad signature");
    let mut wrong_round = sign_votes(&v, 1, &id, 1, ts);
    wrong_round.round = 0;
    check(with_votes(&chain, 1, &wrong_round.encode()), ErrorCode::InvalidVotes, "signed for another round");
    check(with_votes(&chain, 1, &sign_votes(&v, 1, &chain.block(2).unwrap().id(), 0, ts).encode()), ErrorCode::InvalidVotes, "votes for another block");
    // Block 1 changes the validator set: without the list it cannot be followed.
    let no_list = RelayMessage {
        block_updates: vec![BlockUpdate { header: &block.header_bytes, votes: Some(&block.votes), next_validators: None }],
        ..Default::default()
    }
    .encode();
    check(no_list, ErrorCode::InvalidBlockUpdate, "missing next validators");
    check(chain.relay_message(2, 2, &[]), ErrorCode::InvalidBlockUpdateHeightHigher, "a gap");
}

/// While the newest block sits alone in the accumulator's first root its witness is empty; ICON's Java BMV
/// accepts that proof, and so does ours (an empty witness against an older accumulator stays refused).
#[test]
fn the_newest_block_is_provable_with_an_empty_witness() {
    let mut chain = TestChain::new(NETWORK, Validator::set(1, 4), 0);
    let mut verifier = verifier_for(&chain);
    chain.produce_empty(4);
    chain.produce(vec![Receipt::success(icon_bmc(), vec![EventLog::bmc_message(icon_bmc(), BMC, 1, btp_message(1))])]);
    verifier.handle_relay_message(BMC, PREV, 0, &chain.relay_message(1, 5, &[]), &HostSecp256k1).unwrap();
    let events = [ReceiptRef { index: 0, events: vec![0] }];
    let proof = chain.block_proof_message(5, 5, &events);
    let witness = ReceivedRelayMessage::decode(&proof).unwrap().block_proof().unwrap().unwrap().witness;
    assert!(witness.is_empty(), "5 = 0b101 leaves: block 5 is alone in roots[0]");
    let mut recorder = Recorder::default();
    let outcome = verifier.handle_relay_message_with(BMC, PREV, 0, &proof, &HostSecp256k1, &mut recorder).unwrap();
    assert_eq!((outcome.messages, outcome.proven_block), (vec![&btp_message(1)[..]], Some((5, chain.block(5).unwrap().id()))));
}

/// goloop (≥ 1.3.13) signs the network id in the part-set count word and refuses votes of another network;
/// a BMV of network 0x2 must not take blocks whose votes were cast on network 0x1.
#[test]
fn votes_of_another_network_are_refused() {
    let mut chain = TestChain::with_shape("0x1.icon", Validator::set(1, 4), 0, Shape::MainnetLike);
    let anchor = verifier_for(&chain);
    chain.produce_empty(2);
    let on = |network: &str| Verifier { network: network.into(), ..anchor.clone() };
    let msg = chain.relay_message(1, 2, &[]);
    let prev = |network: &str| format!("btp://{network}/cx0000000000000000000000000000000000000001");
    on("0x1.icon").handle_relay_message(BMC, &prev("0x1.icon"), 0, &msg, &HostSecp256k1).expect("votes of its own network");
    let err = on("0x2.icon").handle_relay_message(BMC, &prev("0x2.icon"), 0, &msg, &HostSecp256k1).unwrap_err();
    assert_eq!((err.code, err.reason), (ErrorCode::InvalidVotes, "votes are for another network"));
}

/// Malformed lists anywhere in a relay message are a `DecodeError` at their first bad item; lists that can
/// never be valid (a witness deeper than any accumulator) are refused before they are read in full.
#[test]
fn malformed_and_oversized_lists_get_bmv_errors() {
    let mut chain = TestChain::new(NETWORK, Validator::set(1, 4), 0);
    let verifier = verifier_for(&chain);
    chain.produce_empty(1);
    let mut flat = ListBuilder::new();
    for _ in 0..30_000 {
        flat.uint(1);
    }
    let flat = flat.finish();
    let block = chain.block(1).unwrap();
    let update = ListBuilder::new().bytes(&block.header_bytes).bytes(&block.votes).null().finish();
    let receipts_flat = ListBuilder::new().raw(&ListBuilder::new().bytes(&update).finish()).null().raw(&flat).finish();
    let witness = ListBuilder::new().uint(1).raw(&flat).finish();
    let deep: Vec<[u8; 32]> = vec![[7; 32]; 65];
    let too_deep =
        RelayMessage { block_proof: Some(BlockProof { header: &chain.last().header_bytes, witness_height: 0, witness: deep }), ..Default::default() }.encode();
    let proof_flat = ListBuilder::new()
        .raw(&ListBuilder::new().finish())
        .bytes(&ListBuilder::new().bytes(&chain.last().header_bytes).raw(&witness).finish())
        .raw(&ListBuilder::new().finish())
        .finish();
    for (msg, code) in [(receipts_flat, ErrorCode::DecodeError), (proof_flat, ErrorCode::DecodeError), (too_deep, ErrorCode::InvalidBlockWitness)] {
        let err = verifier.clone().handle_relay_message(BMC, PREV, 0, &msg, &HostSecp256k1).unwrap_err();
        assert_eq!(err.code, code, "{err}");
    }
}
