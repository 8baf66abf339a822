//! The relay's copy of the BMV's accumulator of ICON block ids, and the witnesses of the blocks it may have to
//! prove. A block proof's witness is the sibling path of the block's id inside its subtree; the relay keeps that
//! path up to date as blocks are added (each time the subtree joins another, one more sibling), for the blocks
//! that hold messages not yet delivered only. So neither memory nor the store grows with ICON's history: the
//! roots (one per level, ⌈log₂ n⌉ for n blocks) and, per block kept, a path of as many ids.
//!
//! Each sibling is kept with the accumulator height it joined at: the witness against the target's accumulator
//! at height `h` is the part of the path that joined by `h`, so the copy may run ahead of the target.

use btp_primitives::rlp::{ListBuilder, Rlp};
use icon_light_client::{
    mta::{Mta, Step},
    BmvError, ErrorCode, Hash,
};
use std::collections::BTreeMap;

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
}

impl Witnesses {
    /// The accumulator of a BMV whose first block is `offset + 1` and that keeps at most `root_size` roots.
    pub fn new(offset: u64, root_size: u32) -> Self {
        Self { mta: Mta::new(offset, root_size, 0, false), kept: BTreeMap::new() }
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
        let height = self.height().checked_add(1).ok_or_else(|| BmvError::new(ErrorCode::Unknown, "accumulator height overflow"))?;
        let before = self.mta.offset();
        let mut steps = Vec::new();
        self.mta.add_observed(id, |step| steps.push(step))?;
        if keep {
            self.kept.insert(height, Kept { id, path: Vec::new() });
        }
        // A join at level `l` makes one subtree of the two at that level: the kept leaves in them are those whose
        // path is `l` long; the newer (right) one holds the newest 2^l blocks, the older (left) one those before.
        for step in steps {
            if let Step::Joined { level, left, right } = step {
                let newest_from = height.saturating_sub(u32::try_from(level).ok().and_then(|l| 1u64.checked_shl(l)).unwrap_or(u64::MAX));
                for (h, kept) in self.kept.iter_mut().filter(|(_, k)| k.path.len() == level) {
                    let sibling = if *h > newest_from { left } else { right };
                    kept.path.push((sibling, height));
                }
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

    /// Stops keeping the witnesses of blocks `heights` (their messages are delivered).
    pub fn forget(&mut self, heights: impl IntoIterator<Item = u64>) {
        for h in heights {
            self.kept.remove(&h);
        }
    }

    /// `[accumulator, [[height, id, [[sibling, joined]…]]…]]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut kept = ListBuilder::new();
        for (height, k) in &self.kept {
            let mut path = ListBuilder::new();
            for (sibling, joined) in &k.path {
                path.raw(&ListBuilder::new().bytes(sibling).uint((*joined).into()).finish());
            }
            kept.raw(&ListBuilder::new().uint((*height).into()).bytes(&k.id).raw(&path.finish()).finish());
        }
        ListBuilder::new().bytes(&self.mta.encode()).raw(&kept.finish()).finish()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let [mta, kept] = Rlp::new(bytes).ok()?.fixed().ok()?;
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
        Some(Self { mta, kept: map })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icon_light_client::{mta, sha3_256};

    fn id(h: u64) -> Hash {
        sha3_256(&h.to_be_bytes())
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
            let delivered: Vec<u64> = (offset + 1..=offset + 2_000).collect();
            copy.forget(delivered);
            assert!(copy.witness(offset + 3, offset + 2_500).is_none() && copy.encode().len() < bound);
        }
    }
}
