//! ICON JSON-RPC v3 over HTTP (`POST /api/v3` or `/api/v3/<channel>`) and the websocket block monitor
//! (`/api/v3/<channel>/block`), serving a [`Backend`].

use crate::node::{Backend, LoggedEvent, RpcError, RpcResult};
use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        State,
    },
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use btp_primitives::IconAddress;
use icon_light_client::{header::BlockHeader, Hash};
use icon_rpc::parse_t_amount;
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};
use tokio::sync::{broadcast, Mutex};

/// The backend and the announcement of new blocks.
pub struct Shared {
    backend: Mutex<Box<dyn Backend>>,
    blocks: broadcast::Sender<i64>,
    faults: std::sync::Mutex<(Faults, u64)>,
}

/// Failures the server injects, as an unreliable ICON endpoint has them (all off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// The share of JSON-RPC calls that fail: half answered with goloop's system error (−31000), half after a
    /// stall of `stall` with HTTP 504 and no JSON-RPC answer, as a gateway that timed out.
    pub rpc_failures: f64,
    pub stall: Duration,
    /// The share of block notifications after which the websocket session is dropped.
    pub monitor_drops: f64,
    /// How many of the next `icx_sendTransaction`s lose their answer: the node handles the transaction (takes it
    /// into the pool, or finds it a duplicate), and the sender gets a gateway's timeout (HTTP 504) instead.
    pub lost_send_answers: u32,
}

/// What an injected fault does to a call.
enum Fault {
    SystemError,
    Stall(Duration),
}

impl Shared {
    pub fn new(backend: Box<dyn Backend>) -> Arc<Self> {
        Arc::new(Self {
            backend: Mutex::new(backend),
            blocks: broadcast::channel(1024).0,
            faults: std::sync::Mutex::new((Faults::default(), 0x2545_f491_4f6c_dd1d)),
        })
    }

    /// Injects `faults` from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).0 = faults;
    }

    /// A draw in [0, 1) from a fixed xorshift sequence, and the faults in force.
    fn draw(&self) -> (f64, Faults) {
        let mut guard = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let (faults, state) = &mut *guard;
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        ((*state >> 11) as f64 / (1u64 << 53) as f64, *faults)
    }

    fn rpc_fault(&self) -> Option<Fault> {
        let (draw, faults) = self.draw();
        match draw < faults.rpc_failures {
            false => None,
            true if draw < faults.rpc_failures / 2.0 => Some(Fault::SystemError),
            true => Some(Fault::Stall(faults.stall)),
        }
    }

    /// Whether this `icx_sendTransaction`'s answer is lost (one fewer to lose after it).
    fn loses_send_answer(&self) -> bool {
        let mut guard = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let lost = &mut guard.0.lost_send_answers;
        let loses = *lost > 0;
        *lost = lost.saturating_sub(1);
        loses
    }

    fn drops_monitor(&self) -> bool {
        let (draw, faults) = self.draw();
        draw < faults.monitor_drops
    }

    /// Produces a block now (tests use this instead of, or besides, the interval).
    pub async fn produce_block(&self) -> Option<i64> {
        let mut backend = self.backend.lock().await;
        if !backend.produce_block() {
            return None;
        }
        let height = backend.last_height();
        let _ = self.blocks.send(height);
        Some(height)
    }

    /// Runs `f` on the backend (tests inspect the ICON side this way).
    pub async fn with<R>(&self, f: impl FnOnce(&mut dyn Backend) -> R) -> R {
        f(self.backend.lock().await.as_mut())
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v3", post(rpc))
        .route("/api/v3/:channel", post(rpc))
        .route("/api/v3/block", get(monitor))
        .route("/api/v3/:channel/block", get(monitor))
        .route("/api/v3d", post(debug_rpc))
        .route("/api/v3d/:channel", post(debug_rpc))
        .with_state(shared)
}

/// Serves until the listener fails; produces a block every `interval` when given.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, interval: Option<Duration>) -> std::io::Result<()> {
    if let Some(interval) = interval {
        let producer = shared.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                producer.produce_block().await;
            }
        });
    }
    axum::serve(listener, router(shared)).await
}

fn param<'a>(params: &'a Value, name: &str) -> RpcResult<&'a str> {
    params.get(name).and_then(Value::as_str).ok_or_else(|| RpcError::invalid_params(format!("missing {name}")))
}

fn int_param(params: &Value, name: &str) -> RpcResult<i64> {
    let text = param(params, name)?;
    parse_t_amount(text).and_then(|v| i64::try_from(v).ok()).ok_or_else(|| RpcError::invalid_params(format!("{name} is not a 0x-hex integer")))
}

fn hash_param(params: &Value, name: &str) -> RpcResult<Hash> {
    let text = param(params, name)?;
    text.strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| RpcError::invalid_params(format!("{name} is not a 0x-hex hash")))
}

fn b64_list(nodes: &[Vec<u8>]) -> Value {
    nodes.iter().map(|n| Value::from(STANDARD.encode(n))).collect()
}

fn block_json(backend: &dyn Backend, height: i64) -> RpcResult<Value> {
    let bytes = backend.header(height).ok_or_else(|| RpcError::not_found(format!("no block at height {height}")))?;
    let h = BlockHeader::decode(&bytes).map_err(|e| RpcError::new(-31000, e.to_string()))?;
    let hex_or_empty = |x: Option<Hash>| x.map(hex::encode).unwrap_or_default();
    Ok(json!({
        "version": "2.0",
        "height": h.height,
        "block_hash": hex::encode(h.id),
        "prev_block_hash": hex_or_empty(h.prev_id),
        "merkle_tree_root_hash": hex_or_empty(h.normal_transactions_hash),
        "time_stamp": h.timestamp,
        "peer_id": h.proposer.and_then(|p| IconAddress::from_bytes(&p).ok()).map(|p| p.to_string()).unwrap_or_default(),
        "confirmed_transaction_list": backend.transactions(height),
        "signature": "",
    }))
}

fn dispatch(backend: &mut dyn Backend, method: &str, params: &Value) -> RpcResult<Value> {
    let height_of = |backend: &dyn Backend, params: &Value| -> RpcResult<i64> {
        let hash = hash_param(params, "hash")?;
        backend.height_of(&hash).ok_or_else(|| RpcError::not_found("no block with that hash"))
    };
    match method {
        "icx_getLastBlock" => block_json(backend, backend.last_height()),
        "icx_getBlockByHeight" => block_json(backend, int_param(params, "height")?),
        "icx_getBlockHeaderByHeight" => {
            let h = int_param(params, "height")?;
            backend.header(h).map(|b| STANDARD.encode(b).into()).ok_or_else(|| RpcError::not_found(format!("no block at height {h}")))
        }
        "icx_getVotesByHeight" => {
            let h = int_param(params, "height")?;
            backend.votes(h).map(|b| STANDARD.encode(b).into()).ok_or_else(|| RpcError::not_found(format!("no votes for height {h}")))
        }
        "icx_getDataByHash" => {
            let hash = hash_param(params, "hash")?;
            backend.data_by_hash(&hash).map(|b| STANDARD.encode(b).into()).ok_or_else(|| RpcError::not_found("no data with that hash"))
        }
        "icx_getProofForResult" => {
            let height = height_of(backend, params)?;
            let index = int_param(params, "index")?;
            let proof = u64::try_from(index).ok().and_then(|i| backend.receipt_proof(height, i)).ok_or_else(|| RpcError::not_found("no such receipt"))?;
            Ok(b64_list(&proof))
        }
        "icx_getProofForEvents" => {
            let block = hash_param(params, "hash")?;
            let index = u64::try_from(int_param(params, "index")?).map_err(|_| RpcError::invalid_params("negative index"))?;
            let events = params.get("events").and_then(Value::as_array).ok_or_else(|| RpcError::invalid_params("missing events"))?;
            let events = events
                .iter()
                .map(|e| e.as_str().and_then(parse_t_amount).and_then(|v| u64::try_from(v).ok()))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| RpcError::invalid_params("events are 0x-hex integers"))?;
            Ok(backend.proof_for_events(&block, index, &events)?.iter().map(|p| b64_list(p)).collect::<Vec<_>>().into())
        }
        "icx_getTransactionResult" => backend.transaction_result(&hash_param(params, "txHash")?),
        "icx_sendTransaction" => {
            let tx = params.as_object().ok_or_else(|| RpcError::invalid_params("params must be an object"))?;
            backend.send_transaction(tx).map(|h| format!("0x{}", hex::encode(h)).into())
        }
        "icx_getBalance" => {
            let address = IconAddress::parse(param(params, "address")?).map_err(|_| RpcError::invalid_params("invalid address"))?;
            backend.balance(&address).map(|b| format!("{b:#x}").into())
        }
        "icx_call" => {
            let to = IconAddress::parse(param(params, "to")?).map_err(|_| RpcError::invalid_params("invalid to"))?;
            let data = params.get("data").ok_or_else(|| RpcError::invalid_params("missing data"))?;
            let method = param(data, "method")?;
            let empty = Map::new();
            let args = data.get("params").and_then(Value::as_object).unwrap_or(&empty);
            let height = match params.get("height") {
                Some(h) => Some(
                    h.as_str()
                        .and_then(parse_t_amount)
                        .and_then(|v| i64::try_from(v).ok())
                        .ok_or_else(|| RpcError::invalid_params("height is a 0x-hex integer"))?,
                ),
                None => None,
            };
            backend.call(&to, method, args, height)
        }
        other => Err(RpcError::method_not_found(other)),
    }
}

/// goloop's debug API (`/api/v3d`, `server/v3/api_v3.go#DebugMethodRepository`): `debug_estimateStep`.
fn debug_dispatch(backend: &mut dyn Backend, method: &str, params: &Value) -> RpcResult<Value> {
    match method {
        "debug_estimateStep" => {
            let tx = params.as_object().ok_or_else(|| RpcError::invalid_params("params must be an object"))?;
            backend.estimate_step(tx).map(|steps| format!("{steps:#x}").into())
        }
        other => Err(RpcError::method_not_found(other)),
    }
}

async fn rpc(State(shared): State<Arc<Shared>>, Json(request): Json<Value>) -> (StatusCode, Json<Value>) {
    answer(&shared, request, dispatch).await
}

async fn debug_rpc(State(shared): State<Arc<Shared>>, Json(request): Json<Value>) -> (StatusCode, Json<Value>) {
    answer(&shared, request, debug_dispatch).await
}

/// Answers as goloop does (`server/jsonrpc/error.go`): an error object comes with HTTP status 400.
async fn answer(shared: &Shared, request: Value, dispatch: fn(&mut dyn Backend, &str, &Value) -> RpcResult<Value>) -> (StatusCode, Json<Value>) {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match shared.rpc_fault() {
        None => {}
        Some(Fault::SystemError) => {
            let error = json!({"code": -31000, "message": "injected fault: system error"});
            return (StatusCode::BAD_REQUEST, Json(json!({"jsonrpc": "2.0", "id": id, "error": error})));
        }
        Some(Fault::Stall(stall)) => {
            tokio::time::sleep(stall).await;
            return (StatusCode::GATEWAY_TIMEOUT, Json(json!("injected fault: gateway timeout")));
        }
    }
    let result = match (request.get("jsonrpc").and_then(Value::as_str), request.get("method").and_then(Value::as_str)) {
        (Some("2.0"), Some(method)) => {
            let params = request.get("params").cloned().unwrap_or(json!({}));
            let result = dispatch(shared.backend.lock().await.as_mut(), method, &params);
            if method == "icx_sendTransaction" && shared.loses_send_answer() {
                return (StatusCode::GATEWAY_TIMEOUT, Json(json!("injected fault: the node handled it, its answer was lost")));
            }
            result
        }
        _ => Err(RpcError::new(-32600, "invalid request")),
    };
    match result {
        Ok(result) => (StatusCode::OK, Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}))),
    }
}

/// One websocket event filter: `{addr?, event, indexed?: [value|null…]}`.
struct Filter {
    addr: Option<IconAddress>,
    event: Vec<u8>,
    indexed: Vec<Option<String>>,
}

impl Filter {
    fn parse(v: &Value) -> Result<Self, String> {
        let addr = match v.get("addr").and_then(Value::as_str) {
            Some(a) => Some(IconAddress::parse(a).map_err(|_| "invalid addr")?),
            None => None,
        };
        let event = v.get("event").and_then(Value::as_str).ok_or("missing event")?.as_bytes().to_vec();
        let indexed = v.get("indexed").and_then(Value::as_array).map(|a| a.iter().map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
        Ok(Self { addr, event, indexed })
    }

    /// A parameter matches its text (`str`) or its `0x`-hex (`int`, `bytes`, `Address`) form.
    fn matches(&self, e: &LoggedEvent) -> bool {
        self.addr.is_none_or(|a| a == e.address)
            && e.indexed.first() == Some(&self.event)
            && self.indexed.iter().enumerate().all(|(i, want)| match (want, e.indexed.get(i + 1)) {
                (None, _) => true,
                (Some(w), Some(have)) => w.as_bytes() == have.as_slice() || *w == format!("0x{}", hex::encode(have)),
                (Some(_), None) => false,
            })
    }
}

/// The receipts of `receipts` with events `filter` matches, each with those events' indexes.
fn matched(receipts: &[(u64, Vec<(u64, LoggedEvent)>)], filter: &Filter) -> Vec<(u64, Vec<u64>)> {
    receipts
        .iter()
        .map(|(i, logs)| (*i, logs.iter().filter(|(_, e)| filter.matches(e)).map(|(j, _)| *j).collect::<Vec<_>>()))
        .filter(|(_, js)| !js.is_empty())
        .collect()
}

/// The receipts and events of block `height` that a block monitor's event filter (its JSON) matches: what the
/// monitor reports of that block.
pub fn matching(backend: &dyn Backend, height: i64, filter: &Value) -> Result<Vec<(u64, Vec<u64>)>, String> {
    Ok(matched(&backend.events(height), &Filter::parse(filter)?))
}

fn notification(backend: &dyn Backend, height: i64, filters: &[Filter]) -> Option<Value> {
    let id = icon_light_client::sha3_256(&backend.header(height)?);
    let mut n = json!({"hash": format!("0x{}", hex::encode(id)), "height": format!("{height:#x}")});
    if !filters.is_empty() {
        let receipts = backend.events(height);
        let (mut indexes, mut events) = (Vec::new(), Vec::new());
        for f in filters {
            let matched = matched(&receipts, f);
            indexes.push(matched.iter().map(|(i, _)| format!("{i:#x}")).collect::<Vec<_>>());
            events.push(matched.iter().map(|(_, js)| js.iter().map(|j| format!("{j:#x}")).collect::<Vec<_>>()).collect::<Vec<_>>());
        }
        n["indexes"] = json!(indexes);
        n["events"] = json!(events);
    }
    Some(n)
}

async fn monitor(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(move |socket| block_session(socket, shared))
}

async fn block_session(mut socket: WebSocket, shared: Arc<Shared>) {
    let mut blocks = shared.blocks.subscribe();
    let Some(Ok(Message::Text(text))) = socket.recv().await else { return };
    let request: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let start = int_param(&request, "height");
    let filters: Result<Vec<Filter>, String> =
        request.get("eventFilters").and_then(Value::as_array).map_or(Ok(Vec::new()), |fs| fs.iter().map(Filter::parse).collect());
    let (mut next, filters) = match (start, filters) {
        (Ok(h), Ok(f)) => (h, f),
        (Err(e), _) => {
            let _ = socket.send(Message::Text(json!({"code": e.code, "message": e.message}).to_string())).await;
            return;
        }
        (_, Err(e)) => {
            let _ = socket.send(Message::Text(json!({"code": -32602, "message": e}).to_string())).await;
            return;
        }
    };
    if socket.send(Message::Text(json!({"code": 0}).to_string())).await.is_err() {
        return;
    }
    loop {
        let pending: Vec<Value> = {
            let backend = shared.backend.lock().await;
            let last = backend.last_height();
            let mut out = Vec::new();
            while next <= last {
                if let Some(n) = notification(backend.as_ref(), next, &filters) {
                    out.push(n);
                }
                next += 1;
            }
            out
        };
        for n in pending {
            if socket.send(Message::Text(n.to_string())).await.is_err() || shared.drops_monitor() {
                return;
            }
        }
        tokio::select! {
            new = blocks.recv() => if let Err(broadcast::error::RecvError::Closed) = new { return },
            incoming = socket.recv() => if !matches!(incoming, Some(Ok(_))) { return },
        }
    }
}
