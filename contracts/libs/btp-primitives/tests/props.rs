//! Property tests: every value survives encode → decode, and no input makes a decoder panic.

use btp_primitives::{
    bmc::BmcMessage,
    nativecoin::{Asset, ServiceMessage, TransferRequest, TransferResponse},
    rlp::{self, Kind, ListBuilder, Rlp},
    BtpAddress, BtpMessage, ErrorMessage,
};
use proptest::prelude::*;

fn btp_address() -> impl Strategy<Value = BtpAddress> {
    ("0x[0-9a-f]{1,4}", "(icon|pra|eth)", "[A-Za-z0-9_~-]{1,48}").prop_map(|(id, ty, acc)| BtpAddress::new(&format!("{id}.{ty}"), &acc).unwrap())
}

/// Walks every item, as a decoder of unknown shape would. The walk itself recurses (the library does not), so
/// it stops at a depth no real message reaches: "bytes(X)" can nest once per input byte.
fn walk(item: Rlp<'_>, depth: usize) {
    if depth > 32 {
        return;
    }
    match item.kind() {
        Kind::List => {
            for sub in item.iter().unwrap().flatten() {
                walk(sub, depth + 1);
            }
        }
        Kind::Bytes => {
            let _ = (item.i128(), item.u128(), item.str());
            if let Ok(inner) = item.nested() {
                walk(inner, depth + 1);
            }
        }
        Kind::Null => {}
    }
}

proptest! {
    #[test]
    fn signed_integers_round_trip(v in any::<i128>()) {
        prop_assert_eq!(Rlp::new(&rlp::encode_int(v)).unwrap().i128().unwrap(), v);
    }

    #[test]
    fn unsigned_integers_round_trip(v in any::<u128>()) {
        prop_assert_eq!(Rlp::new(&rlp::encode_uint(v)).unwrap().u128().unwrap(), v);
    }

    #[test]
    fn byte_strings_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let enc = rlp::encode_bytes(&data);
        prop_assert_eq!(Rlp::new(&enc).unwrap().bytes().unwrap(), &data[..]);
        let list = ListBuilder::new().bytes(&data).null().finish();
        let [b, n] = Rlp::new(&list).unwrap().fixed().unwrap();
        prop_assert_eq!(b.bytes().unwrap(), &data[..]);
        prop_assert!(n.is_null());
    }

    #[test]
    fn btp_messages_round_trip(src in btp_address(), dst in btp_address(), svc in "[a-z]{1,12}",
                               sn in any::<i128>(), payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let m = BtpMessage { src, dst, svc, sn, payload };
        prop_assert_eq!(BtpMessage::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn error_messages_round_trip(code in any::<u32>(), message in ".{0,40}") {
        let e = ErrorMessage { code, message };
        prop_assert_eq!(ErrorMessage::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn bmc_messages_round_trip(links in proptest::collection::vec(btp_address(), 0..4), fa in btp_address(),
                               services in proptest::collection::vec("[a-z]{1,10}", 0..3)) {
        for m in [
            BmcMessage::Init { links: links.clone() },
            BmcMessage::Link { link: fa.clone() },
            BmcMessage::Unlink { link: fa.clone() },
            BmcMessage::FeeGathering { fee_aggregator: fa.clone(), services: services.clone() },
        ] {
            prop_assert_eq!(BmcMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn service_messages_round_trip(from in "hx[0-9a-f]{40}", to in "[A-Za-z0-9]{1,48}",
                                   assets in proptest::collection::vec(("[A-Z]{1,6}", any::<u128>()), 0..4),
                                   code in 0u32..2, message in ".{0,20}") {
        let assets = assets.into_iter().map(|(coin_name, value)| Asset { coin_name, value }).collect();
        for m in [
            ServiceMessage::TransferRequest(TransferRequest { from: from.clone(), to: to.clone(), assets }),
            ServiceMessage::Response(TransferResponse { code, message: message.clone() }),
            ServiceMessage::UnknownTypeResponse(TransferResponse { code, message: message.clone() }),
        ] {
            prop_assert_eq!(ServiceMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(item) = Rlp::new(&data) {
            prop_assert_eq!(item.raw(), &data[..]);
            walk(item, 0);
        }
        let _ = BtpMessage::decode(&data);
        let _ = ErrorMessage::decode(&data);
        let _ = BmcMessage::decode(&data);
        let _ = ServiceMessage::decode(&data);
    }

    #[test]
    fn truncations_are_errors(data in proptest::collection::vec(any::<u8>(), 1..200)) {
        let enc = ListBuilder::new().bytes(&data).str("x").finish();
        for cut in 0..enc.len() {
            prop_assert!(Rlp::new(&enc[..cut]).is_err());
        }
    }
}
