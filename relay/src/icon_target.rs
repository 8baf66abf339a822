//! ICON's BMC as a lane's target (parachain → ICON): its `getStatus` of the link is the position; a segment goes
//! in a signed v3 transaction calling `handleRelayMessage(_prev, _msg)` (`_msg` base64url, as goloop's BMC
//! takes bytes), whose result is awaited through goloop's pending and executing answers.
//!
//! Nothing is paid for that ICON would refuse where the relay can tell: every transaction is first run with
//! goloop's `debug_estimateStep`, which executes it on the node's last state without committing it, and a failure
//! it answers (a relay that is not the link's, a halted BMC, a sequence behind the BMC's) is a refusal, logged with
//! ICON's code. A node whose debug API is off cannot tell: the relay then says so once and checks the message's
//! size only. A transaction sent whose result is not known is recorded in the store and awaited by its hash, also
//! after a restart, before anything new is signed: signing the same messages again would pay twice.

use crate::{
    lane::{Failure, Position, Segment, Target},
    store::{IconInDoubt, Store},
};
use base64::{engine::general_purpose::URL_SAFE, Engine};
use btp_primitives::IconAddress;
use icon_rpc::{code, parse_t_int, t_hash, transaction, wallet::Wallet, IconClient};
use serde_json::{json, Value};
use std::{sync::Arc, time::Duration};

/// goloop refuses transactions whose data is larger (`service/transaction/transaction_v3.go`'s 512 KiB limit).
const MAX_TX_DATA: usize = 512 * 1024;
/// How often a sent transaction's result is asked for, and for how long (ICON's own relays: 1 s, 5 minutes).
const POLL: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(300);
/// How long after its timestamp a transaction may still be taken into a block: goloop's default timestamp
/// threshold (`service/tschecker.go`, 5 minutes), and a minute for clocks apart. A transaction in doubt that is
/// still unknown after it never will be.
const TX_LIFETIME_US: u64 = 6 * 60 * 1_000_000;
/// A contract's own revert `n` is goloop's failure status `32 + n`; below are goloop's own (`module/status.go`).
const USER_REVERSION: u32 = 32;
/// goloop's statuses of a transaction that ran out of steps or of time: a smaller one may pass.
const OUT_OF_STEP: u32 = 10;
const TIMEOUT: u32 = 12;

pub struct IconTarget {
    pub rpc: IconClient,
    /// Signs the relay's transactions; its `hx` address pays their fees.
    pub wallet: Wallet,
    /// The network id the transactions are for (`0x3` of `0x3.icon`).
    pub nid: String,
    /// ICON's BMC contract.
    pub bmc: IconAddress,
    /// The parachain BMC's BTP address: the link, and `_prev`.
    pub link: String,
    /// How often a sent transaction's result is asked for, and for how long before it is in doubt.
    pub poll: Duration,
    pub wait: Duration,
    store: Arc<Store>,
    /// Whether the node answered that it runs no dry runs (said once in the log).
    no_dry_run: bool,
}

/// How a failure that ICON's dry run reports bears on the lane: a contract's own revert `n` is a refusal with BTP
/// code `n`; running out of steps or time, a segment too large; goloop's other statuses (out of balance, say), a
/// refusal with that status in its reason.
fn dry_run_failure(status: u32, e: &icon_rpc::Error) -> Failure {
    match status.checked_sub(USER_REVERSION) {
        Some(code) => Failure::Refused { code: Some(code), reason: format!("ICON's dry run of the transaction failed: {e}") },
        None if status == OUT_OF_STEP || status == TIMEOUT => Failure::TooLarge(format!("ICON's dry run: {e}")),
        None => Failure::Refused { code: None, reason: format!("ICON's dry run of the transaction failed with goloop status {status}: {e}") },
    }
}

impl IconTarget {
    pub fn new(rpc: IconClient, wallet: Wallet, nid: String, bmc: IconAddress, link: String, store: Arc<Store>) -> Self {
        Self { rpc, wallet, nid, bmc, link, poll: POLL, wait: WAIT, store, no_dry_run: false }
    }

    fn call(&self, segment: &Segment) -> Value {
        json!({"method": "handleRelayMessage", "params": {"_prev": self.link, "_msg": URL_SAFE.encode(&segment.bytes)}})
    }

    /// Settles the transaction in doubt, if any: its result once ICON has it, or its expiry. `Err` while it may
    /// still be executed.
    async fn settle_doubt(&self) -> Result<(), Failure> {
        let Some(doubt) = self.store.icon_in_doubt().map_err(Failure::Store)? else { return Ok(()) };
        let hash = t_hash(&doubt.hash);
        match self.rpc.transaction_result(&hash).await {
            Ok(result) => {
                match &result.failure {
                    None => tracing::info!(tx = %hash, height = result.height, "the ICON transaction in doubt was executed"),
                    Some(failure) => tracing::warn!(tx = %hash, height = result.height, %failure, "the ICON transaction in doubt failed in its block"),
                }
                self.store.set_icon_in_doubt(None).map_err(Failure::Store)
            }
            Err(e) if e.code() == Some(code::NOT_FOUND) && transaction::now_us() > doubt.timestamp_us.saturating_add(TX_LIFETIME_US) => {
                tracing::info!(tx = %hash, "the ICON transaction in doubt expired unexecuted");
                self.store.set_icon_in_doubt(None).map_err(Failure::Store)
            }
            Err(e) if e.code() == Some(code::NOT_FOUND) => {
                // Unknown to the node (its sending was lost, or the node restarted): the very same transaction is
                // offered again, which can only ever execute once.
                if let Ok(tx) = serde_json::from_str::<Value>(&doubt.transaction) {
                    let _ = self.rpc.call("icx_sendTransaction", tx).await;
                }
                Err(Failure::Transport(format!("waiting for the result of ICON transaction {hash} before signing another: {e}")))
            }
            Err(e) if e.is_transient() || e.code().is_some_and(|c| [code::PENDING, code::EXECUTING, code::NOT_FOUND].contains(&c)) => {
                Err(Failure::Transport(format!("waiting for the result of ICON transaction {hash} before signing another: {e}")))
            }
            Err(e) => Err(Failure::Transport(e.to_string())),
        }
    }
}

impl Target for IconTarget {
    async fn position(&mut self) -> Result<Position, Failure> {
        self.settle_doubt().await?;
        let status = self.rpc.call_contract(&self.bmc.to_string(), "getStatus", json!({"_link": self.link})).await.map_err(|e| match e.code() {
            // A SCORE failure (−30000 − c): the link is not there.
            Some(c) if (-30099..=-30000).contains(&c) => Failure::Refused { code: None, reason: format!("ICON's BMC has no link {}: {e}", self.link) },
            _ => Failure::Transport(e.to_string()),
        })?;
        let int =
            |field: &serde_json::Value, name: &str| parse_t_int(field).ok_or_else(|| Failure::Transport(format!("ICON's getStatus without {name}: {status}")));
        let verifier = &status["verifier"];
        Ok(Position {
            rx_seq: int(&status["rx_seq"], "rx_seq")?,
            height: int(&verifier["height"], "verifier.height")?,
            offset: int(&verifier["offset"], "verifier.offset")?,
            last_height: int(&verifier["last_height"], "verifier.last_height")?,
            validators: None,
        })
    }

    async fn check(&mut self, _at: Position, segment: &Segment) -> Result<(), Failure> {
        let encoded = segment.bytes.len().div_ceil(3).saturating_mul(4);
        if encoded > MAX_TX_DATA {
            return Err(Failure::TooLarge(format!("{encoded} bytes of transaction data, more than ICON takes")));
        }
        if self.no_dry_run {
            return Ok(());
        }
        let tx = transaction::unsigned(&self.wallet.address, &self.nid, &self.bmc, None, Some(self.call(segment)), transaction::now_us());
        match self.rpc.estimate_step(&tx).await {
            Ok(steps) if steps > transaction::STEP_LIMIT => {
                Err(Failure::TooLarge(format!("{steps} steps, more than the {} a transaction is given", transaction::STEP_LIMIT)))
            }
            Ok(_) => Ok(()),
            Err(e @ icon_rpc::Error::Unsupported { .. }) => {
                tracing::warn!(error = %e, "ICON's node runs no dry runs (its debug API is off): transactions are checked for size only");
                self.no_dry_run = true;
                Ok(())
            }
            Err(e) => match e.failure_status() {
                Some(status) => Err(dry_run_failure(status, &e)),
                None if e.is_transient() => Err(Failure::Transport(e.to_string())),
                // An answer that is neither a result nor a transaction's failure tells nothing of the transaction.
                None => {
                    tracing::warn!(error = %e, "ICON's dry run answered no outcome: the transaction is checked for size only");
                    Ok(())
                }
            },
        }
    }

    async fn submit(&mut self, segment: &Segment) -> Result<(), Failure> {
        // Signed now: a transaction whose timestamp expired is signed afresh by the next round.
        let timestamp_us = transaction::now_us();
        let tx = transaction::build(&self.wallet, &self.nid, &self.bmc, None, Some(self.call(segment)), timestamp_us);
        let hash = tx.as_object().map(transaction::hash).unwrap_or_default();
        tracing::info!(from = segment.from, to = segment.to, messages = segment.messages, tx = %t_hash(&hash), "submitting to ICON");
        // Recorded before it leaves: a relay killed while it waits finds it after the restart.
        self.store.set_icon_in_doubt(Some(IconInDoubt { hash, timestamp_us, transaction: tx.to_string() })).map_err(Failure::Store)?;
        let sent = self.rpc.send_and_wait(&tx, self.poll, self.wait).await;
        if !matches!(sent, Err(icon_rpc::Error::Unconfirmed { .. })) {
            // A result, or a refusal when it was sent (never taken): nothing in doubt.
            self.store.set_icon_in_doubt(None).map_err(Failure::Store)?;
        }
        let result = sent.map_err(|e| match e {
            icon_rpc::Error::Unconfirmed { .. } => Failure::Unknown(e.to_string()),
            e if e.system_subcode() == Some(code::EXPIRED_TRANSACTION) => Failure::Transport(format!("{e}: signing it again")),
            e if e.is_transient() || matches!(e, icon_rpc::Error::Decode { .. }) => Failure::Transport(e.to_string()),
            // Refused when sent (a bad signature, the wrong network): not executed, no fee.
            e => Failure::Refused { code: None, reason: e.to_string() },
        })?;
        match result.failure {
            None => {
                tracing::debug!(tx = %result.hash, height = result.height, "relay message executed on ICON");
                Ok(())
            }
            Some(failure) => Err(Failure::Rejected(format!("ICON block {} failed transaction {}: {failure}", result.height, result.hash))),
        }
    }
}
