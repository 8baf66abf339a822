//! The stand-in's own encoders (goloop tries, receipts, event logs) reproduce real ICON data.

use btp_primitives::rlp::Rlp;
use icon_light_client::receipt::EventLog as ProvenLog;
use icon_testnet::{
    mpt::MerkleList,
    receipt::{EventLog, Receipt},
};
use serde_json::Value;

fn vector(name: &str) -> Value {
    let path = format!("{}/../../contracts/libs/icon-vectors/data/icon/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector")).expect("json")
}

fn hex_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().expect("list").iter().map(|s| hex::decode(s.as_str().expect("hex")).expect("hex")).collect()
}

/// The value of a leaf node `[header, value]`.
fn leaf_value(node: &[u8]) -> Vec<u8> {
    let [_, value] = Rlp::new(node).unwrap().fixed().unwrap();
    value.bytes().unwrap().to_vec()
}

#[test]
fn receipt_and_event_of_block_21172_rebuild_their_tries() {
    let v = vector("kat_receipt_proof_icondao_h21172");
    let input = &v["input"];
    let receipt_proof = hex_list(&input["proofs"]);
    let receipt = leaf_value(&receipt_proof[0]);
    assert_eq!(Receipt::reencode(&receipt).unwrap(), receipt, "receipt fields re-encode");

    let receipts = MerkleList::new(&[receipt.clone()]);
    assert_eq!(hex::encode(receipts.root().unwrap()), input["receipt_hash"].as_str().unwrap());
    assert_eq!(receipts.proof(0).unwrap(), receipt_proof);

    let event_proof = hex_list(&input["event_proofs"][0]["proofs"]);
    let event = leaf_value(&event_proof[0]);
    let events = MerkleList::new(&[event.clone()]);
    assert_eq!(hex::encode(events.root().unwrap()), v["expect"]["event_logs_hash"].as_str().unwrap());
    assert_eq!(events.proof(0).unwrap(), event_proof);

    // The event re-encodes from its fields, and the ICON BMC's Message event builder makes the same bytes.
    let log = ProvenLog::decode(&event).unwrap();
    let rebuilt = EventLog {
        address: log.address,
        indexed: log.indexed().map(|i| i.unwrap().to_vec()).collect(),
        data: log.data().map(|d| d.unwrap().to_vec()).collect(),
    };
    assert_eq!(rebuilt.encode(), event);
    let message = log.message().unwrap().unwrap();
    assert_eq!(EventLog::bmc_message(log.address, message.next, message.seq, message.msg.to_vec()).encode(), event);
}

#[test]
fn single_item_trie_of_libmpt_01_rebuilds() {
    let v = vector("icondao_libmpt_01_ok");
    let proof = hex_list(&v["input"]["proofs"]);
    let list = MerkleList::new(&[leaf_value(&proof[0])]);
    assert_eq!(hex::encode(list.root().unwrap()), v["input"]["root"].as_str().unwrap());
    assert_eq!(list.proof(0).unwrap(), proof);
}

/// For multi-item tries only one value is known: a list of the same shape, with the real value at its real
/// index, must give the same extension header, the same occupied branch slots and the same leaf node.
#[test]
fn multi_item_tries_have_goloops_shape() {
    for (name, index, items) in [("icondao_libmpt_02_ok", 2usize, 3usize), ("icondao_libmpt_03_ok", 0, 2)] {
        let v = vector(name);
        let real = hex_list(&v["input"]["proofs"]);
        let value = leaf_value(real.last().unwrap());
        let mut values: Vec<Vec<u8>> = (0..items).map(|i| vec![0x55 ^ i as u8; value.len()]).collect();
        values[index] = value.clone();
        let ours = MerkleList::new(&values).proof(index as u64).unwrap();
        assert_eq!(ours.len(), real.len(), "{name}: proof depth");
        assert_eq!(ours.last(), real.last(), "{name}: leaf node");
        let header = |node: &[u8]| Rlp::new(node).unwrap().items().unwrap()[0].bytes().unwrap().to_vec();
        assert_eq!(header(&ours[0]), header(&real[0]), "{name}: extension path");
        let occupied = |node: &[u8]| -> Vec<bool> { Rlp::new(node).unwrap().items().unwrap()[..16].iter().map(|c| c.raw() != [0x80]).collect() };
        assert_eq!(occupied(&ours[1]), occupied(&real[1]), "{name}: branch slots");
    }
}
