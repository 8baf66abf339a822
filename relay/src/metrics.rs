//! What a running relay shows: Prometheus text on `/metrics` and whether it reaches both chains on `/health`.
//!
//! The lane reports to its [`LaneMetrics`] as it goes: the target's position, each round's outcome, what it
//! delivered, how long checking and submitting took, and which chain answered. Its series carry `lane`
//! (`icon_to_parachain`, `parachain_to_icon`) and `relay` (the account it signs with on the lane's target):
//! `btp_relay_rx_seq`, `btp_relay_verifier_height`, `btp_relay_delivered_height`, `btp_relay_messages_delivered`
//! (counter), `btp_relay_rounds{outcome}` (counter: delivered, already_accepted — another relay's identical
//! segment landed first —, overtaken — part of it —, idle, not_our_turn, transport, refused, too_large, not_final, unknown, rejected, store) and
//! `btp_relay_submission_seconds` (histogram). Per chain: `btp_relay_chain_errors{chain}` (counter),
//! `btp_relay_reconnects{chain}` (counter) and `btp_relay_chain_contact_age_seconds{chain}`.
//!
//! What the chains say, read every few seconds apart from the lanes ([`Snapshot`]):
//! `btp_relay_chain_height{chain,head}` (`latest`, `finalized`), per `lane` `btp_relay_sent_seq` (the source
//! BMC's tx_seq), `btp_relay_pending_messages` and `btp_relay_link_stuck`, per relay of the link the parachain
//! BMC's `btp_relay_link_relay_messages{account}` and `btp_relay_link_relay_blocks{account}`,
//! `btp_relay_balance{chain,account}` of this relay's accounts, and `btp_relay_contract_halted{contract}` (1 while
//! the parachain BMC or BMV is halted by its owners).

use crate::{
    lane::{Failure, Position, Round},
    watch::Snapshot,
};
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

/// ICON block-monitor sessions this process reopened after one failed.
static ICON_MONITOR_REOPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts a block-monitor session reopened after a failure (`btp_relay_reconnects_total{chain="icon"}`).
pub fn icon_monitor_reopened() {
    ICON_MONITOR_REOPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// A chain not heard from for this long makes `/health` answer 503.
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

/// A lane of this relay: `relay` is the account it signs with on the lane's target, so that the series of several
/// relays serving one link tell who delivered what.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabel {
    lane: String,
    relay: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    lane: String,
    relay: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabel {
    chain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeadLabel {
    chain: String,
    /// `latest` or `finalized`.
    head: String,
}

/// A direction of the link as both chains tell it (whichever relay serves it).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    lane: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContractLabel {
    contract: String,
}

/// One of a chain's endpoints, its URL without its secrets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    chain: String,
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabel {
    chain: String,
    account: String,
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
    reconnects: Family<ChainLabel, Counter>,
    contacts: Mutex<BTreeMap<&'static str, Contact>>,
    chain_height: Family<HeadLabel, Gauge>,
    sent_seq: Family<DirectionLabel, Gauge>,
    pending: Family<DirectionLabel, Gauge>,
    stuck: Family<DirectionLabel, Gauge>,
    link_relay_messages: Family<AccountLabel, Gauge>,
    link_relay_blocks: Family<AccountLabel, Gauge>,
    balance: Family<AccountLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    halted: Family<ContractLabel, Gauge>,
    endpoint_up: Family<EndpointLabel, Gauge>,
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
            reconnects: Family::default(),
            contacts: Mutex::default(),
            chain_height: Family::default(),
            sent_seq: Family::default(),
            pending: Family::default(),
            stuck: Family::default(),
            link_relay_messages: Family::default(),
            link_relay_blocks: Family::default(),
            balance: Family::default(),
            halted: Family::default(),
            endpoint_up: Family::default(),
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
        registry.register("reconnects", "Connections reopened after a failure (ICON: block-monitor sessions)", m.reconnects.clone());
        registry.register("chain_height", "A chain's latest and finalized block", m.chain_height.clone());
        registry.register("sent_seq", "Messages the source BMC sent on the link (its tx_seq)", m.sent_seq.clone());
        registry.register("pending_messages", "Messages sent on the link and not taken yet", m.pending.clone());
        registry.register("link_stuck", "1 while a message older than the stuck window is not taken", m.stuck.clone());
        registry.register("link_relay_messages", "Messages each relay of the link delivered, as the parachain BMC counts", m.link_relay_messages.clone());
        registry.register("link_relay_blocks", "ICON blocks each relay of the link delivered, as the parachain BMC counts", m.link_relay_blocks.clone());
        registry.register("balance", "A relay account's balance in the chain's smallest unit (planck; loop, 10^-18 ICX)", m.balance.clone());
        registry.register("contract_halted", "1 while the contract's owners have it halted (bmc, bmv): the link stops", m.halted.clone());
        registry.register("endpoint_up", "1 while a chain's endpoint answers and keeps up with the best of them", m.endpoint_up.clone());
        Arc::new(Self { registry, ..m })
    }

    /// The reporter of the lane `lane` from chain `source` to chain `target`, where this relay signs as `relay`.
    pub fn lane(self: &Arc<Self>, lane: &str, source: &'static str, target: &'static str, relay: &str) -> LaneMetrics {
        let mut contacts = self.contacts.lock().unwrap_or_else(|e| e.into_inner());
        contacts.entry(source).or_default();
        contacts.entry(target).or_default();
        LaneMetrics { metrics: self.clone(), label: LaneLabel { lane: lane.into(), relay: relay.into() }, source, target }
    }

    /// The Prometheus text of every series.
    pub fn encode(&self) -> String {
        for (chain, contact) in self.contacts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Some(last) = contact.last {
                self.contact_age.get_or_create(&ChainLabel { chain: chain.to_string() }).set(last.elapsed().as_secs() as i64);
            }
        }
        // The process-wide counts, brought up to date: a counter only moves up by the difference.
        for (chain, count) in [("icon", ICON_MONITOR_REOPENED.load(std::sync::atomic::Ordering::Relaxed)), ("parachain", btp_parachain::reconnects())] {
            let counter = self.reconnects.get_or_create(&ChainLabel { chain: chain.into() });
            counter.inc_by(count.saturating_sub(counter.get()));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// What both chains said about the link; the balances are those of this relay's accounts.
    pub fn snapshot(&self, s: &Snapshot, parachain_account: Option<&str>, icon_account: Option<&str>) {
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let head = |chain: &str, head: &str, v: u64| self.chain_height.get_or_create(&HeadLabel { chain: chain.into(), head: head.into() }).set(int(v));
        head("icon", "latest", s.icon_height);
        head("icon", "finalized", s.icon_height);
        head("parachain", "latest", s.parachain_best);
        head("parachain", "finalized", s.parachain_finalized);
        let directions = [("icon_to_parachain", Some(&s.to_parachain)), ("parachain_to_icon", s.to_icon.as_ref())];
        for (lane, d) in directions {
            let Some(d) = d else { continue };
            let label = DirectionLabel { lane: lane.into() };
            self.sent_seq.get_or_create(&label).set(int(d.sent));
            self.pending.get_or_create(&label).set(int(d.pending()));
            self.stuck.get_or_create(&label).set(i64::from(d.stuck().is_some()));
        }
        for r in &s.relays {
            let label = AccountLabel { chain: "parachain".into(), account: r.account.to_string() };
            self.link_relay_messages.get_or_create(&label).set(int(r.messages));
            self.link_relay_blocks.get_or_create(&label).set(int(r.blocks));
        }
        if let Some(h) = s.halted {
            for (contract, halted) in [("bmc", h.bmc), ("bmv", h.bmv)] {
                self.halted.get_or_create(&ContractLabel { contract: contract.into() }).set(i64::from(halted));
            }
        }
        // f64 keeps 15 significant digits: plenty for an alert on a relay running low.
        for (chain, account, value) in [("parachain", parachain_account, s.parachain_balance), ("icon", icon_account, s.icon_balance)] {
            if let (Some(a), Some(v)) = (account, value) {
                self.balance.get_or_create(&AccountLabel { chain: chain.into(), account: a.into() }).set(v as f64);
            }
        }
    }

    /// Whether each of `chain`'s endpoints is up, by its URL without secrets.
    pub fn endpoints(&self, chain: &str, endpoints: &btp_endpoint::Endpoints) {
        for (endpoint, up) in endpoints.up() {
            self.endpoint_up.get_or_create(&EndpointLabel { chain: chain.into(), endpoint }).set(i64::from(up));
        }
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
            Round::AlreadyAccepted(_) => "already_accepted",
            Round::Overtaken(..) => "overtaken",
            Round::Idle => "idle",
            Round::Failed(Failure::NotOurTurn(_)) => "not_our_turn",
            Round::Failed(Failure::Transport(_)) => "transport",
            Round::Failed(Failure::Refused { .. }) => "refused",
            Round::Failed(Failure::TooLarge(_)) => "too_large",
            Round::Failed(Failure::NotFinal(_)) => "not_final",
            Round::Failed(Failure::Unknown(_)) => "unknown",
            Round::Failed(Failure::Rejected(_)) => "rejected",
            Round::Failed(Failure::Store(_)) => "store",
        };
        let label = OutcomeLabel { lane: self.label.lane.clone(), relay: self.label.relay.clone(), outcome: outcome.into() };
        m.rounds.get_or_create(&label).inc();
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
    use crate::{
        lane::Segment,
        watch::{Direction, RelayCount},
    };
    use btp_parachain::AccountId32;

    /// A lane that saw traffic, and a snapshot of both chains.
    fn traffic() -> Arc<Metrics> {
        let metrics = Metrics::new();
        let lane = metrics.lane("icon_to_parachain", "icon", "parachain", "5Relay");
        lane.position(&Position { rx_seq: 3, height: 120, offset: 100, last_height: 110, validators: None });
        lane.contact(Side::Target, None);
        lane.contact(Side::Source, None);
        let segment = Segment { from: 121, to: 125, messages: 2, parent: [0; 32], bytes: vec![] };
        lane.round(&Round::Delivered(segment.clone()), Some(Duration::from_millis(700)));
        lane.round(&Round::AlreadyAccepted(segment), None);
        lane.round(&Round::Failed(Failure::Transport("down".into())), None);
        lane.contact(Side::Source, Some(&Failure::Transport("ICON down".into())));
        let direction = |sent, taken, sent_before| Some(Direction { sent, taken, sent_before: Some(sent_before) });
        let snapshot = Snapshot {
            icon_height: 130,
            parachain_best: 41,
            parachain_finalized: 40,
            verifier_height: 120,
            to_parachain: direction(5, 3, 4).unwrap(),
            to_icon: direction(2, 2, 2),
            relays: vec![RelayCount { account: AccountId32([1; 32]), blocks: 25, messages: 3 }],
            parachain_balance: Some(5 * 10u128.pow(12)),
            icon_balance: Some(10u128.pow(18)),
            halted: Some(crate::start::Halted { bmc: true, bmv: false }),
        };
        metrics.snapshot(&snapshot, Some("5Relay"), Some("hxrelay"));
        metrics
    }

    #[test]
    fn rounds_become_series_and_silence_unhealth() {
        let silent = Metrics::new();
        silent.lane("icon_to_parachain", "icon", "parachain", "5Relay");
        assert!(!silent.health().0, "no chain heard from yet");
        let metrics = traffic();
        let text = metrics.encode();
        let relay1 = AccountId32([1; 32]).to_string();
        for line in [
            r#"btp_relay_rx_seq{lane="icon_to_parachain",relay="5Relay"} 3"#,
            r#"btp_relay_verifier_height{lane="icon_to_parachain",relay="5Relay"} 120"#,
            r#"btp_relay_delivered_height{lane="icon_to_parachain",relay="5Relay"} 125"#,
            r#"btp_relay_messages_delivered_total{lane="icon_to_parachain",relay="5Relay"} 2"#,
            r#"btp_relay_rounds_total{lane="icon_to_parachain",relay="5Relay",outcome="delivered"} 1"#,
            r#"btp_relay_rounds_total{lane="icon_to_parachain",relay="5Relay",outcome="already_accepted"} 1"#,
            r#"btp_relay_rounds_total{lane="icon_to_parachain",relay="5Relay",outcome="transport"} 1"#,
            r#"btp_relay_submission_seconds_count{lane="icon_to_parachain",relay="5Relay"} 1"#,
            r#"btp_relay_chain_errors_total{chain="icon"} 1"#,
            r#"btp_relay_reconnects_total{chain="icon"} 0"#,
            r#"btp_relay_chain_contact_age_seconds{chain="parachain"} 0"#,
            r#"btp_relay_chain_height{chain="parachain",head="finalized"} 40"#,
            r#"btp_relay_sent_seq{lane="icon_to_parachain"} 5"#,
            r#"btp_relay_pending_messages{lane="icon_to_parachain"} 2"#,
            r#"btp_relay_link_stuck{lane="icon_to_parachain"} 1"#,
            r#"btp_relay_link_stuck{lane="parachain_to_icon"} 0"#,
            &format!(r#"btp_relay_link_relay_messages{{chain="parachain",account="{relay1}"}} 3"#),
            r#"btp_relay_balance{chain="icon",account="hxrelay"} 1000000000000000000.0"#,
            r#"btp_relay_contract_halted{contract="bmc"} 1"#,
            r#"btp_relay_contract_halted{contract="bmv"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        let (healthy, body) = metrics.health();
        assert!(healthy, "both answered just now: {body}");
        assert_eq!(body["chains"]["icon"]["last_failure"], "transport: ICON down");
    }

    /// The Grafana dashboard in the repository queries only series the relay serves.
    #[test]
    fn the_dashboard_uses_the_series_served() {
        let dashboard: serde_json::Value = serde_json::from_str(include_str!("../grafana/btp-relay.json")).unwrap();
        let text = traffic().encode();
        let served: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
        let mut queried = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for name in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("btp_relay_")) {
                    assert!(served.contains(&name), "panel {}: {name} is not served:\n{text}", panel["title"]);
                    queried += 1;
                }
            }
        }
        assert!(queried >= 15, "{queried} series queried");
    }
}
