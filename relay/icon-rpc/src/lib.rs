//! ICON JSON-RPC v3 as goloop serves it, for the relay, the deploy tool and the ICON test chain: the client, the
//! block monitor, v3 transactions (serialization, hash, signing, the node's check) and account keys.
//!
//! goloop answers every JSON-RPC error with HTTP status 400 and the error object in the body
//! (`server/jsonrpc/error.go`): a 400 with an error object is the call's error with its code ([`Error::Rpc`]),
//! not a transport failure. Integers travel as `T_INT` (`0x`-prefixed hex), hashes as `T_HASH`, binary data
//! (headers, votes, validator lists, proofs) as base64.

use serde_json::Value;

/// goloop's JSON-RPC error codes.
pub mod code {
    /// The server failed (and goloop's generic system error).
    pub const SERVER_ERROR: i64 = -31000;
    /// The transaction pool is full: send again later.
    pub const POOL_OVERFLOW: i64 = -31001;
    /// The transaction is in the pool, not in a block yet.
    pub const PENDING: i64 = -31002;
    /// The transaction is in a block being executed.
    pub const EXECUTING: i64 = -31003;
    /// No such block, transaction or data.
    pub const NOT_FOUND: i64 = -31004;
    /// JSON-RPC's: the endpoint has no such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;

    /// The sub-code a system error's message starts with (`-31000`, "2000: …"): goloop's transaction pool's.
    pub fn system_subcode(message: &str) -> Option<u32> {
        let digits: String = message.trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
    /// System error sub-code: the same transaction is in the pool or a block already.
    pub const DUPLICATE_TRANSACTION: u32 = 2000;
    /// System error sub-code: the transaction's timestamp is too old (or too far ahead): sign it again.
    pub const EXPIRED_TRANSACTION: u32 = 2002;
}

/// Why a JSON-RPC call gave no result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer, or not a JSON-RPC one (retry).
    #[error("ICON endpoint {url}: {reason}")]
    Transport { url: String, reason: String },
    /// The node answered with a JSON-RPC error.
    #[error("ICON {method} answered error {code}: {message}")]
    Rpc { method: String, code: i64, message: String },
    /// The result is not what the method returns.
    #[error("ICON {method}: unexpected result: {reason}")]
    Decode { method: String, reason: String },
    /// A transaction was sent but no result came within the wait: it may still be executed.
    #[error("ICON transaction {hash}: no result within {waited:?}")]
    Unconfirmed { hash: String, waited: std::time::Duration },
    /// The endpoint does not serve the method (goloop's debug API is off on most public nodes).
    #[error("ICON endpoint {url} does not serve {method}: {reason}")]
    Unsupported { url: String, method: String, reason: String },
}

impl Error {
    /// The JSON-RPC error code, when the node answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether asking again may succeed: no answer, or goloop's system error without a sub-code that says
    /// otherwise (a duplicate or an expired transaction), or a full pool.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Rpc { code: code::POOL_OVERFLOW, .. } => true,
            Self::Rpc { code: code::SERVER_ERROR, .. } => !matches!(self.system_subcode(), Some(code::DUPLICATE_TRANSACTION | code::EXPIRED_TRANSACTION)),
            _ => false,
        }
    }

    /// The status of a transaction that failed as goloop reports it when it runs one without committing it
    /// (`debug_estimateStep`): a SCORE failure with status `s` is error `-30000 - s`, and a contract's own revert
    /// `n` is status `32 + n` (BTP's codes: the Java BMC's `Unauthorized` is 11, status 43).
    pub fn failure_status(&self) -> Option<u32> {
        match self {
            Self::Rpc { code, .. } if (-30999..=-30000).contains(code) => u32::try_from(-30000 - code).ok(),
            _ => None,
        }
    }

    /// The sub-code of a system error (`-31000` whose message starts with `2000`, `2002`, …).
    pub fn system_subcode(&self) -> Option<u32> {
        match self {
            Self::Rpc { code: code::SERVER_ERROR, message, .. } => code::system_subcode(message),
            _ => None,
        }
    }
}

/// `T_INT`: `0x`-prefixed lower-case hex.
pub fn t_int(value: u64) -> String {
    format!("{value:#x}")
}

/// Reads a `T_INT` text as wide as amounts in loop (10^-18 ICX) need.
pub fn parse_t_amount(text: &str) -> Option<u128> {
    u128::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// Reads a `T_INT` (also accepting the plain JSON numbers some of goloop's block fields use).
pub fn parse_t_int(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => u64::try_from(parse_t_amount(s)?).ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// `T_HASH`: `0x` and 64 hex digits.
pub fn t_hash(hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(hash))
}

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub use client::{EventLogJson, IconClient, TransactionResult};
#[cfg(feature = "client")]
pub mod monitor;
pub mod transaction;
pub mod wallet;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_and_hashes_travel_as_goloop_writes_them() {
        assert_eq!(t_int(0), "0x0");
        assert_eq!(t_int(255), "0xff");
        assert_eq!(parse_t_int(&json!("0x1a")), Some(26));
        assert_eq!(parse_t_int(&json!(26)), Some(26));
        assert_eq!(parse_t_int(&json!("26")), None, "T_INT is hex with 0x");
        assert_eq!(parse_t_int(&json!("0x10000000000000000")), None, "past u64");
        assert_eq!(parse_t_amount("0x3635c9adc5dea00000"), Some(1_000 * 10u128.pow(18)), "1,000 ICX in loop");
        assert_eq!(t_hash(&[0xab; 32]), format!("0x{}", "ab".repeat(32)));
    }
}
