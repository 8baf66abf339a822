//! A test stand-in for ICON. No ICON node runs here, so the e2e suite and the relay get their ICON side from
//! this crate: it produces what goloop produces (v2 headers, commit votes signed by validator keys, validator
//! list changes, receipts with event logs, goloop Merkle Patricia tries and their proofs, the block-hash
//! accumulator's witnesses) and assembles relay messages from them.
//!
//! The formats come from the `icon-light-client` crate's encoders, which reproduce real ICON data byte for
//! byte (its `reencode_real_data` test); this crate's own encoders (tries, receipts) are checked against real
//! data in `tests/real_data.rs`, so the stand-in cannot drift into agreeing only with our verifier.
//! It is test infrastructure: its keys are derived from small seeds and nothing here is for production.

pub mod btp;
pub mod chain;
pub mod keys;
pub mod mpt;
pub mod node;
pub mod receipt;
pub mod server;

pub use chain::{Block, TestChain};
pub use keys::Validator;
