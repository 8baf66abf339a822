//! The ICON side of BTP, modelled on ICON's Java BMC and native-coin service: ICX transfers toward the parachain
//! (fee charged, value held until the response), the BMC's `Message` events per link, and the handling of what
//! comes back (responses, error replies, transfer requests for ICX or for the parachain's coins).
//!
//! Messages from the parachain arrive in `handleRelayMessage` transactions. ICON's real BMC would have them
//! checked by a BMV for the parachain; no parachain light client exists on this stand-in, so it takes the relay's
//! word for them (`[[seq, msg], …]`, in order), which is the one trust it adds and why it is test-only.

use crate::receipt::EventLog;
use btp_primitives::{
    nativecoin::{Asset, ServiceMessage, TransferRequest, TransferResponse, RC_ERR, RC_OK, SERVICE},
    rlp::{ListBuilder, Rlp},
    BtpAddress, BtpMessage, ErrorMessage, IconAddress,
};
use std::collections::BTreeMap;

/// The coin this chain moves natively.
pub const ICX: &str = "ICX";
const FEE_DENOMINATOR: u128 = 10_000;

/// Why an ICON-side call failed (what a SCORE would revert with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IconError {
    InsufficientBalance,
    /// The value does not exceed the fee.
    ValueTooSmall,
    /// No link reaches the destination network.
    Unreachable,
    NothingToReclaim,
    Overflow,
    /// A relayed message is not the next in sequence or is malformed.
    InvalidRelayMessage(&'static str),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    pub tx_seq: i128,
    pub rx_seq: i128,
}

/// A transfer request waiting for its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub from: IconAddress,
    pub to: BtpAddress,
    pub coin: String,
    pub amount: u128,
    pub fee: u128,
}

/// ICON's BMC and native-coin service, with the ICX ledger they act on.
#[derive(Debug, Clone)]
pub struct IconBtp {
    network: String,
    pub bmc: IconAddress,
    pub bsh: IconAddress,
    fee_ratio: u128,
    fixed_fee: u128,
    balances: BTreeMap<IconAddress, u128>,
    /// Coins of other chains held on ICON: (coin, owner) → amount.
    wrapped: BTreeMap<(String, IconAddress), u128>,
    /// ICX the service holds for transfers in flight.
    escrow: u128,
    /// ICX that left for the parachain: it backs the wrapped ICX there.
    locked: u128,
    fees: u128,
    refundable: BTreeMap<IconAddress, u128>,
    links: BTreeMap<BtpAddress, LinkStatus>,
    next_sn: i128,
    pending: BTreeMap<i128, Pending>,
}

fn event(address: IconAddress, signature: &str, indexed: Vec<Vec<u8>>, data: Vec<Vec<u8>>) -> EventLog {
    let mut all = vec![signature.as_bytes().to_vec()];
    all.extend(indexed);
    EventLog { address, indexed: all, data }
}

fn int(v: u128) -> Vec<u8> {
    btp_primitives::rlp::unsigned_bytes(v)
}

impl IconBtp {
    /// A BMC and native-coin service on `network`, charging `fee_ratio`/10 000 of a transfer plus `fixed_fee`.
    pub fn new(network: &str, bmc: IconAddress, bsh: IconAddress, fee_ratio: u128, fixed_fee: u128) -> Self {
        Self {
            network: network.into(),
            bmc,
            bsh,
            fee_ratio,
            fixed_fee,
            balances: BTreeMap::new(),
            wrapped: BTreeMap::new(),
            escrow: 0,
            locked: 0,
            fees: 0,
            refundable: BTreeMap::new(),
            links: BTreeMap::new(),
            next_sn: 1,
            pending: BTreeMap::new(),
        }
    }

    /// This BMC's BTP address.
    pub fn bmc_address(&self) -> BtpAddress {
        BtpAddress::new(&self.network, &self.bmc.to_string()).expect("a network address and a cx address form a BTP address")
    }

    /// Connects the BMC of another chain.
    pub fn add_link(&mut self, peer: BtpAddress) {
        self.links.entry(peer).or_default();
    }

    pub fn link_status(&self, peer: &BtpAddress) -> Option<LinkStatus> {
        self.links.get(peer).cloned()
    }

    /// Every link's sequence numbers.
    pub fn links(&self) -> &BTreeMap<BtpAddress, LinkStatus> {
        &self.links
    }

    /// Credits ICX (genesis funds of test users).
    pub fn mint(&mut self, account: IconAddress, amount: u128) {
        *self.balances.entry(account).or_default() += amount;
    }

    pub fn balance(&self, account: &IconAddress) -> u128 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    pub fn wrapped_balance(&self, coin: &str, account: &IconAddress) -> u128 {
        self.wrapped.get(&(coin.to_string(), *account)).copied().unwrap_or(0)
    }

    pub fn refundable(&self, account: &IconAddress) -> u128 {
        self.refundable.get(account).copied().unwrap_or(0)
    }

    /// (in flight, locked behind wrapped ICX, accumulated fees)
    pub fn holdings(&self) -> (u128, u128, u128) {
        (self.escrow, self.locked, self.fees)
    }

    /// What `owner` has in transfers still waiting for their response (value and fee), as the Java service's
    /// `locked` balance.
    pub fn locked_of(&self, owner: &IconAddress) -> u128 {
        self.pending.values().filter(|p| p.from == *owner).map(|p| p.amount + p.fee).sum()
    }

    pub fn pending(&self, sn: i128) -> Option<&Pending> {
        self.pending.get(&sn)
    }

    /// The fee for transferring `value`.
    pub fn fee(&self, value: u128) -> Result<u128, IconError> {
        value.checked_mul(self.fee_ratio).map(|v| v / FEE_DENOMINATOR).and_then(|v| v.checked_add(self.fixed_fee)).ok_or(IconError::Overflow)
    }

    fn link_to(&self, network: &str) -> Result<BtpAddress, IconError> {
        self.links.keys().find(|l| l.network() == network).cloned().ok_or(IconError::Unreachable)
    }

    /// The BMC emits `msg` toward `peer` with the link's next sequence number.
    fn send(&mut self, peer: &BtpAddress, svc: &str, sn: i128, payload: Vec<u8>) -> EventLog {
        let src = self.bmc_address();
        let link = self.links.entry(peer.clone()).or_default();
        link.tx_seq += 1;
        let msg = BtpMessage { src, dst: peer.clone(), svc: svc.into(), sn, payload };
        EventLog::bmc_message(self.bmc, peer.as_str(), link.tx_seq, msg.encode())
    }

    /// `transferNativeCoin(_to)` with `value` ICX from `from`: the fee is charged, the rest travels, and the
    /// whole value waits in the service until the parachain answers.
    pub fn transfer_native_coin(&mut self, from: IconAddress, value: u128, to: &BtpAddress) -> Result<Vec<EventLog>, IconError> {
        let peer = self.link_to(to.network())?;
        let fee = self.fee(value)?;
        let amount = value.checked_sub(fee).filter(|a| *a > 0).ok_or(IconError::ValueTooSmall)?;
        let balance = self.balances.entry(from).or_default();
        *balance = balance.checked_sub(value).ok_or(IconError::InsufficientBalance)?;
        self.escrow += value;
        let sn = self.next_sn;
        self.next_sn += 1;
        self.pending.insert(sn, Pending { from, to: to.clone(), coin: ICX.into(), amount, fee });
        let request = ServiceMessage::TransferRequest(TransferRequest {
            from: from.to_string(),
            to: to.account().into(),
            assets: vec![Asset { coin_name: ICX.into(), value: amount }],
        });
        let details = ListBuilder::new().raw(&ListBuilder::new().str(ICX).uint(amount).uint(fee).finish()).finish();
        let start =
            event(self.bsh, "TransferStart(Address,str,int,bytes)", vec![from.0.to_vec()], vec![to.as_str().as_bytes().to_vec(), int(sn as u128), details]);
        Ok(vec![start, self.send(&peer, SERVICE, sn, request.encode())])
    }

    /// A plain ICX transfer between accounts.
    pub fn transfer(&mut self, from: IconAddress, to: IconAddress, value: u128) -> Result<(), IconError> {
        let balance = self.balances.entry(from).or_default();
        *balance = balance.checked_sub(value).ok_or(IconError::InsufficientBalance)?;
        *self.balances.entry(to).or_default() += value;
        Ok(())
    }

    /// `reclaim(_coinName, _value)`: pays out what failed transfers left refundable.
    pub fn reclaim(&mut self, account: IconAddress, value: u128) -> Result<(), IconError> {
        let refundable = self.refundable.entry(account).or_default();
        *refundable = refundable.checked_sub(value).ok_or(IconError::NothingToReclaim)?;
        *self.balances.entry(account).or_default() += value;
        Ok(())
    }

    /// `handleRelayMessage(_prev, _msg)` from the relay of the link to `prev`: `msg` is `[[seq, btp message], …]`.
    pub fn handle_relay_message(&mut self, prev: &BtpAddress, msg: &[u8]) -> Result<Vec<EventLog>, IconError> {
        const BAD: IconError = IconError::InvalidRelayMessage("not [[seq, message], …]");
        let items = Rlp::new(msg).and_then(|r| r.items()).map_err(|_| BAD)?;
        let mut rx = self.links.get(prev).ok_or(IconError::Unreachable)?.rx_seq;
        let mut events = Vec::new();
        for item in items {
            let [seq, bytes] = item.fixed().map_err(|_| BAD)?;
            rx += 1;
            if seq.i128().map_err(|_| BAD)? != rx {
                return Err(IconError::InvalidRelayMessage("sequence is not the next"));
            }
            // A message that cannot be decoded is passed over, as ICON's BMC does.
            if let Ok(message) = BtpMessage::decode(bytes.bytes().map_err(|_| BAD)?) {
                events.extend(self.handle_btp_message(prev, &message));
            }
        }
        if let Some(link) = self.links.get_mut(prev) {
            link.rx_seq = rx;
        }
        Ok(events)
    }

    fn handle_btp_message(&mut self, prev: &BtpAddress, message: &BtpMessage) -> Vec<EventLog> {
        // The peer BMC's own messages (Init, Link, …) tell ICON's BMC about routes this stand-in does not keep.
        if message.svc == btp_primitives::bmc::BMC_SERVICE && message.src == *prev {
            return Vec::new();
        }
        if message.svc != SERVICE || message.dst != self.bmc_address() {
            let error = ErrorMessage::new(16, "NotExistsBSH or not for this BMC");
            return vec![self.send(prev, &message.svc, message.sn.saturating_neg(), error.encode())];
        }
        if message.sn < 0 {
            // A BTP error reply to our request: everything it held becomes refundable.
            return self.finish(message.sn.saturating_neg(), RC_ERR, "BTP error");
        }
        match ServiceMessage::decode(&message.payload) {
            Ok(ServiceMessage::Response(TransferResponse { code, message: text })) => self.finish(message.sn, code, &text),
            Ok(ServiceMessage::UnknownTypeResponse(_)) => Vec::new(),
            Ok(ServiceMessage::TransferRequest(request)) => {
                let (code, text) = match self.receive(&request) {
                    Ok(()) => (RC_OK, "Transfer Success"),
                    Err(e) => (RC_ERR, e),
                };
                let response = ServiceMessage::Response(TransferResponse { code, message: text.into() });
                vec![self.send(&message.src, SERVICE, message.sn, response.encode())]
            }
            Err(_) => {
                let response = ServiceMessage::UnknownTypeResponse(TransferResponse { code: RC_ERR, message: "UNKNOWN_TYPE".into() });
                vec![self.send(&message.src, SERVICE, message.sn, response.encode())]
            }
        }
    }

    /// A transfer toward ICON: ICX is released from what backed the wrapped ICX; other coins are credited as
    /// wrapped tokens. All or nothing.
    fn receive(&mut self, request: &TransferRequest) -> Result<(), &'static str> {
        let to = IconAddress::parse(&request.to).map_err(|_| "invalid address")?;
        let icx: u128 = request.assets.iter().filter(|a| a.coin_name == ICX).map(|a| a.value).sum();
        if icx > self.locked {
            return Err("more ICX than is locked");
        }
        if request.assets.iter().any(|a| a.value == 0) {
            return Err("zero value");
        }
        self.locked -= icx;
        for asset in &request.assets {
            if asset.coin_name == ICX {
                *self.balances.entry(to).or_default() += asset.value;
            } else {
                *self.wrapped.entry((asset.coin_name.clone(), to)).or_default() += asset.value;
            }
        }
        Ok(())
    }

    /// The answer to our request `sn` arrived: success keeps the amount locked and takes the fee; failure makes
    /// amount and fee refundable.
    fn finish(&mut self, sn: i128, code: u32, text: &str) -> Vec<EventLog> {
        let Some(p) = self.pending.remove(&sn) else { return Vec::new() };
        let total = p.amount + p.fee;
        self.escrow -= total;
        if code == RC_OK {
            self.locked += p.amount;
            self.fees += p.fee;
        } else {
            *self.refundable.entry(p.from).or_default() += total;
        }
        vec![event(self.bsh, "TransferEnd(Address,int,int,bytes)", vec![p.from.0.to_vec()], vec![int(sn as u128), int(code.into()), text.as_bytes().to_vec()])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use btp_primitives::bmc::relay_message_to_icon;
    use icon_light_client::receipt::EventLog as Decoded;

    fn setup() -> (IconBtp, IconAddress, BtpAddress, BtpAddress) {
        let bmc = IconAddress::parse("cx0000000000000000000000000000000000000001").unwrap();
        let bsh = IconAddress::parse("cx0000000000000000000000000000000000000002").unwrap();
        let mut btp = IconBtp::new("0x3.icon", bmc, bsh, 0, 1_000_000_000_000_000_000);
        let para_bmc = BtpAddress::parse("btp://0x501.pra/0x00aa").unwrap();
        btp.add_link(para_bmc.clone());
        let bob = IconAddress::parse("hx00000000000000000000000000000000000000b0").unwrap();
        btp.mint(bob, 1_000 * 10u128.pow(18));
        (btp, bob, para_bmc, BtpAddress::parse("btp://0x501.pra/0x0b0b").unwrap())
    }

    fn sent(events: &[EventLog]) -> BtpMessage {
        let bytes = events.last().unwrap().encode();
        let log = Decoded::decode(&bytes).unwrap();
        BtpMessage::decode(log.message().unwrap().unwrap().msg).unwrap()
    }

    #[test]
    fn bob_sends_100_icx_pays_1_and_99_travel() {
        let (mut btp, bob, para_bmc, to) = setup();
        let icx = 10u128.pow(18);
        let events = btp.transfer_native_coin(bob, 100 * icx, &to).unwrap();
        assert_eq!(btp.balance(&bob), 900 * icx);
        let msg = sent(&events);
        assert_eq!((msg.dst.clone(), msg.sn), (para_bmc.clone(), 1));
        let ServiceMessage::TransferRequest(r) = ServiceMessage::decode(&msg.payload).unwrap() else { panic!() };
        assert_eq!((r.to.as_str(), r.assets[0].value), ("0x0b0b", 99 * icx));
        assert_eq!(btp.holdings(), (100 * icx, 0, 0));
        // The parachain answers OK: 99 stay locked behind wrapped ICX, 1 is the fee.
        let ok = BtpMessage {
            src: para_bmc.clone(),
            dst: btp.bmc_address(),
            svc: SERVICE.into(),
            sn: 1,
            payload: ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode(),
        };
        btp.handle_relay_message(&para_bmc, &relay_message_to_icon([(1, &ok.encode()[..])])).unwrap();
        assert_eq!(btp.holdings(), (0, 99 * icx, icx));
        // Out of sequence is refused.
        assert!(btp.handle_relay_message(&para_bmc, &relay_message_to_icon([(1, &ok.encode()[..])])).is_err());
    }

    #[test]
    fn failure_refunds_amount_and_fee() {
        let (mut btp, bob, para_bmc, to) = setup();
        btp.transfer_native_coin(bob, 10u128.pow(19), &to).unwrap();
        let err = BtpMessage { src: para_bmc.clone(), dst: btp.bmc_address(), svc: SERVICE.into(), sn: -1, payload: ErrorMessage::new(40, "bad").encode() };
        btp.handle_relay_message(&para_bmc, &relay_message_to_icon([(1, &err.encode()[..])])).unwrap();
        assert_eq!(btp.refundable(&bob), 10u128.pow(19));
        btp.reclaim(bob, 10u128.pow(19)).unwrap();
        assert_eq!(btp.balance(&bob), 1_000 * 10u128.pow(18));
        assert_eq!(btp.transfer_native_coin(bob, 10u128.pow(18), &to), Err(IconError::ValueTooSmall));
    }

    #[test]
    fn transfers_back_release_icx_and_credit_other_coins() {
        let (mut btp, bob, para_bmc, to) = setup();
        let icx = 10u128.pow(18);
        btp.transfer_native_coin(bob, 100 * icx, &to).unwrap();
        let ok = BtpMessage {
            src: para_bmc.clone(),
            dst: btp.bmc_address(),
            svc: SERVICE.into(),
            sn: 1,
            payload: ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode(),
        };
        let request = |sn, coin: &str, value| BtpMessage {
            src: para_bmc.clone(),
            dst: btp.bmc_address(),
            svc: SERVICE.into(),
            sn,
            payload: ServiceMessage::TransferRequest(TransferRequest {
                from: "0x0b0b".into(),
                to: bob.to_string(),
                assets: vec![Asset { coin_name: coin.into(), value }],
            })
            .encode(),
        };
        let back = request(7, ICX, 50 * icx);
        let dot = request(8, "DOT", 5);
        let too_much = request(9, ICX, 500 * icx);
        let events = btp
            .handle_relay_message(
                &para_bmc,
                &relay_message_to_icon([(1, &ok.encode()[..]), (2, &back.encode()[..]), (3, &dot.encode()[..]), (4, &too_much.encode()[..])]),
            )
            .unwrap();
        assert_eq!(btp.balance(&bob), 950 * icx);
        assert_eq!(btp.wrapped_balance("DOT", &bob), 5);
        let ServiceMessage::Response(r) = ServiceMessage::decode(&sent(&events).payload).unwrap() else { panic!() };
        assert_eq!(r.code, RC_ERR, "more than was locked is refused");
        assert_eq!(btp.holdings(), (0, 49 * icx, icx));
    }
}
