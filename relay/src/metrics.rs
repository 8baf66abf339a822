//! What a running relay shows: Prometheus text on `/metrics` and whether it reaches both chains on `/health`.
//!
//! The lane reports to its [`LaneMetrics`] as it goes: the target's position, each round's outcome, what it
//! delivered, how long checking and submitting took, and which chain answered. Series (`lane` is
//! `icon_to_parachain` or `parachain_to_icon`, `chain` is `icon` or `parachain`):
//! `btp_relay_rx_seq`, `btp_relay_verifier_height`, `btp_relay_delivered_height`, `btp_relay_messages_delivered`
//! (counter), `btp_relay_rounds{outcome}` (counter: delivered, idle, transport, refused, too_large, unknown,
//! rejected, store), `btp_relay_submission_seconds` (histogram), `btp_relay_chain_errors{chain}` (counter) and
//! `btp_relay_chain_contact_age_seconds{chain}`.

use crate::lane::{Failure, Position, Round};
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};
use serde_json::json;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A chain not heard from for this long makes `/health` answer 503.
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabel {
    lane: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    lane: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabel {
    chain: String,
}

fn submission_histogram() -> Histogram {
    // 50 ms to about 7 minutes: a dry run and a finalized block, up to ICON's 5-minute wait.
    Histogram::new(exponential_buckets(0.05, 2.0, 14))
}

/// A chain's last answer, and the last failure that was its.
#[derive(Default)]
struct Contact {
    last: Option<Instant>,
    failure: Option<String>,
}

pub struct Metrics {
    registry: Registry,
    rx_seq: Family<LaneLabel, Gauge>,
    verifier_height: Family<LaneLabel, Gauge>,
    delivered_height: Family<LaneLabel, Gauge>,
    messages: Family<LaneLabel, Counter>,
    rounds: Family<OutcomeLabel, Counter>,
    submission_seconds: Family<LaneLabel, Histogram, fn() -> Histogram>,
    chain_errors: Family<ChainLabel, Counter>,
    contact_age: Family<ChainLabel, Gauge>,
    contacts: Mutex<BTreeMap<&'static str, Contact>>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("btp_relay");
        let m = Self {
            rx_seq: Family::default(),
            verifier_height: Family::default(),
            delivered_height: Family::default(),
            messages: Family::default(),
            rounds: Family::default(),
            submission_seconds: Family::new_with_constructor(submission_histogram),
            chain_errors: Family::default(),
            contact_age: Family::default(),
            contacts: Mutex::default(),
            registry: Registry::default(),
        };
        registry.register("rx_seq", "Messages the lane's target has taken (its rx_seq)", m.rx_seq.clone());
        registry.register("verifier_height", "The source block the target's verifier stands on", m.verifier_height.clone());
        registry.register("delivered_height", "The last source block this relay delivered", m.delivered_height.clone());
        registry.register("messages_delivered", "BTP messages this relay delivered", m.messages.clone());
        registry.register("rounds", "Lane rounds by outcome", m.rounds.clone());
        registry.register("submission_seconds", "Checking and submitting one segment until final", m.submission_seconds.clone());
        registry.register("chain_errors", "Failed calls to a chain (transport)", m.chain_errors.clone());
        registry.register("chain_contact_age_seconds", "Seconds since a chain last answered", m.contact_age.clone());
        Arc::new(Self { registry, ..m })
    }

    /// The reporter of the lane `lane` from chain `source` to chain `target`.
    pub fn lane(self: &Arc<Self>, lane: &str, source: &'static str, target: &'static str) -> LaneMetrics {
        let mut contacts = self.contacts.lock().unwrap_or_else(|e| e.into_inner());
        contacts.entry(source).or_default();
        contacts.entry(target).or_default();
        LaneMetrics { metrics: self.clone(), label: LaneLabel { lane: lane.into() }, source, target }
    }

    /// The Prometheus text of every series.
    pub fn encode(&self) -> String {
        for (chain, contact) in self.contacts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Some(last) = contact.last {
                self.contact_age.get_or_create(&ChainLabel { chain: chain.to_string() }).set(last.elapsed().as_secs() as i64);
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Whether every chain answered within [`HEALTHY_WITHIN`], and each chain's state.
    pub fn health(&self) -> (bool, serde_json::Value) {
        let contacts = self.contacts.lock().unwrap_or_else(|e| e.into_inner());
        let mut healthy = true;
        let mut chains = serde_json::Map::new();
        for (chain, contact) in contacts.iter() {
            let age = contact.last.map(|l| l.elapsed());
            let ok = age.is_some_and(|a| a <= HEALTHY_WITHIN);
            healthy &= ok;
            chains.insert(chain.to_string(), json!({"ok": ok, "last_answer_seconds_ago": age.map(|a| a.as_secs()), "last_failure": contact.failure}));
        }
        (healthy, json!({"healthy": healthy, "chains": chains}))
    }

    fn contact(&self, chain: &'static str, failure: Option<&Failure>) {
        let mut contacts = self.contacts.lock().unwrap_or_else(|e| e.into_inner());
        let contact = contacts.entry(chain).or_default();
        match failure {
            None => contact.last = Some(Instant::now()),
            Some(f) => {
                contact.failure = Some(f.to_string());
                self.chain_errors.get_or_create(&ChainLabel { chain: chain.to_string() }).inc();
            }
        }
    }
}

/// Which side of a lane a step talked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

/// One lane's reporter.
#[derive(Clone)]
pub struct LaneMetrics {
    metrics: Arc<Metrics>,
    label: LaneLabel,
    source: &'static str,
    target: &'static str,
}

impl LaneMetrics {
    pub fn position(&self, at: &Position) {
        let m = &self.metrics;
        m.rx_seq.get_or_create(&self.label).set(i64::try_from(at.rx_seq).unwrap_or(i64::MAX));
        m.verifier_height.get_or_create(&self.label).set(i64::try_from(at.height).unwrap_or(i64::MAX));
    }

    /// A step with `side` answered (`None`) or failed.
    pub fn contact(&self, side: Side, failure: Option<&Failure>) {
        // Only a transport failure says the chain did not answer; a refusal is an answer.
        let failure = failure.filter(|f| matches!(f, Failure::Transport(_)));
        self.metrics.contact(if side == Side::Source { self.source } else { self.target }, failure);
    }

    /// A round's outcome, with the time its check and submission took when it had a segment to submit.
    pub fn round(&self, round: &Round, submission: Option<Duration>) {
        let m = &self.metrics;
        let outcome = match round {
            Round::Delivered(s) => {
                m.messages.get_or_create(&self.label).inc_by(s.messages);
                m.delivered_height.get_or_create(&self.label).set(i64::try_from(s.to).unwrap_or(i64::MAX));
                "delivered"
            }
            Round::Idle => "idle",
            Round::Failed(Failure::Transport(_)) => "transport",
            Round::Failed(Failure::Refused { .. }) => "refused",
            Round::Failed(Failure::TooLarge(_)) => "too_large",
            Round::Failed(Failure::Unknown(_)) => "unknown",
            Round::Failed(Failure::Rejected(_)) => "rejected",
            Round::Failed(Failure::Store(_)) => "store",
        };
        m.rounds.get_or_create(&OutcomeLabel { lane: self.label.lane.clone(), outcome: outcome.into() }).inc();
        if let Some(took) = submission {
            m.submission_seconds.get_or_create(&self.label).observe(took.as_secs_f64());
        }
    }
}

/// Serves `/metrics` and `/health` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use axum::{http::StatusCode, routing::get, Router};
    let text = metrics.clone();
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = text.clone();
                async move { ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], m.encode()) }
            }),
        )
        .route(
            "/health",
            get(move || {
                let m = metrics.clone();
                async move {
                    let (healthy, body) = m.health();
                    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                    (status, [("content-type", "application/json")], body.to_string())
                }
            }),
        );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics server stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lane::Segment;

    #[test]
    fn rounds_become_series_and_silence_unhealth() {
        let metrics = Metrics::new();
        let lane = metrics.lane("icon_to_parachain", "icon", "parachain");
        assert!(!metrics.health().0, "no chain heard from yet");
        lane.position(&Position { rx_seq: 3, height: 120, offset: 100, last_height: 110, validators: None });
        lane.contact(Side::Target, None);
        lane.contact(Side::Source, None);
        let segment = Segment { from: 121, to: 125, messages: 2, parent: [0; 32], bytes: vec![] };
        lane.round(&Round::Delivered(segment), Some(Duration::from_millis(700)));
        lane.round(&Round::Failed(Failure::Transport("down".into())), None);
        lane.contact(Side::Source, Some(&Failure::Transport("ICON down".into())));
        let text = metrics.encode();
        for line in [
            r#"btp_relay_rx_seq{lane="icon_to_parachain"} 3"#,
            r#"btp_relay_verifier_height{lane="icon_to_parachain"} 120"#,
            r#"btp_relay_delivered_height{lane="icon_to_parachain"} 125"#,
            r#"btp_relay_messages_delivered_total{lane="icon_to_parachain"} 2"#,
            r#"btp_relay_rounds_total{lane="icon_to_parachain",outcome="delivered"} 1"#,
            r#"btp_relay_rounds_total{lane="icon_to_parachain",outcome="transport"} 1"#,
            r#"btp_relay_submission_seconds_count{lane="icon_to_parachain"} 1"#,
            r#"btp_relay_chain_errors_total{chain="icon"} 1"#,
            r#"btp_relay_chain_contact_age_seconds{chain="parachain"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        let (healthy, body) = metrics.health();
        assert!(healthy, "both answered just now: {body}");
        assert_eq!(body["chains"]["icon"]["last_failure"], "transport: ICON down");
    }
}
