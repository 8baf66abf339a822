//! `devnet-demo`: the seed's story on the local bridge `scripts/devnet.sh --demo` brings up — Bob sends 100 ICX on
//! ICON, ICON's service keeps 1 ICX as its fee and locks 99, the relay carries the block to the parachain, the BMV
//! verifies it, and 99 wrapped ICX are minted to Bob on the parachain; the parachain's answer goes back to ICON,
//! which ends the transfer and releases Bob's lock. Each step is printed with the balances on both chains; nothing in between is test code: ICON transactions are signed and sent over JSON-RPC, the
//! parachain is read through its node.

use bsh_nativecoin::bsh_nativecoin::BshNativecoin;
use btp_parachain::{calls, AccountId32, Bundle, Message, Parachain, Signer};
use btp_primitives::address::hex_account;
use btp_relay::deployment::Deployment;
use clap::Parser;
use icon_rpc::{parse_t_amount, transaction, IconClient};
use icon_testnet::{
    keys::{dev_bob, dev_owner},
    Validator,
};
use serde_json::{json, Value};
use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

const ICX: u128 = 1_000_000_000_000_000_000;
/// ICON's answer to `getStatus` of a link its BMC does not have: SCORE failure 18, `NotExistsLink`.
const NOT_EXISTS_LINK: i64 = -30_018;

/// Runs the story against a deployment, with both chains and the relay running and the ICON test chain started
/// with `--dev-accounts` (its BMC's owner adds the link; its Bob sends the ICX).
#[derive(Parser)]
#[command(name = "devnet-demo", about = "The seed's story on scripts/devnet.sh's bridge, step by step")]
struct Cli {
    /// The deployment file `relay deploy` wrote.
    #[arg(long, value_name = "PATH")]
    deployment: PathBuf,
    /// Directory with the contract bundles.
    #[arg(long, value_name = "DIR", default_value = "target/contracts")]
    bundles: PathBuf,
    /// ICON's native-coin service (`cx…`).
    #[arg(long, value_name = "ADDRESS")]
    icon_nativecoin: String,
    /// How long each way through the relay may take before the demo gives up (a dev chain: seconds; a
    /// parachain: a block every 12 s, final about a minute later).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout_secs: u64,
}

fn icx(loop_: u128) -> String {
    let (whole, fraction) = (loop_ / ICX, loop_ % ICX);
    match fraction {
        0 => format!("{whole} ICX"),
        _ => format!("{whole}.{} ICX", format!("{fraction:018}").trim_end_matches('0')),
    }
}

fn int(value: &Value, what: &str) -> Result<u128, String> {
    value.as_str().and_then(parse_t_amount).ok_or_else(|| format!("{what}: not a T_INT: {value}"))
}

struct Demo {
    icon: IconClient,
    nid: String,
    icon_bmc: String,
    icon_bsh: String,
    para: Parachain,
    bsh: AccountId32,
    bsh_bundle: Bundle,
    para_bmc: String,
    network: String,
    timeout: Duration,
}

impl Demo {
    /// Sends a signed transaction and waits for its block: the block's height.
    async fn transact(&self, from: &Validator, to: &str, value: Option<u128>, call: Value) -> Result<u64, String> {
        let to = to.parse().map_err(|e| format!("{to}: {e}"))?;
        let tx = transaction::build(from, &self.nid, &to, value, Some(call), transaction::now_us());
        let result = self.icon.send_and_wait(&tx, Duration::from_millis(200), Duration::from_secs(30)).await.map_err(|e| e.to_string())?;
        match result.failure {
            None => Ok(result.height),
            Some(failure) => Err(format!("ICON block {} failed the transaction: {failure}", result.height)),
        }
    }

    /// `owner`'s ICX on ICON: (usable, locked in transfers waiting for their answer).
    async fn icon_balance(&self, owner: &Validator) -> Result<(u128, u128), String> {
        let address = owner.address.to_string();
        let usable = int(&self.icon.call("icx_getBalance", json!({"address": address})).await.map_err(|e| e.to_string())?, "icx_getBalance")?;
        let service = self.icon.call_contract(&self.icon_bsh, "balanceOf", json!({"_owner": address, "_coinName": "ICX"})).await.map_err(|e| e.to_string())?;
        Ok((usable, int(&service["locked"], "balanceOf.locked")?))
    }

    /// `owner`'s wrapped ICX on the parachain.
    async fn wrapped_icx(&self, owner: &AccountId32) -> Result<u128, String> {
        let bsh = calls::<BshNativecoin>(&self.bsh);
        let id = self.para.query(owner, &self.bsh_bundle, &Message::new(bsh.coin_id("ICX".into()))).await.map_err(|e| e.to_string())?;
        let id = id.ok_or("the parachain's BSH has no coin ICX (relay deploy --coin ICX:…)")?;
        self.para.query(owner, &self.bsh_bundle, &Message::new(bsh.balance_of(owner.0.into(), id))).await.map_err(|e| e.to_string())
    }

    async fn run(&self) -> Result<(), String> {
        let (owner, bob) = (dev_owner(), dev_bob());
        let para_bob = Signer::from_uri("//Bob")?.account();
        let to = format!("btp://{}/{}", self.network, hex_account(&para_bob.0));
        println!("== The seed's story: Bob's 100 ICX on ICON become 99 wrapped ICX on the parachain, through the relay");
        let (usable, _) = self.icon_balance(&bob).await?;
        println!("   ICON: Bob {} holds {}", bob.address, icx(usable));
        println!("   parachain: Bob {para_bob} holds {} wrapped", icx(self.wrapped_icx(&para_bob).await?));

        let linked = match self.icon.call_contract(&self.icon_bmc, "getStatus", json!({"_link": self.para_bmc})).await {
            Ok(_) => true,
            Err(e) if e.code() == Some(NOT_EXISTS_LINK) => false,
            Err(e) => return Err(e.to_string()),
        };
        if !linked {
            let height = self.transact(&owner, &self.icon_bmc, None, json!({"method": "addLink", "params": {"_link": self.para_bmc}})).await?;
            println!("1. ICON's BMC owner links it to the parachain BMC {} (addLink, ICON block {height})", self.para_bmc);
        } else {
            println!("1. ICON's BMC is linked to the parachain BMC {} already", self.para_bmc);
        }

        let start_height = self.para.finalized_height().await.map_err(|e| e.to_string())?;
        // Run again on the same devnet, Bob holds what earlier runs minted.
        let before = self.wrapped_icx(&para_bob).await?;
        let call = json!({"method": "transferNativeCoin", "params": {"_to": to}});
        let block = self.transact(&bob, &self.icon_bsh, Some(100 * ICX), call).await?;
        let sent = Instant::now();
        let (usable, locked) = self.icon_balance(&bob).await?;
        println!("2. Bob sends 100 ICX on ICON to {to} (transferNativeCoin, ICON block {block})");
        println!("   ICON's service keeps 1 ICX as its fee and sends 99: Bob holds {} and has {} locked until the parachain answers", icx(usable), icx(locked));

        println!("3. The relay carries ICON block {block} to the parachain BMC; the BMV checks its validators' votes and the");
        println!("   receipt and event proofs of ICON's BTP message; the BSH mints the wrapped ICX …");
        let minted = loop {
            let held = self.wrapped_icx(&para_bob).await?.saturating_sub(before);
            if held > 0 {
                break held;
            }
            if sent.elapsed() > self.timeout {
                return Err(format!("nothing minted {:?} after ICON block {block}: see the relay's log", self.timeout));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let mint_height = self.para.finalized_height().await.map_err(|e| e.to_string())?;
        println!(
            "   minted in parachain block {mint_height} (finalized), {} parachain block(s) and {:.1} s after ICON block {block}",
            mint_height.saturating_sub(start_height),
            sent.elapsed().as_secs_f64()
        );

        let (usable, locked) = self.icon_balance(&bob).await?;
        println!("4. ICON: Bob holds {} ({} locked in the transfer)", icx(usable), icx(locked));
        println!("   parachain: Bob holds {} wrapped ({} minted now)", icx(before + minted), icx(minted));
        if minted != 99 * ICX {
            return Err(format!("Bob was minted {}, not 99 ICX", icx(minted)));
        }

        println!("5. The parachain BMC answers ICON (the transfer succeeded); the relay carries its block back to ICON …");
        let answered = Instant::now();
        loop {
            let (_, locked) = self.icon_balance(&bob).await?;
            if locked == 0 {
                break;
            }
            if answered.elapsed() > self.timeout {
                return Err(format!("ICON has not had the parachain's answer {:?} after the mint: see the relay's log", self.timeout));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "   ICON's service ends the transfer and releases Bob's lock, {:.1} s after the mint (the 99 ICX stay in its custody)",
            answered.elapsed().as_secs_f64()
        );
        let (usable, locked) = self.icon_balance(&bob).await?;
        let wrapped = self.wrapped_icx(&para_bob).await?;
        println!(
            "settled: ICON: Bob holds {} ({} locked) · parachain: Bob holds {} wrapped · {:.1} s from ICON block {block} to settled",
            icx(usable),
            icx(locked),
            icx(wrapped),
            sent.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let Cli { deployment, bundles, icon_nativecoin, timeout_secs } = cli;
    let d = Deployment::read(&deployment)?.ok_or_else(|| format!("{}: no such deployment file", deployment.display()))?;
    let contracts = d.contracts.as_ref().ok_or_else(|| format!("{}: no [contracts]: run relay deploy", deployment.display()))?;
    let account = |s: &str| s.parse::<AccountId32>().map_err(|e| format!("{}: {s}: {e:?}", deployment.display()));
    let bmc = account(&contracts.bmc)?;
    let icon_bmc = d.icon.bmc.rsplit('/').next().unwrap_or_default().to_string();
    let demo = Demo {
        icon: IconClient::new(&d.icon.url).map_err(|e| e.to_string())?,
        nid: d.icon.network.split('.').next().unwrap_or_default().to_string(),
        icon_bmc,
        icon_bsh: icon_nativecoin,
        para: Parachain::connect(&d.parachain.url).await.map_err(|e| e.to_string())?,
        bsh: account(&contracts.bsh)?,
        bsh_bundle: Bundle::in_dir(&bundles, "bsh_nativecoin").map_err(|e| e.to_string())?,
        para_bmc: format!("btp://{}/{}", d.parachain.network, hex_account(&bmc.0)),
        network: d.parachain.network.clone(),
        timeout: Duration::from_secs(timeout_secs),
    };
    demo.run().await
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devnet-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
