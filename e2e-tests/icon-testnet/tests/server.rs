//! The server over real HTTP and websocket clients: every call of spec §9, errors as ICON returns them, and a
//! relay message assembled from RPC answers the way a relay does (§9.4), which the light client accepts.

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE},
    Engine,
};
use btp_primitives::{
    nativecoin::{ServiceMessage, TransferResponse, RC_OK, SERVICE},
    BtpAddress, BtpMessage, IconAddress,
};
use futures_util::{SinkExt, StreamExt};
use icon_light_client::{
    crypto::HostSecp256k1,
    header::BlockHeader,
    mta::Mta,
    relay::{BlockUpdate, EventProof, ReceiptProof, ReceivedRelayMessage, RelayMessage},
    validators::ValidatorSet,
    verifier::Verifier,
};
use icon_testnet::{
    btp::{parachain_relay_message, IconBtp},
    node::{LiveNode, Replay},
    server::{serve, Shared},
    transaction, TestChain, Validator,
};
use serde_json::{json, Value};
use std::sync::Arc;

const ICX: u128 = 1_000_000_000_000_000_000;
const PARA_BMC: &str = "btp://0x501.pra/0x00aa";

struct Rpc {
    http: reqwest::Client,
    url: String,
}

impl Rpc {
    async fn call(&self, method: &str, params: Value) -> Result<Value, (i64, String)> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let reply: Value = self.http.post(&self.url).json(&body).send().await.expect("http").json().await.expect("json");
        match reply.get("error") {
            Some(e) => Err((e["code"].as_i64().unwrap(), e["message"].as_str().unwrap_or_default().to_string())),
            None => Ok(reply["result"].clone()),
        }
    }

    async fn bytes(&self, method: &str, params: Value) -> Vec<u8> {
        STANDARD.decode(self.call(method, params).await.expect(method).as_str().expect("base64")).expect("base64")
    }

    async fn nodes(&self, v: &Value) -> Vec<Vec<u8>> {
        v.as_array().expect("list").iter().map(|n| STANDARD.decode(n.as_str().unwrap()).unwrap()).collect()
    }
}

async fn start(shared: Arc<Shared>) -> (Rpc, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, shared, None));
    (Rpc { http: reqwest::Client::new(), url: format!("http://{addr}/api/v3/icon_dex") }, format!("ws://{addr}/api/v3/icon_dex/block"))
}

/// The relay's side of §9.4: a block update for `height` and proofs of `events` of receipt `index`.
async fn assemble(rpc: &Rpc, height: i64, with_validators: bool, index: u64, events: &[u64]) -> Vec<u8> {
    let header = rpc.bytes("icx_getBlockHeaderByHeight", json!({"height": format!("{height:#x}")})).await;
    let votes = rpc.bytes("icx_getVotesByHeight", json!({"height": format!("{height:#x}")})).await;
    let decoded = BlockHeader::decode(&header).unwrap();
    let validators = if with_validators {
        Some(rpc.bytes("icx_getDataByHash", json!({"hash": format!("0x{}", hex::encode(decoded.next_validators_hash.unwrap()))})).await)
    } else {
        None
    };
    let event_list: Vec<String> = events.iter().map(|e| format!("{e:#x}")).collect();
    let proofs = rpc
        .call("icx_getProofForEvents", json!({"hash": format!("0x{}", hex::encode(decoded.id)), "index": format!("{index:#x}"), "events": event_list}))
        .await
        .unwrap();
    let mut lists = Vec::new();
    for p in proofs.as_array().unwrap() {
        lists.push(rpc.nodes(p).await);
    }
    let message = RelayMessage {
        block_updates: vec![BlockUpdate { header: &header, votes: Some(&votes), next_validators: validators.as_deref() }],
        block_proof: None,
        receipt_proofs: vec![ReceiptProof {
            index,
            proof: lists[0].iter().map(Vec::as_slice).collect(),
            event_proofs: events.iter().zip(&lists[1..]).map(|(e, n)| EventProof { index: *e, proof: n.iter().map(Vec::as_slice).collect() }).collect(),
        }],
    };
    message.encode()
}

fn live() -> (Arc<Shared>, IconBtp, Validator) {
    let bob = Validator::from_seed(1000);
    let chain = TestChain::new("0x3.icon", Validator::set(1, 4), 0);
    let bmc = IconAddress::parse("cx00000000000000000000000000000000000000b1").unwrap();
    let bsh = IconAddress::parse("cx00000000000000000000000000000000000000b2").unwrap();
    let mut btp = IconBtp::new("0x3.icon", bmc, bsh, 0, ICX);
    btp.add_link(BtpAddress::parse(PARA_BMC).unwrap());
    btp.mint(bob.address, 1000 * ICX);
    (Shared::new(Box::new(LiveNode::new(chain, btp.clone()))), btp, bob)
}

fn tx(signer: &Validator, to: &IconAddress, value: Option<u128>, data: Option<Value>) -> Value {
    transaction::build(signer, "0x3", to, value, data, 0x5e2e3f4c5d6e7)
}

#[tokio::test]
async fn live_node_answers_every_call_and_its_blocks_verify() {
    let (shared, btp, bob) = live();
    let (rpc, ws_url) = start(shared.clone()).await;
    let bmc_address = btp.bmc_address();

    // The relay watches for the BMC's messages to the parachain from height 1.
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.expect("websocket");
    let filter = json!({"height": "0x1", "eventFilters": [{"addr": btp.bmc.to_string(), "event": "Message(str,int,bytes)", "indexed": [PARA_BMC]}]});
    ws.send(filter.to_string().into()).await.unwrap();
    let ack: Value = serde_json::from_str(&ws.next().await.unwrap().unwrap().into_text().unwrap()).unwrap();
    assert_eq!(ack, json!({"code": 0}));

    // Bob sends 100 ICX toward the parachain; the transaction is pending until a block holds it.
    let transfer = tx(&bob, &btp.bsh, Some(100 * ICX), Some(json!({"method": "transferNativeCoin", "params": {"_to": "btp://0x501.pra/0x0b0b"}})));
    let hash = rpc.call("icx_sendTransaction", transfer.clone()).await.unwrap();
    assert_eq!(rpc.call("icx_getTransactionResult", json!({"txHash": hash})).await.unwrap_err().0, -31002);
    assert_eq!(rpc.call("icx_sendTransaction", transfer).await.unwrap_err().0, -31000, "duplicate");
    assert_eq!(shared.produce_block().await, Some(1));
    let result = rpc.call("icx_getTransactionResult", json!({"txHash": hash})).await.unwrap();
    assert_eq!(result["status"], "0x1");
    assert_eq!(result["eventLogs"][1]["indexed"][0], "Message(str,int,bytes)");
    assert_eq!(rpc.call("icx_getBalance", json!({"address": bob.address.to_string()})).await.unwrap(), json!(format!("{:#x}", 900 * ICX)));

    let note: Value = serde_json::from_str(&ws.next().await.unwrap().unwrap().into_text().unwrap()).unwrap();
    assert_eq!((note["height"].clone(), note["indexes"].clone(), note["events"].clone()), (json!("0x1"), json!([["0x0"]]), json!([[["0x1"]]])));

    let block = rpc.call("icx_getBlockByHeight", json!({"height": "0x1"})).await.unwrap();
    assert_eq!(block["height"], 1);
    assert_eq!(block["confirmed_transaction_list"][0]["txHash"], hash);
    assert_eq!(rpc.call("icx_getLastBlock", json!({})).await.unwrap(), block);
    let receipt_proof =
        rpc.call("icx_getProofForResult", json!({"hash": format!("0x{}", block["block_hash"].as_str().unwrap()), "index": "0x0"})).await.unwrap();

    // Assembled from RPC answers, the block and its Message event verify in the light client.
    let anchor = rpc.call("icx_getBlockByHeight", json!({"height": "0x0"})).await.unwrap();
    let anchor_header = rpc.bytes("icx_getBlockHeaderByHeight", json!({"height": "0x0"})).await;
    let anchor_header = BlockHeader::decode(&anchor_header).unwrap();
    let validators = rpc.bytes("icx_getDataByHash", json!({"hash": format!("0x{}", hex::encode(anchor_header.next_validators_hash.unwrap()))})).await;
    let mut verifier = Verifier {
        network: "0x3.icon".into(),
        validators: ValidatorSet::decode(&validators, &HostSecp256k1).unwrap(),
        mta: Mta::new(0, 0, 0, false),
        last_block_hash: Some(hex::decode(anchor["block_hash"].as_str().unwrap()).unwrap().try_into().unwrap()),
        last_height: 0,
    };
    let message = assemble(&rpc, 1, false, 0, &[1]).await;
    assert_eq!(
        ReceivedRelayMessage::decode(&message).and_then(|m| m.collect()).unwrap().receipt_proofs[0].proof,
        rpc.nodes(&receipt_proof).await.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    let outcome = verifier.handle_relay_message(PARA_BMC, bmc_address.as_str(), 0, &message, &HostSecp256k1).unwrap();
    let request = BtpMessage::decode(outcome.messages[0]).unwrap();
    let ServiceMessage::TransferRequest(r) = ServiceMessage::decode(&request.payload).unwrap() else { panic!("request") };
    assert_eq!((r.from, r.to, r.assets[0].value), (bob.address.to_string(), "0x0b0b".to_string(), 99 * ICX));

    // The relay brings the parachain's OK response back in a handleRelayMessage transaction.
    let ok = BtpMessage {
        src: BtpAddress::parse(PARA_BMC).unwrap(),
        dst: bmc_address.clone(),
        svc: SERVICE.into(),
        sn: request.sn,
        payload: ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode(),
    };
    let relayer = Validator::from_seed(2000);
    let msg = URL_SAFE.encode(parachain_relay_message(&[(1, ok.encode())]));
    let hash = rpc
        .call("icx_sendTransaction", tx(&relayer, &btp.bmc, None, Some(json!({"method": "handleRelayMessage", "params": {"_prev": PARA_BMC, "_msg": msg}}))))
        .await
        .unwrap();
    shared.produce_block().await;
    let result = rpc.call("icx_getTransactionResult", json!({"txHash": hash})).await.unwrap();
    assert_eq!(result["eventLogs"][0]["indexed"][0], "TransferEnd(Address,int,int,bytes)");
    let status = rpc
        .call("icx_call", json!({"to": btp.bmc.to_string(), "dataType": "call", "data": {"method": "getStatus", "params": {"_link": PARA_BMC}}}))
        .await
        .unwrap();
    assert_eq!((status["tx_seq"].clone(), status["rx_seq"].clone()), (json!("0x1"), json!("0x1")));
    let balance = rpc.call("icx_call", json!({"to": btp.bsh.to_string(), "dataType": "call", "data": {"method": "balanceOf", "params": {"_owner": bob.address.to_string(), "_coinName": "ICX"}}})).await.unwrap();
    assert_eq!(balance["usable"], json!(format!("{:#x}", 900 * ICX)));

    // Errors as ICON returns them.
    assert_eq!(rpc.call("icx_getBlockByHeight", json!({"height": "0x99"})).await.unwrap_err().0, -31004);
    assert_eq!(rpc.call("icx_getBlockHeaderByHeight", json!({"height": "12"})).await.unwrap_err().0, -32602);
    assert_eq!(rpc.call("icx_getDataByHash", json!({"hash": format!("0x{}", "00".repeat(32))})).await.unwrap_err().0, -31004);
    assert_eq!(rpc.call("icx_unknown", json!({})).await.unwrap_err().0, -32601);
    let mut forged = tx(&bob, &btp.bsh, Some(ICX), None);
    forged["value"] = "0x1".into();
    assert_eq!(rpc.call("icx_sendTransaction", forged).await.unwrap_err().0, -32602, "signature no longer matches");
    let mut other_net = tx(&bob, &btp.bsh, Some(ICX), None);
    other_net["nid"] = "0x1".into();
    assert_eq!(rpc.call("icx_sendTransaction", other_net).await.unwrap_err().0, -32602);
}

#[tokio::test]
async fn replay_serves_real_icon_block_21172_to_a_relay() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/libs/icon-vectors/data/icon/");
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}icondao_h21172_scenario4.json")).unwrap()).unwrap();
    let mut replay = Replay::default();
    replay.add_relay_message(&hex::decode(vector["input"]["relay_message"].as_str().unwrap()).unwrap()).unwrap();
    let (rpc, ws_url) = start(Shared::new(Box::new(replay))).await;

    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.expect("websocket");
    let prev = vector["input"]["prev"].as_str().unwrap();
    let bmc = vector["input"]["bmc"].as_str().unwrap();
    let filter = json!({"height": "0x52b4", "eventFilters": [{"addr": &prev[15..], "event": "Message(str,int,bytes)", "indexed": [bmc]}]});
    ws.send(filter.to_string().into()).await.unwrap();
    ws.next().await.unwrap().unwrap();
    let note: Value = serde_json::from_str(&ws.next().await.unwrap().unwrap().into_text().unwrap()).unwrap();
    assert_eq!((note["height"].clone(), note["indexes"].clone()), (json!("0x52b4"), json!([["0x0"]])));
    assert_eq!(note["hash"], "0x3fe08834df9610e49dbd524290183d3414c31322ca43d3e674cd43226caa1e3b");

    let message = assemble(&rpc, 21172, false, 0, &[0]).await;
    let state = &vector["state"];
    let mut verifier = Verifier {
        network: "0x3.icon".into(),
        validators: ValidatorSet::decode(&hex::decode(state["validators"].as_str().unwrap()).unwrap(), &HostSecp256k1).unwrap(),
        mta: Mta::new(21171, 8, 8, true),
        last_block_hash: Some(hex::decode(state["last_block_hash"].as_str().unwrap()).unwrap().try_into().unwrap()),
        last_height: 21171,
    };
    let outcome = verifier.handle_relay_message(bmc, prev, 0, &message, &HostSecp256k1).unwrap();
    assert_eq!(hex::encode(outcome.messages[0]), vector["expect"]["btp_messages"][0].as_str().unwrap());
    assert_eq!(rpc.call("icx_sendTransaction", json!({})).await.unwrap_err().0, -32601, "replay takes no transactions");
}
