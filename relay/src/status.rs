//! `relay status`: where the ICON → parachain link stands on both chains.

use crate::{config::ConfigArgs, start::Context};
use bmc::bmc::Bmc;
use btp_parachain::{calls, Message, Parachain};
use clap::Args;
use icon_rpc::{parse_t_int, IconClient};
use serde_json::json;

/// Shows, for the deployment's link: ICON's last block and how many messages its BMC sent toward the parachain,
/// the BMV's height and the parachain BMC's rx_seq, and the lag between them.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub async fn run(args: StatusArgs) -> Result<(), String> {
    let c = Context::load(&args.config.load()?)?;
    let d = &c.deployment;
    let para = Parachain::connect(&c.parachain_url).await.map_err(|e| e.to_string())?;
    let own = c.own_address(&para).await?;
    let status = para
        .query(&c.bmc, &c.bmc_bundle, &Message::new(calls::<Bmc>(&c.bmc).get_status(d.icon.bmc.clone())))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the parachain BMC's status of {}: {e:?}", d.icon.bmc))?;
    let icon = IconClient::new(&c.icon_url).map_err(|e| e.to_string())?;
    let last = icon.last_height().await.map_err(|e| e.to_string())?;
    // ICON's BMC counts what it sent toward us as its tx_seq on the link to our BMC.
    let sent = icon.call_contract(&c.icon_contract.to_string(), "getStatus", json!({"_link": own})).await.ok().and_then(|s| parse_t_int(&s["tx_seq"]));
    println!("link {} → {own}", d.icon.bmc);
    println!("  ICON: last block {last}, messages sent {}", sent.map_or("unknown".into(), |s| s.to_string()));
    println!("  parachain: BMV height {}, rx_seq {}, tx_seq {}", status.verifier.height, status.rx_seq, status.tx_seq);
    let pending = sent.map(|s| s.saturating_sub(status.rx_seq));
    println!("  lag: {} ICON blocks, {} messages pending", last.saturating_sub(status.verifier.height), pending.map_or("unknown".into(), |p| p.to_string()));
    Ok(())
}
