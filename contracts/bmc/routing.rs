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
//! * a message is taken from a link only if its source is the link's peer or a BMC this chain routes through that
//!   link (neither Java nor Solidity checks this): a peer cannot speak for a network it does not lead to;
//! * internal messages are never forwarded, and nothing goes back out on the link it arrived on;
//! * a message for this chain that answers one of its own requests (`sn >= REQUEST_SN_BASE`) never gets an error
//!   reply: the peer could only take it for the failure of one of its own requests;
//! * `FeeGathering` from a peer is honoured only for the aggregator an owner approved for that link (Java accepts
//!   any on the peer's network, which a chain behind ICON can forge);
//! * relay rotation follows Java's rule (negative counts clamp to no rotation) in Solidity's integer fixed point,
//!   and the turn index is taken modulo the current number of relays, so removing a relay or having none never
//!   divides by zero.

use alloc::{string::String, vec::Vec};
use btp_primitives::{
    bmc::{BmcMessage, BMC_SERVICE},
    message::answers_own_request,
    BtpAddress, BtpMessage, ErrorMessage,
};
use ink::primitives::AccountId;

/// BMC error codes (BTP range 10–24).
pub mod code {
    pub const UNKNOWN: u32 = 10;
    pub const UNAUTHORIZED: u32 = 11;
    /// A message scheduled to be dropped (ICON's BMC uses the Unknown code as well).
    pub const DROPPED: u32 = 10;
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
    /// The service refused with its local code (`btp_interfaces::ServiceError`).
    Refused(u8),
    /// The service trapped, ran out of gas, or answered with something that is not `Result<(), ServiceError>`.
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

/// `FeeGathering` from the peer of a link is honoured only for the aggregator an owner approved for that link:
/// nobody else may direct this chain's fees.
pub fn accepts_fee_gathering(approved: Option<&str>, fee_aggregator: &BtpAddress) -> bool {
    approved == Some(fee_aggregator.canonical())
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

/// BMCs a peer may announce as reachable through it, and the longest address taken: the list lives in the link's
/// storage entry, which pallet-contracts caps at 16 KiB, and every delivery reads it. Real BTP addresses are under
/// 100 bytes.
pub const MAX_REACHABLE: usize = 32;
pub const MAX_REACHABLE_LEN: usize = 128;

/// A relay allowed to submit relay messages on a link, with what it delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Relay {
    pub account: AccountId,
    pub block_count: u64,
    pub msg_count: u64,
}

/// A link to a directly connected BMC as stored. The entry outlives the link's removal: its sequence numbers are
/// where the BMV resumes, so a link added again must not start from 0 (the accumulator keeps every block root,
/// and ICON's old messages would verify again).
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct LinkState {
    pub peer: String,
    /// Messages accepted from the peer: the BMV accepts seq `rx_seq + 1` next.
    pub rx_seq: u64,
    /// Messages sent to the peer: the next one carries `tx_seq + 1`.
    pub tx_seq: u64,
    /// BMCs the peer announced it can reach, at most [`MAX_REACHABLE`].
    pub reachable: Vec<String>,
    pub relays: Vec<Relay>,
    pub rotation: Rotation,
    /// The only fee aggregator this peer's `FeeGathering` may name.
    pub fee_aggregator: Option<String>,
    /// Sequence numbers an owner scheduled to be dropped when they arrive.
    pub drops: Vec<u64>,
    /// False once the link was removed.
    pub connected: bool,
}

/// How an internal message changed what a peer can reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachableChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Announced BMCs left out because the list is full.
    pub ignored: u32,
}

impl ReachableChange {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.ignored == 0
    }
}

impl LinkState {
    pub fn new(peer: String) -> Self {
        Self {
            peer,
            rx_seq: 0,
            tx_seq: 0,
            reachable: Vec::new(),
            relays: Vec::new(),
            rotation: Rotation::default(),
            fee_aggregator: None,
            drops: Vec::new(),
            connected: true,
        }
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

    /// Takes the link out of service: relays and turn go, what it has received, sent and heard stays.
    pub fn disconnect(&mut self) {
        self.connected = false;
        self.relays.clear();
        self.rotation = Rotation::default();
        self.drops.clear();
    }

    /// Whether message `seq` is scheduled to be dropped; a dropped one is unscheduled.
    pub fn take_drop(&mut self, seq: u64) -> bool {
        let Some(at) = self.drops.iter().position(|s| *s == seq) else { return false };
        self.drops.swap_remove(at);
        true
    }

    /// Applies the peer's `Init`, `Link` or `Unlink` to what it can reach. An announced BMC of a network in
    /// `taken` (this chain's, one it links or linked directly, one another peer leads to) is ignored: a peer that
    /// could claim such a network could speak for it.
    pub fn apply(&mut self, message: &BmcMessage, taken: &[String]) -> ReachableChange {
        let mut change = ReachableChange::default();
        let mut add = |reachable: &mut Vec<String>, link: &BtpAddress| {
            if reachable.iter().any(|r| r == link.canonical()) {
                return;
            }
            let claimed = taken.iter().any(|n| n == link.network());
            if claimed || reachable.len() >= MAX_REACHABLE || link.as_str().len() > MAX_REACHABLE_LEN {
                change.ignored = change.ignored.saturating_add(1);
                return;
            }
            reachable.push(link.canonical().into());
            change.added.push(link.canonical().into());
        };
        match message {
            BmcMessage::Init { links } => links.iter().for_each(|l| add(&mut self.reachable, l)),
            BmcMessage::Link { link } => add(&mut self.reachable, link),
            BmcMessage::Unlink { link } => {
                if let Some(at) = self.reachable.iter().position(|r| r == link.canonical()) {
                    change.removed.push(self.reachable.remove(at));
                }
            }
            BmcMessage::FeeGathering { .. } => {}
        }
        change
    }
}

/// A connected link in the form routing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub peer: BtpAddress,
    pub reachable: Vec<BtpAddress>,
}

impl Link {
    /// The routing form of a stored link; announced addresses that do not parse are left out.
    pub fn of(state: &LinkState) -> Option<Self> {
        let peer = BtpAddress::parse(&state.peer).ok()?;
        Some(Self { peer, reachable: state.reachable.iter().filter_map(|r| BtpAddress::parse(r).ok()).collect() })
    }
}

/// A resolved route: the link a message leaves on and the BMC it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop<'a> {
    pub next: &'a BtpAddress,
    pub dst: &'a BtpAddress,
}

/// What routing knows: this BMC, the explicit routes (`(destination BMC, link)`) and the connected links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub own: BtpAddress,
    pub routes: Vec<(BtpAddress, BtpAddress)>,
    pub links: Vec<Link>,
}

impl View {
    /// Where a message to network `net` goes, in ICON's order: an explicit route, a link to that network, then a
    /// link whose peer announced a BMC of that network.
    pub fn resolve(&self, net: &str) -> Option<Hop<'_>> {
        self.routes
            .iter()
            .find(|(dst, _)| dst.network() == net)
            .map(|(dst, next)| Hop { next, dst })
            .or_else(|| self.links.iter().find(|l| l.peer.network() == net).map(|l| Hop { next: &l.peer, dst: &l.peer }))
            .or_else(|| self.links.iter().find_map(|l| l.reachable.iter().find(|r| r.network() == net).map(|dst| Hop { next: &l.peer, dst })))
    }

    /// Whether a message from `src` may arrive on the link `prev`: from the peer itself, or from a BMC of a network
    /// this chain reaches through that link (an owner's route, or what that peer alone announced). Anything else
    /// is a peer speaking for a network it does not lead to.
    pub fn is_source_of(&self, prev: &BtpAddress, src: &BtpAddress) -> bool {
        if src.network() == prev.network() {
            return src == prev;
        }
        self.resolve(src.network()).is_some_and(|hop| hop.next == prev)
    }

    /// The networks whose messages leave on the link `link`: its own and those resolved through it.
    pub fn networks_via(&self, link: &BtpAddress) -> Vec<String> {
        let mut nets: Vec<String> = Vec::new();
        let candidates = self
            .routes
            .iter()
            .map(|(dst, _)| dst.network())
            .chain(self.links.iter().flat_map(|l| core::iter::once(l.peer.network()).chain(l.reachable.iter().map(BtpAddress::network))));
        for net in candidates {
            if !nets.iter().any(|n| n == net) && self.resolve(net).is_some_and(|hop| hop.next == link) {
                nets.push(net.into());
            }
        }
        nets
    }

    /// What the BMC does with one message a BMV returned for the link `prev`; `drop` says that an owner
    /// scheduled it to be dropped.
    pub fn classify(&self, prev: &BtpAddress, bytes: &[u8], drop: bool) -> Disposition {
        let decoded = BtpMessage::decode(bytes).ok();
        let bound = decoded.as_ref().is_some_and(|m| self.is_source_of(prev, &m.src));
        if drop {
            // Only a source the link leads to hears of the drop: anything else would be our BMC signing an error
            // for a message someone else forged in that source's name.
            return Disposition::Dropped(decoded.filter(|_| bound));
        }
        let Some(message) = decoded else { return Disposition::Undecodable };
        if !bound {
            return Disposition::Forged(message);
        }
        if message.dst != self.own {
            if message.svc == BMC_SERVICE {
                let error = ErrorMessage::new(code::UNAUTHORIZED, "internal messages are not forwarded");
                return Disposition::Reject { message, error };
            }
            return match self.resolve(message.dst.network()) {
                Some(hop) if hop.next != prev => Disposition::Forward { next: hop.next.clone(), message },
                _ => Disposition::Reject { message, error: ErrorMessage::new(code::UNREACHABLE, "Unreachable") },
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

    /// The error reply to `message` from this BMC, or `None` when it wants none: `sn <= 0`, or a message for this
    /// chain that answers one of its own requests.
    pub fn error_reply(&self, message: &BtpMessage, error: &ErrorMessage) -> Option<BtpMessage> {
        let answer = message.dst == self.own && answers_own_request(message.sn);
        (message.sn > 0 && !answer).then(|| message.error_reply(self.own.clone(), error))
    }
}

/// What the BMC does with one message a BMV returned for the link `prev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// For a service of this BMC (`sn >= 0`: `handle_btp_messages`, in a batch; `sn < 0`: `handle_btp_error`).
    Deliver(BtpMessage),
    /// For this BMC's own `bmc` service, from the peer of the arriving link.
    Internal(BtpMessage),
    /// For another BMC: re-emitted on the link `next`.
    Forward { next: BtpAddress, message: BtpMessage },
    /// Refused: an error reply, if the message wants one, goes back on the arriving link.
    Reject { message: BtpMessage, error: ErrorMessage },
    /// Scheduled to be dropped: not delivered; the verified message (if it is one, from a source the link leads
    /// to) gets its error reply.
    Dropped(Option<BtpMessage>),
    /// Its source is not reachable through the arriving link: neither delivered nor answered, as an error reply
    /// would go, signed by this BMC, to the very network the forger pretends to be.
    Forged(BtpMessage),
    /// Not a BTP message: skipped and reported.
    Undecodable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use btp_primitives::message::REQUEST_SN_BASE;

    fn addr(s: &str) -> BtpAddress {
        BtpAddress::parse(s).unwrap()
    }

    fn msg(src: &str, dst: &str, svc: &str, sn: i128) -> BtpMessage {
        BtpMessage { src: addr(src), dst: addr(dst), svc: svc.into(), sn, payload: vec![1] }
    }

    const OWN: &str = "btp://0x501.pra/0x0a";
    const ICON: &str = "btp://0x3.icon/cx01";
    const ETH: &str = "btp://0x5.eth/0x02";
    const HMNY: &str = "btp://0x7.hmny/0x03";

    /// Links to ICON (which reaches Harmony) and Ethereum.
    fn view() -> View {
        let icon = Link { peer: addr(ICON), reachable: vec![addr(HMNY)] };
        View { own: addr(OWN), routes: vec![], links: vec![icon, Link { peer: addr(ETH), reachable: vec![] }] }
    }

    fn found(hop: Option<Hop<'_>>) -> Option<(BtpAddress, BtpAddress)> {
        hop.map(|h| (h.next.clone(), h.dst.clone()))
    }

    #[test]
    fn next_hop_follows_icons_order() {
        let mut view = view();
        let hop = |next: &str, dst: &str| (addr(next), addr(dst));
        assert_eq!(found(view.resolve("0x5.eth")), Some(hop(ETH, ETH)), "a direct link");
        assert_eq!(found(view.resolve("0x7.hmny")), Some(hop(ICON, HMNY)), "then what a peer can reach");
        assert_eq!(found(view.resolve("0x9.bsc")), None);
        view.routes.push((addr("btp://0x5.eth/0x99"), addr(ICON)));
        assert_eq!(found(view.resolve("0x5.eth")), Some(hop(ICON, "btp://0x5.eth/0x99")), "an explicit route wins");
    }

    #[test]
    fn messages_are_delivered_forwarded_or_refused() {
        let (view, prev) = (view(), addr(ICON));
        let deliver = msg(ICON, OWN, "nativecoin", 3);
        assert_eq!(view.classify(&prev, &deliver.encode(), false), Disposition::Deliver(deliver));
        let internal = msg(ICON, OWN, "bmc", 0);
        assert_eq!(view.classify(&prev, &internal.encode(), false), Disposition::Internal(internal));
        let onward = msg(ICON, ETH, "nativecoin", 4);
        assert_eq!(view.classify(&prev, &onward.encode(), false), Disposition::Forward { next: addr(ETH), message: onward });
        let lost = msg(ICON, "btp://0x9.bsc/0x04", "nativecoin", 5);
        let Disposition::Reject { message, error } = view.classify(&prev, &lost.encode(), false) else { panic!("refused") };
        assert_eq!(error.code, code::UNREACHABLE);
        let reply = view.error_reply(&message, &error).unwrap();
        assert_eq!((reply.dst, reply.sn, reply.src), (addr(ICON), -5, addr(OWN)));
        assert_eq!(view.classify(&prev, b"\x01\x02", false), Disposition::Undecodable);
    }

    #[test]
    fn message_source_must_match_link() {
        let view = view();
        let (icon, eth) = (addr(ICON), addr(ETH));
        let forged = |d: Disposition| matches!(d, Disposition::Forged(_));
        // Ethereum's BMC speaking for ICON: a transfer request, an error report, an answer, one for elsewhere.
        for sn in [7, -7, i128::try_from(REQUEST_SN_BASE).unwrap()] {
            assert!(forged(view.classify(&eth, &msg(ICON, OWN, "nativecoin", sn).encode(), false)), "sn {sn}");
        }
        assert!(forged(view.classify(&eth, &msg(ICON, HMNY, "nativecoin", 7).encode(), false)), "nor forwarded");
        assert!(forged(view.classify(&eth, &msg(ICON, OWN, "bmc", 0).encode(), false)), "nor its internal messages");
        assert!(forged(view.classify(&icon, &msg("btp://0x3.icon/cx99", OWN, "nativecoin", 1).encode(), false)), "another BMC of the peer's network");
        assert!(forged(view.classify(&eth, &msg(HMNY, OWN, "nativecoin", 1).encode(), false)), "Harmony is reached through ICON");
        assert!(forged(view.classify(&icon, &msg("btp://0x9.bsc/0x04", OWN, "nativecoin", 1).encode(), false)), "nobody leads to BSC");
        assert_eq!(view.classify(&eth, &msg(ICON, OWN, "nativecoin", 7).encode(), true), Disposition::Dropped(None), "a drop answers no forger");
        let from_hmny = msg(HMNY, OWN, "nativecoin", 1);
        assert_eq!(view.classify(&icon, &from_hmny.encode(), false), Disposition::Deliver(from_hmny), "through the link that reaches it");
        let refused = |d: Disposition| matches!(d, Disposition::Reject { error, .. } if error.code == code::UNAUTHORIZED);
        assert!(refused(view.classify(&icon, &msg(HMNY, OWN, "bmc", 0).encode(), false)), "internal messages only from the peer itself");
    }

    #[test]
    fn no_forward_back_on_arriving_link() {
        let view = view();
        let bounce = msg(ICON, HMNY, "nativecoin", 4);
        let Disposition::Reject { error, .. } = view.classify(&addr(ICON), &bounce.encode(), false) else { panic!("not forwarded") };
        assert_eq!(error.code, code::UNREACHABLE, "Harmony is behind the link it came on: a stale route would ping-pong");
        let internal = msg(ICON, ETH, "bmc", 0);
        assert!(matches!(view.classify(&addr(ICON), &internal.encode(), false), Disposition::Reject { .. }), "internal messages are not forwarded");
    }

    #[test]
    fn own_and_peer_sn_spaces_are_disjoint() {
        let view = view();
        let error = ErrorMessage::new(code::NOT_EXISTS_BSH, "NotExistsBSH");
        let base = i128::try_from(REQUEST_SN_BASE).unwrap();
        assert_eq!(view.error_reply(&msg(ICON, OWN, "x", 9), &error).unwrap().sn, -9, "ICON's request 9 hears of its failure");
        assert!(view.error_reply(&msg(ICON, OWN, "x", base), &error).is_none(), "an answer to our request gets no error ICON could match");
        assert!(view.error_reply(&msg(ICON, OWN, "x", base + 5), &error).is_none());
        assert_eq!(view.error_reply(&msg(ICON, ETH, "x", base), &error).unwrap().sn, -base, "another chain's numbers are its own");
        assert!(view.error_reply(&msg(ICON, OWN, "x", 0), &error).is_none());
        assert!(view.error_reply(&msg(ICON, OWN, "x", -2), &error).is_none());
    }

    #[test]
    fn scheduled_drop_sends_verified_error() {
        let view = view();
        let stuck = msg(ICON, OWN, "nativecoin", 6);
        let Disposition::Dropped(Some(dropped)) = view.classify(&addr(ICON), &stuck.encode(), true) else { panic!("dropped") };
        assert_eq!(dropped, stuck, "what ICON's BMC sent, not what an owner typed");
        let reply = view.error_reply(&dropped, &ErrorMessage::new(code::DROPPED, "dropped")).unwrap();
        assert_eq!((reply.dst.as_str(), reply.svc.as_str(), reply.sn), (ICON, "nativecoin", -6));
        assert_eq!(view.classify(&addr(ICON), b"\x01", true), Disposition::Dropped(None), "even one that is no BTP message");
        let mut link = LinkState::new(ICON.into());
        link.drops = vec![6, 9];
        assert!(!link.take_drop(7));
        assert!(link.take_drop(6));
        assert!(!link.take_drop(6), "dropped once");
        assert_eq!(link.drops, vec![9]);
    }

    #[test]
    fn reachable_list_is_capped() {
        let mut link = LinkState::new(ICON.into());
        let bmc = |i: usize| addr(&format!("btp://0x{i:x}.net/cx{i:040x}"));
        let links: Vec<BtpAddress> = (0..MAX_REACHABLE + 10).map(bmc).collect();
        let change = link.apply(&BmcMessage::Init { links: links.clone() }, &[]);
        assert_eq!((change.added.len(), change.ignored), (MAX_REACHABLE, 10));
        assert_eq!(link.reachable.len(), MAX_REACHABLE);
        assert!(link.apply(&BmcMessage::Init { links: links[..3].to_vec() }, &[]).is_empty(), "known ones are not added twice");
        let change = link.apply(&BmcMessage::Unlink { link: bmc(0) }, &[]);
        assert_eq!(change.removed, vec![bmc(0).as_str().to_string()]);
        let change = link.apply(&BmcMessage::Link { link: bmc(MAX_REACHABLE + 1) }, &[]);
        assert_eq!(change.added.len(), 1, "room again after an Unlink");
        link.apply(&BmcMessage::Unlink { link: bmc(1) }, &[]);
        let long = addr(&format!("btp://0x1.net/{}", "a".repeat(MAX_REACHABLE_LEN)));
        assert_eq!(link.apply(&BmcMessage::Link { link: long }, &[]).ignored, 1, "no address longer than any real one");
    }

    #[test]
    fn a_peer_cannot_announce_a_network_that_is_taken() {
        let mut link = LinkState::new(ETH.into());
        let taken = [String::from("0x501.pra"), String::from("0x3.icon"), String::from("0x7.hmny")];
        for claim in [OWN, ICON, HMNY, "btp://0x3.icon/cx99"] {
            assert_eq!(link.apply(&BmcMessage::Link { link: addr(claim) }, &taken).ignored, 1, "{claim}");
        }
        assert_eq!(link.apply(&BmcMessage::Link { link: addr("btp://0x9.bsc/0x04") }, &taken).added.len(), 1, "a network nobody leads to");
    }

    #[test]
    fn networks_via_a_link_are_the_ones_routed_through_it() {
        let mut view = view();
        view.routes.push((addr("btp://0x9.bsc/0x04"), addr(ETH)));
        assert_eq!(view.networks_via(&addr(ICON)), vec![String::from("0x3.icon"), String::from("0x7.hmny")]);
        assert_eq!(view.networks_via(&addr(ETH)), vec![String::from("0x9.bsc"), String::from("0x5.eth")]);
    }

    #[test]
    fn service_failures_keep_the_services_code() {
        assert_eq!(ServiceFailure::Refused(0).code(), 40);
        assert_eq!(ServiceFailure::Refused(3).code(), 43);
        assert_eq!(ServiceFailure::Refused(200).code(), code::SERVICE_LAST, "never outside the service range");
        assert_eq!(ServiceFailure::Failed.error_message().code, 40);
    }

    #[test]
    fn fee_gathering_is_honoured_only_for_the_approved_aggregator() {
        let fa = addr("btp://0x3.icon/hx0000000000000000000000000000000000000001");
        assert!(accepts_fee_gathering(Some(fa.as_str()), &fa));
        assert!(!accepts_fee_gathering(None, &fa), "none approved");
        let other = addr("btp://0x3.icon/hx0000000000000000000000000000000000000002");
        assert!(!accepts_fee_gathering(Some(fa.as_str()), &other), "any other account of the peer's network");
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
        let mut link = LinkState::new(ICON.into());
        assert_eq!((link.next_tx_seq(), link.next_tx_seq()), (Some(1), Some(2)));
        link.received(3).unwrap();
        assert_eq!(link.rx_seq, 3);
        link.tx_seq = u64::MAX;
        assert_eq!(link.next_tx_seq(), None);
        link.rx_seq = u64::MAX;
        assert_eq!(link.received(1), None);
    }

    #[test]
    fn a_removed_link_keeps_its_sequences() {
        let mut link = LinkState::new(ICON.into());
        link.rx_seq = 40;
        link.tx_seq = 12;
        link.relays.push(Relay { account: AccountId::from([1; 32]), block_count: 1, msg_count: 1 });
        link.drops.push(41);
        link.disconnect();
        assert_eq!((link.rx_seq, link.tx_seq, link.connected), (40, 12, false));
        assert!(link.relays.is_empty() && link.drops.is_empty(), "its relays are withdrawn");
    }
}
