//! The relay's ICON target against the ICON test chain: nothing is paid for that ICON's dry run refuses, and a
//! transaction sent whose result is not known is awaited by its hash, also after a restart, before anything new is
//! signed.

mod support;

use btp_primitives::{
    bmc::relay_message_to_icon,
    nativecoin::{ServiceMessage, TransferResponse, RC_OK, SERVICE},
    BtpAddress, BtpMessage, IconAddress,
};
use btp_relay::{
    icon_target::IconTarget,
    lane::{Failure, Segment, Target},
    store::Store,
};
use icon_rpc::{wallet::Wallet, IconClient};
use icon_testnet::{node::LiveNode, Validator};
use std::{sync::Arc, time::Duration};

const PARA_BMC: &str = "btp://0x501.pra/0x00aa";

/// The parachain BMC's message 1 toward ICON: an answer to a request ICON never made (ICON ignores it).
fn segment(icon_bmc: &str) -> Segment {
    let answer = ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode();
    let message =
        BtpMessage { src: BtpAddress::parse(PARA_BMC).unwrap(), dst: BtpAddress::parse(icon_bmc).unwrap(), svc: SERVICE.into(), sn: 7, payload: answer };
    let bytes = relay_message_to_icon([(1, message.encode().as_slice())]);
    Segment { from: 5, to: 5, messages: 1, parent: [0; 32], bytes }
}

fn target(icon: &support::icon::IconChain, wallet: &Wallet, store: Arc<Store>) -> IconTarget {
    let bmc = IconAddress::parse(BtpAddress::parse(&icon.bmc).unwrap().account()).unwrap();
    let mut target = IconTarget::new(IconClient::new(&icon.url).unwrap(), wallet.clone(), "0x3".into(), bmc, PARA_BMC.into(), store);
    target.poll = Duration::from_millis(50);
    target
}

/// The transactions `from` sent to the chain, in its blocks: (hash, succeeded).
async fn sent_by(icon: &support::icon::IconChain, from: &IconAddress) -> Vec<(String, bool)> {
    icon.shared
        .with(|node| {
            (0..=node.last_height())
                .flat_map(|h| node.transactions(h))
                .filter(|tx| tx["from"].as_str() == Some(from.to_string().as_str()))
                .map(|tx| {
                    let hash = tx["txHash"].as_str().unwrap_or_default().to_string();
                    let result = node.transaction_result(&hex::decode(&hash[2..]).unwrap().try_into().unwrap()).unwrap();
                    (hash, result["status"] == "0x1")
                })
                .collect()
        })
        .await
}

#[tokio::test]
async fn an_icon_transaction_in_doubt_is_awaited_not_resent() {
    let bob = Validator::from_seed(1000);
    // Blocks only when the test asks: the transaction waits in the pool.
    let icon = support::icon::start(0, Some(PARA_BMC), &bob, None, None);
    let wallet = Wallet::from_secret(&[0x42; 32]).unwrap();
    let dir = std::env::temp_dir().join(format!("btp-icon-target-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.redb");
    let segment = segment(&icon.bmc);
    {
        let mut relay = target(&icon, &wallet, Arc::new(Store::open(&path, "link").unwrap()));
        relay.wait = Duration::from_millis(500);
        let at = relay.position().await.unwrap();
        relay.check(at, &segment).await.expect("ICON's dry run takes it");
        let outcome = relay.submit(&segment).await;
        assert!(matches!(outcome, Err(Failure::Unknown(_))), "no block yet: {outcome:?}");
    }
    // Restarted: the store remembers the transaction, and nothing new is signed while it may still execute.
    let mut relay = target(&icon, &wallet, Arc::new(Store::open(&path, "link").unwrap()));
    for _ in 0..2 {
        let waiting = relay.position().await;
        assert!(matches!(&waiting, Err(Failure::Transport(reason)) if reason.contains("before signing another")), "{waiting:?}");
    }
    icon.shared.produce_block().await;
    let at = relay.position().await.expect("its result is in");
    assert_eq!(at.rx_seq, 1, "the message went in with the first transaction");
    assert!(relay.check(at, &segment).await.is_err(), "and the same segment again is refused by the dry run");
    let sent = sent_by(&icon, &wallet.address).await;
    assert_eq!(sent.len(), 1, "one transaction, never signed again: {sent:?}");
    assert!(sent[0].1, "and it succeeded");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_icon_dry_run_refusal_is_never_paid_for() {
    let bob = Validator::from_seed(1000);
    let icon = support::icon::start_with(0, Some(PARA_BMC), &bob, Some(Duration::from_millis(200)), |node: &mut LiveNode| {
        node.add_relay(BtpAddress::parse(PARA_BMC).unwrap(), IconAddress::parse("hx00000000000000000000000000000000000000ee").unwrap());
    });
    let wallet = Wallet::from_secret(&[0x43; 32]).unwrap();
    let mut relay = target(&icon, &wallet, Arc::new(Store::in_memory("link").unwrap()));
    let segment = segment(&icon.bmc);
    let at = relay.position().await.unwrap();
    let refused = relay.check(at, &segment).await;
    assert!(matches!(&refused, Err(Failure::Refused { code: Some(11), reason }) if reason.contains("Unauthorized")), "the BMC's code: {refused:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent_by(&icon, &wallet.address).await, vec![], "nothing sent");
}

/// Every answer to the sending lost (the node took the transaction; the relay heard only a gateway's timeouts):
/// the relay asks for the transaction's result instead of signing the messages again.
#[tokio::test]
async fn a_lost_sending_answer_is_not_signed_again() {
    let bob = Validator::from_seed(1000);
    let icon = support::icon::start(0, Some(PARA_BMC), &bob, Some(Duration::from_millis(200)), None);
    icon.shared.set_faults(icon_testnet::server::Faults { lost_send_answers: 8, ..Default::default() });
    let wallet = Wallet::from_secret(&[0x44; 32]).unwrap();
    let mut relay = target(&icon, &wallet, Arc::new(Store::in_memory("link").unwrap()));
    let segment = segment(&icon.bmc);
    let at = relay.position().await.unwrap();
    relay.check(at, &segment).await.unwrap();
    relay.submit(&segment).await.expect("its result, found by its hash");
    assert_eq!(relay.position().await.unwrap().rx_seq, 1);
    let sent = sent_by(&icon, &wallet.address).await;
    assert_eq!((sent.len(), sent[0].1), (1, true), "{sent:?}");
}
