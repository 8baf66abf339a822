//! The relay's copy of the BMV's accumulator of ICON block ids, and the witnesses of the blocks it may have to
//! prove. A block proof's witness is the sibling path of the block's id inside its subtree; the relay keeps that
//! path up to date as blocks are added (each time the subtree joins another, one more sibling), for the blocks
//! that hold messages not yet delivered only. So neither memory nor the store grows with ICON's history: the
//! roots (one per level, ⌈log₂ n⌉ for n blocks) and, per block kept, a path of as many ids.
//!
//! Each sibling is kept with the accumulator height it joined at: the witness against the target's accumulator
//! at height `h` is the part of the path that joined by `h`. Blocks the relay has read past the target's height
//! wait ([`Witnesses::stage`]) until the target takes them: an accumulator that drops its oldest roots (a root size)
//! must drop them when the target's does.

use btp_primitives::rlp::{ListBuilder, Rlp};
use icon_light_client::{
    mta::{Joined, Mta},
    BmvError, Hash,
};
use std::collections::BTreeMap;

/// The most blocks read ahead of the target that wait to be added: more than a relay message carries.
const MAX_STAGED: usize = 4096;

/// A block whose witness is kept: its id and the path so far, each sibling with the height it joined at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kept {
    id: Hash,
    path: Vec<(Hash, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnesses {
    mta: Mta,
    kept: BTreeMap<u64, Kept>,
    /// Blocks read past the copy's height, not taken by the target yet: (id, whether to keep its witness).
    staged: BTreeMap<u64, (Hash, bool)>,
}

impl Witnesses {
    /// The accumulator of a BMV whose first block is `offset + 1` and that keeps at most `root_size` roots.
    pub fn new(offset: u64, root_size: u32) -> Self {
        Self { mta: Mta::new(offset, root_size, 0, false), kept: BTreeMap::new(), staged: BTreeMap::new() }
    }

    /// The last block added.
    pub fn height(&self) -> u64 {
        self.mta.height()
    }

    pub fn offset(&self) -> u64 {
        self.mta.offset()
    }

    /// How many blocks' witnesses are kept.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    /// The id of kept block `height`.
    pub fn id(&self, height: u64) -> Option<Hash> {
        self.kept.get(&height).map(|k| k.id)
    }

    /// Adds block `height() + 1`'s id, keeping its witness when `keep`.
    pub fn add(&mut self, id: Hash, keep: bool) -> Result<(), BmvError> {
        let before = self.mta.offset();
        let mut joins = Vec::new();
        self.mta.add_observed(id, |join| joins.push(join))?;
        let height = self.height();
        if keep {
            self.kept.insert(height, Kept { id, path: Vec::new() });
        }
        // A join at level `l` makes one subtree of the two at that level: the kept leaves in them are those whose
        // path is `l` long; the newer (right) one holds the newest 2^l blocks, the older (left) one those before.
        for Joined { level, left, right } in joins {
            let newest_from = height.saturating_sub(u32::try_from(level).ok().and_then(|l| 1u64.checked_shl(l)).unwrap_or(u64::MAX));
            for (h, kept) in self.kept.iter_mut().filter(|(_, k)| k.path.len() == level) {
                let sibling = if *h > newest_from { left } else { right };
                kept.path.push((sibling, height));
            }
        }
        // What the accumulator dropped (its root size) can no longer be proven.
        let offset = self.mta.offset();
        if offset != before {
            self.kept.retain(|h, _| *h > offset);
        }
        Ok(())
    }

    /// The witness of kept block `height` against the accumulator at height `at` (at or after it, at most this
    /// copy's height), as the BMV verifies it.
    pub fn witness(&self, height: u64, at: u64) -> Option<Vec<Hash>> {
        if at < height || at > self.height() {
            return None;
        }
        let kept = self.kept.get(&height)?;
        Some(kept.path.iter().take_while(|(_, joined)| *joined <= at).map(|(sibling, _)| *sibling).collect())
    }

    /// Stops keeping the witnesses of the blocks before `height` (their messages are delivered). Whether any
    /// was kept.
    pub fn forget_before(&mut self, height: u64) -> bool {
        let kept = self.kept.len();
        self.kept = self.kept.split_off(&height);
        self.kept.len() != kept
    }

    /// Block `height` as read, for when the target has taken it: added at once when it is the next and the target
    /// has it (`target` is its height), else held until [`Witnesses::advance`]. A block the copy has already is
    /// checked against it: `false` when it is kept with another id (another chain's block).
    pub fn stage(&mut self, height: u64, id: Hash, keep: bool, target: u64) -> Result<bool, BmvError> {
        if height <= self.height() {
            return Ok(self.kept.get(&height).is_none_or(|k| k.id == id));
        }
        self.staged.insert(height, (id, keep));
        if self.staged.len() > MAX_STAGED {
            // Far ahead of the target: what is read again once it gets there.
            self.staged.clear();
        }
        self.advance(target)?;
        Ok(true)
    }

    /// Adds the staged blocks that follow the copy's height, up to the target's height `target`.
    pub fn advance(&mut self, target: u64) -> Result<(), BmvError> {
        while self.height() < target {
            let next = self.height().saturating_add(1);
            let Some((id, keep)) = self.staged.remove(&next) else { break };
            self.add(id, keep)?;
        }
        self.staged.retain(|h, _| *h > self.mta.height());
        Ok(())
    }

    /// `[accumulator, [[height, id, [[sibling, joined]…]]…], [[height, id, keep]…]]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut kept = ListBuilder::new();
        for (height, k) in &self.kept {
            let mut path = ListBuilder::new();
            for (sibling, joined) in &k.path {
                path.raw(&ListBuilder::new().bytes(sibling).uint((*joined).into()).finish());
            }
            kept.raw(&ListBuilder::new().uint((*height).into()).bytes(&k.id).raw(&path.finish()).finish());
        }
        let mut staged = ListBuilder::new();
        for (height, (id, keep)) in &self.staged {
            staged.raw(&ListBuilder::new().uint((*height).into()).bytes(id).uint(u128::from(*keep)).finish());
        }
        ListBuilder::new().bytes(&self.mta.encode()).raw(&kept.finish()).raw(&staged.finish()).finish()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let [mta, kept, staged] = Rlp::new(bytes).ok()?.fixed().ok()?;
        let mta = Mta::decode(mta.bytes().ok()?).ok()?;
        let mut map = BTreeMap::new();
        for entry in kept.items().ok()? {
            let [height, id, path] = entry.fixed().ok()?;
            let path = path
                .items()
                .ok()?
                .iter()
                .map(|p| {
                    let [sibling, joined] = p.fixed().ok()?;
                    Some((sibling.array().ok()?, joined.u64().ok()?))
                })
                .collect::<Option<Vec<_>>>()?;
            map.insert(height.u64().ok()?, Kept { id: id.array().ok()?, path });
        }
        let staged = staged
            .items()
            .ok()?
            .iter()
            .map(|entry| {
                let [height, id, keep] = entry.fixed().ok()?;
                Some((height.u64().ok()?, (id.array().ok()?, keep.u64().ok()? != 0)))
            })
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(Self { mta, kept: map, staged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icon_light_client::{mta, sha3_256};

    fn id(h: u64) -> Hash {
        sha3_256(&h.to_be_bytes())
    }

    /// Blocks read ahead of the target wait for it: with a root size, the copy must drop its oldest roots when the
    /// target's accumulator does, not before.
    #[test]
    fn blocks_ahead_of_the_target_wait_for_it() {
        let mut copy = Witnesses::new(0, 3);
        for h in 1..=6 {
            assert!(copy.stage(h, id(h), h == 2, 4).unwrap());
        }
        assert_eq!(copy.height(), 4, "blocks 5 and 6 wait");
        let mut target = Mta::new(0, 3, 0, false);
        for h in 1..=4 {
            target.add(id(h)).unwrap();
        }
        target.verify(&copy.witness(2, 4).unwrap(), &id(2), 2, 4).unwrap();
        assert!(!copy.stage(2, [0xee; 32], true, 4).unwrap(), "another chain's block 2");
        let copy = Witnesses::decode(&copy.encode()).unwrap();
        let mut copy = copy;
        copy.advance(6).unwrap();
        assert_eq!(copy.height(), 6);
    }

    /// Every kept block's witness, at every height of the accumulator after it, is the one built from the whole
    /// history of ids (`mta::witness`) and the BMV's accumulator at that height accepts it; what is kept is the
    /// roots and one path per kept block, however long the history.
    #[test]
    fn block_proofs_need_no_history_of_ids() {
        for (offset, root_size) in [(0u64, 0u32), (1_000, 0), (7, 5)] {
            let mut copy = Witnesses::new(offset, root_size);
            let mut bmv = Mta::new(offset, root_size, 0, false);
            let mut history: Vec<Hash> = Vec::new();
            let kept = |h: u64| h % 97 == 3 || h % 131 == 0;
            for h in offset + 1..=offset + 3_000 {
                copy.add(id(h), kept(h)).unwrap();
                bmv.add(id(h)).unwrap();
                history.push(id(h));
                if h % 250 != 0 {
                    continue;
                }
                // The target at this height: every kept block it can still prove.
                let leaves = &history[(bmv.offset() - offset) as usize..];
                for block in (bmv.offset() + 1..=h).filter(|b| kept(*b)) {
                    let witness = copy.witness(block, h).unwrap_or_else(|| panic!("block {block} kept at {h}"));
                    let index = (block - 1 - bmv.offset()) as usize;
                    assert_eq!(Some(witness.clone()), mta::witness(leaves, index), "block {block} at {h} (offset {offset}, root size {root_size})");
                    bmv.verify(&witness, &id(block), block, h).unwrap();
                }
            }
            // Witnesses against an older accumulator come from the same paths.
            let at = offset + 2_000;
            let mut old = Mta::new(offset, root_size, 0, false);
            for h in offset + 1..=at {
                old.add(id(h)).unwrap();
            }
            for block in (old.offset() + 1..=at).filter(|b| kept(*b)) {
                old.verify(&copy.witness(block, at).unwrap(), &id(block), block, at).unwrap();
            }
            assert_eq!(copy.kept(), (copy.offset() + 1..=copy.height()).filter(|b| kept(*b)).count(), "dropped blocks are not kept");
            let bound = copy.kept() * (12 * (32 + 9) + 48) + 12 * 33 + 64;
            assert!(copy.encode().len() <= bound, "{} bytes for 3,000 blocks, {} kept", copy.encode().len(), copy.kept());
            assert_eq!(Witnesses::decode(&copy.encode()), Some(copy.clone()));
            copy.forget_before(offset + 2_001);
            assert!((offset + 1..=offset + 2_000).all(|b| copy.witness(b, offset + 2_500).is_none()), "delivered blocks are forgotten");
            let last = offset + 3_000;
            // (A root size of 5 keeps the last 31 blocks or fewer: none of them kept.)
            if let Some(later) = (copy.offset().max(offset + 2_000) + 1..=last).find(|b| kept(*b)) {
                assert!(copy.witness(later, last).is_some(), "the others stay");
            }
            assert!(copy.encode().len() < bound);
        }
    }
}
