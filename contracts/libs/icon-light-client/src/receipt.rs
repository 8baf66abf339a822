//! Transaction receipts and event logs, and the BMC `Message` events inside them.

use crate::{
    error::{ErrorCode, OrCode},
    header::opt_hash,
    BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::{rlp::Rlp, IconAddress};

const BAD: ErrorCode = ErrorCode::DecodeError;

/// The signature of the event ICON's BMC emits for every BTP message it sends.
pub const MESSAGE_EVENT: &[u8] = b"Message(str,int,bytes)";

/// The root of a receipt's event-log list (field 8; receipts v2 and later keep their logs in a Merkle list).
pub fn event_logs_hash(receipt: &[u8]) -> Result<Hash, BmvError> {
    let (_, mut rest) = Rlp::new(receipt).and_then(|r| r.at_least::<8>()).or_code(BAD, "receipt has fewer than 8 fields")?;
    let hash = rest.next().or_code(BAD, "receipt has no event-logs hash (v1 receipt)")?.or_code(BAD, "receipt field 8 is not RLP")?;
    opt_hash(&hash)?.or_code(BAD, "receipt's event-logs hash is empty")
}

/// An event log: the emitting contract, its indexed and its data parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog<'a> {
    pub address: IconAddress,
    pub indexed: Vec<&'a [u8]>,
    pub data: Vec<&'a [u8]>,
}

fn params<'a>(item: &Rlp<'a>) -> Result<Vec<&'a [u8]>, BmvError> {
    item.nullable_items()
        .or_code(BAD, "event parameters are not a list")?
        .iter()
        .map(|p| p.nullable_bytes().map(Option::unwrap_or_default).or_code(BAD, "event parameter is not bytes"))
        .collect()
}

impl<'a> EventLog<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BmvError> {
        let [address, indexed, data] = Rlp::new(bytes).and_then(|r| r.fixed()).or_code(BAD, "event log is not [addr, indexed, data]")?;
        Ok(Self {
            address: IconAddress::from_bytes(address.bytes().or_code(BAD, "event address is not bytes")?)
                .or_code(BAD, "event address is not an ICON address")?,
            indexed: params(&indexed)?,
            data: params(&data)?,
        })
    }

    /// The BMC `Message(str _next, int _seq, bytes _msg)` this log carries, if it is one.
    pub fn message(&self) -> Result<Option<MessageEvent<'a>>, BmvError> {
        if self.indexed.first() != Some(&MESSAGE_EVENT) {
            return Ok(None);
        }
        let (next, seq, msg) = match (self.indexed.get(1), self.indexed.get(2), self.data.first()) {
            (Some(n), Some(s), Some(m)) => (*n, *s, *m),
            _ => return Err(BmvError::new(BAD, "Message event lacks next, seq or msg")),
        };
        Ok(Some(MessageEvent {
            next: core::str::from_utf8(next).or_code(BAD, "Message next is not UTF-8")?,
            seq: btp_primitives::rlp::signed_from_bytes(seq).or_code(BAD, "Message seq is not an integer")?,
            msg,
        }))
    }
}

/// A BTP message as ICON's BMC announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent<'a> {
    /// BTP address of the BMC the message goes to next.
    pub next: &'a str,
    /// Sequence number on the link to `next`.
    pub seq: i128,
    /// The RLP BTP message.
    pub msg: &'a [u8],
}
