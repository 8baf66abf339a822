//! The relay's configuration file (`relay init-config` writes a commented one from a deployment file): where the
//! deployment and the bundles are, the chains' endpoints, the lane's pacing and where the signer's secret is.
//!
//! Each value comes from, first to last: a command-line option, an environment variable named after its key
//! (`RELAY_<SECTION>_<KEY>`: `RELAY_ICON_URL`, `RELAY_LANE_IDLE_MS`, `RELAY_SIGNER_KEY_FILE`; top-level keys
//! `RELAY_DEPLOYMENT`, `RELAY_BUNDLES`), the file, the default. A key the relay does not know is an error, not
//! silently ignored: a misspelt `max_block` would otherwise leave the default in force.

use crate::{deployment::Deployment, signer::SignerConfig};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The deployment file `relay deploy` wrote.
    pub deployment: PathBuf,
    /// Directory with the contract bundles.
    pub bundles: PathBuf,
    /// The relay's store (scanned ICON blocks, the submission in flight); removing it is safe.
    pub store: PathBuf,
    pub icon: IconConfig,
    pub parachain: ParachainConfig,
    pub lane: LaneConfig,
    pub signer: SignerConfig,
    pub metrics: MetricsConfig,
}

/// Where `/metrics` and `/health` are served (empty: nowhere), how often both chains are read for them, and when
/// a message not taken counts as stuck (also for `relay status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: String,
    /// Milliseconds between two readings of both chains' heads, sequence numbers and balances; 0: none.
    pub watch_ms: u64,
    /// Source blocks after which a message sent and not taken makes its link stuck.
    pub stuck_after_blocks: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { listen: String::new(), watch_ms: 5000, stuck_after_blocks: 100 }
    }
}

/// ICON's endpoints (empty: the deployment's JSON-RPC URL, and its block monitor derived from it), and the ICON
/// key the relay signs its transactions toward ICON with (none: it relays toward the parachain only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IconConfig {
    /// JSON-RPC endpoints of one ICON chain, separated by commas, in order of preference: one that fails, stalls
    /// or falls more than `max_lag_blocks` behind the best of them is passed over until it recovers.
    pub url: String,
    /// The block monitor (empty: the one beside the JSON-RPC endpoint in use).
    pub monitor_url: String,
    pub max_lag_blocks: u64,
    /// An ICON keystore file.
    pub key_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
}

impl Default for IconConfig {
    fn default() -> Self {
        // ICON makes a block every 2 s: 10 blocks is 20 s behind.
        Self { url: String::new(), monitor_url: String::new(), max_lag_blocks: 10, key_file: None, password_env: None, password_file: None }
    }
}

/// The parachain nodes' WebSocket RPC endpoints (empty: the deployment's; several separated by commas, as for
/// ICON), and the first block that may hold the BMC's messages toward ICON (where a scan without a store begins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParachainConfig {
    pub url: String,
    pub max_lag_blocks: u64,
    pub first_block: u64,
}

impl Default for ParachainConfig {
    fn default() -> Self {
        // A parachain block every 12 s (6 s with asynchronous backing): 5 blocks is a minute or half of one.
        Self { url: String::new(), max_lag_blocks: 5, first_block: 1 }
    }
}

/// The default budget of one relay message in ref_time (picoseconds of reference hardware). A parachain block is
/// executed again by the relay chain's backing validators within a timeout (2 s by default), on machines that may
/// be slower than the reference; a message of a small part of that leaves the block room and the validators
/// margin. relay/README.md gives the measurements behind it.
pub const DEFAULT_MAX_REF_TIME: u64 = 25_000_000_000;

/// How the lane paces itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LaneConfig {
    /// Pause when there is nothing to relay, and after a refusal (milliseconds).
    pub idle_ms: u64,
    /// The most ICON blocks one relay message carries.
    pub max_blocks: u64,
    /// The most ref_time one relay message may take on a parachain (below the chain's own extrinsic limit); a solo
    /// chain has no validators to re-execute its blocks, and only its own limit applies.
    pub max_ref_time: u64,
    /// The first pause after a chain failed to answer, doubling up to `max_backoff_ms` (milliseconds).
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for LaneConfig {
    fn default() -> Self {
        Self { idle_ms: 1000, max_blocks: 512, max_ref_time: DEFAULT_MAX_REF_TIME, backoff_ms: 1000, max_backoff_ms: 30_000 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            deployment: "deployment.toml".into(),
            bundles: "target/contracts".into(),
            store: "relay-store.redb".into(),
            icon: IconConfig::default(),
            parachain: ParachainConfig::default(),
            lane: LaneConfig::default(),
            signer: SignerConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

/// Whether a key's environment value is read as a number or taken as text.
#[derive(Clone, Copy)]
enum Kind {
    Number,
    Text,
}

/// Every key, as (section, key, kind): what the environment may override. Tests hold it to the struct both ways.
const KEYS: &[(&str, &str, Kind)] = &[
    ("", "deployment", Kind::Text),
    ("", "bundles", Kind::Text),
    ("", "store", Kind::Text),
    ("icon", "url", Kind::Text),
    ("icon", "monitor_url", Kind::Text),
    ("icon", "max_lag_blocks", Kind::Number),
    ("icon", "key_file", Kind::Text),
    ("icon", "password_env", Kind::Text),
    ("icon", "password_file", Kind::Text),
    ("parachain", "url", Kind::Text),
    ("parachain", "max_lag_blocks", Kind::Number),
    ("parachain", "first_block", Kind::Number),
    ("lane", "idle_ms", Kind::Number),
    ("lane", "max_blocks", Kind::Number),
    ("lane", "max_ref_time", Kind::Number),
    ("lane", "backoff_ms", Kind::Number),
    ("lane", "max_backoff_ms", Kind::Number),
    ("signer", "suri_env", Kind::Text),
    ("signer", "suri_file", Kind::Text),
    ("signer", "key_file", Kind::Text),
    ("signer", "password_env", Kind::Text),
    ("signer", "password_file", Kind::Text),
    ("signer", "keystore", Kind::Text),
    ("signer", "account", Kind::Text),
    ("signer", "keystore_password_env", Kind::Text),
    ("metrics", "listen", Kind::Text),
    ("metrics", "watch_ms", Kind::Number),
    ("metrics", "stuck_after_blocks", Kind::Number),
];

/// The environment variable that overrides `key` of `section`.
fn variable(section: &str, key: &str) -> String {
    match section {
        "" => format!("RELAY_{}", key.to_uppercase()),
        _ => format!("RELAY_{}_{}", section.to_uppercase(), key.to_uppercase()),
    }
}

impl Config {
    /// The file at `path` (none: the defaults), with the environment's overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                text.parse::<toml::Table>().map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => toml::Table::new(),
        };
        let origin = path.map_or_else(|| "the configuration".to_string(), |p| p.display().to_string());
        Self::from_table(table, |name| std::env::var(name).ok(), &origin)
    }

    fn from_table(mut table: toml::Table, env: impl Fn(&str) -> Option<String>, origin: &str) -> Result<Self, String> {
        let mut overridden = Vec::new();
        for (section, key, kind) in KEYS {
            let name = variable(section, key);
            // An empty variable unsets nothing and sets nothing: `RELAY_SIGNER_KEY_FILE=` is not a path.
            let Some(text) = env(&name).filter(|t| !t.is_empty()) else { continue };
            let value = match kind {
                Kind::Text => toml::Value::String(text),
                Kind::Number => toml::Value::Integer(text.trim().parse().map_err(|_| format!("{name}={text}: not a whole number"))?),
            };
            let into = match *section {
                "" => &mut table,
                _ => table
                    .entry(section.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| format!("{origin}: `{section}` is not a table"))?,
            };
            into.insert(key.to_string(), value);
            overridden.push(name);
        }
        let config: Self = toml::Value::Table(table).try_into().map_err(|e| match overridden.is_empty() {
            true => format!("{origin}: {e}"),
            false => format!("{origin} with {}: {e}", overridden.join(", ")),
        })?;
        if config.lane.max_ref_time == 0 {
            return Err(format!("{origin}: lane.max_ref_time must be at least 1"));
        }
        if config.lane.max_blocks == 0 {
            return Err(format!("{origin}: lane.max_blocks must be at least 1"));
        }
        if config.lane.backoff_ms == 0 || config.lane.max_backoff_ms < config.lane.backoff_ms {
            return Err(format!("{origin}: lane.backoff_ms must be at least 1 and at most lane.max_backoff_ms"));
        }
        Ok(config)
    }

    /// The commented file `relay init-config` writes for `deployment` (read from `deployment_path`).
    pub fn template(deployment: &Deployment, deployment_path: &Path, bundles: &Path, store: &Path) -> String {
        let d = Self::default();
        let quoted = |v: &str| toml::Value::String(v.to_string()).to_string();
        format!(
            r#"# The relay's configuration (`relay start --config FILE`, `relay status --config FILE`), written by
# `relay init-config`. Every key may be overridden by an environment variable RELAY_<SECTION>_<KEY>
# (RELAY_ICON_URL, RELAY_LANE_IDLE_MS, RELAY_SIGNER_KEY_FILE; top level: RELAY_DEPLOYMENT, RELAY_BUNDLES), and a
# command-line option overrides both.

# The deployment file `relay deploy` wrote: the contracts, the link and ICON's BMC.
deployment = {deployment_file}
# Directory with the contract bundles (bmc.contract, bmv_icon.contract): their ABI names messages and errors.
bundles = {bundles}
# The relay's store: its copy of the BMV's accumulator, where each undelivered message is, and what it has in
# flight. One relay process per store; removing it is safe (the relay rescans ICON from the BMV's last message
# block, and from the accumulator's first block if it must prove a block).
store = {store}

[icon]
# ICON's JSON-RPC v3 endpoint (empty: the deployment's), or several of one chain separated by commas, in order
# of preference: one that fails, stalls or falls more than max_lag_blocks behind the best of them is passed over
# until it recovers. Logs, errors and metrics show them without user, password or query.
url = {icon_url}
max_lag_blocks = {icon_lag}
# goloop's block monitor (empty: the one beside the JSON-RPC endpoint in use, with ws:// or wss:// and /block).
monitor_url = ""
# The ICON account that relays the parachain's messages to ICON: an ICON keystore file (Web3 Secret Storage with
# its hx address) and its password in an environment variable or a file. Without it the relay only relays to the
# parachain.
# key_file = "icon-relay-keystore.json"
# password_env = "RELAY_ICON_KEY_PASSWORD"
# password_file = "/run/secrets/icon-relay-key-password"

[parachain]
# The parachain node's WebSocket RPC (empty: the deployment's), or several nodes of the chain separated by
# commas, as for ICON.
url = {para_url}
max_lag_blocks = {para_lag}
# The first parachain block that may hold the BMC's messages toward ICON (the block it was deployed in, or
# earlier): where the scan begins when the store knows none.
first_block = {first_block}

[lane]
# Pause when there is nothing to relay, and after a refusal (milliseconds).
idle_ms = {idle_ms}
# The most ICON blocks one relay message carries; the 191 KiB a relay message may hold usually binds first.
max_blocks = {max_blocks}
# The most ref_time one relay message may take on the parachain (1e12 is a second of the reference machine). The
# relay chain's validators execute the parachain's block again within their backing timeout (2 s by default);
# keep this well under what they manage (relay/README.md). The chain's own extrinsic limit applies as well, and
# alone on a solo chain.
max_ref_time = {max_ref_time}
# After a chain fails to answer: the first pause, doubling up to the longest (milliseconds).
backoff_ms = {backoff_ms}
max_backoff_ms = {max_backoff_ms}

[signer]
# The relay's parachain account, one of the link's relays (`relay deploy --relay`). Its secret is never written
# here. One of:
# - an encrypted key file (`relay keys new` or `relay keys import` writes it), with its password in an
#   environment variable or a file:
# key_file = "relay-key.json"
# password_env = "RELAY_KEY_PASSWORD"
# password_file = "/run/secrets/relay-key-password"
# - a file holding a secret URI (a mnemonic or a hex seed, optional //derivation):
# suri_file = "/run/secrets/relay-suri"
# - a Substrate keystore directory and the account in it:
# keystore = "/var/lib/node/chains/dev/keystore"
# account = "5Grw…"
# keystore_password_env = "RELAY_KEYSTORE_PASSWORD"
# - else the environment variable named here holds the secret URI:
suri_env = "RELAY_SURI"

[metrics]
# Where Prometheus text (/metrics) and the chains' health (/health, 503 when a chain has not answered for a
# minute) are served, e.g. "127.0.0.1:9615"; empty: not served.
listen = ""
# How often both chains' heads, the link's sequence numbers and the relay's balances are read (milliseconds;
# 0: never, and no stuck-link warnings in the log).
watch_ms = {watch_ms}
# A message sent this many source blocks ago and still not taken marks its link stuck (metrics, relay status).
stuck_after_blocks = {stuck_after_blocks}
"#,
            deployment_file = quoted(&deployment_path.display().to_string()),
            bundles = quoted(&bundles.display().to_string()),
            store = quoted(&store.display().to_string()),
            icon_url = quoted(&deployment.icon.url),
            para_url = quoted(&deployment.parachain.url),
            first_block = d.parachain.first_block,
            icon_lag = d.icon.max_lag_blocks,
            para_lag = d.parachain.max_lag_blocks,
            idle_ms = d.lane.idle_ms,
            max_blocks = d.lane.max_blocks,
            max_ref_time = d.lane.max_ref_time,
            backoff_ms = d.lane.backoff_ms,
            max_backoff_ms = d.lane.max_backoff_ms,
            watch_ms = d.metrics.watch_ms,
            stuck_after_blocks = d.metrics.stuck_after_blocks,
        )
    }
}

/// Where `relay start` and `relay status` take their settings from.
#[derive(Args, Debug, Default)]
pub struct ConfigArgs {
    /// The configuration file (`relay init-config` writes one); without it, the defaults and RELAY_* variables.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The deployment file `relay deploy` wrote [default: deployment.toml].
    #[arg(long, value_name = "PATH")]
    pub deployment: Option<PathBuf>,
    /// Directory with the contract bundles (their ABI names messages in errors) [default: target/contracts].
    #[arg(long, value_name = "DIR")]
    pub bundles: Option<PathBuf>,
}

impl ConfigArgs {
    /// The configuration, with these options over it.
    pub fn load(&self) -> Result<Config, String> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(path) = &self.deployment {
            config.deployment = path.clone();
        }
        if let Some(dir) = &self.bundles {
            config.bundles = dir.clone();
        }
        Ok(config)
    }
}

/// Writes a commented configuration file for a deployment.
#[derive(Args, Debug)]
pub struct InitConfigArgs {
    /// The deployment file `relay deploy` wrote.
    #[arg(long, value_name = "PATH", default_value = "deployment.toml")]
    pub deployment: PathBuf,
    /// Directory with the contract bundles.
    #[arg(long, value_name = "DIR", default_value = "target/contracts")]
    pub bundles: PathBuf,
    /// The file to write (never overwritten).
    #[arg(long, value_name = "PATH", default_value = "relay.toml")]
    pub output: PathBuf,
}

pub fn init(args: InitConfigArgs) -> Result<(), String> {
    let deployment =
        Deployment::read(&args.deployment)?.ok_or_else(|| format!("{}: no such deployment file (relay deploy writes it)", args.deployment.display()))?;
    // Absolute paths: the relay may run from any directory (a service manager's, say).
    let absolute = |p: &Path| std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()));
    // The store next to the configuration: one per relay.
    let store = absolute(&args.output.with_file_name("relay-store.redb"))?;
    let text = Config::template(&deployment, &absolute(&args.deployment)?, &absolute(&args.bundles)?, &store);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.output)
        .map_err(|e| format!("{}: {e} (an existing configuration is never overwritten)", args.output.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| format!("{}: {e}", args.output.display()))?;
    println!("wrote {}: set [signer], then relay start --config {}", args.output.display(), args.output.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_table(text.parse().map_err(|e| format!("{e}"))?, |name| env.get(name).cloned(), "relay.toml")
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let text = "deployment = \"a.toml\"\n[icon]\nurl = \"http://file\"\n[lane]\nidle_ms = 5\n";
        let c = load(text, &[]).unwrap();
        assert_eq!((c.deployment.to_str(), c.icon.url.as_str(), c.lane.idle_ms, c.lane.max_blocks), (Some("a.toml"), "http://file", 5, 512));
        let c =
            load(text, &[("RELAY_ICON_URL", "http://env"), ("RELAY_LANE_IDLE_MS", "250"), ("RELAY_DEPLOYMENT", "b.toml"), ("RELAY_SIGNER_KEY_FILE", "k.json")])
                .unwrap();
        assert_eq!((c.deployment.to_str(), c.icon.url.as_str(), c.lane.idle_ms), (Some("b.toml"), "http://env", 250));
        assert_eq!(c.signer.key_file.as_deref(), Some(Path::new("k.json")));
    }

    #[test]
    fn mistakes_are_named_not_ignored() {
        assert!(load("[lane]\nmax_block = 4\n", &[]).unwrap_err().contains("max_block"), "a misspelt key");
        let e = load("", &[("RELAY_LANE_IDLE_MS", "soon")]).unwrap_err();
        assert!(e.contains("RELAY_LANE_IDLE_MS"), "{e}");
        assert!(load("[lane]\nmax_blocks = 0\n", &[]).unwrap_err().contains("at least 1"));
        assert!(load("[icon]\nurl = 3\n", &[]).unwrap_err().contains("relay.toml"));
    }

    #[test]
    fn every_key_of_the_file_has_its_variable() {
        let signer = SignerConfig {
            suri_env: Some("V".into()),
            suri_file: Some("f".into()),
            key_file: Some("k".into()),
            password_env: Some("P".into()),
            password_file: Some("p".into()),
            keystore: Some("d".into()),
            account: Some("a".into()),
            keystore_password_env: Some("K".into()),
        };
        let icon = IconConfig { key_file: Some("i".into()), password_env: Some("I".into()), password_file: Some("j".into()), ..IconConfig::default() };
        let metrics = MetricsConfig { listen: "127.0.0.1:9615".into(), ..MetricsConfig::default() };
        let table = toml::Table::try_from(Config { signer, icon, metrics, ..Config::default() }).unwrap();
        let mut keys = Vec::new();
        for (key, value) in &table {
            match value.as_table() {
                Some(section) => keys.extend(section.keys().map(|k| (key.clone(), k.clone()))),
                None => keys.push((String::new(), key.clone())),
            }
        }
        let mut listed: Vec<(String, String)> = KEYS.iter().map(|(section, key, _)| (section.to_string(), key.to_string())).collect();
        keys.sort();
        listed.sort();
        assert_eq!(keys, listed, "KEYS lists exactly the file's keys");
    }

    #[test]
    fn every_key_the_environment_names_exists_and_the_template_reads_back() {
        let mut d = Deployment::default();
        d.icon.url = "http://127.0.0.1:9080/api/v3".into();
        d.parachain.url = "ws://127.0.0.1:9944".into();
        let text = Config::template(&d, Path::new("bridge.toml"), Path::new("target/contracts"), Path::new("relay-store.redb"));
        let c = load(&text, &[]).unwrap();
        assert_eq!(
            (c.deployment.to_str(), c.icon.url.as_str(), c.parachain.url.as_str()),
            (Some("bridge.toml"), d.icon.url.as_str(), d.parachain.url.as_str())
        );
        assert_eq!(c.signer.suri_env.as_deref(), Some("RELAY_SURI"));
        for (section, key, kind) in KEYS {
            let value = match kind {
                Kind::Number => "7000",
                Kind::Text => "x",
            };
            let name = variable(section, key);
            assert!(load("", &[(&name, value)]).is_ok(), "{name} is a key of the file");
            let commented = match *section {
                "" => format!("\n{key} = "),
                _ => format!("{key} = "),
            };
            assert!(text.contains(&commented), "the template documents {section}.{key}");
        }
    }
}
