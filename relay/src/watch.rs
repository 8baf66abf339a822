//! What both chains say about the link, read apart from the lanes: the chains' heads, each direction's sequence
//! numbers on both sides, the parachain BMC's count of what each relay delivered, and the relay accounts'
//! balances. `relay start` reads it every few seconds into the metrics; `relay status` prints it once.
//!
//! A direction is stuck when a message was already sent `stuck_after` source blocks ago and the destination has
//! still not taken it: the source's sequence at that older height is read (goloop's `icx_call` at a height, the
//! parachain's state at a block) and compared with the destination's `rx_seq` now.

use crate::start::{Context, Halted};
use btp_parachain::{AccountId32, Parachain};
use icon_rpc::{parse_t_int, IconClient};

/// One direction of the link: how many messages the source's BMC sent and the destination's took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Direction {
    /// The source BMC's `tx_seq` on the link.
    pub sent: u64,
    /// The destination BMC's `rx_seq` on the link.
    pub taken: u64,
    /// The source's `tx_seq` `stuck_after` blocks ago, when that height exists.
    pub sent_before: Option<u64>,
}

impl Direction {
    /// Messages sent and not taken yet.
    pub fn pending(&self) -> u64 {
        self.sent.saturating_sub(self.taken)
    }

    /// The first message that was sent at least `stuck_after` source blocks ago and is still not taken.
    pub fn stuck(&self) -> Option<u64> {
        self.sent_before.filter(|before| *before > self.taken).map(|_| self.taken.saturating_add(1))
    }
}

/// A relay of the link as the parachain BMC counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayCount {
    pub account: AccountId32,
    /// ICON blocks it delivered.
    pub blocks: u64,
    /// BTP messages it delivered.
    pub messages: u64,
}

/// Both chains' view of the link at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// ICON's last block (final when made).
    pub icon_height: u64,
    /// The parachain's best block (sealed, maybe not final) and its last finalized one.
    pub parachain_best: u64,
    pub parachain_finalized: u64,
    /// The BMV's height: the last ICON block the parachain has verified.
    pub verifier_height: u64,
    pub to_parachain: Direction,
    /// `None` when ICON's BMC does not answer for the link.
    pub to_icon: Option<Direction>,
    pub relays: Vec<RelayCount>,
    /// Balances of the relay's accounts, when known: the parachain one (planck) and the ICON one (loop).
    pub parachain_balance: Option<u128>,
    pub icon_balance: Option<u128>,
    /// The parachain BMC's and BMV's halt switches, when readable (a failed read leaves the rest of the
    /// snapshot good).
    pub halted: Option<Halted>,
}

/// What a snapshot is read from.
pub struct Watch<'c> {
    /// The deployment and the endpoints.
    pub context: &'c Context,
    pub para: &'c Parachain,
    pub icon: &'c IconClient,
    /// The parachain BMC's own BTP address: the link as ICON's BMC names it.
    pub own_address: &'c str,
    /// Source blocks after which an untaken message counts as stuck.
    pub stuck_after: u64,
    /// The relay's accounts whose balances are read, when known.
    pub parachain_account: Option<AccountId32>,
    pub icon_account: Option<String>,
}

impl Watch<'_> {
    async fn icon_status(&self, height: Option<u64>) -> Result<serde_json::Value, String> {
        self.context.icon_link_status(self.icon, self.own_address, height).await
    }

    async fn parachain_status(&self, at: Option<u64>) -> Result<bmc::bmc::LinkStatus, String> {
        self.context.parachain_link_status(self.para, at).await?.ok_or_else(|| format!("the parachain BMC has no link to {}", self.context.deployment.icon.bmc))
    }

    /// Reads both chains now.
    pub async fn read(&self) -> Result<Snapshot, String> {
        let icon_height = self.icon.last_height().await.map_err(|e| e.to_string())?;
        let parachain_best = self.para.best_height().await.map_err(|e| e.to_string())?;
        let parachain_finalized = self.para.finalized_height().await.map_err(|e| e.to_string())?;
        let status = self.parachain_status(None).await?;
        let halted = self.context.halted(self.para).await.map_err(|e| tracing::warn!(error = %e, "the contracts' halt switches are not readable")).ok();
        let icon_status = self.icon_status(None).await.ok();
        let field = |s: &serde_json::Value, name: &str| parse_t_int(&s[name]);
        let before = |height: u64| height.checked_sub(self.stuck_after).filter(|h| *h > 0);
        // A past state the node does not keep (pruned) leaves the window unknown, said once per reading.
        let past = |what: &str, e: String| {
            tracing::warn!(error = %e, "the {what} state {} blocks ago is not readable: stuck messages cannot be told", self.stuck_after);
        };
        let icon_sent_before = match before(icon_height) {
            Some(h) => self.icon_status(Some(h)).await.map_err(|e| past("ICON", e)).ok().and_then(|s| field(&s, "tx_seq")),
            None => None,
        };
        let to_parachain = Direction {
            sent: icon_status.as_ref().and_then(|s| field(s, "tx_seq")).unwrap_or(status.rx_seq),
            taken: status.rx_seq,
            sent_before: icon_sent_before,
        };
        let to_icon = match icon_status.as_ref().and_then(|s| field(s, "rx_seq")) {
            Some(taken) => {
                let sent_before = match before(parachain_finalized) {
                    Some(h) => self.parachain_status(Some(h)).await.map_err(|e| past("parachain", e)).ok().map(|s| s.tx_seq),
                    None => None,
                };
                Some(Direction { sent: status.tx_seq, taken, sent_before })
            }
            None => None,
        };
        let relays =
            status.relays.iter().map(|r| RelayCount { account: AccountId32(*r.account.as_ref()), blocks: r.block_count, messages: r.msg_count }).collect();
        let parachain_balance = match &self.parachain_account {
            Some(a) => self.para.free_balance(a).await.ok(),
            None => None,
        };
        let icon_balance = match &self.icon_account {
            Some(a) => self.icon.balance(a).await.ok(),
            None => None,
        };
        Ok(Snapshot {
            icon_height,
            parachain_best,
            parachain_finalized,
            verifier_height: status.verifier.height,
            to_parachain,
            to_icon,
            relays,
            parachain_balance,
            icon_balance,
            halted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_sent_long_ago_and_not_taken_is_stuck() {
        let moving = Direction { sent: 5, taken: 3, sent_before: Some(3) };
        assert_eq!((moving.pending(), moving.stuck()), (2, None), "messages 4 and 5 are newer than the window");
        let stuck = Direction { sent: 5, taken: 3, sent_before: Some(4) };
        assert_eq!(stuck.stuck(), Some(4), "message 4 was sent before the window and is still not taken");
        assert_eq!(Direction { sent: 5, taken: 5, sent_before: Some(5) }.stuck(), None);
        assert_eq!(Direction { sent: 5, taken: 3, sent_before: None }.stuck(), None, "a chain younger than the window");
    }
}
