//! The parachain BMC as a lane's target: its `get_status` is the position; a segment is first run through the
//! same light client the BMV runs, on the BMV's own state read from the chain, then dry-run, and only then paid
//! for with `handle_relay_message`. With the link's relay rotation on, a segment is only built into a
//! submission in this relay's turn, as the BMC's own rotation rule computes it for the next block.

use crate::{
    lane::{Failure, Position, Segment, Target},
    store::{Pending, Store},
};
use bmc::bmc::Bmc;
use bmv_icon::bmv_icon::BmvIcon;
use btp_parachain::{calls, AccountId32, Bundle, DryRun, Error, Limits, Message, Parachain, Signer, GAS_MARGIN_PERCENT};
use btp_primitives::bmc::MAX_RELAY_MESSAGE_LEN;
use icon_light_client::{crypto::HostSecp256k1, mta::Mta, validators::ValidatorSet, verifier::Verifier};
use std::sync::Arc;

pub struct ParachainTarget {
    pub config: TargetConfig,
    /// A submission's fate is unknown: nothing new goes out until the pool holds none of ours (else the same
    /// segment, still pending, would be sent and paid for twice). The store keeps the submission in flight, so a
    /// relay killed mid-submission starts in doubt.
    in_doubt: bool,
    store: Arc<Store>,
    /// What this round read: the BMV's state at the position (for the check), then the checked segment's dry run
    /// (for the submission): each read once a round.
    round: Round,
    /// What one relay message may weigh: the chain's limits (read once) with `max_ref_time` applied.
    limits: Option<Limits>,
}

/// What the target is: the chain, the signer, the contracts and their bundles, the link.
pub struct TargetConfig {
    pub para: Parachain,
    pub signer: Signer,
    pub bmc: AccountId32,
    pub bmv: AccountId32,
    pub bmc_bundle: Bundle,
    pub bmv_bundle: Bundle,
    /// ICON's BMC: the link.
    pub link: String,
    /// ICON's network (`0x1.icon`).
    pub network: String,
    /// The parachain BMC's own BTP address, which ICON's messages name as their destination.
    pub own_address: String,
    /// The most ref_time one relay message may take on a parachain (`[lane] max_ref_time`), below the chain's own
    /// limit.
    pub max_ref_time: u64,
}

/// The reads one round shares between its steps.
#[derive(Default)]
struct Round {
    bmv: Option<BmvState>,
    /// The link's relays and rotation as the status told them.
    turn: Option<Turn>,
    checked: Option<Checked>,
}

/// Whose turn a relay message would be, from the BMC's status.
struct Turn {
    rotation: bmc::bmc::Rotation,
    relays: Vec<[u8; 32]>,
    /// The block the status was read at: a submission lands in a later one.
    height: u64,
}

impl Turn {
    /// The relay whose turn a segment is in the next block, or `None` when rotation is off: the BMC's own rule
    /// (`Rotation::rotate`) run on a copy of its state, with the BMV's last message height after the segment.
    fn of(&self, segment: &Segment, last_height: u64) -> Option<[u8; 32]> {
        let msg_height = if segment.messages > 0 { segment.to } else { last_height };
        let turn = self.rotation.clone().rotate(self.height.saturating_add(1), msg_height, segment.messages > 0, self.relays.len())?;
        self.relays.get(turn).copied()
    }
}

/// A checked segment (by its blocks) and its dry run, whose gas and deposit its submission takes.
struct Checked {
    blocks: (u64, u64),
    dry: DryRun<bmc::bmc::Result<()>>,
}

/// The BMV's state as the BMC's status and the BMV's own messages tell it.
struct BmvState {
    validators: Vec<u8>,
    last_height: u64,
}

/// How a parachain failure bears on the lane.
fn failure(e: Error) -> Failure {
    match e {
        e if e.is_transport() => Failure::Transport(e.to_string()),
        Error::Transaction(e) => Failure::Transport(e),
        Error::OutcomeUnknown { .. } => Failure::Unknown(e.to_string()),
        Error::NotFinalized { .. } => Failure::NotFinal(e.to_string()),
        Error::Dispatch(ref d) if d.ends_with("OutOfGas") => Failure::TooLarge(e.to_string()),
        Error::Contract { ref error, .. } if error.contains("OutOfGas") || error.contains("MessageTooLarge") => Failure::TooLarge(e.to_string()),
        e => Failure::Refused { code: None, reason: e.to_string() },
    }
}

impl ParachainTarget {
    /// The target `c`, its submission in flight kept in `store`.
    pub fn new(c: TargetConfig, store: Arc<Store>) -> Result<Self, String> {
        let in_doubt = store.pending()?.is_some();
        Ok(Self { config: c, in_doubt, store, round: Round::default(), limits: None })
    }

    async fn query<R: ink::scale::Decode + std::fmt::Debug>(&self, bundle: &Bundle, message: Message<R>) -> Result<R, Failure> {
        self.config.para.query(&self.config.signer.account(), bundle, &message).await.map_err(failure)
    }

    /// The BMV's state as its light client holds it (read by this round's `position`), to check a segment that
    /// builds on block `parent`.
    async fn verifier(&self, parent: [u8; 32]) -> Result<Verifier, Failure> {
        let state = self.round.bmv.as_ref().ok_or_else(|| Failure::Transport("a segment checked before its position was read".into()))?;
        let mta = self.query(&self.config.bmv_bundle, Message::new(calls::<BmvIcon>(&self.config.bmv).mta())).await?;
        let corrupt =
            |what: &str, e: icon_light_client::BmvError| Failure::Refused { code: None, reason: format!("the BMV's {what} do not decode: {}", e.reason) };
        Ok(Verifier {
            network: self.config.network.clone(),
            validators: ValidatorSet::decode(&state.validators, &HostSecp256k1).map_err(|e| corrupt("validators", e))?,
            mta: Mta::decode(&mta).map_err(|e| corrupt("accumulator", e))?,
            last_block_hash: Some(parent),
            last_height: state.last_height,
        })
    }

    /// The chain's limits of one extrinsic (read once) with the operator's ref_time budget applied.
    async fn limits(&mut self) -> Result<Limits, Failure> {
        if let Some(limits) = self.limits {
            return Ok(limits);
        }
        let mut limits = self.config.para.limits().await.map_err(failure)?;
        tracing::info!(max_ref_time = limits.max_extrinsic.ref_time, max_proof_size = limits.max_extrinsic.proof_size, max_pov_size = ?limits.max_pov_size, budget = self.config.max_ref_time, "the parachain's limits of one extrinsic");
        // The budget is for a relay chain's backing validators, who execute a parachain's block again in time; a
        // solo chain (no proof-of-validity limit) has none.
        if limits.max_pov_size.is_some() {
            limits.max_extrinsic.ref_time = limits.max_extrinsic.ref_time.min(self.config.max_ref_time);
        }
        self.limits = Some(limits);
        Ok(limits)
    }

    async fn status(&self) -> Result<bmc::bmc::LinkStatus, Failure> {
        self.query(&self.config.bmc_bundle, Message::new(calls::<Bmc>(&self.config.bmc).get_status(self.config.link.clone())))
            .await?
            .map_err(|e| Failure::Refused { code: None, reason: format!("the BMC's status of {}: {e:?}", self.config.link) })
    }

    fn relay_message(&self, segment: &Segment) -> Message<bmc::bmc::Result<()>> {
        Message::new(calls::<Bmc>(&self.config.bmc).handle_relay_message(self.config.link.clone(), segment.bytes.clone()))
    }
}

impl Target for ParachainTarget {
    async fn position(&mut self) -> Result<Position, Failure> {
        // Resolved once the pool holds none of ours: taken (the status shows it) or gone.
        let mut resolved = None;
        if self.in_doubt {
            match self.config.para.pending_transactions(&self.config.signer.account()).await.map_err(failure)? {
                0 => {
                    resolved = self.store.pending().map_err(Failure::Store)?;
                    self.store.set_pending(None).map_err(Failure::Store)?;
                    self.in_doubt = false;
                }
                n => return Err(Failure::Transport(format!("{n} of our extrinsics still pending; waiting until they are final or dropped"))),
            }
        }
        self.round = Round::default();
        let status = self.status().await?;
        // A submission in doubt that left the pool untaken was put in a block that never became final (else its
        // answer was lost before it reached the pool): the same segment would fare the same.
        if let Some(p) = resolved.filter(|p| status.verifier.height < p.to) {
            return Err(Failure::NotFinal(format!("blocks {}..={} were submitted, left the pool and were not taken", p.from, p.to)));
        }
        let (list, hash) = self
            .query(&self.config.bmv_bundle, Message::new(calls::<BmvIcon>(&self.config.bmv).validators()))
            .await?
            .map_err(|e| Failure::Refused { code: None, reason: format!("BMV validators: {e:?}") })?;
        self.round.bmv = Some(BmvState { validators: list, last_height: status.verifier.last_height });
        self.round.turn = Some(Turn {
            rotation: status.rotation.clone(),
            relays: status.relays.iter().map(|r| *r.account.as_ref()).collect(),
            height: u64::from(status.cur_height),
        });
        let v = status.verifier;
        Ok(Position { rx_seq: status.rx_seq, height: v.height, offset: v.offset, last_height: v.last_height, validators: Some(hash) })
    }

    async fn check(&mut self, at: Position, segment: &Segment) -> Result<(), Failure> {
        if segment.bytes.len() > MAX_RELAY_MESSAGE_LEN {
            return Err(Failure::TooLarge(format!("{} bytes, more than a relay message may have", segment.bytes.len())));
        }
        let me = self.config.signer.account().0;
        if self.round.turn.as_ref().is_some_and(|t| !t.relays.contains(&me)) {
            let reason = format!("{} is not a relay of link {} (the BMC owner adds it with add_relay)", AccountId32(me), self.config.link);
            return Err(Failure::Refused { code: None, reason });
        }
        let turn = self.round.turn.as_ref().and_then(|t| t.of(segment, at.last_height));
        if let Some(relay) = turn.filter(|relay| *relay != me) {
            return Err(Failure::NotOurTurn(format!("the link's rotation gives the next block to relay {}", AccountId32(relay))));
        }
        let mut verifier = self.verifier(segment.parent).await?;
        let outcome = verifier
            .handle_relay_message(&self.config.own_address, &self.config.link, u128::from(at.rx_seq), &segment.bytes, &HostSecp256k1)
            .map_err(|e| Failure::Refused { code: Some(e.code.btp_code()), reason: format!("the BMV would refuse it: {} ({})", e.reason, e.code.name()) })?;
        if outcome.messages.len() as u64 != segment.messages {
            return Err(Failure::Refused { code: None, reason: format!("it proves {} messages, not the {} built", outcome.messages.len(), segment.messages) });
        }
        let dry =
            self.config.para.dry_run(&self.config.signer.account(), &self.config.bmc_bundle, &self.relay_message(segment)).await.map_err(|e| match e {
                // The dry run runs in the status's block, the submission in the next: the turn can be another's there.
                // The dry run reports a reverted message's answer as its Debug text.
                Error::Contract { ref error, .. } if turn.is_some() && error == "Err(Unauthorized)" => {
                    Failure::NotOurTurn(format!("the BMC's rotation gives block {} to another relay", self.round.turn.as_ref().map_or(0, |t| t.height)))
                }
                e => failure(e),
            })?;
        // What the submission will ask for, against what one extrinsic may take here.
        let limits = self.limits().await?;
        if let Some(reason) = limits.exceeded_by(dry.gas_required.with_margin(GAS_MARGIN_PERCENT)) {
            return Err(Failure::TooLarge(reason));
        }
        self.round.checked = Some(Checked { blocks: (segment.from, segment.to), dry });
        Ok(())
    }

    async fn submit(&mut self, segment: &Segment) -> Result<(), Failure> {
        let dry = match self.round.checked.take() {
            Some(Checked { blocks, dry }) if blocks == (segment.from, segment.to) => dry,
            _ => return Err(Failure::Refused { code: None, reason: "a segment submitted without its check".into() }),
        };
        let weight = dry.gas_required;
        tracing::info!(
            from = segment.from,
            to = segment.to,
            messages = segment.messages,
            ref_time = weight.ref_time,
            proof_size = weight.proof_size,
            "submitting"
        );
        self.store.set_pending(Some(Pending { from: segment.from, to: segment.to, messages: segment.messages })).map_err(Failure::Store)?;
        let included = self.config.para.submit_call(&self.config.signer, &self.relay_message(segment), &dry).await.map_err(|e| match e {
            // Checked a moment ago: a refusal now is the block's (fee paid), e.g. a relay turn that ended.
            Error::Dispatch(ref d) if !d.ends_with("OutOfGas") => Failure::Rejected(e.to_string()),
            e => failure(e),
        });
        match included {
            Err(Failure::Unknown(_)) => self.in_doubt = true,
            // Final or never sent: not in flight any more.
            _ => self.store.set_pending(None).map_err(Failure::Store)?,
        }
        let included = included?;
        tracing::debug!(block = ?included.block, extrinsic = ?included.extrinsic, "relay message finalized");
        Ok(())
    }
}
