//! The BTP message envelope `[src, dst, svc, sn, payload]` and the error message `[code, msg]`.

use crate::{
    address::{AddressError, BtpAddress},
    rlp::{ListBuilder, Rlp, RlpError},
};
use alloc::{string::String, vec::Vec};
use core::fmt;

/// Why bytes are not a valid BTP-level message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    Rlp(RlpError),
    Address(AddressError),
    /// A BMC internal message of a type this BMC does not know.
    UnknownBmcMessage(String),
    /// A native-coin service message of a type the service does not know.
    UnknownServiceType(i128),
}

impl From<RlpError> for MessageError {
    fn from(e: RlpError) -> Self {
        Self::Rlp(e)
    }
}

impl From<AddressError> for MessageError {
    fn from(e: AddressError) -> Self {
        Self::Address(e)
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rlp(e) => write!(f, "malformed RLP: {e}"),
            Self::Address(e) => write!(f, "bad address: {e}"),
            Self::UnknownBmcMessage(t) => write!(f, "unknown BMC message type {t:?}"),
            Self::UnknownServiceType(t) => write!(f, "unknown service message type {t}"),
        }
    }
}

/// Where this chain's services number their own requests from. A response carries the number of the request it
/// answers and an error reply its negation, so a service that numbered its requests 1, 2, … as ICON's do could
/// not tell an answer to its request N from the peer's request N or an error about the peer's own response N
/// (ICON's native-coin service refunds its request N when told our handling of its response N failed). ICON
/// numbers from 1 and will not reach 2^64: above it, the two spaces are disjoint, and a message for this chain
/// with `sn >= REQUEST_SN_BASE` is an answer to one of our own requests.
pub const REQUEST_SN_BASE: u128 = 1 << 64;

/// Whether `sn` of a message arriving here answers one of this chain's own requests ([`REQUEST_SN_BASE`]).
pub fn answers_own_request(sn: i128) -> bool {
    sn.unsigned_abs() >= REQUEST_SN_BASE
}

/// The most bytes of peer-chosen text an event carries: pallet-contracts refuses event data over 16 KiB, and an
/// event that traps would revert the whole relay message and stall the link.
pub const EVENT_TEXT_MAX: usize = 256;

/// `text` cut to at most `max` bytes, at a character boundary.
pub fn clipped(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    String::from(&text[..end])
}

/// A BTP message. `sn > 0`: a request or message; `sn == 0`: BMC-internal or no reply wanted;
/// `sn < 0`: the error reply to message `-sn`, whose payload is an [`ErrorMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtpMessage {
    pub src: BtpAddress,
    pub dst: BtpAddress,
    pub svc: String,
    pub sn: i128,
    pub payload: Vec<u8>,
}

impl BtpMessage {
    pub fn encode(&self) -> Vec<u8> {
        // Items' headers take at most 9 bytes each, the sn at most 17 bytes.
        let len =
            [self.src.as_str().len(), self.dst.as_str().len(), self.svc.len(), self.payload.len()].iter().fold(4 * 9 + 17, |n: usize, l| n.saturating_add(*l));
        let mut list = ListBuilder::with_capacity(len);
        list.str(self.src.as_str()).str(self.dst.as_str()).str(&self.svc).int(self.sn).bytes(&self.payload);
        list.into_list()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let [src, dst, svc, sn, payload] = Rlp::new(bytes)?.fixed()?;
        Ok(Self {
            src: BtpAddress::parse(src.str()?)?,
            dst: BtpAddress::parse(dst.str()?)?,
            svc: svc.string()?,
            sn: sn.i128()?,
            // Java writes a missing payload as null.
            payload: payload.nullable_bytes()?.unwrap_or_default().to_vec(),
        })
    }

    /// The error reply to this message, travelling back to its source.
    pub fn error_reply(&self, from: BtpAddress, error: &ErrorMessage) -> Self {
        Self { src: from, dst: self.src.clone(), svc: self.svc.clone(), sn: self.sn.saturating_neg(), payload: error.encode() }
    }
}

/// The payload of an error reply: a BTP error code (BMC 10–24, BMV 25–39, BSH 40–54) and a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    pub code: u32,
    pub message: String,
}

impl ErrorMessage {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn encode(&self) -> Vec<u8> {
        ListBuilder::new().uint(self.code.into()).str(&self.message).finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let [code, message] = Rlp::new(bytes)?.fixed()?;
        let message = match message.nullable_bytes()? {
            None => String::new(),
            Some(_) => message.string()?,
        };
        Ok(Self { code: code.u32()?, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_text_stays_valid() {
        assert_eq!(clipped("abcdef", 3), "abc");
        assert_eq!(clipped("ab", 3), "ab");
        assert_eq!(clipped("aé", 2), "a", "never inside a character");
    }

    fn addr(s: &str) -> BtpAddress {
        BtpAddress::parse(s).unwrap()
    }

    #[test]
    fn error_message_matches_the_spec_appendix() {
        let e = ErrorMessage::new(21, "Unreachable");
        assert_eq!(hex::encode(e.encode()), "cd158b556e726561636861626c65");
        assert_eq!(ErrorMessage::decode(&e.encode()).unwrap(), e);
        assert_eq!(ErrorMessage::decode(&hex::decode("c315f800").unwrap()).unwrap(), ErrorMessage::new(21, ""));
        assert!(matches!(ErrorMessage::decode(&hex::decode("c381ff80").unwrap()), Err(MessageError::Rlp(RlpError::NegativeInteger))));
    }

    #[test]
    fn btp_message_round_trip_and_error_reply() {
        let m = BtpMessage {
            src: addr("btp://0x3.icon/cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a"),
            dst: addr("btp://0x8.pra/0xF0e46847c8bFD122C4b5EEE1D4494FF7C5FC5104"),
            svc: "nativecoin".into(),
            sn: 7,
            payload: vec![1, 2, 3],
        };
        let enc = m.encode();
        assert_eq!(BtpMessage::decode(&enc).unwrap(), m);
        let reply = m.error_reply(m.dst.clone(), &ErrorMessage::new(16, "NotExistsBSH"));
        assert_eq!((reply.sn, &reply.dst), (-7, &m.src));
        assert_eq!(ErrorMessage::decode(&reply.payload).unwrap().code, 16);
    }

    #[test]
    fn btp_message_rejects_bad_addresses_and_shapes() {
        let bad_src = ListBuilder::new().str("0x3.icon/cx").str("btp://0x8.pra/x").str("s").int(1).bytes(b"").finish();
        assert_eq!(BtpMessage::decode(&bad_src), Err(MessageError::Address(AddressError::NotBtp)));
        let short = ListBuilder::new().str("btp://a.b/c").finish();
        assert_eq!(BtpMessage::decode(&short), Err(MessageError::Rlp(RlpError::ItemCount { expected: 5, found: 1 })));
    }
}
