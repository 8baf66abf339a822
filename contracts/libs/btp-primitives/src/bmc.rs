//! The BMC's internal service messages: BTP messages with `svc = "bmc"` and `sn = 0`, whose payload is the
//! envelope `[type, bytes(payload)]`.

use crate::{
    address::BtpAddress,
    message::MessageError,
    rlp::{ListBuilder, Rlp},
};
use alloc::{string::String, vec::Vec};

/// Longest relay message a BMC takes. The contracts are built with a 192 KiB I/O buffer (ink's static buffer),
/// which must hold the whole input of the BMC's `handle_relay_message` and of its call to the BMV (the message
/// plus two BTP addresses and a sequence number); 1 KiB of it is left for those. 191 KiB carries a hundred
/// transfers with their proofs, and a full message of block updates still fits a parachain block's gas. A relay
/// segments under this.
pub const MAX_RELAY_MESSAGE_LEN: usize = 191 * 1024;

/// The reserved service name of BMC-internal messages.
pub const BMC_SERVICE: &str = "bmc";

/// The relay message toward ICON's BMC from this parachain: `[[seq, message], …]`, the parachain BMC's messages
/// on the link in order (seq a goloop integer). It carries no proof: ICON has no verifier of this parachain (the
/// relay's README says what one would need); the ICON test chain's BMC takes it.
pub fn relay_message_to_icon<'a>(messages: impl IntoIterator<Item = (u64, &'a [u8])>) -> Vec<u8> {
    let mut list = ListBuilder::new();
    for (seq, msg) in messages {
        list.raw(&ListBuilder::new().int(i128::from(seq)).bytes(msg).finish());
    }
    list.finish()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BmcMessage {
    /// Sent on a new link: the links the sender already had, so the peer learns what it can reach.
    Init { links: Vec<BtpAddress> },
    /// Sent on every existing link when a link is added.
    Link { link: BtpAddress },
    /// Sent on every remaining link when a link is removed.
    Unlink { link: BtpAddress },
    /// Asks the receiving chain's services to send their accumulated fees to `fee_aggregator`.
    FeeGathering { fee_aggregator: BtpAddress, services: Vec<String> },
}

fn decode_addresses(item: &Rlp<'_>) -> Result<Vec<BtpAddress>, MessageError> {
    item.nullable_items()?.iter().map(|a| Ok(BtpAddress::parse(a.str()?)?)).collect()
}

/// Link and Unlink payloads: Java writes `[link]`, the Solidity BMC `[[link]]`; both are read.
fn decode_link(payload: &Rlp<'_>) -> Result<BtpAddress, MessageError> {
    let [item] = payload.fixed()?;
    let text = match item.kind() {
        crate::rlp::Kind::List => {
            let [inner] = item.fixed()?;
            inner.str()?
        }
        _ => item.str()?,
    };
    Ok(BtpAddress::parse(text)?)
}

impl BmcMessage {
    fn type_name(&self) -> &'static str {
        match self {
            Self::Init { .. } => "Init",
            Self::Link { .. } => "Link",
            Self::Unlink { .. } => "Unlink",
            Self::FeeGathering { .. } => "FeeGathering",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let payload = match self {
            Self::Init { links } => {
                let mut inner = ListBuilder::new();
                for l in links {
                    inner.str(l.as_str());
                }
                ListBuilder::new().raw(&inner.finish()).finish()
            }
            Self::Link { link } | Self::Unlink { link } => ListBuilder::new().str(link.as_str()).finish(),
            Self::FeeGathering { fee_aggregator, services } => ListBuilder::new().str(fee_aggregator.as_str()).raw(&crate::rlp::string_list(services)).finish(),
        };
        ListBuilder::new().str(self.type_name()).bytes(&payload).finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let [ty, payload] = Rlp::new(bytes)?.fixed()?;
        let payload = payload.nested()?;
        match ty.str()? {
            "Init" => {
                let [links] = payload.fixed()?;
                Ok(Self::Init { links: decode_addresses(&links)? })
            }
            "Link" => Ok(Self::Link { link: decode_link(&payload)? }),
            "Unlink" => Ok(Self::Unlink { link: decode_link(&payload)? }),
            "FeeGathering" => {
                let [fa, services] = payload.fixed()?;
                let services = services.nullable_items()?.iter().map(|s| s.string()).collect::<Result<_, _>>()?;
                Ok(Self::FeeGathering { fee_aggregator: BtpAddress::parse(fa.str()?)?, services })
            }
            other => Err(MessageError::UnknownBmcMessage(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rlp::RlpError;

    fn addr(s: &str) -> BtpAddress {
        BtpAddress::parse(s).unwrap()
    }

    #[test]
    fn init_with_no_links_matches_the_spec_appendix() {
        let m = BmcMessage::Init { links: vec![] };
        assert_eq!(hex::encode(m.encode()), "c884496e697482c1c0");
        assert_eq!(BmcMessage::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn every_type_round_trips() {
        let a = addr("btp://0x1.icon/cx0000000000000000000000000000000000000001");
        let b = addr("btp://0x501.pra/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
        for m in [
            BmcMessage::Init { links: vec![a.clone(), b.clone()] },
            BmcMessage::Link { link: a.clone() },
            BmcMessage::Unlink { link: b.clone() },
            BmcMessage::FeeGathering { fee_aggregator: a, services: vec!["nativecoin".into()] },
        ] {
            assert_eq!(BmcMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn solidity_link_shape_is_read() {
        let link = "btp://0x1.icon/cx0000000000000000000000000000000000000001";
        let payload = ListBuilder::new().raw(&crate::rlp::string_list(&[link])).finish();
        let msg = ListBuilder::new().str("Link").bytes(&payload).finish();
        assert_eq!(BmcMessage::decode(&msg).unwrap(), BmcMessage::Link { link: addr(link) });
    }

    #[test]
    fn unknown_and_malformed() {
        let msg = ListBuilder::new().str("Sack").bytes(&ListBuilder::new().int(1).int(2).finish()).finish();
        assert_eq!(BmcMessage::decode(&msg), Err(MessageError::UnknownBmcMessage("Sack".into())));
        let msg = ListBuilder::new().str("Init").bytes(b"\x01").finish();
        assert_eq!(BmcMessage::decode(&msg), Err(MessageError::Rlp(RlpError::ExpectedList)));
    }
}
