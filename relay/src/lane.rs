//! One direction of a link, chain-agnostic: the target says what it has accepted, the source builds the next
//! segment after it, the target checks the segment (without paying) and takes it. Nothing is remembered between
//! rounds but the segment size: every round starts from the target's own status, so a restart, a racing relay or
//! a lost answer never makes the loop send twice or skip.
//!
//! Failures are handled here, once: transport errors back off and retry; a segment the target would refuse is
//! logged with its reason and not submitted (the next round reads the status again and rebuilds it); a segment too
//! large for the target is halved (its blocks, or the messages of its one block, which then go in parts); a
//! submission whose outcome is unknown is followed by a fresh status; a chain
//! that keeps refusing what it was paid to take is given doubling pauses, as a failing transport is: each refusal
//! cost a fee.
//!
//! Several relays may serve one link. With the target's relay rotation on, the target says whose turn it is and
//! the others wait; with it off they race, and a segment refused because another relay's identical one landed
//! first counts as accepted (the target's fresh status shows its messages taken), never as a failure.

use crate::metrics::{LaneMetrics, Side};
use std::{
    fmt,
    future::Future,
    time::{Duration, Instant},
};

/// What the target has accepted: where the next segment starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Messages accepted on the link: the next one carries `rx_seq + 1`.
    pub rx_seq: u64,
    /// The last source block the target's verifier took: the next update is `height + 1`.
    pub height: u64,
    /// The verifier's accumulator offset: blocks `offset + 1 ..= height` can be proven to it.
    pub offset: u64,
    /// The last source block the target took messages from: the next message is in it or after it.
    pub last_height: u64,
    /// The hash of the validator set the target's verifier holds, when it tells: a source includes a validator
    /// list whenever a block names another set than this (and than the blocks before it in the segment).
    pub validators: Option<[u8; 32]>,
}

/// Source blocks `from..=to` with the messages in the last one, encoded for the target: block updates after the
/// target's height, or the proof of one block it has already taken (`from == to`, at or below its height).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub from: u64,
    pub to: u64,
    /// Messages it delivers.
    pub messages: u64,
    /// The id of the block the target's verifier stands on: block `from - 1`, which the first update names as
    /// its parent.
    pub parent: [u8; 32],
    pub bytes: Vec<u8>,
}

/// Why a step did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A chain did not answer or the connection failed: retry after a pause.
    Transport(String),
    /// The target would refuse the segment (the verifier's code, when it gave one): not submitted.
    Refused { code: Option<u32>, reason: String },
    /// The segment exceeds what one target transaction can take: build a smaller one.
    TooLarge(String),
    /// Submitted, put into a block that never became final, and gone from the pool (nothing paid): on a
    /// parachain, a block the relay chain's validators did not back in time. The same segment would meet the same
    /// fate: build a smaller one.
    NotFinal(String),
    /// Submitted, but whether it was taken is unknown: read the status before anything else.
    Unknown(String),
    /// Submitted and refused by the chain (its fee paid): the state moved between the check and the block.
    Rejected(String),
    /// The relay's own store failed (a full disk, say): retry after a pause, as for transport.
    Store(String),
    /// The link's relay rotation gives this turn to another relay: wait and ask again.
    NotOurTurn(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::Refused { code: Some(code), reason } => write!(f, "refused (code {code}): {reason}"),
            Self::Refused { code: None, reason } => write!(f, "refused: {reason}"),
            Self::TooLarge(e) => write!(f, "too large: {e}"),
            Self::NotFinal(e) => write!(f, "its block was not finalized: {e}"),
            Self::Unknown(e) => write!(f, "outcome unknown: {e}"),
            Self::Rejected(e) => write!(f, "rejected after submission: {e}"),
            Self::Store(e) => write!(f, "the relay's store: {e}"),
            Self::NotOurTurn(e) => write!(f, "not our turn: {e}"),
        }
    }
}

/// How much one segment may carry; the lane shrinks it while the target finds segments too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Source blocks.
    pub blocks: u64,
    /// Messages of one source block: a block holding more sends the rest in later segments, each a proof of the
    /// block the target has taken by then.
    pub messages: u64,
}

impl Limit {
    /// At most `blocks` blocks, each with all its messages.
    pub fn blocks(blocks: u64) -> Self {
        Self { blocks, messages: u64::MAX }
    }
}

/// The chain messages come from.
pub trait Source {
    /// The next segment after `at` within `limit`: block updates up to the first block with messages past
    /// `at.rx_seq` (with their proofs), or up to the newest final block. `None`: nothing new.
    fn segment(&mut self, at: Position, limit: Limit) -> impl Future<Output = Result<Option<Segment>, Failure>> + Send;
}

/// The chain messages go to.
pub trait Target {
    /// What it has accepted.
    fn position(&mut self) -> impl Future<Output = Result<Position, Failure>> + Send;
    /// Checks `segment` as the target would, paying nothing.
    fn check(&mut self, at: Position, segment: &Segment) -> impl Future<Output = Result<(), Failure>> + Send;
    /// Submits `segment` and waits until it is final.
    fn submit(&mut self, segment: &Segment) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// How the loop paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Pause when there is nothing to do or after a refusal.
    pub idle: Duration,
    /// First pause after a transport failure; it doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// The most blocks a segment starts with.
    pub max_blocks: u64,
}

impl Default for Pacing {
    fn default() -> Self {
        Self { idle: Duration::from_secs(1), backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(30), max_blocks: 512 }
    }
}

/// Tells `metrics` whether `side` answered.
fn observe<R>(metrics: &Option<LaneMetrics>, side: Side, result: Result<R, Failure>) -> Result<R, Failure> {
    if let Some(m) = metrics {
        m.contact(side, result.as_ref().err());
    }
    result
}

/// Whether the target, at `at` when `segment` was built and at `now`, has taken all `segment` brings: its
/// messages, or for a segment of bare block updates its blocks (a target without a verifier of the source, as
/// ICON's BMC toward the parachain, counts messages only, and its segments carry some).
fn covers(now: &Position, at: &Position, segment: &Segment) -> bool {
    now.rx_seq >= at.rx_seq.saturating_add(segment.messages) && (segment.messages > 0 || now.height >= segment.to)
}

/// What one round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Delivered a segment.
    Delivered(Segment),
    /// Another relay of the link delivered the segment's blocks and messages first: ours was refused for it.
    AlreadyAccepted(Segment),
    /// The target moved while the segment was checked or submitted (another relay delivered part of it), so it
    /// was refused (the refusal's reason): the next round builds on the new position.
    Overtaken(Segment, String),
    /// Nothing new at the source.
    Idle,
    /// Failed: the loop pauses as the failure says.
    Failed(Failure),
}

/// Doubling pauses, from `first` up to `max`, back to `first` once something works.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { first, max, next: first }
    }

    /// The pause to take now; the one after it is twice as long.
    pub fn pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max);
        pause
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// One measure of a segment's size as the lane learns it: halved below a size found too large, doubled after a
/// delivery up to its maximum, but never back to a size found too large.
#[derive(Debug, Clone, Copy)]
struct Learnt {
    now: u64,
    max: u64,
    /// The smallest size found too large so far.
    too_large_at: Option<u64>,
}

impl Learnt {
    fn new(max: u64) -> Self {
        Self { now: max.max(1), max: max.max(1), too_large_at: None }
    }

    /// A segment of size `tried` was too large.
    fn shrink(&mut self, tried: u64) {
        self.too_large_at = Some(self.too_large_at.map_or(tried, |n| n.min(tried)));
        self.now = (tried / 2).max(1);
    }

    fn grow(&mut self) {
        let ceiling = self.too_large_at.map_or(u64::MAX, |n| n.saturating_sub(1)).max(1);
        self.now = self.now.saturating_mul(2).min(self.max).min(ceiling);
    }
}

/// The loop's state between rounds: the segment size it has learnt, and how long it pauses after failures.
pub struct Lane<S, T> {
    pub source: S,
    pub target: T,
    pacing: Pacing,
    blocks: Learnt,
    /// Messages of one block: learnt only from segments of one block, which no smaller block count helps.
    messages: Learnt,
    /// The blocks and messages of the segment this round checked, if it got that far.
    tried: Option<(u64, u64)>,
    metrics: Option<LaneMetrics>,
    /// How long the last round's check and submission took.
    submitted: Option<Duration>,
    backoff: Backoff,
}

impl<S: Source, T: Target> Lane<S, T> {
    pub fn new(source: S, target: T, pacing: Pacing) -> Self {
        let backoff = Backoff::new(pacing.backoff, pacing.max_backoff);
        let (blocks, messages) = (Learnt::new(pacing.max_blocks), Learnt::new(u64::MAX));
        Self { source, target, blocks, messages, tried: None, pacing, metrics: None, submitted: None, backoff }
    }

    /// The lane, reporting to `metrics`.
    pub fn with_metrics(mut self, metrics: LaneMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// One round: status, segment, check, submit.
    pub async fn round(&mut self) -> Round {
        let round = self.step().await;
        if let Some(m) = &self.metrics {
            m.round(&round, self.submitted.take());
        }
        round
    }

    async fn step(&mut self) -> Round {
        self.tried = None;
        match self.try_round().await {
            Ok(Some(round)) => {
                if matches!(round, Round::Delivered(_)) {
                    // A segment that went through may grow again, up to below the size that failed.
                    self.blocks.grow();
                    self.messages.grow();
                }
                round
            }
            Ok(None) => Round::Idle,
            // What failed: the segment this round checked, else (an earlier round's submission found not final) one
            // of the blocks the lane allows.
            Err(f @ (Failure::TooLarge(_) | Failure::NotFinal(_))) => match self.tried.unwrap_or((self.blocks.now, 1)) {
                (blocks, _) if blocks > 1 => {
                    self.blocks.shrink(blocks);
                    tracing::info!(max_blocks = self.blocks.now, failure = %f, "segment too large; halving");
                    Round::Failed(f)
                }
                // One block with more messages than one segment takes: they go in parts.
                (_, messages) if messages > 1 => {
                    self.messages.shrink(messages);
                    tracing::info!(max_messages = self.messages.now, failure = %f, "one block's messages too many for a segment; halving");
                    Round::Failed(f)
                }
                // One block update with at most one message that does not fit: nothing smaller to send, so it is
                // treated as a refusal (paused, logged).
                _ => match f {
                    Failure::TooLarge(reason) => {
                        Round::Failed(Failure::Refused { code: None, reason: format!("a single block is too large for one extrinsic: {reason}") })
                    }
                    f => Round::Failed(f),
                },
            },
            Err(failure) => Round::Failed(failure),
        }
    }

    async fn try_round(&mut self) -> Result<Option<Round>, Failure> {
        let at = observe(&self.metrics, Side::Target, self.target.position().await)?;
        if let Some(m) = &self.metrics {
            m.position(&at);
        }
        let limit = Limit { blocks: self.blocks.now, messages: self.messages.now };
        let Some(segment) = observe(&self.metrics, Side::Source, self.source.segment(at, limit).await)? else { return Ok(None) };
        self.tried = Some((segment.to.saturating_sub(segment.from).saturating_add(1), segment.messages));
        let started = Instant::now();
        let sent = match observe(&self.metrics, Side::Target, self.target.check(at, &segment).await) {
            Ok(()) => observe(&self.metrics, Side::Target, self.target.submit(&segment).await),
            Err(f) => Err(f),
        };
        match sent {
            Ok(()) => {
                self.submitted = Some(started.elapsed());
                Ok(Some(Round::Delivered(segment)))
            }
            // Relays racing on one link build the same segment; the loser's is refused (by the check, or in its
            // block). That is the link working, not a failure, once the target shows the segment's messages taken.
            Err(f @ (Failure::Refused { .. } | Failure::Rejected(_))) => match self.target.position().await {
                Ok(now) if now != at && covers(&now, &at, &segment) => Ok(Some(Round::AlreadyAccepted(segment))),
                Ok(now) if now.rx_seq != at.rx_seq || now.height != at.height => Ok(Some(Round::Overtaken(segment, f.to_string()))),
                _ => Err(f),
            },
            Err(f) => Err(f),
        }
    }

    /// Runs rounds until `stop` resolves, pausing as each round's result says. A stop interrupts a round where it
    /// is: nothing is kept between rounds, and a submission that still lands is read from the chain next time.
    pub async fn run(&mut self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            // The round first: a round that can finish at once does, and a stop wins whenever the round waits.
            let round = tokio::select! {
                biased;
                round = self.round() => round,
                _ = &mut stop => return,
            };
            let pause = self.pause_after(&round);
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Logs `round` and says how long to pause before the next.
    fn pause_after(&mut self, round: &Round) -> Duration {
        match round {
            Round::Delivered(s) => {
                tracing::info!(from = s.from, to = s.to, messages = s.messages, bytes = s.bytes.len(), "delivered");
                self.backoff.reset();
                Duration::ZERO
            }
            Round::AlreadyAccepted(s) => {
                tracing::info!(from = s.from, to = s.to, messages = s.messages, "another relay delivered these blocks first");
                self.backoff.reset();
                Duration::ZERO
            }
            Round::Overtaken(s, reason) => {
                // The reason stays in the log: a refusal of another cause while the link moves shows here.
                tracing::info!(from = s.from, to = s.to, %reason, "another relay delivered part of these blocks first; building on its");
                self.backoff.reset();
                Duration::ZERO
            }
            Round::Idle => {
                self.backoff.reset();
                self.pacing.idle
            }
            Round::Failed(f @ Failure::NotOurTurn(_)) => {
                tracing::debug!(failure = %f, "waiting for our turn");
                self.pacing.idle
            }
            Round::Failed(f @ (Failure::Transport(_) | Failure::Store(_))) => {
                let pause = self.backoff.pause();
                tracing::warn!(failure = %f, ?pause, "retrying");
                pause
            }
            Round::Failed(f @ Failure::Refused { .. }) => {
                tracing::error!(failure = %f, "the target would refuse the segment; not submitted");
                self.pacing.idle
            }
            Round::Failed(Failure::TooLarge(_)) => Duration::ZERO,
            // A one-block segment whose block the chain did not finalize: nothing smaller to try; pause as after
            // a failing transport (a collator restarting does this too).
            Round::Failed(f @ Failure::NotFinal(_)) => {
                let pause = self.backoff.pause();
                tracing::warn!(failure = %f, ?pause, "retrying");
                pause
            }
            Round::Failed(f @ Failure::Rejected(_)) => {
                // Paid for and refused: while the chain keeps refusing what its check let through, each round costs
                // a fee, so the pauses grow as for a failing transport.
                let pause = self.backoff.pause();
                tracing::error!(failure = %f, ?pause, "the chain refused a submitted segment; reading its status again");
                pause
            }
            Round::Failed(f @ Failure::Unknown(_)) => {
                tracing::warn!(failure = %f, "reading the target's status again");
                self.pacing.idle
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A source chain of `blocks` blocks; `messages[h]` messages in block h (seq counted from 1 in order).
    struct MemorySource {
        tip: u64,
        messages: Vec<u64>,
        failures: VecDeque<Failure>,
    }

    impl MemorySource {
        fn seq_before(&self, height: u64) -> u64 {
            seq_before(&self.messages, height)
        }
    }

    /// Messages in the blocks below `height`, of a chain with `messages` in each block.
    fn seq_before(messages: &[u64], height: u64) -> u64 {
        messages.iter().take(height as usize).sum()
    }

    impl Source for MemorySource {
        async fn segment(&mut self, at: Position, limit: Limit) -> Result<Option<Segment>, Failure> {
            if let Some(f) = self.failures.pop_front() {
                return Err(f);
            }
            // The rest of a block the target has taken with only part of its messages: a proof of that block.
            if let Some(block) = (1..=at.height).find(|b| self.seq_before(*b) <= at.rx_seq && at.rx_seq < self.seq_before(*b + 1)) {
                let messages = (self.seq_before(block + 1) - at.rx_seq).min(limit.messages);
                return Ok(Some(Segment { from: block, to: block, messages, parent: [at.height as u8; 32], bytes: vec![0] }));
            }
            let from = at.height + 1;
            if from > self.tip {
                return Ok(None);
            }
            let mut to = from;
            while to < self.tip && to - from + 1 < limit.blocks && self.messages[to as usize] == 0 {
                to += 1;
            }
            let messages = self.messages[to as usize].min(limit.messages);
            assert_eq!(self.seq_before(to), at.rx_seq, "the source starts where the target is");
            Ok(Some(Segment { from, to, messages, parent: [from as u8; 32], bytes: vec![0; (to - from + 1) as usize] }))
        }
    }

    /// A target that takes segments of at most `limit` blocks and `message_limit` messages, counting every
    /// message it is given.
    struct MemoryTarget {
        at: Position,
        limit: u64,
        message_limit: u64,
        /// The source's messages in each block, to check a proof of a block holds the next one.
        blocks: Vec<u64>,
        delivered: Vec<u64>,
        failures: VecDeque<Failure>,
        refuse: Option<Failure>,
        submissions: u32,
        /// Segments another relay gets in between our status and our check.
        rival: u32,
        /// Once: another relay's segment, this many blocks shorter than ours, lands before our check.
        rival_short: u64,
        /// Segments of more blocks than this pass the check but their block is never finalized (a parachain's
        /// validators cannot back it in time).
        backed_up_to: u64,
        /// Each submission's length in blocks.
        sizes: Vec<u64>,
    }

    impl MemoryTarget {
        fn take(&mut self, s: &Segment) {
            self.delivered.extend((self.at.rx_seq + 1)..=(self.at.rx_seq + s.messages));
            let last_height = if s.messages > 0 { s.to } else { self.at.last_height };
            let height = s.to.max(self.at.height);
            self.at = Position { rx_seq: self.at.rx_seq + s.messages, height, offset: 0, last_height, validators: None };
        }
    }

    impl Target for MemoryTarget {
        async fn position(&mut self) -> Result<Position, Failure> {
            Ok(self.at)
        }

        async fn check(&mut self, _at: Position, s: &Segment) -> Result<(), Failure> {
            if let Some(refusal) = &self.refuse {
                return Err(refusal.clone());
            }
            if self.rival > 0 {
                self.rival -= 1;
                self.take(s);
            }
            if self.rival_short > 0 {
                let shorter = Segment { to: s.to - std::mem::take(&mut self.rival_short), messages: 0, ..s.clone() };
                self.take(&shorter);
            }
            // Block updates from the next height on, or a proof of one block taken already.
            let next = self.at.rx_seq;
            let holds_next = seq_before(&self.blocks, s.to) <= next && next < seq_before(&self.blocks, s.to + 1);
            let proof = s.from == s.to && s.to <= self.at.height && holds_next;
            if s.from != self.at.height + 1 && !proof {
                return Err(Failure::Refused { code: Some(26), reason: "height".into() });
            }
            if s.to - s.from + 1 > self.limit || s.messages > self.message_limit {
                return Err(Failure::TooLarge("out of gas".into()));
            }
            Ok(())
        }

        async fn submit(&mut self, s: &Segment) -> Result<(), Failure> {
            self.submissions += 1;
            self.sizes.push(s.to - s.from + 1);
            if s.to - s.from + 1 > self.backed_up_to {
                return Err(Failure::NotFinal("not backed in time".into()));
            }
            let failure = self.failures.pop_front();
            // An unknown outcome may still have been taken.
            if matches!(failure, None | Some(Failure::Unknown(_))) {
                self.take(s);
            }
            failure.map_or(Ok(()), Err)
        }
    }

    fn lane(messages: Vec<u64>, limit: u64) -> Lane<MemorySource, MemoryTarget> {
        let tip = messages.len() as u64 - 1;
        let source = MemorySource { tip, messages: messages.clone(), failures: VecDeque::new() };
        let target = MemoryTarget {
            at: Position { rx_seq: 0, height: 0, offset: 0, last_height: 0, validators: None },
            limit,
            message_limit: u64::MAX,
            blocks: messages,
            delivered: vec![],
            failures: VecDeque::new(),
            refuse: None,
            submissions: 0,
            rival: 0,
            rival_short: 0,
            backed_up_to: u64::MAX,
            sizes: vec![],
        };
        Lane::new(source, target, Pacing { max_blocks: 8, ..Pacing::default() })
    }

    async fn until_idle(lane: &mut Lane<MemorySource, MemoryTarget>) -> Vec<Round> {
        let mut rounds = vec![];
        for _ in 0..100 {
            let round = lane.round().await;
            if round == Round::Idle {
                return rounds;
            }
            rounds.push(round);
        }
        panic!("no end: {rounds:?}");
    }

    #[tokio::test]
    async fn every_message_arrives_once_in_order() {
        let mut lane = lane(vec![0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0], 64);
        let rounds = until_idle(&mut lane).await;
        assert_eq!(lane.target.delivered, [1, 2, 3, 4, 5, 6]);
        assert_eq!(lane.target.at.height, 19, "up to the tip");
        let ends: Vec<u64> = rounds.iter().map(|r| if let Round::Delivered(s) = r { s.to } else { 0 }).collect();
        assert_eq!(ends, [2, 6, 14, 18, 19], "a segment ends at a block with messages or after 8 blocks");
    }

    #[tokio::test]
    async fn a_segment_too_large_is_halved_until_it_fits() {
        let mut lane = lane(vec![0; 40], 3);
        let rounds = until_idle(&mut lane).await;
        assert_eq!(lane.target.at.height, 39);
        let too_large = rounds.iter().filter(|r| matches!(r, Round::Failed(Failure::TooLarge(_)))).count();
        assert!(too_large >= 2, "8 → 4 → 2, then growing back only to 3: {rounds:?}");
        assert!(rounds.iter().all(|r| match r {
            Round::Delivered(s) => s.to - s.from < 3,
            _ => true,
        }));
    }

    #[tokio::test]
    async fn a_segment_whose_block_is_not_finalized_is_never_sent_again() {
        let mut lane = lane(vec![0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 64);
        lane.target.backed_up_to = 2;
        let rounds = until_idle(&mut lane).await;
        assert_eq!(lane.target.delivered, [1, 2, 3], "each message once");
        assert_eq!(lane.target.at.height, 19);
        assert!(rounds.iter().any(|r| matches!(r, Round::Failed(Failure::NotFinal(_)))), "{rounds:?}");
        let sizes = &lane.target.sizes;
        for (i, pair) in sizes.windows(2).enumerate() {
            if pair[0] > 2 {
                assert!(pair[1] < pair[0], "submission {i} of {} blocks was not final, the next had {}: {sizes:?}", pair[0], pair[1]);
            }
        }
    }

    #[tokio::test]
    async fn a_block_with_more_messages_than_a_segment_takes_goes_in_parts() {
        let mut lane = lane(vec![0, 0, 7, 0, 2, 0], 64);
        lane.target.message_limit = 3;
        let rounds = until_idle(&mut lane).await;
        assert_eq!(lane.target.delivered, [1, 2, 3, 4, 5, 6, 7, 8, 9], "each message once, in order");
        assert_eq!(lane.target.at.height, 5, "up to the tip");
        let parts: Vec<(u64, u64)> = rounds.iter().filter_map(|r| if let Round::Delivered(s) = r { Some((s.to, s.messages)) } else { None }).collect();
        assert!(parts.iter().all(|(_, messages)| *messages <= 3), "{parts:?}");
        assert!(parts.iter().filter(|(to, messages)| *to == 2 && *messages > 0).count() >= 3, "block 2's seven messages in parts: {parts:?}");
        assert!(rounds.iter().any(|r| matches!(r, Round::Failed(Failure::TooLarge(_)))), "{rounds:?}");
    }

    #[tokio::test]
    async fn failures_neither_lose_nor_repeat_messages() {
        let mut lane = lane(vec![0, 1, 1, 0, 2, 0, 1], 64);
        lane.source.failures.extend([Failure::Transport("ICON down".into())]);
        lane.target.failures.extend([Failure::Unknown("timeout after submission".into()), Failure::Transport("node restarting".into())]);
        let rounds = until_idle(&mut lane).await;
        assert_eq!(lane.target.delivered, [1, 2, 3, 4, 5], "the unknown outcome was taken and not sent again");
        assert_eq!(rounds.iter().filter(|r| matches!(r, Round::Failed(_))).count(), 3);
    }

    #[tokio::test]
    async fn a_refused_segment_is_never_submitted() {
        let mut lane = lane(vec![0, 1, 0], 64);
        let refused = Failure::Refused { code: Some(27), reason: "bad signature".into() };
        lane.target.refuse = Some(refused.clone());
        for _ in 0..3 {
            assert_eq!(lane.round().await, Round::Failed(refused.clone()));
        }
        lane.target.refuse = None;
        lane.target.limit = 0; // too large even as one block with one message: refused (paused, not spun)
        for _ in 0..3 {
            assert!(matches!(lane.round().await, Round::Failed(Failure::Refused { code: None, .. })), "one block that cannot fit");
        }
        assert_eq!(lane.target.submissions, 0);
        lane.target.limit = 1;
        until_idle(&mut lane).await;
        assert_eq!((lane.target.delivered.as_slice(), lane.target.submissions), ([1].as_slice(), 2));
    }

    #[tokio::test]
    async fn a_segment_another_relay_delivered_first_counts_as_accepted() {
        let mut lane = lane(vec![0, 1, 0, 2, 0], 64);
        lane.target.rival = 2;
        let rounds = until_idle(&mut lane).await;
        assert_eq!(lane.target.delivered, [1, 2, 3], "each message taken once, by either relay");
        let taken_first: Vec<u64> = rounds.iter().filter_map(|r| if let Round::AlreadyAccepted(s) = r { Some(s.to) } else { None }).collect();
        assert_eq!(taken_first, [1, 3], "the rival's two segments: {rounds:?}");
        assert_eq!(lane.target.submissions, 1, "only the last segment was ours to pay for");
    }

    #[tokio::test]
    async fn a_segment_another_relay_delivered_part_of_is_rebuilt() {
        let mut lane = lane(vec![0, 0, 0, 0, 1, 0], 64);
        // The rival's relay message ends two blocks short of ours: ours (blocks 1..=4) is refused, not failed.
        lane.target.rival_short = 2;
        let round = lane.round().await;
        assert!(matches!(round, Round::Overtaken(Segment { from: 1, to: 4, .. }, _)), "{round:?}");
        until_idle(&mut lane).await;
        assert_eq!((lane.target.delivered.as_slice(), lane.target.at.height), ([1].as_slice(), 5));
    }

    #[tokio::test]
    async fn repeated_rejections_back_off() {
        let mut lane = lane(vec![0, 1, 0], 64);
        lane.pacing = Pacing { idle: Duration::from_millis(10), backoff: Duration::from_millis(100), max_backoff: Duration::from_millis(400), max_blocks: 8 };
        lane.backoff = Backoff::new(lane.pacing.backoff, lane.pacing.max_backoff);
        let rejected = Failure::Rejected("refused in its block".into());
        lane.target.failures.extend(std::iter::repeat(rejected).take(4));
        let mut pauses = vec![];
        for _ in 0..4 {
            let round = lane.round().await;
            assert!(matches!(round, Round::Failed(Failure::Rejected(_))), "{round:?}");
            pauses.push(lane.pause_after(&round).as_millis());
        }
        assert_eq!(pauses, [100, 200, 400, 400], "each paid refusal waits longer, up to the longest pause");
        assert_eq!(lane.target.submissions, 4);
        let round = lane.round().await;
        assert!(matches!(round, Round::Delivered(_)), "{round:?}");
        assert_eq!(lane.pause_after(&round), Duration::ZERO);
        lane.target.failures.push_back(Failure::Rejected("again".into()));
        let round = lane.round().await;
        assert_eq!(lane.pause_after(&round).as_millis(), 100, "a delivery starts the pauses afresh");
    }

    #[tokio::test]
    async fn run_stops_when_told() {
        let mut lane = lane(vec![0, 1], 64);
        lane.run(async {}).await;
        assert_eq!(lane.target.delivered, [1], "one round, then the stop");
    }
}
