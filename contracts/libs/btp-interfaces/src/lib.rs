//! The interfaces BTP contracts call each other through, as ink! trait definitions, and the types on their wire.
//!
//! A contract implements a trait in an `impl Trait for Contract` block; a caller holds an
//! `ink::contract_ref!(Trait)` and calls it typed. Error codes are pinned with `#[codec(index)]`: the SCALE index
//! of a variant is its code on the wire, whatever order the variants are written in.
//!
//! * [`service`]: a BTP service as its BMC calls it (`BtpService`, batches of messages answered in one call), the
//!   BMC as services call it (`MessageCenter`), and `service_conformance_tests!` for any service;
//! * [`verifier`]: a BMV as its BMC calls it (`Verifier`, answering with `MessageSpan`s of the relay message);
//! * [`token`]: the ERC1155-style receiver hooks a token contract asks (`TokenReceiver`);
//! * [`admin`]: what every BTP contract is administered by (`Administered`: owners, halt, code upgrades);
//! * [`events`]: what a relay reads from the BMC (`Message`, `RelayMessageHandled`);
//! * `layout` (std): a contract's storage layout as text, which each contract's tests pin for upgrades.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod admin;
pub mod events;
#[cfg(feature = "std")]
pub mod layout;
pub mod service;
pub mod token;
pub mod verifier;

pub use admin::{Admin, AdminError, Administered};
pub use service::{Answer, BmcError, BtpService, Incoming, MessageCenter, ServiceError, UndeliveredAnswer};
pub use token::TokenReceiver;
pub use verifier::{MessageSpan, Verified, Verifier, VerifierError, VerifierStatus};
