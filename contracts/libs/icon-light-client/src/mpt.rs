//! goloop Merkle Patricia Trie proofs ("ompt"): receipt lists and event-log lists.
//!
//! Stricter than ICON's own BMVs where they are lax (spec §7.4): a leaf must match the rest of the key
//! exactly, as goloop's prover requires, and every proof node must be used.

use crate::{
    error::{ErrorCode, OrCode},
    sha3_256, BmvError, Hash,
};
use btp_primitives::rlp::{Kind, Rlp};

const MPT: ErrorCode = ErrorCode::InvalidMpt;

/// The key of item `index` in a goloop Merkle list: RLP of the index as a non-negative integer.
pub fn list_key(index: u64) -> alloc::vec::Vec<u8> {
    btp_primitives::rlp::encode_uint(index.into())
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

/// A node header's path: flag bit 0x20 marks a leaf, 0x10 an odd nibble count whose first nibble sits in the
/// low half of the first byte.
fn path(header: &[u8]) -> Result<(bool, alloc::vec::Vec<u8>), BmvError> {
    let first = *header.first().or_code(MPT, "empty node header")?;
    let flags = first >> 4;
    if flags > 3 {
        return Err(BmvError::new(MPT, "unknown node header flags"));
    }
    let mut nibbles = alloc::vec::Vec::with_capacity(header.len().saturating_mul(2));
    if flags & 1 == 1 {
        nibbles.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return Err(BmvError::new(MPT, "even path with a stray nibble"));
    }
    for b in &header[1..] {
        nibbles.push(b >> 4);
        nibbles.push(b & 0x0f);
    }
    Ok((flags & 2 == 2, nibbles))
}

/// Proves that the trie with root `root` maps `key` to the returned value, using `proof` (node encodings, root
/// first). Fails with `InvalidMPT` on any mismatch, missing or surplus node.
pub fn prove<'a>(root: &Hash, key: &[u8], proof: &[&'a [u8]]) -> Result<&'a [u8], BmvError> {
    let key: alloc::vec::Vec<u8> = key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
    let mut rest: &[u8] = &key;
    let mut next = Link::Hash(*root);
    let mut used = 0usize;
    loop {
        let node = match next {
            Link::Hash(hash) => {
                let encoded = *proof.get(used).or_code(MPT, "proof ends before the value")?;
                used = used.saturating_add(1);
                if sha3_256(encoded) != hash {
                    return Err(BmvError::new(MPT, "proof node does not match its hash"));
                }
                Rlp::new(encoded).or_code(MPT, "proof node is not RLP")?
            }
            Link::Embedded(node) => node,
        };
        let items = node.items().or_code(MPT, "proof node is not a list")?;
        let value = match items.as_slice() {
            [header, tail] => {
                let (is_leaf, nibbles) = path(header.bytes().or_code(MPT, "node header is not bytes")?)?;
                if is_leaf {
                    if nibbles != rest {
                        return Err(BmvError::new(MPT, "leaf path does not match the key"));
                    }
                    tail.bytes().or_code(MPT, "leaf value is not bytes")?
                } else {
                    rest = rest.strip_prefix(nibbles.as_slice()).or_code(MPT, "extension path does not match the key")?;
                    if nibbles.is_empty() {
                        return Err(BmvError::new(MPT, "extension with an empty path"));
                    }
                    next = link(tail)?;
                    continue;
                }
            }
            [children @ .., value] if children.len() == 16 => match rest.split_first() {
                None => value.bytes().or_code(MPT, "branch value is not bytes")?,
                Some((nibble, tail)) => {
                    let child = &children[usize::from(*nibble)];
                    if child.bytes().map(<[u8]>::is_empty).unwrap_or(false) {
                        return Err(BmvError::new(MPT, "key is not in the trie"));
                    }
                    rest = tail;
                    next = link(child)?;
                    continue;
                }
            },
            _ => return Err(BmvError::new(MPT, "proof node is neither leaf, extension nor branch")),
        };
        if value.is_empty() {
            return Err(BmvError::new(MPT, "key is not in the trie"));
        }
        if used != proof.len() {
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
            assert_eq!(hex::encode(list_key(i)), k);
        }
    }

    #[test]
    fn header_paths() {
        assert_eq!(path(&[0x20, 0x00]).unwrap(), (true, vec![0, 0]));
        assert_eq!(path(&[0x3a]).unwrap(), (true, vec![0xa]));
        assert_eq!(path(&[0x00, 0xab]).unwrap(), (false, vec![0xa, 0xb]));
        assert_eq!(path(&[0x1a, 0xbc]).unwrap(), (false, vec![0xa, 0xb, 0xc]));
        assert!(path(&[]).is_err());
        assert!(path(&[0x40]).is_err());
        assert!(path(&[0x21]).is_err());
    }
}
