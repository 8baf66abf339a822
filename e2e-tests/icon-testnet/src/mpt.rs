//! goloop's Merkle Patricia Trie ("ompt") for Merkle lists (receipts, event logs): built whole from the list,
//! it gives the root and the proof of any item as goloop's `getProof` does.

use btp_primitives::rlp::{write_bytes, ListBuilder};
use icon_light_client::{mpt::list_key, sha3_256, Hash};

enum Kind {
    Leaf { path: Vec<u8> },
    Extension { path: Vec<u8>, child: Box<Node> },
    Branch { children: Vec<Option<Node>>, has_value: bool },
}

/// A trie node with its encoding, computed once when the trie is built.
struct Node {
    kind: Kind,
    encoded: Vec<u8>,
}

/// A node header: flag 0x20 for a leaf, 0x00 for an extension; odd paths put their first nibble in the low
/// half of the first byte with bit 0x10.
fn encode_path(flag: u8, nibbles: &[u8]) -> Vec<u8> {
    let (first, rest) = if nibbles.len() % 2 == 1 { (flag | 0x10 | nibbles[0], &nibbles[1..]) } else { (flag, nibbles) };
    let mut out = vec![first];
    out.extend(rest.chunks(2).map(|p| (p[0] << 4) | p[1]));
    out
}

impl Node {
    fn build(entries: &[(Vec<u8>, Vec<u8>)], depth: usize) -> Node {
        let mut l = ListBuilder::new();
        if let [(key, value)] = entries {
            let path = key[depth..].to_vec();
            l.bytes(&encode_path(0x20, &path)).bytes(value);
            return Node { kind: Kind::Leaf { path }, encoded: l.finish() };
        }
        let first = &entries[0].0;
        let common = (depth..first.len()).take_while(|&i| entries.iter().all(|(k, _)| k.get(i) == Some(&first[i]))).count();
        if common > 0 {
            let path = first[depth..depth + common].to_vec();
            let child = Node::build(entries, depth + common);
            l.bytes(&encode_path(0x00, &path)).raw(&child.link());
            return Node { kind: Kind::Extension { path, child: Box::new(child) }, encoded: l.finish() };
        }
        let value = entries.iter().find(|(k, _)| k.len() == depth).map(|(_, v)| v.clone());
        let children: Vec<Option<Node>> = (0u8..16)
            .map(|n| {
                let group: Vec<_> = entries.iter().filter(|(k, _)| k.get(depth) == Some(&n)).cloned().collect();
                (!group.is_empty()).then(|| Node::build(&group, depth + 1))
            })
            .collect();
        for c in &children {
            match c {
                Some(c) => l.raw(&c.link()),
                None => l.bytes(&[]),
            };
        }
        l.bytes(value.as_deref().unwrap_or_default());
        Node { kind: Kind::Branch { children, has_value: value.is_some() }, encoded: l.finish() }
    }

    /// How a parent refers to this node: embedded when its encoding is at most 32 bytes, else by hash.
    fn link(&self) -> Vec<u8> {
        if self.encoded.len() <= 32 {
            self.encoded.clone()
        } else {
            let mut out = Vec::with_capacity(33);
            write_bytes(&mut out, &sha3_256(&self.encoded));
            out
        }
    }

    /// Collects the hash-referenced nodes on the path to `key` (the root always).
    fn prove(&self, key: &[u8], is_root: bool, out: &mut Vec<Vec<u8>>) -> bool {
        if is_root || self.encoded.len() > 32 {
            out.push(self.encoded.clone());
        }
        match &self.kind {
            Kind::Leaf { path } => path == key,
            Kind::Extension { path, child } => key.strip_prefix(path.as_slice()).is_some_and(|rest| child.prove(rest, false, out)),
            Kind::Branch { children, has_value } => match key.split_first() {
                None => *has_value,
                Some((n, rest)) => children[usize::from(*n)].as_ref().is_some_and(|c| c.prove(rest, false, out)),
            },
        }
    }
}

/// A goloop Merkle list: item `i` under the key RLP(`i`).
pub struct MerkleList {
    root: Option<Node>,
}

fn nibbles(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

impl MerkleList {
    pub fn new<V: AsRef<[u8]>>(items: &[V]) -> Self {
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> =
            items.iter().enumerate().map(|(i, v)| (nibbles(list_key(i as u64).as_bytes()), v.as_ref().to_vec())).collect();
        entries.sort();
        Self { root: (!entries.is_empty()).then(|| Node::build(&entries, 0)) }
    }

    /// The root hash, `None` for an empty list (goloop's nil hash).
    pub fn root(&self) -> Option<Hash> {
        self.root.as_ref().map(|r| sha3_256(&r.encoded))
    }

    /// The proof of item `index`: node encodings, root first.
    pub fn proof(&self, index: u64) -> Option<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.root.as_ref()?.prove(&nibbles(list_key(index).as_bytes()), true, &mut out).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icon_light_client::mpt::prove;

    #[test]
    fn every_item_proves_in_lists_of_many_sizes() {
        for n in [1usize, 2, 3, 15, 16, 17, 130, 300] {
            let items: Vec<Vec<u8>> = (0..n).map(|i| format!("receipt number {i} with enough bytes to be hashed").into_bytes()).collect();
            let list = MerkleList::new(&items);
            let root = list.root().unwrap();
            for (i, item) in items.iter().enumerate() {
                let proof = list.proof(i as u64).unwrap();
                assert_eq!(prove(&root, list_key(i as u64).as_bytes(), proof.iter().map(|n| Ok(&n[..]))).unwrap(), &item[..], "n={n} i={i}");
            }
            assert!(list.proof(n as u64).is_none());
        }
    }

    #[test]
    fn small_items_are_embedded_and_still_prove() {
        let items: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 3]).collect();
        let list = MerkleList::new(&items);
        let root = list.root().unwrap();
        for i in 0..20u64 {
            let proof = list.proof(i).unwrap();
            assert_eq!(prove(&root, list_key(i).as_bytes(), proof.iter().map(|n| Ok(&n[..]))).unwrap(), &items[i as usize][..]);
        }
        assert!(MerkleList::new::<Vec<u8>>(&[]).root().is_none());
    }
}
