//! `relay status`: where the link stands on both chains, in both directions, and whether a direction is stuck.

use crate::{config::ConfigArgs, start::Context, watch::Watch};
use clap::Args;

/// Shows, for the deployment's link: both chains' heads; per direction the messages the source BMC sent, the
/// destination BMC took and those pending; the BMV's height and its lag behind ICON; the link's relays with what
/// each delivered; and, for a direction with a message sent `[metrics] stuck_after_blocks` source blocks ago and
/// still not taken, `STUCK` with that message's sequence number. Exits with status 3 when a direction is stuck.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Source blocks after which a message not taken makes its link stuck [default: [metrics] stuck_after_blocks].
    #[arg(long, value_name = "BLOCKS")]
    pub stuck_after: Option<u64>,
}

/// The exit status of `relay status` for a stuck link, apart from failures (1) and usage errors (2).
pub const STUCK_EXIT: u8 = 3;

/// Prints the status; `Ok(true)` when a direction is stuck.
pub async fn run(args: StatusArgs) -> Result<bool, String> {
    let config = args.config.load()?;
    let c = Context::load(&config)?;
    let para = c.parachain_client().await?;
    let own = c.own_address(&para).await?;
    let icon = c.icon_client()?;
    let stuck_after = args.stuck_after.unwrap_or(config.metrics.stuck_after_blocks);
    let watch = Watch { context: &c, para: &para, icon: &icon, own_address: &own, stuck_after, parachain_account: None, icon_account: None };
    let s = watch.read().await?;
    let d = &c.deployment;
    println!("link {} ⇄ {own}", d.icon.bmc);
    println!("  ICON: last block {}", s.icon_height);
    println!("  parachain: best block {}, finalized {}", s.parachain_best, s.parachain_finalized);
    println!("  BMV height {}, {} ICON blocks behind", s.verifier_height, s.icon_height.saturating_sub(s.verifier_height));
    match s.halted {
        Some(h) => {
            for (contract, halted) in [("BMC", h.bmc), ("BMV", h.bmv)] {
                if halted {
                    println!("  HALTED: the parachain {contract}'s owners halted it; nothing reaches the parachain until they resume it");
                }
            }
        }
        None => println!("  the BMC's and the BMV's halt switches are not readable"),
    }
    let mut stuck = false;
    let directions = [("ICON → parachain", "ICON", Some(s.to_parachain)), ("parachain → ICON", "parachain", s.to_icon)];
    for (name, source, direction) in directions {
        let Some(x) = direction else {
            println!("  {name}: ICON's BMC does not answer for the link");
            continue;
        };
        print!("  {name}: sent {}, taken {}, pending {}", x.sent, x.taken, x.pending());
        match x.stuck() {
            Some(seq) => {
                stuck = true;
                println!(" — STUCK: message {seq} was sent at least {stuck_after} {source} blocks ago and is not taken")
            }
            None => println!(),
        }
    }
    for r in &s.relays {
        println!("  relay {}: {} messages, {} ICON blocks delivered", r.account, r.messages, r.blocks);
    }
    Ok(stuck)
}
