//! The Merkle Tree Accumulator of block ids (the BMV side of ICON's BTP).
//!
//! `roots[i]` is empty or the root of a complete tree of 2^i leaves, older leaves at higher `i`; leaves are
//! block ids; an inner node is SHA3-256(left‖right). Block `h` is leaf `h − 1 − offset`.

use crate::{
    error::{ErrorCode, OrCode},
    sha3_256_pair, BmvError, Hash,
};
use alloc::vec::Vec;
use btp_primitives::rlp::{ListBuilder, Rlp};
use core::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mta {
    height: u64,
    roots: Vec<Option<Hash>>,
    offset: u64,
    /// Most roots kept; 0 = unlimited. When full, the oldest leaves become unprovable and `offset` moves.
    root_size: u32,
    /// How many recent leaves are kept to accept proofs built against an older accumulator.
    cache_size: u32,
    cache: Vec<Hash>,
    allow_newer_witness: bool,
}

const OVERFLOW: BmvError = BmvError::new(ErrorCode::Unknown, "accumulator height overflow");

/// Two subtrees that adding a leaf joined, for a relay that keeps witnesses up to date: the complete subtree
/// `roots[level]` (`left`) and the one just built of the newer leaves (`right`) became one of the next level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    pub level: usize,
    pub left: Hash,
    pub right: Hash,
}

impl Mta {
    /// An empty accumulator whose first leaf will be block `offset + 1`.
    pub fn new(offset: u64, root_size: u32, cache_size: u32, allow_newer_witness: bool) -> Self {
        Self { height: offset, roots: Vec::new(), offset, root_size, cache_size, cache: Vec::new(), allow_newer_witness }
    }

    /// The height of the last block added.
    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn roots(&self) -> &[Option<Hash>] {
        &self.roots
    }

    pub fn root_size(&self) -> u32 {
        self.root_size
    }

    pub fn cache_size(&self) -> u32 {
        self.cache_size
    }

    pub fn allow_newer_witness(&self) -> bool {
        self.allow_newer_witness
    }

    /// Adds the id of block `height() + 1`.
    pub fn add(&mut self, leaf: Hash) -> Result<(), BmvError> {
        self.add_observed(leaf, |_| {})
    }

    /// [`Mta::add`], telling `observe` each join it makes, lowest level first (a subtree dropped for the root size
    /// shows as the offset moving).
    pub fn add_observed(&mut self, leaf: Hash, mut observe: impl FnMut(Joined)) -> Result<(), BmvError> {
        let height = self.height.checked_add(1).ok_or(OVERFLOW)?;
        if self.cache_size > 0 {
            self.cache.push(leaf);
            let excess = self.cache.len().saturating_sub(self.cache_size as usize);
            self.cache.drain(..excess);
        }
        let mut carry = leaf;
        let mut placed = false;
        for i in 0..self.roots.len() {
            match self.roots[i] {
                None => {
                    self.roots[i] = Some(carry);
                    placed = true;
                    break;
                }
                Some(_) if self.root_size > 0 && i >= (self.root_size as usize).saturating_sub(1) => {
                    // Full: the oldest 2^i leaves are dropped and the offset moves past them.
                    self.roots[i] = Some(carry);
                    let dropped = u32::try_from(i).ok().and_then(|i| 1u64.checked_shl(i)).ok_or(OVERFLOW)?;
                    self.offset = self.offset.checked_add(dropped).ok_or(OVERFLOW)?;
                    placed = true;
                    break;
                }
                Some(root) => {
                    observe(Joined { level: i, left: root, right: carry });
                    carry = sha3_256_pair(&root, &carry);
                    self.roots[i] = None;
                }
            }
        }
        if !placed {
            self.roots.push(Some(carry));
        }
        self.height = height;
        Ok(())
    }

    fn fold(leaf: &Hash, mut index: u64, witness: &[Hash]) -> Hash {
        let mut node = *leaf;
        for w in witness {
            node = if index % 2 == 0 { sha3_256_pair(&node, w) } else { sha3_256_pair(w, &node) };
            index /= 2;
        }
        node
    }

    /// Checks that `leaf` is the id of block `block_height`, with `witness` built against an accumulator of
    /// height `at` (normally ours; a newer one if allowed; an older one only for leaves still in the cache).
    pub fn verify(&self, witness: &[Hash], leaf: &Hash, block_height: u64, at: u64) -> Result<(), BmvError> {
        const WITNESS: ErrorCode = ErrorCode::InvalidBlockWitness;
        if block_height > self.height {
            return Err(BmvError::new(ErrorCode::InvalidBlockProofHeightHigher, "block is above the accumulator"));
        }
        let index = block_height.checked_sub(1).and_then(|h| h.checked_sub(self.offset)).or_code(WITNESS, "block is below the accumulator's offset")?;
        match at.cmp(&self.height) {
            Ordering::Equal => {
                let root = self.roots.get(witness.len()).copied().flatten().or_code(WITNESS, "witness length names no root")?;
                if Self::fold(leaf, index, witness) != root {
                    return Err(BmvError::new(WITNESS, "invalid witness"));
                }
                Ok(())
            }
            Ordering::Greater => {
                if !self.allow_newer_witness {
                    return Err(BmvError::new(WITNESS, "newer witness not allowed"));
                }
                // Find the root whose subtree holds the leaf: roots are walked oldest (highest index) first.
                let mut rest = index;
                let mut found = None;
                for (i, root) in self.roots.iter().enumerate().rev() {
                    if let Some(root) = root {
                        let size = u32::try_from(i).ok().and_then(|i| 1u64.checked_shl(i)).ok_or(OVERFLOW)?;
                        if rest < size {
                            found = Some((i, *root));
                            break;
                        }
                        rest = rest.saturating_sub(size);
                    }
                }
                let (depth, root) = found.or_code(WITNESS, "no root holds the block")?;
                let path = witness.get(..depth).or_code(WITNESS, "witness shorter than the subtree")?;
                if Self::fold(leaf, index, path) != root {
                    return Err(BmvError::new(WITNESS, "invalid witness"));
                }
                Ok(())
            }
            Ordering::Less => {
                // block_height <= self.height was checked above.
                let distance = self.height.saturating_sub(block_height);
                if distance <= u64::from(self.cache_size) && self.cache.contains(leaf) {
                    Ok(())
                } else {
                    Err(BmvError::new(ErrorCode::InvalidBlockWitnessOld, "witness is older than the accumulator"))
                }
            }
        }
    }

    /// `[height, [root|null…], offset, root_size, cache_size, [cached…], allow_newer_witness]`, the layout of
    /// ICON's BMVs.
    pub fn encode(&self) -> Vec<u8> {
        let mut roots = ListBuilder::new();
        for r in &self.roots {
            roots.nullable_bytes(r.as_ref().map(|h| &h[..]));
        }
        let mut cache = ListBuilder::new();
        for c in &self.cache {
            cache.bytes(c);
        }
        ListBuilder::new()
            .uint(self.height.into())
            .raw(&roots.finish())
            .uint(self.offset.into())
            .uint(self.root_size.into())
            .uint(self.cache_size.into())
            .raw(&cache.finish())
            .uint(u128::from(self.allow_newer_witness))
            .finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, BmvError> {
        const BAD: ErrorCode = ErrorCode::DecodeError;
        let [height, roots, offset, root_size, cache_size, cache, allow] =
            Rlp::new(bytes).and_then(|r| r.fixed()).or_code(BAD, "accumulator is not a 7-item list")?;
        let roots = roots
            .items()
            .or_code(BAD, "accumulator roots are not a list")?
            .iter()
            .map(|r| if r.is_null() { Ok(None) } else { r.array().map(Some).or_code(BAD, "root is not 32 bytes") })
            .collect::<Result<_, _>>()?;
        let cache = cache
            .items()
            .or_code(BAD, "accumulator cache is not a list")?
            .iter()
            .map(|c| c.array().or_code(BAD, "cached leaf is not 32 bytes"))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            height: height.u64().or_code(BAD, "height")?,
            roots,
            offset: offset.u64().or_code(BAD, "offset")?,
            root_size: root_size.u32().or_code(BAD, "root size")?,
            cache_size: cache_size.u32().or_code(BAD, "cache size")?,
            cache,
            allow_newer_witness: allow.u32().or_code(BAD, "allow newer witness")? != 0,
        })
    }
}

/// The witness a relay builds for leaf `index` of an accumulator holding `leaves` (its first leaf is block
/// `offset + 1`): the sibling path inside the complete subtree that holds the leaf, leaf to root. `None` when
/// `index` is not among the leaves.
pub fn witness(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    // The accumulator's subtrees are the binary digits of the leaf count, largest (oldest) first.
    let mut start = 0usize;
    let mut remaining = leaves.len();
    while remaining > 0 {
        let size = 1usize.checked_shl(usize::BITS.checked_sub(1)?.checked_sub(remaining.leading_zeros())?)?;
        let end = start.checked_add(size)?;
        if index < end {
            let mut level: Vec<Hash> = leaves.get(start..end)?.to_vec();
            let mut i = index.checked_sub(start)?;
            let mut path = Vec::new();
            while level.len() > 1 {
                path.push(*level.get(i ^ 1)?);
                level = level.chunks(2).map(|p| sha3_256_pair(&p[0], &p[1])).collect();
                i /= 2;
            }
            return Some(path);
        }
        start = end;
        remaining = remaining.checked_sub(size)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha3_256;

    fn witness(leaves: &[Hash], index: usize) -> Vec<Hash> {
        super::witness(leaves, index).expect("leaf")
    }

    fn leaf(i: u64) -> Hash {
        sha3_256(&i.to_be_bytes())
    }

    #[test]
    fn every_leaf_proves_at_current_height() {
        let mut mta = Mta::new(100, 0, 0, false);
        let leaves: Vec<Hash> = (0..37).map(leaf).collect();
        for l in &leaves {
            mta.add(*l).unwrap();
        }
        assert_eq!(mta.height(), 137);
        for (i, l) in leaves.iter().enumerate() {
            let h = 101 + i as u64;
            mta.verify(&witness(&leaves, i), l, h, mta.height()).unwrap();
            assert_eq!(mta.verify(&witness(&leaves, i), &leaf(999), h, mta.height()).unwrap_err().code, ErrorCode::InvalidBlockWitness);
        }
        assert_eq!(mta.verify(&[], &leaves[0], 138, 137).unwrap_err().code, ErrorCode::InvalidBlockProofHeightHigher);
        assert_eq!(mta.verify(&[], &leaves[0], 100, 137).unwrap_err().code, ErrorCode::InvalidBlockWitness);
    }

    #[test]
    fn newer_witness_and_old_witness_rules() {
        let leaves: Vec<Hash> = (0..20).map(leaf).collect();
        let mut old = Mta::new(0, 0, 4, true);
        for l in &leaves[..12] {
            old.add(*l).unwrap();
        }
        // Witness built by a relay that already has all 20 leaves: only the part inside our subtree counts.
        for i in 0..12 {
            old.verify(&witness(&leaves, i), &leaves[i], i as u64 + 1, 20).unwrap();
        }
        let mut strict = old.clone();
        strict.allow_newer_witness = false;
        assert_eq!(strict.verify(&witness(&leaves, 0), &leaves[0], 1, 20).unwrap_err().code, ErrorCode::InvalidBlockWitness);
        // Stale witness: accepted only for leaves still cached.
        old.verify(&[], &leaves[11], 12, 5).unwrap();
        old.verify(&[], &leaves[8], 9, 5).unwrap();
        assert_eq!(old.verify(&[], &leaves[2], 3, 5).unwrap_err().code, ErrorCode::InvalidBlockWitnessOld);
    }

    #[test]
    fn root_size_prunes_and_moves_offset() {
        let mut mta = Mta::new(0, 2, 0, false);
        for i in 0..4 {
            mta.add(leaf(i)).unwrap();
        }
        // Roots could hold 1 + 2 leaves; the fourth leaf dropped the oldest pair.
        assert_eq!((mta.height(), mta.offset()), (4, 2));
        let kept = [leaf(2), leaf(3)];
        mta.verify(&witness(&kept, 0), &kept[0], 3, 4).unwrap();
        assert_eq!(mta.verify(&[], &leaf(0), 1, 4).unwrap_err().code, ErrorCode::InvalidBlockWitness);
    }

    #[test]
    fn encoding_round_trips() {
        let mut mta = Mta::new(5, 8, 3, true);
        for i in 0..11 {
            mta.add(leaf(i)).unwrap();
        }
        assert_eq!(Mta::decode(&mta.encode()).unwrap(), mta);
        assert_eq!(Mta::decode(&[0xc0]).unwrap_err().code, ErrorCode::DecodeError);
    }
}
