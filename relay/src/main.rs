//! `relay`: the BTP relay between ICON and a parachain, and the tool that deploys the parachain's contracts.

use btp_relay::{config, deploy, keys, start, status, trace};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "relay", version, about = "The BTP relay between ICON and a parachain (logs: RELAY_LOG=debug)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy, wire and configure the BMC, the BMV for ICON and the native-coin BSH on a parachain, and write the
    /// deployment file the relay reads. Idempotent: a re-run does what is missing and nothing else.
    Deploy(Box<deploy::DeployArgs>),
    /// Relay ICON's messages to the parachain BMC of a deployment file until stopped (Ctrl-C, SIGTERM). It
    /// resumes from the BMC's status, so it may be stopped or killed at any time.
    Start(start::StartArgs),
    /// Show where the link stands on both chains: their heads, each direction's messages sent, taken and pending,
    /// the BMV's height, the relays and what each delivered; a stuck direction is named (exit status 3).
    Status(status::StatusArgs),
    /// Show where a transfer is: sent, relayed, carried out, answered, answer delivered — each stage's block and
    /// transaction from both chains.
    Trace(trace::TraceArgs),
    /// Write a commented configuration file for a deployment (endpoints, pacing, where the signer's secret is).
    InitConfig(config::InitConfigArgs),
    /// The relay's parachain key in an encrypted key file: create one, import a secret, show its account.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELAY_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = match Cli::parse().command {
        Command::Deploy(args) => deploy::run(*args).await.map_err(|e| format!("relay deploy: {e}")),
        Command::Start(args) => start::run(args).await.map_err(|e| format!("relay start: {e}")),
        Command::Status(args) => match status::run(args).await {
            Ok(true) => return ExitCode::from(status::STUCK_EXIT),
            Ok(false) => Ok(()),
            Err(e) => Err(format!("relay status: {e}")),
        },
        Command::Trace(args) => trace::run(args).await.map_err(|e| format!("relay trace: {e}")),
        Command::InitConfig(args) => config::init(args).map_err(|e| format!("relay init-config: {e}")),
        Command::Keys(command) => keys::run(command).map_err(|e| format!("relay keys: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
