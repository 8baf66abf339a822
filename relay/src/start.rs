//! `relay start`: relays ICON's messages to the parachain BMC named by a deployment file, until stopped.

use crate::{
    config::{Config, ConfigArgs},
    deployment::Deployment,
    icon::IconSource,
    icon_target::IconTarget,
    lane::{Lane, Pacing},
    metrics::Metrics,
    parachain::{ParachainTarget, TargetConfig},
    parachain_source::ParachainSource,
    signer::{open_icon_key_file, read_password, SignerConfig},
    store::Store,
    watch::Watch,
};
use bmc::bmc::Bmc;
use bmv_icon::bmv_icon::BmvIcon;
use btp_endpoint::Endpoints;
use btp_interfaces::Administered;
use btp_parachain::{calls, AccountId32, Bundle, Message, Parachain};
use btp_primitives::{BtpAddress, IconAddress};
use clap::Args;
use icon_rpc::wallet::Wallet;
use icon_rpc::{monitor::monitor_url, IconClient};
use std::{str::FromStr, sync::Arc, time::Duration};
use tracing::Instrument;

/// Relays ICON's BTP messages to the parachain (ICON → parachain), resuming from the parachain BMC's status.
/// Each option overrides the configuration file's key and its RELAY_* variable.
#[derive(Args, Debug)]
pub struct StartArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// ICON's block monitor [default: the ICON URL with ws(s):// and /block].
    #[arg(long, value_name = "URL")]
    pub icon_monitor_url: Option<String>,
    /// Pause when there is nothing to relay, and after a refusal, in milliseconds [default: 1000].
    #[arg(long, value_name = "MS")]
    pub idle_ms: Option<u64>,
    /// The most ICON blocks one relay message carries; the 191 KiB a relay message may have usually binds first
    /// (halved while the parachain finds a message too large) [default: 512].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_blocks: Option<u64>,
    #[command(flatten)]
    pub signer: SignerConfig,
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM). The handlers are installed here, before the
/// first round: a signal that arrived before would otherwise kill the relay in the middle of a submission.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("no SIGINT handler: {e}"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("no SIGTERM handler: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// How often every endpoint of both chains is asked for its head: how soon one that recovered is used again, and
/// one that fell behind is passed over.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);

/// The halt switches of the contracts a relay delivers to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Halted {
    pub bmc: bool,
    pub bmv: bool,
}

/// What `relay start` and `relay status` work from: the deployment's contracts, bundles and ICON BMC, and the
/// endpoints to reach both chains at.
pub struct Context {
    pub deployment: Deployment,
    pub bmc: AccountId32,
    pub bmv: AccountId32,
    pub bmc_bundle: Bundle,
    pub bmv_bundle: Bundle,
    /// ICON's BMC contract (`cx…`).
    pub icon_contract: IconAddress,
    /// ICON's JSON-RPC endpoints and the parachain's nodes, each list shared by everything that reads its chain.
    pub icon: Arc<Endpoints>,
    /// The block monitor configured (empty: the one beside the ICON endpoint in use).
    pub icon_monitor_url: String,
    pub parachain: Arc<Endpoints>,
}

impl Context {
    pub fn load(config: &Config) -> Result<Self, String> {
        let deployment = &config.deployment;
        let d = Deployment::read(deployment)?.ok_or_else(|| format!("{}: no such deployment file (relay deploy writes it)", deployment.display()))?;
        let contracts = d.contracts.as_ref().ok_or_else(|| format!("{}: no [contracts] yet: run relay deploy", deployment.display()))?;
        let account = |s: &str| AccountId32::from_str(s).map_err(|e| format!("{}: {s}: {e}", deployment.display()));
        let (bmc, bmv) = (account(&contracts.bmc)?, account(&contracts.bmv)?);
        let bundle = |name: &str| Bundle::in_dir(&config.bundles, name).map_err(|e| e.to_string());
        let icon_bmc = BtpAddress::parse(&d.icon.bmc).map_err(|e| format!("[icon] bmc {}: {e}", d.icon.bmc))?;
        let icon_contract = IconAddress::parse(icon_bmc.account()).map_err(|e| format!("[icon] bmc {}: {e}", d.icon.bmc))?;
        let or = |configured: &str, deployed: &str| if configured.is_empty() { deployed.to_string() } else { configured.to_string() };
        let endpoints = |section: &str, urls: String, max_lag: u64| {
            Endpoints::new(btp_endpoint::split(&urls), max_lag).map(Arc::new).map_err(|e| format!("[{section}] url: {e}"))
        };
        let icon = endpoints("icon", or(&config.icon.url, &d.icon.url), config.icon.max_lag_blocks)?;
        let parachain = endpoints("parachain", or(&config.parachain.url, &d.parachain.url), config.parachain.max_lag_blocks)?;
        Ok(Self {
            bmc,
            bmv,
            bmc_bundle: bundle("bmc")?,
            bmv_bundle: bundle("bmv_icon")?,
            icon_contract,
            icon,
            icon_monitor_url: config.icon.monitor_url.clone(),
            parachain,
            deployment: d,
        })
    }

    /// A client of ICON's endpoints.
    pub fn icon_client(&self) -> Result<IconClient, String> {
        IconClient::with_endpoints(self.icon.clone()).map_err(|e| e.to_string())
    }

    /// A connection to the first of the parachain's nodes that answers.
    pub async fn parachain_client(&self) -> Result<Parachain, String> {
        Parachain::connect_to(self.parachain.clone()).await.map_err(|e| e.to_string())
    }

    /// The block monitor to open: the one configured, else the one beside the ICON endpoint in use.
    pub fn monitor_url(&self, icon: &IconClient) -> String {
        if self.icon_monitor_url.is_empty() {
            monitor_url(icon.url())
        } else {
            self.icon_monitor_url.clone()
        }
    }

    /// Keeps what is known of every endpoint of both chains current (a task of its own): each is asked for its
    /// head every [`PROBE_EVERY`].
    pub fn probe_endpoints(&self) {
        let icon = self.icon.clone();
        tokio::spawn(btp_endpoint::probe(icon, PROBE_EVERY, |url| async move {
            IconClient::new(&url).map_err(|e| e.to_string())?.last_height().await.map_err(|e| e.to_string())
        }));
        let parachain = self.parachain.clone();
        tokio::spawn(btp_endpoint::probe(parachain, PROBE_EVERY, |url| async move { Parachain::head_of(&url).await.map_err(|e| e.to_string()) }));
    }

    /// ICON's BMC's `getStatus` of the link to `own_address` (the parachain BMC), at ICON height `height` when
    /// given (goloop: block h's result, the state after block h − 1's transactions).
    pub async fn icon_link_status(&self, icon: &IconClient, own_address: &str, height: Option<u64>) -> Result<serde_json::Value, String> {
        let params = serde_json::json!({"_link": own_address});
        icon.call_contract_at(&self.icon_contract.to_string(), "getStatus", params, height).await.map_err(|e| format!("ICON's BMC getStatus: {e}"))
    }

    /// The parachain BMC's `get_status` of the link to ICON, after parachain block `height` when given (within
    /// the node's state pruning: an archive node keeps every block's state); `None` before the BMC or its link
    /// existed.
    pub async fn parachain_link_status(&self, para: &Parachain, height: Option<u64>) -> Result<Option<bmc::bmc::LinkStatus>, String> {
        let message = Message::new(calls::<Bmc>(&self.bmc).get_status(self.deployment.icon.bmc.clone()));
        let answer = match height {
            None => para.query(&self.bmc, &self.bmc_bundle, &message).await,
            Some(h) => para.query_at(h, &self.bmc, &self.bmc_bundle, &message).await,
        };
        let at = || height.map_or(String::new(), |h| format!(" after block {h}"));
        match answer {
            Ok(Ok(status)) => Ok(Some(status)),
            // A message that answers `Err` reverts: the dry run reports it as the contract's error.
            Ok(Err(bmc::bmc::Error::NotExistsLink)) => Ok(None),
            Err(btp_parachain::Error::Contract { ref error, .. }) if error == "Err(NotExistsLink)" => Ok(None),
            Err(btp_parachain::Error::Dispatch(d)) if d.ends_with("ContractNotFound") => Ok(None),
            Ok(Err(e)) => Err(format!("the parachain BMC's status of {}{}: {e:?}", self.deployment.icon.bmc, at())),
            Err(e) => Err(format!("the parachain BMC's status{}: {e}", at())),
        }
    }

    /// Whether the parachain BMC and the BMV are halted by their owners (either stops the link toward the
    /// parachain).
    pub async fn halted(&self, para: &Parachain) -> Result<Halted, String> {
        let bmc = para.query(&self.bmc, &self.bmc_bundle, &Message::new(Administered::halted(&calls::<Bmc>(&self.bmc)))).await;
        let bmv = para.query(&self.bmv, &self.bmv_bundle, &Message::new(Administered::halted(&calls::<BmvIcon>(&self.bmv)))).await;
        Ok(Halted { bmc: bmc.map_err(|e| format!("the BMC's halt switch: {e}"))?, bmv: bmv.map_err(|e| format!("the BMV's halt switch: {e}"))? })
    }

    /// The parachain BMC's own BTP address.
    pub async fn own_address(&self, para: &Parachain) -> Result<String, String> {
        para.query(&self.bmc, &self.bmc_bundle, &Message::new(calls::<Bmc>(&self.bmc).btp_address())).await.map_err(|e| e.to_string())
    }
}

pub async fn run(args: StartArgs) -> Result<(), String> {
    let stop = stop_signal()?;
    // A stop is honoured at any point, also while connecting: nothing is kept between rounds.
    tokio::select! {
        result = relay(args) => result,
        _ = stop => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

async fn relay(args: StartArgs) -> Result<(), String> {
    let mut config = args.config.load()?;
    config.icon.monitor_url = args.icon_monitor_url.unwrap_or(config.icon.monitor_url);
    config.lane.idle_ms = args.idle_ms.unwrap_or(config.lane.idle_ms);
    config.lane.max_blocks = args.max_blocks.unwrap_or(config.lane.max_blocks);
    let signer = args.signer.or(config.signer.clone()).signer()?;
    let c = Arc::new(Context::load(&config)?);
    let d = &c.deployment;
    // Before connecting anywhere: a key that does not open stops the relay at once.
    let icon_wallet = icon_wallet(&config)?;
    // First: a store another relay holds open stops this one before it connects anywhere.
    let store = Arc::new(Store::open(&config.store, &format!("{} → {}", d.icon.bmc, c.bmc))?);
    if let Some(p) = store.pending()? {
        tracing::info!(from = p.from, to = p.to, messages = p.messages, "a submission was in flight when the relay stopped: waiting for it first");
    }
    let para = c.parachain_client().await?;
    if c.icon.len() > 1 || c.parachain.len() > 1 {
        c.probe_endpoints();
    }
    let own_address = c.own_address(&para).await?;
    tracing::info!(link = %d.icon.bmc, bmc = %own_address, relay = %signer.account(), "relaying ICON → parachain");
    let (link, network) = (d.icon.bmc.clone(), d.icon.network.clone());
    let rpc = c.icon_client()?;
    let source = IconSource::new(rpc, c.icon_monitor_url.clone(), c.icon_contract, own_address.clone(), store.clone())
        .with_accumulator(d.icon.height, d.settings.mta_root_size);
    let target = TargetConfig {
        para,
        signer,
        bmc: c.bmc.clone(),
        bmv: c.bmv.clone(),
        bmc_bundle: c.bmc_bundle.clone(),
        bmv_bundle: c.bmv_bundle.clone(),
        link,
        network,
        own_address: own_address.clone(),
        max_ref_time: config.lane.max_ref_time,
    };
    let target = ParachainTarget::new(target, store.clone())?;
    let lane = &config.lane;
    let pacing = Pacing {
        idle: Duration::from_millis(lane.idle_ms),
        backoff: Duration::from_millis(lane.backoff_ms),
        max_backoff: Duration::from_millis(lane.max_backoff_ms),
        max_blocks: lane.max_blocks,
    };
    let metrics = Metrics::new();
    if !config.metrics.listen.is_empty() {
        let listen = &config.metrics.listen;
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("[metrics] listen {listen}: {e}"))?;
        tracing::info!(%listen, "serving /metrics and /health");
        if listener.local_addr().is_ok_and(|a| !a.ip().is_loopback()) {
            tracing::warn!(%listen, "/metrics and /health are served beyond this machine: whoever reaches the port reads the relay's accounts, links and failures");
        }
        tokio::spawn(crate::metrics::serve(listener, metrics.clone()));
    }
    let parachain_account = target.config.signer.account();
    let lane_metrics = metrics.lane("icon_to_parachain", "icon", "parachain", &parachain_account.to_string());
    let mut to_parachain = Lane::new(source, target, pacing).with_metrics(lane_metrics);
    let icon_account = icon_wallet.as_ref().map(|w| w.address.to_string());
    if config.metrics.watch_ms > 0 {
        tokio::spawn(watch(config.clone(), c.clone(), metrics.clone(), parachain_account, icon_account).instrument(tracing::info_span!("watch")));
    }
    let Some(wallet) = icon_wallet else {
        tracing::info!("no [icon] key_file: relaying toward the parachain only");
        to_parachain.run(std::future::pending()).await;
        return Ok(());
    };
    let nid = c.deployment.icon.network.split('.').next().unwrap_or_default().to_string();
    tracing::info!(relay = %wallet.address, nid = %nid, "relaying parachain → ICON");
    let source = ParachainSource {
        para: c.parachain_client().await?,
        bmc: c.bmc.clone(),
        icon_bmc: c.deployment.icon.bmc.clone(),
        first_block: config.parachain.first_block,
        store: store.clone(),
    };
    let target = IconTarget::new(c.icon_client()?, wallet, nid, c.icon_contract, own_address, store);
    let lane_metrics = metrics.lane("parachain_to_icon", "parachain", "icon", &target.wallet.address.to_string());
    let mut to_icon = Lane::new(source, target, pacing).with_metrics(lane_metrics);
    tokio::join!(
        to_parachain.run(std::future::pending()).instrument(tracing::info_span!("lane", to = "parachain")),
        to_icon.run(std::future::pending()).instrument(tracing::info_span!("lane", to = "icon")),
    );
    Ok(())
}

/// Reads both chains every `[metrics] watch_ms` into `metrics` until the process ends, warning of stuck links.
async fn watch(config: Config, context: Arc<Context>, metrics: Arc<Metrics>, parachain_account: AccountId32, icon_account: Option<String>) {
    let every = Duration::from_millis(config.metrics.watch_ms);
    let parachain_name = parachain_account.to_string();
    let mut warned: [Option<u64>; 2] = [None, None];
    // Opened once: the parachain client reconnects by itself after a failed read.
    let mut chains = None;
    loop {
        metrics.endpoints("icon", &context.icon);
        metrics.endpoints("parachain", &context.parachain);
        if chains.is_none() {
            chains = watched_chains(&context).await.map_err(|e| tracing::warn!(error = %e, "cannot read the chains for the metrics yet")).ok();
        }
        if let Some((para, icon, own_address)) = &chains {
            let watch = Watch {
                context: &context,
                para,
                icon,
                own_address,
                stuck_after: config.metrics.stuck_after_blocks,
                parachain_account: Some(parachain_account.clone()),
                icon_account: icon_account.clone(),
            };
            match watch.read().await {
                Ok(snapshot) => {
                    metrics.snapshot(&snapshot, Some(&parachain_name), icon_account.as_deref());
                    let directions = [("icon_to_parachain", Some(snapshot.to_parachain)), ("parachain_to_icon", snapshot.to_icon)];
                    for ((lane, direction), warned) in directions.into_iter().zip(warned.iter_mut()) {
                        let stuck = direction.and_then(|d| d.stuck());
                        if let Some(seq) = stuck.filter(|seq| *warned != Some(*seq)) {
                            let blocks = config.metrics.stuck_after_blocks;
                            tracing::warn!(lane, message = seq, blocks, "link stuck: the message was sent that many source blocks ago and is not taken");
                        }
                        *warned = stuck;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading both chains for the metrics failed"),
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// What the watcher reads: both chains, and the parachain BMC's address.
async fn watched_chains(c: &Context) -> Result<(Parachain, IconClient, String), String> {
    let para = c.parachain_client().await?;
    let icon = c.icon_client()?;
    let own_address = c.own_address(&para).await?;
    Ok((para, icon, own_address))
}

/// The ICON key the configuration names, if any.
fn icon_wallet(config: &Config) -> Result<Option<Wallet>, String> {
    let Some(path) = &config.icon.key_file else { return Ok(None) };
    let password = read_password(config.icon.password_env.as_deref(), config.icon.password_file.as_deref())?;
    open_icon_key_file(path, &password).map(Some)
}
