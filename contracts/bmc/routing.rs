//! The BMC's rules as plain Rust, reached by unit tests without the contract environment: links and their
//! sequence numbers, next-hop resolution, and what happens to each message a BMV returns.
//!
//! Choices where ICON's Java BMC and the Solidity BMC differ (spec `bmc-bsh.md` §6), taken to keep BTP's
//! guarantees:
//! * a relayed message's `dst` is the final destination BMC (Solidity, Python, the BTP docs), not the next hop
//!   (Java), so a forwarding BMC can still route it;
//! * an error reply goes back on the link the offending message arrived on, only for `sn > 0`, with the code
//!   of the failure (Java), never just a range base (Solidity);
//! * a message that cannot be decoded still counts in `rx_seq` (both), is skipped and reported;
//! * BMC-internal messages are accepted only from the BMC at the other end of the arriving link (Java).

use alloc::vec::Vec;
use btp_primitives::{bmc::BMC_SERVICE, BtpAddress, BtpMessage, ErrorMessage};

/// BMC error codes (BTP range 10–24).
pub mod code {
    pub const UNKNOWN: u32 = 10;
    pub const UNAUTHORIZED: u32 = 11;
    pub const NOT_EXISTS_BSH: u32 = 16;
    pub const UNREACHABLE: u32 = 21;
}

/// A link to a directly connected BMC: the sequence numbers the relay and the peer resume from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub peer: BtpAddress,
    /// Messages accepted from the peer: the BMV accepts seq `rx_seq + 1` next.
    pub rx_seq: u64,
    /// Messages sent to the peer: the next one carries `tx_seq + 1`.
    pub tx_seq: u64,
    /// BMCs the peer announced it can reach.
    pub reachable: Vec<BtpAddress>,
}

impl Link {
    pub fn new(peer: BtpAddress) -> Self {
        Self { peer, rx_seq: 0, tx_seq: 0, reachable: Vec::new() }
    }

    /// Takes the next sequence number for a message to the peer.
    pub fn next_tx_seq(&mut self) -> Option<u64> {
        self.tx_seq = self.tx_seq.checked_add(1)?;
        Some(self.tx_seq)
    }

    /// Counts `delivered` more messages as received (undecodable ones included: the BMV counted them).
    pub fn received(&mut self, delivered: usize) -> Option<()> {
        self.rx_seq = self.rx_seq.checked_add(u64::try_from(delivered).ok()?)?;
        Some(())
    }
}

/// A resolved route: the link a message leaves on and the BMC it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop<'a> {
    pub next: &'a BtpAddress,
    pub dst: &'a BtpAddress,
}

/// Where a message to network `net` goes, in ICON's order: an explicit route (`(destination BMC, link)`), a
/// link to that network, then a link whose peer announced a BMC of that network.
pub fn resolve<'a>(routes: &'a [(BtpAddress, BtpAddress)], links: &'a [Link], net: &str) -> Option<Hop<'a>> {
    routes
        .iter()
        .find(|(dst, _)| dst.network() == net)
        .map(|(dst, next)| Hop { next, dst })
        .or_else(|| links.iter().find(|l| l.peer.network() == net).map(|l| Hop { next: &l.peer, dst: &l.peer }))
        .or_else(|| {
            links.iter().find_map(|l| l.reachable.iter().find(|r| r.network() == net).map(|dst| Hop { next: &l.peer, dst }))
        })
}

/// What the BMC does with one message a BMV returned for the link `prev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// For a service of this BMC (`sn >= 0`: `handle_btp_message`; `sn < 0`: `handle_btp_error`).
    Deliver(BtpMessage),
    /// For this BMC's own `bmc` service, from the peer of the arriving link.
    Internal(BtpMessage),
    /// For another BMC: re-emitted on the link `next`.
    Forward { next: BtpAddress, message: BtpMessage },
    /// Refused: an error reply, if the message wants one (`sn > 0`), goes back on the arriving link.
    Reject { message: BtpMessage, error: ErrorMessage },
    /// Not a BTP message: skipped and reported.
    Undecodable,
}

pub fn classify(own: &BtpAddress, prev: &BtpAddress, routes: &[(BtpAddress, BtpAddress)], links: &[Link], bytes: &[u8]) -> Disposition {
    let Ok(message) = BtpMessage::decode(bytes) else { return Disposition::Undecodable };
    if message.dst != *own {
        return match resolve(routes, links, message.dst.network()) {
            Some(hop) => Disposition::Forward { next: hop.next.clone(), message },
            None => {
                let error = ErrorMessage::new(code::UNREACHABLE, "Unreachable");
                Disposition::Reject { message, error }
            }
        };
    }
    if message.svc == BMC_SERVICE {
        if message.src != *prev {
            let error = ErrorMessage::new(code::UNAUTHORIZED, "internal message not from the linked BMC");
            return Disposition::Reject { message, error };
        }
        return Disposition::Internal(message);
    }
    Disposition::Deliver(message)
}

/// The error reply to `message` from this BMC, or `None` when the message asked for none (`sn <= 0`).
pub fn error_reply(own: &BtpAddress, message: &BtpMessage, error: &ErrorMessage) -> Option<BtpMessage> {
    (message.sn > 0).then(|| message.error_reply(own.clone(), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> BtpAddress {
        BtpAddress::parse(s).unwrap()
    }

    fn msg(src: &str, dst: &str, svc: &str, sn: i128) -> BtpMessage {
        BtpMessage { src: addr(src), dst: addr(dst), svc: svc.into(), sn, payload: vec![1] }
    }

    const OWN: &str = "btp://0x501.pra/0x0a";
    const ICON: &str = "btp://0x3.icon/cx01";
    const ETH: &str = "btp://0x5.eth/0x02";

    fn links() -> Vec<Link> {
        let mut icon = Link::new(addr(ICON));
        icon.reachable.push(addr("btp://0x7.hmny/0x03"));
        vec![icon, Link::new(addr(ETH))]
    }

    #[test]
    fn next_hop_follows_icons_order() {
        let links = links();
        let routes = vec![(addr("btp://0x5.eth/0x99"), addr(ICON))];
        let hop = |next: &str, dst: &str| (addr(next), addr(dst));
        let found = |r: Option<Hop<'_>>| r.map(|h| (h.next.clone(), h.dst.clone()));
        assert_eq!(found(resolve(&routes, &links, "0x5.eth")), Some(hop(ICON, "btp://0x5.eth/0x99")), "an explicit route wins");
        assert_eq!(found(resolve(&[], &links, "0x5.eth")), Some(hop(ETH, ETH)), "then a direct link");
        assert_eq!(found(resolve(&[], &links, "0x7.hmny")), Some(hop(ICON, "btp://0x7.hmny/0x03")), "then what a peer can reach");
        assert_eq!(found(resolve(&[], &links, "0x9.bsc")), None);
    }

    #[test]
    fn messages_are_delivered_forwarded_or_refused() {
        let (own, prev, links) = (addr(OWN), addr(ICON), links());
        let deliver = msg(ICON, OWN, "nativecoin", 3);
        assert_eq!(classify(&own, &prev, &[], &links, &deliver.encode()), Disposition::Deliver(deliver));
        let internal = msg(ICON, OWN, "bmc", 0);
        assert_eq!(classify(&own, &prev, &[], &links, &internal.encode()), Disposition::Internal(internal));
        let onward = msg(ICON, "btp://0x5.eth/0x02", "nativecoin", 4);
        assert_eq!(classify(&own, &prev, &[], &links, &onward.encode()), Disposition::Forward { next: addr(ETH), message: onward });
        let lost = msg(ICON, "btp://0x9.bsc/0x04", "nativecoin", 5);
        let Disposition::Reject { message, error } = classify(&own, &prev, &[], &links, &lost.encode()) else { panic!("refused") };
        assert_eq!(error.code, code::UNREACHABLE);
        let reply = error_reply(&own, &message, &error).unwrap();
        assert_eq!((reply.dst, reply.sn, reply.src), (addr(ICON), -5, own.clone()));
        let forged = msg(ETH, OWN, "bmc", 0);
        assert!(matches!(classify(&own, &prev, &[], &links, &forged.encode()), Disposition::Reject { .. }));
        assert_eq!(classify(&own, &prev, &[], &links, b"\x01\x02"), Disposition::Undecodable);
    }

    #[test]
    fn only_messages_wanting_a_reply_get_one() {
        let own = addr(OWN);
        let error = ErrorMessage::new(code::NOT_EXISTS_BSH, "NotExistsBSH");
        assert!(error_reply(&own, &msg(ICON, OWN, "x", 0), &error).is_none());
        assert!(error_reply(&own, &msg(ICON, OWN, "x", -2), &error).is_none());
        assert_eq!(error_reply(&own, &msg(ICON, OWN, "x", 9), &error).unwrap().sn, -9);
    }

    #[test]
    fn sequences_count_up_and_refuse_overflow() {
        let mut link = Link::new(addr(ICON));
        assert_eq!((link.next_tx_seq(), link.next_tx_seq()), (Some(1), Some(2)));
        link.received(3).unwrap();
        assert_eq!(link.rx_seq, 3);
        link.tx_seq = u64::MAX;
        assert_eq!(link.next_tx_seq(), None);
        link.rx_seq = u64::MAX;
        assert_eq!(link.received(1), None);
    }
}
