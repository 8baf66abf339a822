//! goloop's block monitor (`ws://…/api/v3/<channel>/block`): one notification per block from a height on, with
//! where the events that match the filters are (receipt indexes, and event indexes within each receipt).

use crate::{parse_t_int, t_int, Error};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

/// Events a monitor reports: by emitting contract, signature and indexed values (`None` matches any).
#[derive(Debug, Clone)]
pub struct EventFilter {
    pub addr: String,
    pub event: String,
    pub indexed: Vec<Option<String>>,
}

/// One block as the monitor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockNotification {
    pub height: u64,
    /// The block's id.
    pub hash: [u8; 32],
    /// For the first filter: the receipts with matching events and, per receipt, the events' indexes.
    pub receipts: Vec<(u64, Vec<u64>)>,
}

/// The block monitor URL of a JSON-RPC endpoint: `http://h/api/v3[/channel][?query]` →
/// `ws://h/api/v3[/channel]/block[?query]` (a provider's key in the query goes along).
pub fn monitor_url(rpc_url: &str) -> String {
    let (path, query) = rpc_url.split_once('?').map_or((rpc_url, None), |(p, q)| (p, Some(q)));
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("https://").map(|r| format!("wss://{r}")).or_else(|| path.strip_prefix("http://").map(|r| format!("ws://{r}")));
    let url = format!("{}/block", path.unwrap_or_else(|| rpc_url.split('?').next().unwrap_or(rpc_url).to_string()));
    match query {
        Some(q) => format!("{url}?{q}"),
        None => url,
    }
}

/// How long connecting, and waiting for a block the endpoint already has, may take before the session counts as
/// lost (a half-open connection would otherwise wait forever).
const TIMEOUT: Duration = Duration::from_secs(30);

/// A block monitor session.
pub struct BlockMonitor {
    /// The URL as errors show it.
    url: String,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    timeout: Duration,
}

impl BlockMonitor {
    /// Subscribes at `url` to the blocks from `height` on, reporting events that match `filter`.
    pub async fn connect(url: &str, height: u64, filter: &EventFilter) -> Result<Self, Error> {
        Self::connect_waiting(url, height, filter, TIMEOUT).await
    }

    /// As [`BlockMonitor::connect`], each block (and the connection) awaited at most `timeout`.
    pub async fn connect_waiting(url: &str, height: u64, filter: &EventFilter, timeout: Duration) -> Result<Self, Error> {
        let shown = btp_endpoint::redact(url);
        let transport = |reason: String| Error::Transport { url: shown.clone(), reason: btp_endpoint::redact_in(&reason, url) };
        let connected =
            tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url)).await.map_err(|_| transport(format!("no connection within {timeout:?}")))?;
        let (mut socket, _) = connected.map_err(|e| transport(e.to_string()))?;
        let request = json!({"height": t_int(height), "eventFilters": [{"addr": filter.addr, "event": filter.event, "indexed": filter.indexed}]});
        socket.send(Message::text(request.to_string())).await.map_err(|e| transport(e.to_string()))?;
        let mut monitor = Self { url: shown.clone(), socket, timeout };
        let answer = monitor.next_json().await?;
        match answer["code"].as_i64() {
            Some(0) => Ok(monitor),
            code => Err(Error::Rpc {
                method: "block monitor".into(),
                code: code.unwrap_or(crate::code::SERVER_ERROR),
                message: answer["message"].as_str().unwrap_or_default().into(),
            }),
        }
    }

    async fn next_json(&mut self) -> Result<Value, Error> {
        let transport = |reason: String| Error::Transport { url: self.url.clone(), reason };
        // One deadline for the answer, not one per frame: an endpoint that only pings must not hold the lane.
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await.map_err(|_| transport(format!("nothing within {:?}", self.timeout)))?;
            match next {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).map_err(|e| transport(format!("not JSON: {e}"))),
                Some(Ok(Message::Close(_))) | None => return Err(transport("the monitor closed the session".into())),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(transport(e.to_string())),
            }
        }
    }

    /// The next block; an error after the timeout (30 s unless connected with another) without one, whatever else
    /// came meanwhile (ask only for blocks the endpoint has).
    pub async fn next(&mut self) -> Result<BlockNotification, Error> {
        let n = self.next_json().await?;
        parse_notification(&n).ok_or_else(|| Error::Decode { method: "block monitor".into(), reason: format!("not a block notification: {n}") })
    }
}

fn parse_notification(n: &Value) -> Option<BlockNotification> {
    let height = parse_t_int(&n["height"])?;
    let hash: [u8; 32] = hex::decode(n["hash"].as_str()?.strip_prefix("0x")?).ok()?.try_into().ok()?;
    let indexes = n["indexes"].get(0).and_then(Value::as_array).cloned().unwrap_or_default();
    let events = n["events"].get(0).and_then(Value::as_array).cloned().unwrap_or_default();
    if indexes.len() != events.len() {
        return None;
    }
    let receipts = indexes
        .iter()
        .zip(&events)
        .map(|(i, es)| Some((parse_t_int(i)?, es.as_array()?.iter().map(parse_t_int).collect::<Option<Vec<u64>>>()?)))
        .collect::<Option<Vec<_>>>()?;
    Some(BlockNotification { height, hash, receipts })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A monitor endpoint that accepts the subscription, then only pings: the wait for a block ends at its
    /// timeout, however many pings came.
    #[tokio::test]
    async fn a_monitor_that_only_pings_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/api/v3/block", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
            let _subscription = socket.next().await;
            socket.send(Message::text(json!({"code": 0}).to_string())).await.unwrap();
            while socket.send(Message::Ping(vec![1])).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let filter = EventFilter { addr: "cx0000000000000000000000000000000000000001".into(), event: "Message(str,int,bytes)".into(), indexed: vec![] };
        let mut monitor = BlockMonitor::connect_waiting(&url, 1, &filter, Duration::from_millis(600)).await.unwrap();
        let started = std::time::Instant::now();
        let e = tokio::time::timeout(Duration::from_secs(10), monitor.next()).await.expect("the wait ends").unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3), "at its timeout, not renewed by each ping: {:?}", started.elapsed());
    }

    #[test]
    fn urls_and_notifications_read_as_goloop_writes_them() {
        assert_eq!(monitor_url("http://127.0.0.1:9080/api/v3"), "ws://127.0.0.1:9080/api/v3/block");
        assert_eq!(monitor_url("https://ctz.solidwallet.io/api/v3/icon_dex/"), "wss://ctz.solidwallet.io/api/v3/icon_dex/block");
        assert_eq!(monitor_url("https://node.example/api/v3?apikey=K"), "wss://node.example/api/v3/block?apikey=K");
        let hash = format!("0x{}", "ab".repeat(32));
        let n = json!({"height": "0x52b4", "hash": hash, "indexes": [["0x0", "0x2"]], "events": [[["0x1"], ["0x0", "0x3"]]]});
        assert_eq!(parse_notification(&n), Some(BlockNotification { height: 0x52b4, hash: [0xab; 32], receipts: vec![(0, vec![1]), (2, vec![0, 3])] }));
        let plain = json!({"height": "0x1", "hash": hash});
        assert_eq!(parse_notification(&plain).unwrap().receipts, vec![]);
        assert_eq!(parse_notification(&json!({"height": "0x1", "hash": hash, "indexes": [["0x0"]], "events": [[]]})), None, "indexes without events");
        assert_eq!(parse_notification(&json!({"height": "1", "hash": hash})), None);
    }
}
