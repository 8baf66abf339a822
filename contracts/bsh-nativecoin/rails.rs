//! The native-coin service's safety rails as plain Rust: per-coin caps on what one transfer may carry, and the
//! governor, which delays a transfer that is large or that would take a coin's flow in its direction over the
//! limit of a rolling window (Wormhole's Governor, per coin and direction here). Everything is off until an owner
//! sets a coin's limits. A delayed transfer is not refused: it waits in a queue until its due block, then anyone
//! may release it; an owner may cancel it before.

use crate::ledger::Pending;
use alloc::{string::String, vec::Vec};

/// The window is kept in this many buckets: the flow counted at a block is that of the bucket holding it and of
/// the `BUCKETS - 1` before it, so the window rolls forward a bucket (1/24 of it) at a time.
pub const BUCKETS: u32 = 24;

/// Which way value crosses the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Direction {
    /// Sent from this chain.
    Out,
    /// Received by this chain.
    In,
}

/// An owner's limits on one coin; 0 turns each off, and all are 0 until set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct CoinLimits {
    /// The most one transfer out may carry of the coin (what the sender sends, fee included): more is refused.
    pub max_out: u128,
    /// The most one incoming request may carry of the coin: more is answered with an error response.
    pub max_in: u128,
    /// The most that may cross in each direction per governor window: a transfer that would go over waits.
    pub window_limit: u128,
    /// A transfer of more than this waits, however little has crossed.
    pub large: u128,
}

impl CoinLimits {
    /// Whether `value` is over the cap of `direction`.
    pub fn over_cap(&self, direction: Direction, value: u128) -> bool {
        let cap = match direction {
            Direction::Out => self.max_out,
            Direction::In => self.max_in,
        };
        cap > 0 && value > cap
    }

    /// Whether the governor watches this coin.
    pub fn governed(&self) -> bool {
        self.window_limit > 0 || self.large > 0
    }

    /// Whether a transfer of `value` waits when `flowed` crossed in its direction within the window.
    pub fn must_wait(&self, flowed: u128, value: u128) -> bool {
        (self.large > 0 && value > self.large) || (self.window_limit > 0 && flowed.saturating_add(value) > self.window_limit)
    }
}

/// The governor's window and delay, in blocks, for every coin. The window counts in [`BUCKETS`] buckets of
/// `window / BUCKETS` blocks: a window that is not a multiple of 24 blocks is rounded down to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct GovernorSettings {
    /// The rolling window the limits count over.
    pub window: u32,
    /// How long a delayed transfer waits before it may be released.
    pub delay: u32,
}

impl Default for GovernorSettings {
    /// 24 hours of 6-second blocks, both.
    fn default() -> Self {
        Self { window: 14_400, delay: 14_400 }
    }
}

impl GovernorSettings {
    /// A window holds a block per bucket at least, and a delayed transfer waits a block at least (a delay of 0
    /// would let anyone release at once what the governor holds back).
    pub fn is_valid(&self) -> bool {
        self.window >= BUCKETS && self.delay > 0
    }

    fn bucket_len(&self) -> u32 {
        self.window.checked_div(BUCKETS).unwrap_or(0).max(1)
    }

    fn bucket(&self, now: u32) -> u32 {
        now.checked_div(self.bucket_len()).unwrap_or(now)
    }
}

/// What crossed of one coin in one direction, per bucket: (bucket number, value), oldest first, in buckets of
/// `bucket_len` blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Flow {
    bucket_len: u32,
    buckets: Vec<(u32, u128)>,
}

impl Flow {
    /// The buckets still inside the window at `now`. A bucket number means nothing under another bucket length:
    /// after the window changed, what was counted before is forgotten, never counted in the wrong place.
    fn live<'a>(&'a self, settings: &GovernorSettings, now: u32) -> impl Iterator<Item = &'a (u32, u128)> + 'a {
        let current = settings.bucket(now);
        let same = self.bucket_len == settings.bucket_len();
        self.buckets.iter().filter(move |(bucket, _)| same && bucket.saturating_add(BUCKETS) > current)
    }

    /// What crossed within the window at block `now`. A count that would overflow is the largest number: over
    /// any limit.
    pub fn in_window(&self, settings: &GovernorSettings, now: u32) -> u128 {
        self.live(settings, now).fold(0, |sum, (_, value)| sum.saturating_add(*value))
    }

    /// Counts `value` crossing at block `now`, forgetting buckets that left the window.
    pub fn record(&mut self, settings: &GovernorSettings, now: u32, value: u128) {
        let current = settings.bucket(now);
        self.buckets = self.live(settings, now).copied().collect();
        self.bucket_len = settings.bucket_len();
        match self.buckets.last_mut() {
            Some((bucket, sum)) if *bucket == current => *sum = sum.saturating_add(value),
            _ => self.buckets.push((current, value)),
        }
    }
}

impl Flow {
    /// Takes back `value` counted at block `at`, when that transfer failed and was refunded: what never crossed
    /// must not hold back others. Nothing to take when its bucket has left the window or was counted under
    /// another window.
    pub fn unrecord(&mut self, settings: &GovernorSettings, at: u32, value: u128) {
        if self.bucket_len != settings.bucket_len() {
            return;
        }
        let bucket = settings.bucket(at);
        if let Some((_, sum)) = self.buckets.iter_mut().find(|(b, _)| *b == bucket) {
            *sum = sum.saturating_sub(value);
        }
    }
}

/// The governor's rule for one transfer, over each coin it carries: (the coin's limits, its flow in the
/// transfer's direction, the value it carries). The transfer waits when any governed coin must; otherwise each
/// governed coin's flow counts its value. Whether it waits.
pub fn govern(settings: &GovernorSettings, now: u32, coins: &mut [(CoinLimits, Flow, u128)]) -> bool {
    let wait = coins.iter().any(|(limits, flow, value)| limits.must_wait(flow.in_window(settings, now), *value));
    if !wait {
        for (_, flow, value) in coins.iter_mut().filter(|(limits, ..)| limits.governed()) {
            flow.record(settings, now, *value);
        }
    }
    wait
}

/// A transfer the governor holds back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Delayed {
    /// A transfer out, locked as any transfer under way: released, it is sent as request `sn`; cancelled, all of
    /// it (fee included) becomes refundable to its sender.
    Out { sn: u128, pending: Pending },
    /// The transfer request `sn` from `network` (its native-coin message), checked and not yet carried out:
    /// released, it is checked again and carried out or refused; cancelled, it is refused. Either way `network`
    /// gets the response then.
    In { network: String, sn: u128, payload: Vec<u8> },
}

impl Delayed {
    pub fn network(&self) -> &str {
        match self {
            Delayed::Out { pending, .. } => &pending.network,
            Delayed::In { network, .. } => network,
        }
    }
}

/// A delayed transfer and the block from which it may be released.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct DelayedTransfer {
    pub due: u32,
    pub transfer: Delayed,
}

/// What a transfer carries of each coin: `(coin, value)`, each coin once.
pub type Totals = Vec<(String, u128)>;

/// `(coin, value)` pairs with each coin once, its values added up: a batch may name a coin twice, and caps and
/// limits are on what a transfer carries of a coin in all.
pub fn per_coin(values: impl IntoIterator<Item = (String, u128)>) -> Option<Totals> {
    let mut totals = Totals::new();
    for (coin, value) in values {
        match totals.iter_mut().find(|(c, _)| *c == coin) {
            Some((_, total)) => *total = total.checked_add(value)?,
            None => totals.push((coin, value)),
        }
    }
    Some(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOURLY: GovernorSettings = GovernorSettings { window: 2_400, delay: 10 };

    #[test]
    fn limits_are_off_until_set() {
        let off = CoinLimits::default();
        assert!(!off.governed());
        assert!(!off.over_cap(Direction::Out, u128::MAX) && !off.over_cap(Direction::In, u128::MAX));
        assert!(!off.must_wait(u128::MAX, u128::MAX));
    }

    #[test]
    fn caps_are_per_direction() {
        let caps = CoinLimits { max_out: 100, max_in: 10, ..Default::default() };
        assert!(!caps.over_cap(Direction::Out, 100));
        assert!(caps.over_cap(Direction::Out, 101));
        assert!(caps.over_cap(Direction::In, 11));
        assert!(!caps.governed(), "caps refuse; they do not delay");
    }

    #[test]
    fn large_transfers_and_transfers_over_the_window_limit_wait() {
        let limits = CoinLimits { window_limit: 1_000, large: 300, ..Default::default() };
        assert!(!limits.must_wait(0, 300));
        assert!(limits.must_wait(0, 301), "large");
        assert!(!limits.must_wait(700, 300));
        assert!(limits.must_wait(701, 300), "over the window's limit");
        assert!(limits.must_wait(u128::MAX, 1), "a saturated count is over any limit");
    }

    #[test]
    fn the_window_rolls_a_bucket_at_a_time() {
        // Buckets of 100 blocks; the window at block b counts bucket b/100 and the 23 before it.
        let mut flow = Flow::default();
        flow.record(&HOURLY, 50, 10);
        flow.record(&HOURLY, 99, 5);
        flow.record(&HOURLY, 150, 7);
        assert_eq!(flow.in_window(&HOURLY, 150), 22);
        assert_eq!(flow.in_window(&HOURLY, 2_399), 22, "bucket 23: all still inside");
        assert_eq!(flow.in_window(&HOURLY, 2_400), 7, "bucket 24: bucket 0 has left");
        assert_eq!(flow.in_window(&HOURLY, 2_500), 0);
        flow.record(&HOURLY, 2_450, 1);
        assert_eq!(flow.buckets, vec![(1, 7), (24, 1)], "what left the window is forgotten");
        assert_eq!(flow.bucket_len, 100);
        flow.record(&HOURLY, 2_450, u128::MAX);
        assert_eq!(flow.in_window(&HOURLY, 2_450), u128::MAX);
    }

    #[test]
    fn a_refund_takes_back_what_its_transfer_counted() {
        let mut flow = Flow::default();
        flow.record(&HOURLY, 50, 10);
        flow.record(&HOURLY, 150, 7);
        flow.unrecord(&HOURLY, 60, 10);
        assert_eq!(flow.in_window(&HOURLY, 150), 7, "from its own bucket");
        flow.unrecord(&HOURLY, 150, 100);
        assert_eq!(flow.in_window(&HOURLY, 150), 0, "never below nothing");
        flow.record(&HOURLY, 2_450, 5);
        flow.unrecord(&HOURLY, 50, 5);
        assert_eq!(flow.in_window(&HOURLY, 2_450), 5, "a bucket that left the window takes nothing from a newer one");
        let other = GovernorSettings { window: 4_800, delay: 10 };
        flow.unrecord(&other, 2_450, 5);
        assert_eq!(flow.in_window(&HOURLY, 2_450), 5, "counted under another window: left alone");
    }

    #[test]
    fn a_window_holds_a_block_per_bucket_at_least() {
        assert!(!GovernorSettings { window: 2_400, delay: 0 }.is_valid(), "no delay");
        assert!(!GovernorSettings { window: 0, delay: 1 }.is_valid());
        assert!(!GovernorSettings { window: BUCKETS - 1, delay: 1 }.is_valid());
        let shortest = GovernorSettings { window: BUCKETS, delay: 1 };
        assert!(shortest.is_valid());
        let mut flow = Flow::default();
        flow.record(&shortest, 3, 4);
        assert_eq!(flow.in_window(&shortest, 3 + BUCKETS - 1), 4);
        assert_eq!(flow.in_window(&shortest, 3 + BUCKETS), 0);
    }

    #[test]
    fn a_new_window_forgets_what_the_old_one_counted() {
        // Bucket 2 500 of 4 blocks would read as far in the future under buckets of 600 blocks.
        let short = GovernorSettings { window: 96, delay: 1 };
        let long = GovernorSettings { window: 14_400, delay: 1 };
        let mut flow = Flow::default();
        flow.record(&short, 10_000, 50);
        assert_eq!(flow.in_window(&short, 10_000), 50);
        assert_eq!(flow.in_window(&long, 10_001), 0, "not counted under the new window");
        flow.record(&long, 10_001, 7);
        assert_eq!((flow.in_window(&long, 10_001), flow.buckets.len()), (7, 1));
    }

    #[test]
    fn one_coin_that_must_wait_holds_the_whole_transfer_and_counts_nothing() {
        let limited = CoinLimits { window_limit: 10, ..Default::default() };
        let mut coins = [(limited, Flow::default(), 6), (CoinLimits::default(), Flow::default(), 100)];
        assert!(!govern(&HOURLY, 0, &mut coins));
        assert_eq!((coins[0].1.in_window(&HOURLY, 0), coins[1].1.buckets.len()), (6, 0), "an ungoverned coin is not counted");
        let mut coins = [(limited, coins[0].1.clone(), 6), (CoinLimits { large: 1, ..Default::default() }, Flow::default(), 1)];
        assert!(govern(&HOURLY, 0, &mut coins), "6 more would make 12 of 10");
        assert_eq!((coins[0].1.in_window(&HOURLY, 0), coins[1].1.in_window(&HOURLY, 0)), (6, 0), "what waits has not crossed");
    }

    #[test]
    fn a_batch_counts_each_coin_once() {
        let batch = vec![("ICX".into(), 5), ("DOT".into(), 1), ("ICX".into(), 6)];
        assert_eq!(per_coin(batch), Some(vec![("ICX".into(), 11), ("DOT".into(), 1)]));
        assert_eq!(per_coin(vec![("ICX".into(), u128::MAX), ("ICX".into(), 1)]), None);
    }
}
