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

/// The block monitor URL of a JSON-RPC endpoint: `http://h/api/v3[/channel]` → `ws://h/api/v3[/channel]/block`.
pub fn monitor_url(rpc_url: &str) -> String {
    let url = rpc_url.trim_end_matches('/');
    let url = url.strip_prefix("https://").map(|r| format!("wss://{r}")).or_else(|| url.strip_prefix("http://").map(|r| format!("ws://{r}")));
    format!("{}/block", url.unwrap_or_else(|| rpc_url.to_string()))
}

/// How long connecting, and waiting for a block the endpoint already has, may take before the session counts as
/// lost (a half-open connection would otherwise wait forever).
const TIMEOUT: Duration = Duration::from_secs(30);

/// A block monitor session.
pub struct BlockMonitor {
    url: String,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl BlockMonitor {
    /// Subscribes at `url` to the blocks from `height` on, reporting events that match `filter`.
    pub async fn connect(url: &str, height: u64, filter: &EventFilter) -> Result<Self, Error> {
        let transport = |reason: String| Error::Transport { url: url.to_string(), reason };
        let connected =
            tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(url)).await.map_err(|_| transport(format!("no connection within {TIMEOUT:?}")))?;
        let (mut socket, _) = connected.map_err(|e| transport(e.to_string()))?;
        let request = json!({"height": t_int(height), "eventFilters": [{"addr": filter.addr, "event": filter.event, "indexed": filter.indexed}]});
        socket.send(Message::text(request.to_string())).await.map_err(|e| transport(e.to_string()))?;
        let mut monitor = Self { url: url.to_string(), socket };
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
        loop {
            let next = tokio::time::timeout(TIMEOUT, self.socket.next()).await.map_err(|_| transport(format!("nothing within {TIMEOUT:?}")))?;
            match next {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).map_err(|e| transport(format!("not JSON: {e}"))),
                Some(Ok(Message::Close(_))) | None => return Err(transport("the monitor closed the session".into())),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(transport(e.to_string())),
            }
        }
    }

    /// The next block; an error after [`TIMEOUT`] without one (ask only for blocks the endpoint has).
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

    #[test]
    fn urls_and_notifications_read_as_goloop_writes_them() {
        assert_eq!(monitor_url("http://127.0.0.1:9080/api/v3"), "ws://127.0.0.1:9080/api/v3/block");
        assert_eq!(monitor_url("https://ctz.solidwallet.io/api/v3/icon_dex/"), "wss://ctz.solidwallet.io/api/v3/icon_dex/block");
        let hash = format!("0x{}", "ab".repeat(32));
        let n = json!({"height": "0x52b4", "hash": hash, "indexes": [["0x0", "0x2"]], "events": [[["0x1"], ["0x0", "0x3"]]]});
        assert_eq!(parse_notification(&n), Some(BlockNotification { height: 0x52b4, hash: [0xab; 32], receipts: vec![(0, vec![1]), (2, vec![0, 3])] }));
        let plain = json!({"height": "0x1", "hash": hash});
        assert_eq!(parse_notification(&plain).unwrap().receipts, vec![]);
        assert_eq!(parse_notification(&json!({"height": "0x1", "hash": hash, "indexes": [["0x0"]], "events": [[]]})), None, "indexes without events");
        assert_eq!(parse_notification(&json!({"height": "1", "hash": hash})), None);
    }
}
