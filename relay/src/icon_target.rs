//! ICON's BMC as a lane's target (parachain → ICON): its `getStatus` of the link is the position; a segment goes
//! in a signed v3 transaction calling `handleRelayMessage(_prev, _msg)` (`_msg` base64url, as goloop's BMC
//! takes bytes), whose result is awaited through goloop's pending and executing answers.
//!
//! ICON has no dry run a relay could use (goloop's `debug_estimateStep` is off on public nodes): the check is
//! the message's size and its sequence against the status just read; a transaction that fails in its block is
//! reported with ICON's failure and the status is read again.

use crate::lane::{Failure, Position, Segment, Target};
use base64::{engine::general_purpose::URL_SAFE, Engine};
use btp_primitives::IconAddress;
use icon_rpc::{code, parse_t_int, transaction, wallet::Wallet, IconClient};
use serde_json::json;
use std::time::Duration;

/// goloop refuses transactions whose data is larger (`service/transaction/transaction_v3.go`'s 512 KiB limit).
const MAX_TX_DATA: usize = 512 * 1024;
/// How often a sent transaction's result is asked for, and for how long (ICON's own relays: 1 s, 5 minutes).
const POLL: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(300);

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
    /// How often a sent transaction's result is asked for.
    pub poll: Duration,
}

impl IconTarget {
    pub fn new(rpc: IconClient, wallet: Wallet, nid: String, bmc: IconAddress, link: String) -> Self {
        Self { rpc, wallet, nid, bmc, link, poll: POLL }
    }
}

impl Target for IconTarget {
    async fn position(&mut self) -> Result<Position, Failure> {
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
        Ok(())
    }

    async fn submit(&mut self, segment: &Segment) -> Result<(), Failure> {
        let call = json!({"method": "handleRelayMessage", "params": {"_prev": self.link, "_msg": URL_SAFE.encode(&segment.bytes)}});
        // Signed now: a transaction whose timestamp expired is signed afresh by the next round.
        let tx = transaction::build(&self.wallet, &self.nid, &self.bmc, None, Some(call), transaction::now_us());
        tracing::info!(from = segment.from, to = segment.to, messages = segment.messages, "submitting to ICON");
        let result = self.rpc.send_and_wait(&tx, self.poll, WAIT).await.map_err(|e| match e {
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
