//! The encoders reproduce real goloop data byte for byte: every header, vote list, validator list and relay
//! message that real goloop nodes produced in `contracts/libs/icon-vectors/data/icon` (vectors of origin `real-node`).

use btp_primitives::IconAddress;
use icon_light_client::{header::BlockHeader, relay::ReceivedRelayMessage, validators::ValidatorSet, votes::CommitVotes};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../icon-vectors/data/icon");

/// Long hex strings of the vectors made of real node data.
fn real_hex_strings() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(VECTORS).expect("vectors") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        if !text.contains("\"origin\": \"real-node") {
            continue;
        }
        for s in text.split('"').filter(|s| s.len() >= 64 && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
            out.push(hex::decode(s).expect("hex"));
        }
    }
    out
}

fn check_header(bytes: &[u8], counts: &mut [usize; 4]) {
    let header = BlockHeader::decode(bytes).expect("header");
    assert_eq!(header.encode(), bytes, "header {}", header.height);
    counts[0] += 1;
}

#[test]
fn encoders_reproduce_real_goloop_bytes() {
    // headers, vote lists, validator lists, relay messages
    let mut counts = [0usize; 4];
    for bytes in real_hex_strings() {
        if let Ok(m) = ReceivedRelayMessage::decode(&bytes).and_then(|m| m.collect()) {
            assert_eq!(m.encode(), bytes, "relay message");
            counts[3] += 1;
            for u in &m.block_updates {
                check_header(u.header, &mut counts);
                let votes = u.votes.expect("votes");
                let decoded = CommitVotes::decode(votes).expect("votes");
                let items: Vec<_> = decoded.items().collect::<Result<_, _>>().expect("vote items");
                assert_eq!(CommitVotes::encode(decoded.round, &decoded.part_set_id, &items), votes);
                counts[1] += 1;
                if let Some(list) = u.next_validators {
                    let set = ValidatorSet::decode(list, &icon_light_client::crypto::HostSecp256k1).expect("validators");
                    assert_eq!(ValidatorSet::from_addresses(set.addresses()).expect("re-encode").raw(), list);
                    counts[2] += 1;
                }
            }
            if let Some(p) = &m.block_proof {
                check_header(p.header, &mut counts);
            }
        } else if BlockHeader::decode(&bytes).is_ok_and(|h| h.version == 2) {
            check_header(&bytes, &mut counts);
        } else if let Ok(set) = ValidatorSet::decode(&bytes, &icon_light_client::crypto::HostSecp256k1) {
            let addresses: Vec<IconAddress> = set.addresses().to_vec();
            assert_eq!(ValidatorSet::from_addresses(&addresses).expect("re-encode").raw(), &bytes[..]);
            counts[2] += 1;
        }
    }
    println!("re-encoded {} headers, {} vote lists, {} validator lists, {} relay messages", counts[0], counts[1], counts[2], counts[3]);
    assert!(counts[0] > 600 && counts[1] > 600 && counts[2] >= 3 && counts[3] >= 5, "{counts:?}");
}
