//! The HTTP client of one ICON node's JSON-RPC endpoint.

use crate::{code, parse_t_int, t_hash, t_int, Error};
use base64::{engine::general_purpose::STANDARD, Engine};
use btp_endpoint::Endpoints;
use serde_json::{json, Value};
use std::{sync::Arc, time::Duration};

/// How long a request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read: more is an error, not a relay's memory filled by a faulty or hostile endpoint.
/// goloop's largest answers (a block's receipt proofs, a transaction of ICON's 512 KiB limit in base64) are far
/// below it.
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;
/// Attempts of a call whose failure may pass, and the first pause between them (doubling).
const ATTEMPTS: u32 = 4;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A client of an ICON node's JSON-RPC endpoint (`http://host:port/api/v3`, or a channel's `/api/v3/icon_dex`), or
/// of several endpoints of one chain: each call goes to the one [`Endpoints::preferred`] names, and an endpoint
/// that does not answer is marked failed, so that the next attempt goes to the next.
#[derive(Clone, Debug)]
pub struct IconClient {
    endpoints: Arc<Endpoints>,
    http: reqwest::Client,
}

/// The debug API's URL of a JSON-RPC endpoint, as goloop serves it: `…/api/v3[/channel]` → `…/api/v3d[/channel]`.
pub fn debug_url(rpc_url: &str) -> String {
    match rpc_url.find("/api/v3") {
        Some(at) if !rpc_url[at..].starts_with("/api/v3d") => format!("{}/api/v3d{}", &rpc_url[..at], &rpc_url[at + "/api/v3".len()..]),
        _ => rpc_url.to_string(),
    }
}

impl IconClient {
    /// A client of the one endpoint `url`.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::with_endpoints(Arc::new(Endpoints::single(url)))
    }

    /// A client of `endpoints`, which it shares with whatever else reads the chain (and probes it).
    pub fn with_endpoints(endpoints: Arc<Endpoints>) -> Result<Self, Error> {
        let http =
            reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| Error::Transport { url: endpoints.shown(0).to_string(), reason: e.to_string() })?;
        Ok(Self { endpoints, http })
    }

    /// The URL of the endpoint calls go to now.
    pub fn url(&self) -> &str {
        self.endpoints.url(self.endpoints.preferred())
    }

    /// That URL as it may be shown (without user, password or query).
    pub fn shown_url(&self) -> &str {
        self.endpoints.shown(self.endpoints.preferred())
    }

    pub fn endpoints(&self) -> &Arc<Endpoints> {
        &self.endpoints
    }

    /// Calls `method` with `params` and returns its result. A failure that may pass ([`Error::is_transient`]: no
    /// answer, goloop's bare system error, a full pool) is retried after 100, 200 and 400 ms, as ICON's own relays
    /// retry their calls: one lost answer costs a pause, not the relay's round. Sending a transaction again is
    /// safe: goloop answers a duplicate with system error 2000.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        let mut pause = RETRY_PAUSE;
        for _ in 1..ATTEMPTS {
            match self.call_once(method, params.clone()).await {
                Err(e) if e.is_transient() => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                other => return other,
            }
        }
        self.call_once(method, params).await
    }

    async fn call_once(&self, method: &str, params: Value) -> Result<Value, Error> {
        self.post(false, method, params).await
    }

    /// Posts to the preferred endpoint (its debug API with `debug`), telling the endpoints whether it answered.
    async fn post(&self, debug: bool, method: &str, params: Value) -> Result<Value, Error> {
        let i = self.endpoints.preferred();
        let url = if debug { debug_url(self.endpoints.url(i)) } else { self.endpoints.url(i).to_string() };
        let answer = self.post_to(&url, self.endpoints.shown(i), method, params, debug).await;
        match &answer {
            Err(Error::Transport { .. }) => self.endpoints.failed(i),
            _ => self.endpoints.answered(i, None),
        }
        answer
    }

    async fn post_to(&self, url: &str, shown: &str, method: &str, params: Value, debug: bool) -> Result<Value, Error> {
        let transport = |reason: String| Error::Transport { url: shown.to_string(), reason };
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        // reqwest's errors name the URL, secrets and all.
        let mut response = self.http.post(url).json(&request).send().await.map_err(|e| transport(e.without_url().to_string()))?;
        let status = response.status();
        // goloop answers 404 ("debug API is disabled") where its debug API is off; elsewhere a 404 is a wrong or
        // failing endpoint, left for the next.
        if debug && status == reqwest::StatusCode::NOT_FOUND {
            return Err(Error::Unsupported { url: shown.to_string(), method: method.into(), reason: format!("HTTP {status}") });
        }
        if response.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
            return Err(transport(format!("an answer of more than {MAX_ANSWER} bytes")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(e.without_url().to_string()))? {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(transport(format!("an answer of more than {MAX_ANSWER} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body: Value = match serde_json::from_slice(&bytes) {
            Ok(body) => body,
            Err(e) => return Err(transport(format!("HTTP {status} without a JSON-RPC answer: {e}"))),
        };
        if let Some(error) = body.get("error") {
            let code = error["code"].as_i64().unwrap_or(code::SERVER_ERROR);
            if code == code::METHOD_NOT_FOUND {
                return Err(Error::Unsupported { url: shown.to_string(), method: method.into(), reason: error["message"].as_str().unwrap_or_default().into() });
            }
            return Err(Error::Rpc { method: method.to_string(), code, message: error["message"].as_str().unwrap_or_default().to_string() });
        }
        match body.get("result") {
            Some(result) if status.is_success() => Ok(result.clone()),
            _ => Err(transport(format!("HTTP {status}: {body}"))),
        }
    }

    async fn bytes(&self, method: &str, params: Value) -> Result<Vec<u8>, Error> {
        let result = self.call(method, params).await?;
        let decode = |reason: String| Error::Decode { method: method.to_string(), reason };
        STANDARD.decode(result.as_str().ok_or_else(|| decode(format!("{result} is not base64 text")))?).map_err(|e| decode(e.to_string()))
    }

    /// The height of the node's last block.
    pub async fn last_height(&self) -> Result<u64, Error> {
        let block = self.call("icx_getLastBlock", Value::Null).await?;
        parse_t_int(&block["height"]).ok_or_else(|| Error::Decode { method: "icx_getLastBlock".into(), reason: format!("no height in {block}") })
    }

    /// The ICX balance of `address`, in loop (10^-18 ICX).
    pub async fn balance(&self, address: &str) -> Result<u128, Error> {
        let balance = self.call("icx_getBalance", json!({"address": address})).await?;
        balance
            .as_str()
            .and_then(crate::parse_t_amount)
            .ok_or_else(|| Error::Decode { method: "icx_getBalance".into(), reason: format!("{balance} is not an amount") })
    }

    /// Block `height`'s header, RLP as validators signed it.
    pub async fn block_header(&self, height: u64) -> Result<Vec<u8>, Error> {
        self.bytes("icx_getBlockHeaderByHeight", json!({"height": t_int(height)})).await
    }

    /// The votes that confirmed block `height`.
    pub async fn votes(&self, height: u64) -> Result<Vec<u8>, Error> {
        self.bytes("icx_getVotesByHeight", json!({"height": t_int(height)})).await
    }

    /// Proofs of events `events` of receipt `index` in block `block` (its id): the receipt's MPT proof, then one
    /// proof per event, each a list of nodes.
    pub async fn proof_for_events(&self, block: &[u8; 32], index: u64, events: &[u64]) -> Result<Vec<Vec<Vec<u8>>>, Error> {
        const METHOD: &str = "icx_getProofForEvents";
        let params = json!({"hash": t_hash(block), "index": t_int(index), "events": events.iter().map(|e| t_int(*e)).collect::<Vec<_>>()});
        let result = self.call(METHOD, params).await?;
        let decode = |reason: String| Error::Decode { method: METHOD.into(), reason };
        let lists = result.as_array().ok_or_else(|| decode(format!("{result} is not a list of proofs")))?;
        let proofs = lists
            .iter()
            .map(|nodes| {
                let nodes = nodes.as_array().ok_or_else(|| decode(format!("{nodes} is not a list of nodes")))?;
                nodes.iter().map(|n| n.as_str().and_then(|t| STANDARD.decode(t).ok()).ok_or_else(|| decode(format!("{n} is not base64")))).collect()
            })
            .collect::<Result<Vec<Vec<Vec<u8>>>, Error>>()?;
        if proofs.len() != events.len() + 1 {
            return Err(decode(format!("{} proofs for a receipt and {} events", proofs.len(), events.len())));
        }
        Ok(proofs)
    }

    /// Calls the read-only method `method` of contract `to` (`icx_call`).
    pub async fn call_contract(&self, to: &str, method: &str, params: Value) -> Result<Value, Error> {
        self.call_contract_at(to, method, params, None).await
    }

    /// [`IconClient::call_contract`] at ICON height `height` when given: goloop answers from that block's result,
    /// the state after the transactions of the block before it.
    pub async fn call_contract_at(&self, to: &str, method: &str, params: Value, height: Option<u64>) -> Result<Value, Error> {
        let mut request = json!({"to": to, "dataType": "call", "data": {"method": method, "params": params}});
        if let Some(h) = height {
            request["height"] = t_int(h).into();
        }
        self.call("icx_call", request).await
    }

    /// Runs the unsigned transaction `tx` (no `stepLimit`, no `signature`) on the node's last state without
    /// keeping anything (goloop's `debug_estimateStep`, on the debug API beside this endpoint): the steps it would
    /// use, or its failure as [`Error::Rpc`] ([`Error::failure_status`]); [`Error::Unsupported`] where the node's
    /// debug API is off.
    pub async fn estimate_step(&self, tx: &Value) -> Result<u128, Error> {
        const METHOD: &str = "debug_estimateStep";
        let steps = self.post(true, METHOD, tx.clone()).await?;
        steps.as_str().and_then(crate::parse_t_amount).ok_or_else(|| Error::Decode { method: METHOD.into(), reason: format!("{steps} is not a step count") })
    }

    /// Sends the signed v3 transaction `tx` and waits up to `wait` for its result, polling every `poll` through
    /// goloop's pending (−31002), executing (−31003) and not-yet-known (−31004) answers, as ICON's relays do. A
    /// duplicate (system error 2000: this very transaction is in the pool or a block already) is waited for like
    /// one just sent, and so is a sending whose answer was lost (no answer, a gateway's error, goloop's bare system
    /// error): the node may have taken it, and while it says it does not know it, the same transaction is sent
    /// again (it can only execute once). An expired one (2002) and every other refusal is the error, for the
    /// caller to sign again; no result within `wait` is [`Error::Unconfirmed`]: it may still be executed.
    pub async fn send_and_wait(&self, tx: &Value, poll: Duration, wait: Duration) -> Result<TransactionResult, Error> {
        let params = tx.as_object().ok_or_else(|| Error::Decode { method: "icx_sendTransaction".into(), reason: "the transaction is not an object".into() })?;
        let hash = t_hash(&crate::transaction::hash(params));
        // Once an attempt's answer is lost the node may hold the transaction: from then on the result tells.
        let mut maybe_taken = false;
        let mut pause = RETRY_PAUSE;
        for attempt in 1..=ATTEMPTS {
            match self.call_once("icx_sendTransaction", tx.clone()).await {
                Ok(_) => break,
                Err(e) if e.system_subcode() == Some(code::DUPLICATE_TRANSACTION) => break,
                Err(e) if e.is_transient() => {
                    // A full pool refused it; no answer, or goloop's bare system error, may hide its taking.
                    maybe_taken |= !matches!(e, Error::Rpc { code: code::POOL_OVERFLOW, .. });
                    if attempt == ATTEMPTS && !maybe_taken {
                        return Err(e);
                    }
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(_) if maybe_taken => break,
                Err(e) => return Err(e),
            }
        }
        let started = std::time::Instant::now();
        loop {
            match self.transaction_result(&hash).await {
                Ok(result) => return Ok(result),
                Err(e) if e.code() == Some(code::NOT_FOUND) && started.elapsed() < wait => {
                    // Not known there (a sending lost, another endpoint's pool): the same transaction again.
                    let _ = self.call_once("icx_sendTransaction", tx.clone()).await;
                    tokio::time::sleep(poll).await;
                }
                // Sent: a failing endpoint is asked again, not given up on, or the same messages would go out twice.
                Err(e) if e.is_transient() || e.code().is_some_and(|c| [code::PENDING, code::EXECUTING, code::NOT_FOUND].contains(&c)) => {
                    if started.elapsed() >= wait {
                        return Err(Error::Unconfirmed { hash, waited: wait });
                    }
                    tokio::time::sleep(poll).await;
                }
                // Sent, and the node's answers make no sense: still in doubt, never to be signed again blindly.
                Err(_) => return Err(Error::Unconfirmed { hash, waited: started.elapsed() }),
            }
        }
    }

    /// The hashes of block `height`'s transactions, in order: the index of each is its receipt's.
    pub async fn transaction_hashes(&self, height: u64) -> Result<Vec<String>, Error> {
        let block = self.call("icx_getBlockByHeight", json!({"height": t_int(height)})).await?;
        let decode = |reason: String| Error::Decode { method: "icx_getBlockByHeight".into(), reason };
        let list = block["confirmed_transaction_list"].as_array().ok_or_else(|| decode(format!("no confirmed_transaction_list in block {height}")))?;
        list.iter()
            .map(|tx| {
                tx["txHash"].as_str().map(|h| format!("0x{}", h.trim_start_matches("0x"))).ok_or_else(|| decode(format!("a transaction without txHash: {tx}")))
            })
            .collect()
    }

    /// The result of the transaction `hash` (`0x…`), once it is in a block.
    pub async fn transaction_result(&self, hash: &str) -> Result<TransactionResult, Error> {
        TransactionResult::read(hash.to_string(), self.call("icx_getTransactionResult", json!({"txHash": hash})).await?)
    }

    /// The data committed to by `hash` (a validator list by a header's next-validators hash).
    pub async fn data_by_hash(&self, hash: &[u8; 32]) -> Result<Vec<u8>, Error> {
        self.bytes("icx_getDataByHash", json!({"hash": t_hash(hash)})).await
    }
}

/// A transaction in a block: where, and whether it succeeded (goloop's `status` `0x1`).
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionResult {
    pub hash: String,
    pub height: u64,
    /// The failure (`{code, message}`) of a transaction that failed.
    pub failure: Option<Value>,
    pub result: Value,
}

impl TransactionResult {
    fn read(hash: String, result: Value) -> Result<Self, Error> {
        let decode = |reason: String| Error::Decode { method: "icx_getTransactionResult".into(), reason };
        let height = parse_t_int(&result["blockHeight"]).ok_or_else(|| decode(format!("no blockHeight in {result}")))?;
        let failure = match result["status"].as_str() {
            Some("0x1") => None,
            Some(_) => Some(result["failure"].clone()),
            None => return Err(decode(format!("no status in {result}"))),
        };
        Ok(Self { hash, height, failure, result })
    }

    /// The event logs, as goloop lists them: the emitting contract, the indexed values (the signature first),
    /// the data.
    pub fn event_logs(&self) -> Vec<EventLogJson> {
        let strings = |v: &Value| v.as_array().map(|a| a.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default();
        let logs = self.result["eventLogs"].as_array().map(Vec::as_slice).unwrap_or_default();
        logs.iter()
            .map(|log| EventLogJson {
                score_address: log["scoreAddress"].as_str().unwrap_or_default().to_string(),
                indexed: strings(&log["indexed"]),
                data: strings(&log["data"]),
            })
            .collect()
    }
}

/// One event log of a transaction result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogJson {
    pub score_address: String,
    /// The event's signature (`Message(str,int,bytes)`), then its indexed values as goloop prints them.
    pub indexed: Vec<String>,
    /// The values not indexed, in order.
    pub data: Vec<String>,
}

impl EventLogJson {
    /// The event's signature.
    pub fn signature(&self) -> &str {
        self.indexed.first().map_or("", String::as_str)
    }

    /// Indexed value `i` (after the signature) or else data value `i - indexed`: the event's `i`-th argument.
    pub fn argument(&self, i: usize) -> Option<&str> {
        let indexed = self.indexed.len().saturating_sub(1);
        match i < indexed {
            true => self.indexed.get(i + 1),
            false => self.data.get(i - indexed),
        }
        .map(String::as_str)
    }

    /// Argument `i` as an integer (goloop's 0x-hex).
    pub fn int(&self, i: usize) -> Option<u128> {
        self.argument(i).and_then(crate::parse_t_amount)
    }

    /// Argument `i` as bytes (goloop's 0x-hex).
    pub fn bytes(&self, i: usize) -> Option<Vec<u8>> {
        self.argument(i).and_then(|a| hex::decode(a.trim_start_matches("0x")).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// goloop's error answer (HTTP 400, the error object in the body) is the call's error with its code; a
    /// non-JSON-RPC answer is a transport failure.
    #[tokio::test]
    async fn an_error_answer_with_status_400_is_a_json_rpc_error() {
        use tokio::{
            io::{AsyncReadExt, AsyncWriteExt},
            net::TcpListener,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v3", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let bodies = [r#"{"jsonrpc":"2.0","id":1,"error":{"code":-31004,"message":"NotFound: no block"}}"#, "<html>bad gateway</html>"];
            for (status, body) in ["400 Bad Request", "502 Bad Gateway"].into_iter().zip(bodies) {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await.unwrap();
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let client = IconClient::new(&url).unwrap();
        let e = client.block_header(7).await.unwrap_err();
        assert_eq!(e.code(), Some(code::NOT_FOUND), "{e}");
        let e = client.block_header(7).await.unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{e}");
    }

    /// An endpoint that answers without end (or says it will send more than a relay should hold) is a transport
    /// failure once [`MAX_ANSWER`] bytes have come, with or without a length announced.
    #[tokio::test]
    async fn an_oversized_rpc_answer_is_an_error() {
        use tokio::{
            io::{AsyncReadExt, AsyncWriteExt},
            net::TcpListener,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v3", listener.local_addr().unwrap());
        tokio::spawn(async move {
            for announced in [true, false] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await.unwrap();
                let head = if announced {
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", 2 * MAX_ANSWER)
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_string()
                };
                socket.write_all(head.as_bytes()).await.unwrap();
                let _ = socket.write_all(br#"{"jsonrpc":"2.0","id":1,"result":""#).await;
                let chunk = vec![b'A'; 64 * 1024];
                // Until the client hangs up.
                while socket.write_all(&chunk).await.is_ok() {}
            }
        });
        let client = IconClient::new(&url).unwrap();
        for _ in 0..2 {
            let e = client.call_once("icx_getLastBlock", Value::Null).await.unwrap_err();
            assert!(matches!(e, Error::Transport { .. }) && e.to_string().contains("more than"), "{e}");
        }
    }

    #[tokio::test]
    async fn rpc_url_secrets_are_redacted() {
        // Nothing listens on port 1: the connection fails, and the error names the endpoint.
        let client = IconClient::new("http://relay:pa55@127.0.0.1:1/api/v3?apikey=S3CRET").unwrap();
        let e = client.call_once("icx_getLastBlock", Value::Null).await.unwrap_err().to_string();
        assert!(e.contains("127.0.0.1:1") && !e.contains("pa55") && !e.contains("S3CRET"), "{e}");
        assert_eq!(client.shown_url(), "http://***@127.0.0.1:1/api/v3?***");
    }
}
