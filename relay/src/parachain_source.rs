//! The parachain as a lane's source (parachain → ICON): the parachain BMC's `Message` events toward ICON's BMC,
//! read from finalized blocks, delivered in sequence as `btp_primitives::bmc::relay_message_to_icon` encodes them.
//!
//! The blocks scanned and the messages found are kept in the relay's [`Store`], so a restart goes on from the
//! last block scanned; a store without them scans from the block the deployment names (where the BMC was
//! deployed, or 1). Which messages go out comes from the target's position (ICON BMC's `rx_seq`), never from the
//! store.

use crate::{
    lane::{Failure, Limit, Position, Segment, Source},
    store::Store,
};
use btp_interfaces::events::Message;
use btp_parachain::{AccountId32, Emitted, Parachain};
use btp_primitives::bmc::{relay_message_to_icon, MAX_RELAY_MESSAGE_LEN};
use std::sync::Arc;

/// Finalized parachain blocks scanned in one round at most: a long catch-up still answers between rounds.
const SCAN_PER_ROUND: u64 = 1024;

pub struct ParachainSource {
    pub para: Parachain,
    /// The parachain BMC.
    pub bmc: AccountId32,
    /// ICON's BMC as a BTP address: the messages' `next`.
    pub icon_bmc: String,
    /// The first parachain block that may hold messages toward ICON.
    pub first_block: u64,
    pub store: Arc<Store>,
}

/// The `Message` events of the BMC `bmc` among `emitted` whose next hop is `next` (ICON's BMC), with the event.
pub fn messages_toward<'a>(emitted: &'a [Emitted], bmc: &'a AccountId32, next: &'a str) -> impl Iterator<Item = (&'a Emitted, Message)> + 'a {
    emitted.iter().filter(move |e| e.contract == *bmc).filter_map(move |e| e.decode::<Message>().filter(|m| m.next == next).map(|m| (e, m)))
}

fn transport(e: btp_parachain::Error) -> Failure {
    Failure::Transport(e.to_string())
}

impl ParachainSource {
    /// Scans the finalized blocks after the last one scanned (at most [`SCAN_PER_ROUND`]).
    async fn scan(&self) -> Result<(), Failure> {
        let finalized = self.para.finalized_height().await.map_err(transport)?;
        let from = self.store.parachain_scanned().map_err(Failure::Store)?.map_or(self.first_block.max(1), |s| s.saturating_add(1));
        if from > finalized {
            return Ok(());
        }
        let through = finalized.min(from.saturating_add(SCAN_PER_ROUND - 1));
        let mut found = Vec::new();
        for block in from..=through {
            let emitted = self.para.emitted_at(block).await.map_err(transport)?;
            found.extend(messages_toward(&emitted, &self.bmc, &self.icon_bmc).map(|(_, m)| (m.seq, block, m.msg)));
        }
        if self.store.record_parachain(through, &found).map_err(Failure::Store)? {
            tracing::warn!(through, "the parachain's messages are not the ones the store had: scanning it again from the start");
            self.store.clear_parachain().map_err(Failure::Store)?;
        }
        Ok(())
    }
}

impl Source for ParachainSource {
    async fn segment(&mut self, at: Position, limit: Limit) -> Result<Option<Segment>, Failure> {
        self.scan().await?;
        let mut messages = self.store.messages_to_icon(at.rx_seq, MAX_RELAY_MESSAGE_LEN).map_err(Failure::Store)?;
        messages.truncate(usize::try_from(limit.messages).unwrap_or(usize::MAX).max(1));
        let next = at.rx_seq.saturating_add(1);
        match messages.first() {
            None => return Ok(None),
            Some((seq, block, _)) if *seq != next => {
                // A gap: the scan began after the message (a deployment's first block set too late, or a store of
                // another chain). Scanning again from the start finds it if the node still has the block.
                self.store.clear_parachain().map_err(Failure::Store)?;
                return Err(Failure::Transport(format!(
                    "parachain message {next} toward ICON was not found (the next one found is {seq}, in block {block}): scanning again from block {}",
                    self.first_block.max(1)
                )));
            }
            Some(_) => {}
        }
        let bytes = relay_message_to_icon(messages.iter().map(|(seq, _, msg)| (*seq, msg.as_slice())));
        let (from, to) = (messages[0].1, messages[messages.len() - 1].1);
        Ok(Some(Segment { from, to, messages: messages.len() as u64, parent: [0; 32], bytes }))
    }
}
