//! The events a relay reads, with public fields: what the BMC emits for each message it sends and each relay
//! message it takes.

use ink::prelude::{string::String, vec::Vec};

/// A BTP message for the BMC `next`, the `seq`-th on that link: what a relay carries there.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The BTP address of the BMC the message goes to next.
    #[ink(topic)]
    pub next: String,
    /// Its sequence number on the link to `next` (1 for the first).
    pub seq: u64,
    /// The RLP-encoded BTP message.
    pub msg: Vec<u8>,
}

/// A relay message from the BMC `prev` was verified and handled.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayMessageHandled {
    /// The BTP address of the source BMC (the link).
    #[ink(topic)]
    pub prev: String,
    /// The link's received-message count after this relay message.
    pub rx_seq: u64,
    /// BTP messages the verifier proved.
    pub messages: u32,
    /// Of those, the ones that were not BTP messages (skipped, still counted in `rx_seq`).
    pub undecodable: u32,
    /// Of those, the ones refused or failed (answered with an error reply where one is due).
    pub refused: u32,
    /// Of those, the ones dropped as an owner scheduled.
    pub dropped: u32,
}
