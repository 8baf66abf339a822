//! Transaction receipts and event logs, and the BMC `Message` events inside them.

use crate::{
    error::{ErrorCode, OrCode},
    header::opt_hash,
    BmvError, Hash,
};
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

/// An event log: the emitting contract, its indexed and its data parameters (read in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLog<'a> {
    pub address: IconAddress,
    indexed: Rlp<'a>,
    data: Rlp<'a>,
}

/// The parameters of a list, a null parameter read as empty.
fn params<'a>(list: &Rlp<'a>) -> impl Iterator<Item = Result<&'a [u8], BmvError>> + 'a {
    list.nullable_iter()
        .unwrap_or_default()
        .map(|p| p.and_then(|p| p.nullable_bytes()).map(Option::unwrap_or_default).or_code(BAD, "event parameter is not bytes"))
}

impl<'a> EventLog<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BmvError> {
        let [address, indexed, data] = Rlp::new(bytes).and_then(|r| r.fixed()).or_code(BAD, "event log is not [addr, indexed, data]")?;
        let log = Self {
            address: IconAddress::from_bytes(address.bytes().or_code(BAD, "event address is not bytes")?)
                .or_code(BAD, "event address is not an ICON address")?,
            indexed,
            data,
        };
        // Every parameter is checked here, so that a malformed log fails alike whether its parameters are read.
        indexed.nullable_iter().and(data.nullable_iter()).or_code(BAD, "event parameters are not a list")?;
        log.indexed().chain(log.data()).try_for_each(|p| p.map(|_| ()))?;
        Ok(log)
    }

    pub fn indexed(&self) -> impl Iterator<Item = Result<&'a [u8], BmvError>> + 'a {
        params(&self.indexed)
    }

    pub fn data(&self) -> impl Iterator<Item = Result<&'a [u8], BmvError>> + 'a {
        params(&self.data)
    }

    /// The BMC `Message(str _next, int _seq, bytes _msg)` this log carries, if it is one.
    pub fn message(&self) -> Result<Option<MessageEvent<'a>>, BmvError> {
        let mut indexed = self.indexed();
        if indexed.next().transpose()? != Some(MESSAGE_EVENT) {
            return Ok(None);
        }
        let (next, seq, msg) = match (indexed.next().transpose()?, indexed.next().transpose()?, self.data().next().transpose()?) {
            (Some(n), Some(s), Some(m)) => (n, s, m),
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

#[cfg(test)]
mod tests {
    use super::*;
    use btp_primitives::rlp::ListBuilder;

    #[test]
    fn parameters_must_be_lists() {
        let address = [1u8; 21];
        let list = ListBuilder::new().bytes(MESSAGE_EVENT).finish();
        let ok = ListBuilder::new().bytes(&address).raw(&list).null().finish();
        assert!(EventLog::decode(&ok).is_ok(), "null parameters are none");
        let bytes = ListBuilder::new().bytes(&address).bytes(MESSAGE_EVENT).raw(&list).finish();
        assert_eq!(EventLog::decode(&bytes).unwrap_err().code, ErrorCode::DecodeError);
    }
}
