//! The BTP relay between ICON and a parachain, as a library: the `relay` binary's subcommands, and the lane, ICON
//! source and parachain target that benchmarks and other tools drive directly.

pub mod config;
pub mod deploy;
pub mod deployment;
pub mod icon;
pub mod icon_target;
pub mod keys;
pub mod lane;
pub mod metrics;
pub mod parachain;
pub mod parachain_source;
pub mod signer;
pub mod start;
pub mod status;
pub mod store;
pub mod trace;
pub mod watch;
pub mod witness;
