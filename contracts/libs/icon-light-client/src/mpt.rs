//! goloop Merkle Patricia Trie proofs ("ompt"): receipt lists and event-log lists.
//!
//! Stricter than ICON's own BMVs where they are lax (spec §7.4): a leaf must match the rest of the key
//! exactly, as goloop's prover requires, and every proof node must be used. Nothing is allocated: keys and
//! paths are compared nibble by nibble in place, and proof nodes are read as they are walked.

use crate::{
    error::{ErrorCode, OrCode},
    sha3_256, BmvError, Hash,
};
use btp_primitives::rlp::{IntItem, Kind, Rlp};

const MPT: ErrorCode = ErrorCode::InvalidMpt;

/// The key of item `index` in a goloop Merkle list: RLP of the index as a non-negative integer.
pub fn list_key(index: u64) -> IntItem {
    IntItem::unsigned(index.into())
}

/// A child reference: a 32-byte hash of a node given in the proof, or a node (≤ 32 bytes) embedded in place.
enum Link<'a> {
    Hash(Hash),
    Embedded(Rlp<'a>),
}

fn link<'a>(item: &Rlp<'a>) -> Result<Link<'a>, BmvError> {
    match item.kind() {
        Kind::List => Ok(Link::Embedded(*item)),
        _ => item.array().map(Link::Hash).or_code(MPT, "child link is neither a hash nor an embedded node"),
    }
}

/// Nibble `i` of `bytes`, high half first.
fn nibble(bytes: &[u8], i: usize) -> u8 {
    let b = bytes[i / 2];
    if i % 2 == 0 {
        b >> 4
    } else {
        b & 0x0f
    }
}

/// A node header's path, read in place: flag bit 0x20 marks a leaf, 0x10 an odd nibble count whose first
/// nibble sits in the low half of the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Path<'a> {
    is_leaf: bool,
    header: &'a [u8],
    /// Where the path's nibbles start in `header`: 1 when odd, 2 when even (the first byte holds only flags).
    first: usize,
}

impl<'a> Path<'a> {
    fn decode(header: &'a [u8]) -> Result<Self, BmvError> {
        let first = *header.first().or_code(MPT, "empty node header")?;
        let flags = first >> 4;
        if flags > 3 {
            return Err(BmvError::new(MPT, "unknown node header flags"));
        }
        if flags & 1 == 0 && first & 0x0f != 0 {
            return Err(BmvError::new(MPT, "even path with a stray nibble"));
        }
        Ok(Self { is_leaf: flags & 2 == 2, header, first: if flags & 1 == 1 { 1 } else { 2 } })
    }

    fn len(&self) -> usize {
        self.header.len().saturating_mul(2).saturating_sub(self.first)
    }

    /// Whether the path equals the key's nibbles from `at` on for the path's length.
    fn is_prefix_of(&self, key: &[u8], at: usize) -> bool {
        let key_len = key.len().saturating_mul(2);
        at.checked_add(self.len()).is_some_and(|end| end <= key_len)
            && (0..self.len()).all(|i| nibble(self.header, self.first.saturating_add(i)) == nibble(key, at.saturating_add(i)))
    }
}

/// Proves that the trie with root `root` maps `key` to the returned value, using `proof` (node encodings, root
/// first). Fails with `InvalidMPT` on any mismatch, missing or surplus node.
pub fn prove<'a>(root: &Hash, key: &[u8], proof: impl IntoIterator<Item = Result<&'a [u8], BmvError>>) -> Result<&'a [u8], BmvError> {
    let key_len = key.len().saturating_mul(2);
    let mut proof = proof.into_iter();
    // Nibbles of the key consumed so far.
    let mut at = 0usize;
    let mut next = Link::Hash(*root);
    loop {
        let node = match next {
            Link::Hash(hash) => {
                let encoded = proof.next().or_code(MPT, "proof ends before the value")??;
                if sha3_256(encoded) != hash {
                    return Err(BmvError::new(MPT, "proof node does not match its hash"));
                }
                Rlp::new(encoded).or_code(MPT, "proof node is not RLP")?
            }
            Link::Embedded(node) => node,
        };
        let mut items = [Rlp::default(); 17];
        let mut count = 0usize;
        for item in node.iter().or_code(MPT, "proof node is not a list")? {
            *items.get_mut(count).or_code(MPT, "proof node has more than 17 items")? = item.or_code(MPT, "proof node item is not RLP")?;
            count = count.saturating_add(1);
        }
        let value = match &items[..count] {
            [header, tail] => {
                let path = Path::decode(header.bytes().or_code(MPT, "node header is not bytes")?)?;
                if !path.is_prefix_of(key, at) {
                    return Err(BmvError::new(MPT, if path.is_leaf { "leaf path does not match the key" } else { "extension path does not match the key" }));
                }
                at = at.saturating_add(path.len());
                if path.is_leaf {
                    if at != key_len {
                        return Err(BmvError::new(MPT, "leaf path does not match the key"));
                    }
                    tail.bytes().or_code(MPT, "leaf value is not bytes")?
                } else {
                    if path.len() == 0 {
                        return Err(BmvError::new(MPT, "extension with an empty path"));
                    }
                    next = link(tail)?;
                    continue;
                }
            }
            [children @ .., value] if children.len() == 16 => {
                if at == key_len {
                    value.bytes().or_code(MPT, "branch value is not bytes")?
                } else {
                    let child = &children[usize::from(nibble(key, at))];
                    if child.bytes().map(<[u8]>::is_empty).unwrap_or(false) {
                        return Err(BmvError::new(MPT, "key is not in the trie"));
                    }
                    at = at.saturating_add(1);
                    next = link(child)?;
                    continue;
                }
            }
            _ => return Err(BmvError::new(MPT, "proof node is neither leaf, extension nor branch")),
        };
        if value.is_empty() {
            return Err(BmvError::new(MPT, "key is not in the trie"));
        }
        if proof.next().is_some() {
            return Err(BmvError::new(MPT, "proof has unused nodes"));
        }
        return Ok(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_keys_follow_goloop() {
        for (i, k) in [(0u64, "00"), (1, "01"), (127, "7f"), (128, "820080"), (255, "8200ff"), (256, "820100")] {
            assert_eq!(hex::encode(list_key(i).as_bytes()), k);
        }
    }

    #[test]
    fn header_paths() {
        let nibbles = |h: &[u8]| Path::decode(h).map(|p| (p.is_leaf, (0..p.len()).map(|i| nibble(p.header, p.first + i)).collect::<Vec<_>>()));
        assert_eq!(nibbles(&[0x20, 0x00]).unwrap(), (true, vec![0, 0]));
        assert_eq!(nibbles(&[0x3a]).unwrap(), (true, vec![0xa]));
        assert_eq!(nibbles(&[0x00, 0xab]).unwrap(), (false, vec![0xa, 0xb]));
        assert_eq!(nibbles(&[0x1a, 0xbc]).unwrap(), (false, vec![0xa, 0xb, 0xc]));
        assert!(Path::decode(&[]).is_err());
        assert!(Path::decode(&[0x40]).is_err());
        assert!(Path::decode(&[0x21]).is_err());
        let path = Path::decode(&[0x1a, 0xbc]).unwrap();
        assert!(path.is_prefix_of(&[0x0a, 0xbc], 1));
        assert!(!path.is_prefix_of(&[0x0a, 0xbc], 0));
        assert!(!path.is_prefix_of(&[0x0a, 0xb0], 1));
        assert!(!path.is_prefix_of(&[0xab], 0), "longer than the key");
    }
}
