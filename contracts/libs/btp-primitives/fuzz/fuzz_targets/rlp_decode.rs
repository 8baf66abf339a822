//! Any bytes through every decoder: errors are fine, panics and over-reads are not.
#![no_main]

use btp_primitives::{bmc::BmcMessage, nativecoin::ServiceMessage, rlp::Rlp, BtpMessage, ErrorMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(item) = Rlp::new(data) {
        assert_eq!(item.raw(), data);
        if let Ok(items) = item.items() {
            for i in items {
                let _ = (i.i128(), i.u128(), i.str(), i.nested());
            }
        }
    }
    let _ = BtpMessage::decode(data);
    let _ = ErrorMessage::decode(data);
    let _ = BmcMessage::decode(data);
    let _ = ServiceMessage::decode(data);
});
