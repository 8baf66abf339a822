//! `relay start`: relays ICON's messages to the parachain BMC named by a deployment file, until stopped.

use crate::{
    deployment::Deployment,
    icon::IconSource,
    lane::{Lane, Pacing},
    parachain::ParachainTarget,
    signer::SignerArgs,
};
use bmc::bmc::Bmc;
use btp_parachain::{calls, AccountId32, Bundle, Message, Parachain};
use btp_primitives::{BtpAddress, IconAddress};
use clap::Args;
use icon_rpc::{monitor::monitor_url, IconClient};
use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

/// Relays ICON's BTP messages to the parachain (ICON → parachain), resuming from the parachain BMC's status.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// The deployment file `relay deploy` wrote.
    #[arg(long, value_name = "PATH", default_value = "deployment.toml")]
    pub deployment: PathBuf,
    /// Directory with the contract bundles (their ABI names messages in errors).
    #[arg(long, value_name = "DIR", default_value = "target/contracts")]
    pub bundles: PathBuf,
    /// ICON's block monitor; default: the deployment's ICON URL with ws(s):// and /block.
    #[arg(long, value_name = "URL")]
    pub icon_monitor_url: Option<String>,
    /// Pause when there is nothing to relay, and after a refusal (milliseconds).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub idle_ms: u64,
    /// The most ICON blocks one relay message carries; the 191 KiB a relay message may have usually binds first
    /// (halved while the parachain finds a message too large).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_blocks: u64,
    #[command(flatten)]
    pub signer: SignerArgs,
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

/// What `relay start` and `relay status` work from: the deployment's contracts, bundles and ICON BMC.
pub struct Context {
    pub deployment: Deployment,
    pub bmc: AccountId32,
    pub bmv: AccountId32,
    pub bmc_bundle: Bundle,
    pub bmv_bundle: Bundle,
    /// ICON's BMC contract (`cx…`).
    pub icon_contract: IconAddress,
}

impl Context {
    pub fn load(deployment: &Path, bundles: &Path) -> Result<Self, String> {
        let d = Deployment::read(deployment)?.ok_or_else(|| format!("{}: no such deployment file (relay deploy writes it)", deployment.display()))?;
        let contracts = d.contracts.as_ref().ok_or_else(|| format!("{}: no [contracts] yet: run relay deploy", deployment.display()))?;
        let account = |s: &str| AccountId32::from_str(s).map_err(|e| format!("{}: {s}: {e}", deployment.display()));
        let (bmc, bmv) = (account(&contracts.bmc)?, account(&contracts.bmv)?);
        let bundle = |name: &str| Bundle::in_dir(bundles, name).map_err(|e| e.to_string());
        let icon_bmc = BtpAddress::parse(&d.icon.bmc).map_err(|e| format!("[icon] bmc {}: {e}", d.icon.bmc))?;
        let icon_contract = IconAddress::parse(icon_bmc.account()).map_err(|e| format!("[icon] bmc {}: {e}", d.icon.bmc))?;
        Ok(Self { bmc, bmv, bmc_bundle: bundle("bmc")?, bmv_bundle: bundle("bmv_icon")?, icon_contract, deployment: d })
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
    let c = Context::load(&args.deployment, &args.bundles)?;
    let signer = args.signer.signer()?;
    let d = &c.deployment;
    let para = Parachain::connect(&d.parachain.url).await.map_err(|e| e.to_string())?;
    let own_address = c.own_address(&para).await?;
    tracing::info!(link = %d.icon.bmc, bmc = %own_address, relay = %signer.account(), "relaying ICON → parachain");
    let monitor = args.icon_monitor_url.clone().unwrap_or_else(|| monitor_url(&d.icon.url));
    let source = IconSource::new(IconClient::new(&d.icon.url).map_err(|e| e.to_string())?, monitor, c.icon_contract, own_address.clone());
    let (link, network) = (d.icon.bmc.clone(), d.icon.network.clone());
    let target = ParachainTarget {
        para,
        signer,
        bmc: c.bmc,
        bmv: c.bmv,
        bmc_bundle: c.bmc_bundle,
        bmv_bundle: c.bmv_bundle,
        link,
        network,
        own_address,
        in_doubt: false,
        round: Default::default(),
    };
    let pacing = Pacing { idle: Duration::from_millis(args.idle_ms), max_blocks: args.max_blocks, ..Pacing::default() };
    Lane::new(source, target, pacing).run(std::future::pending()).await;
    Ok(())
}
