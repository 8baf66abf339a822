//! The server over real HTTP and websocket clients: every call of spec §9 and errors as ICON returns them. That a
//! relay builds from these answers what the light client accepts is tested with the relay's own ICON source
//! (relay/tests/icon_source.rs).

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE},
    Engine,
};
use btp_primitives::{
    bmc::relay_message_to_icon,
    nativecoin::{ServiceMessage, TransferResponse, RC_OK, SERVICE},
    BtpAddress, BtpMessage, IconAddress,
};
use futures_util::{SinkExt, StreamExt};
use icon_rpc::transaction;
use icon_testnet::{
    btp::IconBtp,
    node::{LiveNode, Replay},
    server::{serve, Shared},
    TestChain, Validator,
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
        let response = self.http.post(&self.url).json(&body).send().await.expect("http");
        let status = response.status();
        let reply: Value = response.json().await.expect("json");
        match reply.get("error") {
            Some(e) => {
                assert_eq!(status, 400, "goloop answers errors with HTTP 400");
                Err((e["code"].as_i64().unwrap(), e["message"].as_str().unwrap_or_default().to_string()))
            }
            None => {
                assert_eq!(status, 200);
                Ok(reply["result"].clone())
            }
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
fn live() -> (Arc<Shared>, IconBtp, Validator) {
    let bob = Validator::from_seed(1000);
    let chain = TestChain::new("0x3.icon", Validator::set(1, 4), 0);
    let bmc = IconAddress::parse("cx00000000000000000000000000000000000000b1").unwrap();
    let bsh = IconAddress::parse("cx00000000000000000000000000000000000000b2").unwrap();
    let mut btp = IconBtp::new("0x3.icon", bmc, bsh, 0, ICX);
    btp.add_link(BtpAddress::parse(PARA_BMC).unwrap());
    btp.mint(bob.address, 1000 * ICX);
    let mut node = LiveNode::new(chain, btp.clone());
    node.owner = Some(owner().address);
    (Shared::new(Box::new(node)), btp, bob)
}

/// The BMC's owner in `live()`.
fn owner() -> Validator {
    Validator::from_seed(1001)
}

fn tx(signer: &Validator, to: &IconAddress, value: Option<u128>, data: Option<Value>) -> Value {
    transaction::build(signer, "0x3", to, value, data, 0x5e2e3f4c5d6e7)
}

#[tokio::test]
async fn live_node_answers_every_call() {
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

    // The receipt proof comes the same from both proof calls; that these answers make a relay message the light
    // client accepts is the relay's test (relay/tests/icon_source.rs).
    let proofs = rpc
        .call("icx_getProofForEvents", json!({"hash": format!("0x{}", block["block_hash"].as_str().unwrap()), "index": "0x0", "events": ["0x1"]}))
        .await
        .unwrap();
    assert_eq!(rpc.nodes(&proofs[0]).await, rpc.nodes(&receipt_proof).await);
    assert_eq!(proofs.as_array().unwrap().len(), 2, "the receipt's proof and one event's");
    let logged = result["eventLogs"][1]["data"][0].as_str().unwrap();
    let request = BtpMessage::decode(&hex::decode(logged.trim_start_matches("0x")).unwrap()).unwrap();
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
    let msg = URL_SAFE.encode(relay_message_to_icon([(1, &ok.encode()[..])]));
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
    // The rest of the Java BMC's status: the relay credited with its message, where the link was last received.
    assert_eq!(status["relays"], json!([{"address": relayer.address.to_string(), "block_count": "0x0", "msg_count": "0x1"}]));
    assert_eq!((status["rx_height"].clone(), status["cur_height"].clone()), (json!("0x2"), json!("0x2")));
    for key in ["verifier", "relay_idx", "rotate_height", "rotate_term", "delay_limit", "max_agg", "rx_height_src", "block_interval_src", "block_interval_dst"]
    {
        assert!(!status[key].is_null(), "getStatus has {key}");
    }
    assert_eq!(status["verifier"]["height"], "0x0");
    let balance = rpc.call("icx_call", json!({"to": btp.bsh.to_string(), "dataType": "call", "data": {"method": "balanceOf", "params": {"_owner": bob.address.to_string(), "_coinName": "ICX"}}})).await.unwrap();
    assert_eq!((balance["usable"].clone(), balance["locked"].clone()), (json!(format!("{:#x}", 900 * ICX)), json!("0x0")), "the answer ended the lock");

    // Links are the owner's to add, once each.
    let add_link = |from: &Validator, link: &str, timestamp: u64| {
        transaction::build(from, "0x3", &btp.bmc, None, Some(json!({"method": "addLink", "params": {"_link": link}})), timestamp)
    };
    let other = "btp://0x38.bsc/0x034AaDE86BF402F023Aa17E5725fABC4ab9E9798";
    let refused = rpc.call("icx_sendTransaction", add_link(&bob, other, 1)).await.unwrap();
    let added = rpc.call("icx_sendTransaction", add_link(&owner(), other, 1)).await.unwrap();
    shared.produce_block().await;
    let again = rpc.call("icx_sendTransaction", add_link(&owner(), other, 2)).await.unwrap();
    shared.produce_block().await;
    let outcome = |hash: Value| {
        let rpc = &rpc;
        async move { rpc.call("icx_getTransactionResult", json!({"txHash": hash})).await.unwrap() }
    };
    let refused = outcome(refused).await;
    assert_eq!(refused["status"], "0x0", "only the owner adds links");
    assert!(refused["failure"].to_string().contains("Unauthorized"), "{refused}");
    assert_eq!(outcome(added).await["status"], "0x1");
    assert!(outcome(again).await["failure"].to_string().contains("AlreadyExistsLink"));
    let link_status = json!({"to": btp.bmc.to_string(), "dataType": "call", "data": {"method": "getStatus", "params": {"_link": other}}});
    assert_eq!(rpc.call("icx_call", link_status).await.unwrap()["rx_seq"], "0x0");

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

    let header = rpc.bytes("icx_getBlockHeaderByHeight", json!({"height": "0x52b4"})).await;
    assert_eq!(format!("0x{}", hex::encode(icon_light_client::sha3_256(&header))), note["hash"].as_str().unwrap(), "the recorded header");
    assert_eq!(rpc.call("icx_sendTransaction", json!({})).await.unwrap_err().0, -32601, "replay takes no transactions");
}
