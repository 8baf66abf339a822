//! Any bytes as an ICON relay message, header, vote list or accumulator: errors only, never a panic.
#![no_main]

use icon_light_client::{header::BlockHeader, mta::Mta, relay::RelayMessage, votes::CommitVotes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = RelayMessage::decode(data);
    let _ = BlockHeader::decode(data);
    let _ = CommitVotes::decode(data);
    let _ = Mta::decode(data);
});
