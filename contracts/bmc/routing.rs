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
//! * BMC-internal messages are accepted only from the BMC at the other end of the arriving link (Java);
//! * a service that refuses or traps becomes an error reply with the service's code (Java), whatever it failed
//!   with (Solidity catches only reason strings and lets anything else block the link);
//! * `FeeGathering` is accepted only when the aggregator is on the network of the link that asks (Java);
//! * relay rotation follows Java's rule (negative counts clamp to no rotation) in Solidity's integer fixed point,
//!   and the turn index is taken modulo the current number of relays, so removing a relay or having none never
//!   divides by zero.

use alloc::vec::Vec;
use btp_primitives::{bmc::BMC_SERVICE, BtpAddress, BtpMessage, ErrorMessage};

/// BMC error codes (BTP range 10–24).
pub mod code {
    pub const UNKNOWN: u32 = 10;
    pub const UNAUTHORIZED: u32 = 11;
    pub const NOT_EXISTS_BSH: u32 = 16;
    pub const UNREACHABLE: u32 = 21;
    /// The first service (BSH) code: a service's local error `i` is reported as `SERVICE + i`.
    pub const SERVICE: u32 = 40;
    /// The last code of the service range.
    pub const SERVICE_LAST: u32 = 54;
}

/// How a call into a service (BSH) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceFailure {
    /// The service returned its error: the SCALE index of its error enum, which is its local BTP code.
    Refused(u8),
    /// The service trapped, ran out of gas, or answered with something that is not `Result<(), Error>`.
    Failed,
}

impl ServiceFailure {
    /// The BTP code reported for this failure: the service range base plus the service's local code.
    pub fn code(self) -> u32 {
        match self {
            Self::Refused(local) => code::SERVICE.saturating_add(u32::from(local)).min(code::SERVICE_LAST),
            Self::Failed => code::SERVICE,
        }
    }

    /// The error message an error reply carries for this failure.
    pub fn error_message(self) -> ErrorMessage {
        match self {
            Self::Refused(_) => ErrorMessage::new(self.code(), "service refused the message"),
            Self::Failed => ErrorMessage::new(self.code(), "service failed"),
        }
    }
}

/// `FeeGathering` from the peer of a link is honoured only for an aggregator on that peer's network: nobody
/// else may direct this chain's fees.
pub fn accepts_fee_gathering(prev: &BtpAddress, fee_aggregator: &BtpAddress) -> bool {
    prev.network() == fee_aggregator.network()
}

/// The fixed point of the rotation arithmetic (Solidity's 10^6).
const UNIT: i128 = 1_000_000;

/// `ceil(a / b)` for `b > 0`, also for negative `a` (Java's `StrictMath.ceil` of the quotient).
fn ceil_div(a: i128, b: i128) -> i128 {
    let floor = a.div_euclid(b);
    if a.rem_euclid(b) == 0 {
        floor
    } else {
        floor.saturating_add(1)
    }
}

/// Relay rotation of a link (spec §2.12): only one relay's turn at a time; the turn moves every `rotate_term`
/// local blocks (the time of `max_aggregation` peer blocks) and skips relays that are late by `delay_limit`.
/// Disabled (any relay may submit) until both block intervals and `max_aggregation` are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Rotation {
    /// Block interval of this chain, ms.
    pub block_interval_src: u64,
    /// Block interval of the peer chain, ms.
    pub block_interval_dst: u64,
    pub max_aggregation: u64,
    /// Local blocks a relay may be late before its turn is skipped; 0 never skips.
    pub delay_limit: u64,
    pub relay_idx: u64,
    pub rotate_height: u64,
    /// Local height of the last relay message with BTP messages.
    pub rx_height: u64,
    /// Peer height of that message's last block.
    pub rx_height_src: u64,
}

impl Rotation {
    /// Peer blocks per local block, ×10^6; 0 when an interval is unset.
    fn scale(&self) -> i128 {
        let (src, dst) = (i128::from(self.block_interval_src), i128::from(self.block_interval_dst));
        if src < 1 || dst < 1 {
            return 0;
        }
        ceil_div(src.saturating_mul(UNIT), dst)
    }

    /// Local blocks per turn; 0 means rotation is off.
    pub fn rotate_term(&self) -> u64 {
        let scale = self.scale();
        if scale == 0 {
            return 0;
        }
        u64::try_from(ceil_div(i128::from(self.max_aggregation).saturating_mul(UNIT), scale)).unwrap_or(u64::MAX)
    }

    /// Sets the link's parameters at local height `now`, with the BMV's accumulator height `peer_height`. Turning
    /// rotation on starts the first turn one term from now.
    pub fn configure(&mut self, block_interval_src: u64, block_interval_dst: u64, max_aggregation: u64, delay_limit: u64, now: u64, peer_height: u64) {
        let was_on = self.rotate_term() > 0;
        self.block_interval_src = block_interval_src;
        self.block_interval_dst = block_interval_dst;
        self.max_aggregation = max_aggregation;
        self.delay_limit = delay_limit;
        let term = self.rotate_term();
        if term > 0 && !was_on {
            self.rotate_height = now.saturating_add(term);
            self.rx_height = now;
            self.rx_height_src = peer_height;
        }
    }

    /// Moves the turn to local height `now` and returns the index (among `relays` relays) of the relay whose turn
    /// it is, or `None` when rotation is off or there is no relay. `msg_height` is the BMV's last height with
    /// messages, `has_msg` whether this relay message carried any.
    pub fn rotate(&mut self, now: u64, msg_height: u64, has_msg: bool, relays: usize) -> Option<usize> {
        let term = i128::from(self.rotate_term());
        let relays = u64::try_from(relays).ok().filter(|n| *n > 0)?;
        if term == 0 {
            return None;
        }
        let (now_i, rotate_height) = (i128::from(now), i128::from(self.rotate_height));
        let (mut count, mut base);
        if has_msg {
            let behind = i128::from(msg_height).saturating_sub(i128::from(self.rx_height_src)).saturating_mul(UNIT);
            let guess = i128::from(self.rx_height).saturating_add(ceil_div(behind, self.scale())).saturating_sub(1).min(now_i);
            count = ceil_div(guess.saturating_sub(rotate_height), term).max(0);
            base = rotate_height.saturating_add(count.saturating_sub(1).saturating_mul(term));
            if self.delay_limit > 0 {
                let skip = ceil_div(now_i.saturating_sub(guess), i128::from(self.delay_limit)).saturating_sub(1);
                if skip > 0 {
                    count = count.saturating_add(skip);
                    base = now_i;
                }
            }
            self.rx_height = now;
            self.rx_height_src = msg_height;
        } else {
            count = ceil_div(now_i.saturating_sub(rotate_height), term);
            base = rotate_height.saturating_add(count.saturating_sub(1).saturating_mul(term));
        }
        if count > 0 {
            self.rotate_height = u64::try_from(base.saturating_add(term)).unwrap_or(u64::MAX);
            let steps = u64::try_from(count.rem_euclid(i128::from(relays))).unwrap_or(0);
            self.relay_idx = self.relay_idx.checked_rem(relays).unwrap_or(0).saturating_add(steps).checked_rem(relays).unwrap_or(0);
        }
        usize::try_from(self.relay_idx.checked_rem(relays).unwrap_or(0)).ok()
    }
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
    fn service_failures_keep_the_services_code() {
        assert_eq!(ServiceFailure::Refused(0).code(), 40);
        assert_eq!(ServiceFailure::Refused(3).code(), 43);
        assert_eq!(ServiceFailure::Refused(200).code(), code::SERVICE_LAST, "never outside the service range");
        assert_eq!(ServiceFailure::Failed.error_message().code, 40);
    }

    #[test]
    fn fee_gathering_is_honoured_only_for_the_asking_network() {
        let fa = addr("btp://0x3.icon/hx0000000000000000000000000000000000000001");
        assert!(accepts_fee_gathering(&addr(ICON), &fa));
        assert!(!accepts_fee_gathering(&addr(ETH), &fa));
    }

    #[test]
    fn ceilings_match_javas_for_negative_quotients() {
        assert_eq!((ceil_div(5, 3), ceil_div(6, 3), ceil_div(-5, 3), ceil_div(-6, 3), ceil_div(0, 3)), (2, 2, -1, -2, 0));
    }

    /// ICON's parachain link example (DOC-DEPLOY): 2 s ICON blocks seen from 12 s parachain blocks, 10 blocks a turn.
    fn rotation() -> Rotation {
        let mut r = Rotation::default();
        r.configure(12_000, 2_000, 10, 3, 1_000, 500);
        r
    }

    #[test]
    fn rotation_is_off_until_configured_and_starts_one_term_later() {
        let mut off = Rotation::default();
        assert_eq!(off.rotate_term(), 0);
        assert_eq!(off.rotate(10, 5, true, 3), None, "any relay may submit");
        let r = rotation();
        // 6 ICON blocks per parachain block: 10 ICON blocks take 2 parachain blocks.
        assert_eq!(r.rotate_term(), 2);
        assert_eq!((r.rotate_height, r.rx_height, r.rx_height_src), (1_002, 1_000, 500));
        let mut again = r.clone();
        again.configure(12_000, 2_000, 10, 3, 2_000, 900);
        assert_eq!(again.rotate_height, 1_002, "reconfiguring a running rotation keeps its turn");
    }

    #[test]
    fn the_turn_moves_every_term_and_wraps_around_the_relays() {
        let mut r = rotation();
        assert_eq!(r.rotate(1_001, 0, false, 3), Some(0), "first term");
        assert_eq!(r.rotate(1_002, 0, false, 3), Some(0), "a turn includes its last block");
        assert_eq!(r.rotate(1_003, 0, false, 3), Some(1));
        assert_eq!(r.rotate_height, 1_004);
        assert_eq!(r.rotate(1_007, 0, false, 3), Some(0), "two terms later, around the ring");
        assert_eq!(r.rotate(1_007, 0, false, 0), None, "no relay, nobody's turn");
        r.relay_idx = 7;
        assert_eq!(r.rotate(1_007, 0, false, 2), Some(1), "an index left by removed relays is taken modulo");
    }

    #[test]
    fn a_late_relay_loses_its_turn() {
        let mut on_time = rotation();
        // Messages up to ICON height 506 became relayable at about local height 1_000: delivered at 1_001.
        assert_eq!(on_time.rotate(1_001, 506, true, 4), Some(0));
        assert_eq!((on_time.rx_height, on_time.rx_height_src), (1_001, 506));
        let mut late = rotation();
        // The same messages delivered at 1_010, more than 3 blocks late: skipped turns.
        let turn = late.rotate(1_010, 506, true, 4);
        assert_ne!(turn, Some(0));
        assert_eq!(late.rotate_height, 1_012, "the next turn starts a term after the late delivery");
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
