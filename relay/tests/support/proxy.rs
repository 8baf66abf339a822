//! A WebSocket JSON-RPC proxy in front of a node that loses a submission in transport: it forwards everything
//! both ways, but holds the first `lose` `author_submitAndWatchExtrinsic` requests until the client next asks for
//! an account's nonce (`system_accountNextIndex`), forwards them to the node then, and never answers them (their
//! answers and subscription notifications are dropped). The client sees a submission time out while the node
//! takes it a moment later: the case where sending again would pay twice.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// The proxy, serving on `url` until dropped.
pub struct LosingProxy {
    pub url: String,
    /// Submissions held or dropped so far.
    lost: Arc<Mutex<usize>>,
    server: tokio::task::JoinHandle<()>,
}

/// What one connection remembers: the ids of lost requests, their subscriptions, the requests held.
#[derive(Default)]
struct Lost {
    ids: HashSet<String>,
    subscriptions: HashSet<String>,
    held: Vec<Message>,
}

impl LosingProxy {
    /// A proxy to the node at `node_url` (`ws://…`) that loses its first `lose` submissions.
    pub async fn start(node_url: &str, lose: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let lost = Arc::new(Mutex::new(0));
        let (node_url, counter) = (node_url.to_string(), lost.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (node_url, counter) = (node_url.clone(), counter.clone());
                tokio::spawn(async move {
                    let Ok(client) = tokio_tungstenite::accept_async(stream).await else { return };
                    let Ok((node, _)) = tokio_tungstenite::connect_async(node_url.as_str()).await else { return };
                    relay_frames(client, node, counter, lose).await;
                });
            }
        });
        Self { url, lost, server }
    }

    /// How many submissions it has lost.
    pub fn lost(&self) -> usize {
        *self.lost.lock().unwrap()
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn method(frame: &Value) -> Option<&str> {
    frame.get("method").and_then(Value::as_str)
}

fn id(frame: &Value) -> Option<String> {
    frame.get("id").map(Value::to_string)
}

async fn relay_frames<C, N>(client: C, node: N, counter: Arc<Mutex<usize>>, lose: usize)
where
    C: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + SinkExt<Message> + Unpin + Send + 'static,
    N: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + SinkExt<Message> + Unpin + Send + 'static,
{
    let (mut to_client, mut from_client) = client.split();
    let (mut to_node, mut from_node) = node.split();
    let lost = Arc::new(Mutex::new(Lost::default()));
    let upstream = {
        let lost = lost.clone();
        async move {
            while let Some(Ok(frame)) = from_client.next().await {
                let json: Value = frame.to_text().ok().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
                match method(&json) {
                    Some("author_submitAndWatchExtrinsic") if *counter.lock().unwrap() < lose => {
                        *counter.lock().unwrap() += 1;
                        let mut lost = lost.lock().unwrap();
                        lost.ids.extend(id(&json));
                        lost.held.push(frame);
                        continue;
                    }
                    Some("system_accountNextIndex") => {
                        let held = std::mem::take(&mut lost.lock().unwrap().held);
                        if !held.is_empty() {
                            for frame in held {
                                if to_node.send(frame).await.is_err() {
                                    return;
                                }
                            }
                            // The node takes it into a block before it counts the nonce.
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    _ => {}
                }
                if to_node.send(frame).await.is_err() {
                    return;
                }
            }
        }
    };
    let downstream = async move {
        while let Some(Ok(frame)) = from_node.next().await {
            let json: Value = frame.to_text().ok().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
            {
                let mut lost = lost.lock().unwrap();
                if let Some(answer_to) = id(&json).filter(|id| lost.ids.contains(id)) {
                    lost.ids.remove(&answer_to);
                    if let Some(subscription) = json.get("result").map(Value::to_string) {
                        lost.subscriptions.insert(subscription);
                    }
                    continue;
                }
                let subscription = json.get("params").and_then(|p| p.get("subscription")).map(Value::to_string);
                if subscription.is_some_and(|s| lost.subscriptions.contains(&s)) {
                    continue;
                }
            }
            if to_client.send(frame).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// A TCP forwarder on a free loopback port to `to` (`host:port`): a second door to one endpoint, which a test
/// closes (every connection through it cut, new ones refused) and opens again on the same port.
pub struct TcpForward {
    /// `127.0.0.1:port`.
    pub addr: String,
    to: String,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl TcpForward {
    pub async fn start(to: &str) -> Self {
        let mut forward = Self { addr: "127.0.0.1:0".into(), to: to.into(), stop: None };
        forward.open().await;
        forward
    }

    /// Opens (again) on its port.
    pub async fn open(&mut self) {
        let listener = TcpListener::bind(&self.addr).await.unwrap();
        self.addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let to = self.to.clone();
        tokio::spawn(async move {
            let mut accepting = stopped.clone();
            loop {
                let (mut inbound, _) = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    _ = accepting.changed() => return,
                };
                let (to, mut stopped) = (to.clone(), stopped.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&to).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
        });
        self.stop = Some(stop);
    }

    /// Closes the door: connections through it are cut, new ones refused.
    pub fn close(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

impl Drop for TcpForward {
    fn drop(&mut self) {
        self.close();
    }
}
