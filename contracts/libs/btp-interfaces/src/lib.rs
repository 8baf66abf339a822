//! The interfaces BTP contracts call each other through, as ink! trait definitions, and the types on their wire.
//!
//! A contract implements a trait in an `impl Trait for Contract` block; a caller holds an
//! `ink::contract_ref!(Trait)` and calls it typed. Error codes are pinned with `#[codec(index)]`: the SCALE index
//! of a variant is its code on the wire, whatever order the variants are written in.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod events;
pub mod service;
pub mod token;
pub mod verifier;

pub use service::{Answer, BmcError, BtpService, Incoming, MessageCenter, ServiceError, UndeliveredAnswer};
pub use token::TokenReceiver;
pub use verifier::{MessageSpan, Verified, Verifier, VerifierError, VerifierStatus};
