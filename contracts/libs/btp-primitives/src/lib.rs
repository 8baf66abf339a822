//! BTP primitives shared by the parachain contracts and the relay.
//!
//! * [`rlp`]: goloop's RLP variant ("RLPn"): the two bytes `F8 00` stand for null and integers are minimal
//!   signed big-endian. Decoding is lazy, never panics, never reads past its input and rejects
//!   non-canonical lengths and trailing bytes.
//! * [`address`]: BTP addresses `btp://<network>/<account>`, networks `<id>.<type>`, ICON addresses.
//! * [`message`]: the BTP message envelope and its error message.
//! * [`bmc`]: the BMC's internal service messages (`svc = "bmc"`).
//! * [`nativecoin`]: the native-coin service's transfer request and response.
#![cfg_attr(not(feature = "std"), no_std)]
// Overflow on input must be an error, never a wrapped value or a panic: every operation is checked, saturating or
// annotated with why it cannot overflow.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

extern crate alloc;

pub mod address;
pub mod bmc;
pub mod message;
pub mod nativecoin;
pub mod rlp;

pub use address::{AddressError, BtpAddress, IconAddress};
pub use message::{BtpMessage, ErrorMessage};
pub use rlp::{Rlp, RlpError};
