//! The native-coin service's bookkeeping as plain Rust over a key → amount store: the contract keeps the store
//! in one `Mapping`, the unit and property tests in a `BTreeMap`. Everything that moves value goes through
//! [`Books`], so the conservation rules tested here are the ones the contract runs.
//!
//! Amounts per coin:
//! * `Locked(owner, coin)`: sent by `owner`, waiting for the peer's response;
//! * `Refundable(owner, coin)`: a failed transfer's amount, paid out by `reclaim`. Its fee is kept, as ICON's
//!   token service does: failing transfers would otherwise be free spam that the relays pay for on both chains;
//! * `Fees(coin)`: fees of transfers, until fee gathering sends them to the aggregator;
//! * `Backing(coin, network)`: the coin's value held on the other side of the bridge, per network. For a wrapped
//!   coin that is what `network` locked for the wrapped coins minted here (less what is on its way back to it);
//!   for the native coin it is what went out to `network` and has not come back, which this service holds. A
//!   network can release native coin only up to its own backing, and wrapped coins go back only to a network
//!   that backs them, so not even a compromised peer can pay out coins another network or other users hold;
//! * `Balance(owner, token)`: wrapped-coin balances (the multi-token ledger).
//!
//! Wrapped coins in flight sit in the service's own balance (`custody`): a transfer moves them there and locks
//! them, reserving their backing on the destination network; success burns the amount and leaves the fee there as
//! `Fees`; failure makes the amount refundable and gives the backing back.

use alloc::{string::String, vec::Vec};
use ink::primitives::AccountId;

/// A wrapped coin's token id: Keccak-256 of its name, as the Solidity ERC1155 BSH derives it. The native coin,
/// which is not a token here, has id 0.
pub type TokenId = [u8; 32];

pub const NATIVE_ID: TokenId = [0; 32];

/// The most coins one transfer request may carry, either way (ICON's token service allows 15).
pub const MAX_ASSETS: usize = 15;

pub fn token_id(name: &str) -> TokenId {
    let mut id = [0; 32];
    ink::env::hash_bytes::<ink::env::hash::Keccak256>(name.as_bytes(), &mut id);
    id
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Key {
    Locked(AccountId, String),
    Refundable(AccountId, String),
    Fees(String),
    /// (coin, network)
    Backing(String, String),
    Balance(AccountId, TokenId),
}

/// Amounts by key; a missing key is zero.
pub trait Store {
    fn get(&self, key: &Key) -> u128;
    fn set(&mut self, key: &Key, value: u128);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerError {
    /// An amount would go below zero.
    Insufficient,
    Overflow,
}

/// A coin's fee: `value × ratio / 10 000 + fixed`, at least 1 when the ratio is not 0 (ICON's Java service), so
/// that no transfer with a fee ratio is free.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct FeeRule {
    pub ratio: u32,
    pub fixed: u128,
}

impl FeeRule {
    pub const DENOMINATOR: u32 = 10_000;

    /// A ratio of 100 % or more would take everything.
    pub fn is_valid(&self) -> bool {
        self.ratio < Self::DENOMINATOR
    }

    /// The fee of sending `value`, or `None` when the value does not exceed it.
    pub fn fee(&self, value: u128) -> Option<u128> {
        let (ratio, denominator) = (u128::from(self.ratio), u128::from(Self::DENOMINATOR));
        // floor(value × ratio / d) without overflowing: value = q·d + r.
        let (q, r) = (value.checked_div(denominator)?, value.checked_rem(denominator)?);
        let proportional = q.checked_mul(ratio)?.checked_add(r.checked_mul(ratio)?.checked_div(denominator)?)?;
        let fee = proportional.checked_add(self.fixed)?;
        let fee = if ratio > 0 { fee.max(1) } else { fee };
        (value > fee).then_some(fee)
    }
}

/// One coin of a transfer: `amount` crosses the bridge, `fee` stays here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct AssetTransfer {
    pub coin: String,
    pub amount: u128,
    pub fee: u128,
}

impl AssetTransfer {
    pub fn value(&self) -> Result<u128, LedgerError> {
        self.amount.checked_add(self.fee).ok_or(LedgerError::Overflow)
    }
}

/// A transfer request waiting for its response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Pending {
    pub from: AccountId,
    /// The destination BTP address.
    pub to: String,
    /// The destination network: only it answers the request.
    pub network: String,
    pub assets: Vec<AssetTransfer>,
}

/// The bookkeeping operations over a store. `custody` is the service's own account; `native` the native coin's
/// name.
pub struct Books<'a, S> {
    pub store: &'a mut S,
    pub native: &'a str,
    pub custody: AccountId,
}

impl<S: Store> Books<'_, S> {
    pub fn add(&mut self, key: &Key, value: u128) -> Result<(), LedgerError> {
        let total = self.store.get(key).checked_add(value).ok_or(LedgerError::Overflow)?;
        self.store.set(key, total);
        Ok(())
    }

    pub fn sub(&mut self, key: &Key, value: u128) -> Result<(), LedgerError> {
        let rest = self.store.get(key).checked_sub(value).ok_or(LedgerError::Insufficient)?;
        self.store.set(key, rest);
        Ok(())
    }

    fn is_native(&self, coin: &str) -> bool {
        coin == self.native
    }

    /// Moves wrapped tokens between accounts.
    pub fn move_tokens(&mut self, from: AccountId, to: AccountId, id: TokenId, value: u128) -> Result<(), LedgerError> {
        self.sub(&Key::Balance(from, id), value)?;
        self.add(&Key::Balance(to, id), value)
    }

    /// Mints `value` of the wrapped coin `coin` to `to`: `network` locked as much.
    pub fn mint(&mut self, to: AccountId, coin: &str, network: &str, value: u128) -> Result<(), LedgerError> {
        self.add(&Key::Balance(to, token_id(coin)), value)?;
        self.add(&Key::Backing(coin.into(), network.into()), value)
    }

    /// Releases `value` of the native coin that came back from `network`; the contract pays it out.
    pub fn release_native(&mut self, network: &str, value: u128) -> Result<(), LedgerError> {
        self.sub(&Key::Backing(self.native.into(), network.into()), value)
    }

    /// Locks what `from` sends to `network`. Wrapped coins move into custody first and reserve their backing
    /// there (a network can only give back what it holds); native coin arrived with the call.
    pub fn lock(&mut self, from: AccountId, network: &str, assets: &[AssetTransfer]) -> Result<(), LedgerError> {
        for asset in assets {
            let value = asset.value()?;
            if !self.is_native(&asset.coin) {
                self.sub(&Key::Backing(asset.coin.clone(), network.into()), asset.amount)?;
                self.move_tokens(from, self.custody, token_id(&asset.coin), value)?;
            }
            self.add(&Key::Locked(from, asset.coin.clone()), value)?;
        }
        Ok(())
    }

    /// The peer answered `pending`. Success: fees join the pool, wrapped amounts are burned (the peer released
    /// them), native amounts become the destination network's backing. Failure: the amount is refundable to the
    /// sender and the fee joins the pool, or all of it goes back to the pool when the sender was this service
    /// (fee gathering); wrapped amounts get their backing back.
    pub fn settle(&mut self, pending: &Pending, success: bool) -> Result<(), LedgerError> {
        for asset in &pending.assets {
            self.sub(&Key::Locked(pending.from, asset.coin.clone()), asset.value()?)?;
            self.add(&Key::Fees(asset.coin.clone()), asset.fee)?;
            let backing = Key::Backing(asset.coin.clone(), pending.network.clone());
            if !success {
                let back = if pending.from == self.custody { Key::Fees(asset.coin.clone()) } else { Key::Refundable(pending.from, asset.coin.clone()) };
                self.add(&back, asset.amount)?;
                if !self.is_native(&asset.coin) {
                    self.add(&backing, asset.amount)?;
                }
                continue;
            }
            if self.is_native(&asset.coin) {
                self.add(&backing, asset.amount)?;
            } else {
                self.sub(&Key::Balance(self.custody, token_id(&asset.coin)), asset.amount)?;
            }
        }
        Ok(())
    }

    /// A transfer locked and never sent (the governor delayed it, an owner cancelled it) ends: all of it, fee
    /// included, becomes refundable, as nobody relayed anything and the sender did nothing wrong; wrapped coins
    /// get their backing back.
    pub fn unlock(&mut self, pending: &Pending) -> Result<(), LedgerError> {
        for asset in &pending.assets {
            let value = asset.value()?;
            self.sub(&Key::Locked(pending.from, asset.coin.clone()), value)?;
            self.add(&Key::Refundable(pending.from, asset.coin.clone()), value)?;
            if !self.is_native(&asset.coin) {
                self.add(&Key::Backing(asset.coin.clone(), pending.network.clone()), asset.amount)?;
            }
        }
        Ok(())
    }

    /// Pays `value` of `owner`'s refundable `coin` back: wrapped coins leave custody here; the native coin is
    /// paid by the caller.
    pub fn reclaim(&mut self, owner: AccountId, coin: &str, value: u128) -> Result<(), LedgerError> {
        self.sub(&Key::Refundable(owner, coin.into()), value)?;
        if !self.is_native(coin) {
            self.move_tokens(self.custody, owner, token_id(coin), value)?;
        }
        Ok(())
    }

    /// Empties the fee pool of `coins`: the non-zero fees taken.
    pub fn take_fees(&mut self, coins: &[String]) -> Vec<(String, u128)> {
        let mut taken = Vec::new();
        for coin in coins {
            let key = Key::Fees(coin.clone());
            let fee = self.store.get(&key);
            if fee > 0 {
                self.store.set(&key, 0);
                taken.push((coin.clone(), fee));
            }
        }
        taken
    }

    /// Fees handed to an aggregator on this chain: wrapped ones leave custody here; native ones are paid by the
    /// caller.
    pub fn pay_fees_locally(&mut self, to: AccountId, fees: &[(String, u128)]) -> Result<(), LedgerError> {
        for (coin, fee) in fees {
            if !self.is_native(coin) {
                self.move_tokens(self.custody, to, token_id(coin), *fee)?;
            }
        }
        Ok(())
    }
}

/// The parachain account a transfer request's `to` names: `0x` and the account's 32 bytes in hex (the form the
/// BMC uses in its own BTP address).
pub fn parse_account(text: &str) -> Option<AccountId> {
    let hex = text.strip_prefix("0x")?;
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let pair = hex.get(i.checked_mul(2)?..i.checked_mul(2)?.checked_add(2)?)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(AccountId::from(bytes))
}

/// An account of this chain as people write it: `0x` and 64 hex digits, or SS58 (any network prefix), as
/// wallets and explorers show it. SS58's checksum is the first two bytes of Blake2b-512 over `"SS58PRE"`, the
/// prefix and the key.
pub fn parse_local_account(text: &str) -> Option<AccountId> {
    if let Some(account) = parse_account(text) {
        return Some(account);
    }
    use blake2::{Blake2b512, Digest};
    let bytes = bs58::decode(text).into_vec().ok()?;
    // The prefix takes one byte below 64, two from 64 to 127; the key 32 and the checksum 2 more.
    let body_len = match bytes.first()? {
        0..=63 => 33,
        64..=127 => 34,
        _ => return None,
    };
    let (body, checksum) = bytes.split_last_chunk::<2>()?;
    if body.len() != body_len {
        return None;
    }
    let hash = Blake2b512::new().chain_update(b"SS58PRE").chain_update(body).finalize();
    if hash.get(..2)? != checksum.as_slice() {
        return None;
    }
    body.last_chunk::<32>().map(|key| AccountId::from(*key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rails::{govern, CoinLimits, Direction, Flow, GovernorSettings};
    use alloc::collections::BTreeMap;
    use proptest::prelude::*;

    #[derive(Default, Clone)]
    struct Memory(BTreeMap<Key, u128>);

    impl Store for Memory {
        fn get(&self, key: &Key) -> u128 {
            self.0.get(key).copied().unwrap_or(0)
        }
        fn set(&mut self, key: &Key, value: u128) {
            self.0.insert(key.clone(), value);
        }
    }

    const NATIVE: &str = "DOT";
    const ICX: &str = "ICX";
    const ICON: &str = "0x3.icon";
    const ETH: &str = "0x5.eth";
    const NETWORKS: [&str; 2] = [ICON, ETH];
    const CUSTODY: AccountId = AccountId([0xee; 32]);

    fn user(i: u8) -> AccountId {
        AccountId::from([i; 32])
    }

    fn books(store: &mut Memory) -> Books<'_, Memory> {
        Books { store, native: NATIVE, custody: CUSTODY }
    }

    fn pending(from: AccountId, network: &str, coin: &str, amount: u128, fee: u128) -> Pending {
        Pending { from, to: alloc::format!("btp://{network}/hx01"), network: network.into(), assets: vec![AssetTransfer { coin: coin.into(), amount, fee }] }
    }

    #[test]
    fn fees_are_ratio_plus_fixed_and_must_leave_something() {
        let rule = FeeRule { ratio: 100, fixed: 5 };
        assert_eq!(rule.fee(1_000), Some(15));
        assert_eq!(rule.fee(5), None, "nothing would cross");
        assert_eq!(rule.fee(6), Some(5));
        assert_eq!(FeeRule { ratio: 9_999, fixed: 0 }.fee(u128::MAX), Some(u128::MAX / 10_000 * 9_999 + (u128::MAX % 10_000) * 9_999 / 10_000));
        assert_eq!(FeeRule { ratio: 0, fixed: u128::MAX }.fee(u128::MAX), None);
        assert!(!FeeRule { ratio: 10_000, fixed: 0 }.is_valid());
        assert!(FeeRule { ratio: 9_999, fixed: 0 }.is_valid());
    }

    #[test]
    fn a_fee_ratio_charges_at_least_one() {
        let rule = FeeRule { ratio: 10, fixed: 0 };
        assert_eq!(rule.fee(50), Some(1), "0.1 % of 50 rounds to 0: small transfers are not free");
        assert_eq!(rule.fee(1), None, "nothing would cross");
        assert_eq!(rule.fee(20_000), Some(20));
        assert_eq!(FeeRule { ratio: 0, fixed: 0 }.fee(50), Some(0), "a coin without fees stays free");
    }

    #[test]
    fn token_ids_are_the_keccak_of_the_name() {
        use sha3::Digest;
        assert_eq!(token_id("ICX"), <[u8; 32]>::from(sha3::Keccak256::digest(b"ICX")));
        assert_ne!(token_id("ICX"), token_id("ETH"));
        assert_ne!(token_id("ICX"), NATIVE_ID);
    }

    #[test]
    fn accounts_parse_from_hex_only() {
        let hex = format!("0x{}", "ab".repeat(32));
        assert_eq!(parse_account(&hex), Some(AccountId::from([0xab; 32])));
        assert_eq!(parse_account(&hex[2..]), None);
        assert_eq!(parse_account(&format!("0x{}", "ab".repeat(31))), None);
        assert_eq!(parse_account(&format!("0x{}zz", "ab".repeat(31))), None);
        assert_eq!(parse_account("hx0000000000000000000000000000000000000001"), None);
        assert_eq!(parse_account(&format!("0x{}é", "a".repeat(62))), None, "multi-byte text never panics");
    }

    #[test]
    fn fee_kept_on_failed_transfer() {
        let mut store = Memory::default();
        let mut b = books(&mut store);
        b.mint(user(1), ICX, ICON, 100).unwrap();
        let request = pending(user(1), ICON, ICX, 49, 1);
        b.lock(user(1), ICON, &request.assets).unwrap();
        assert_eq!(b.store.get(&Key::Balance(user(1), token_id(ICX))), 50);
        b.settle(&request, false).unwrap();
        assert_eq!(b.store.get(&Key::Refundable(user(1), ICX.into())), 49, "the amount comes back");
        assert_eq!(b.store.get(&Key::Fees(ICX.into())), 1, "the fee paid for the relays' work");
        assert_eq!(b.store.get(&Key::Backing(ICX.into(), ICON.into())), 100, "ICON still backs all of it");
        assert_eq!(b.reclaim(user(1), ICX, 50), Err(LedgerError::Insufficient));
        b.reclaim(user(1), ICX, 49).unwrap();
        assert_eq!(b.store.get(&Key::Balance(user(1), token_id(ICX))), 99);
        assert_eq!(b.settle(&request, true), Err(LedgerError::Insufficient), "settled once only");
    }

    #[test]
    fn backing_is_per_network() {
        let mut store = Memory::default();
        let mut b = books(&mut store);
        // 90 DOT went to ICON; Ethereum never received any.
        let to_icon = pending(user(1), ICON, NATIVE, 90, 10);
        b.lock(user(1), ICON, &to_icon.assets).unwrap();
        assert_eq!(b.release_native(ICON, 1), Err(LedgerError::Insufficient), "locked coins are not backing");
        b.settle(&to_icon, true).unwrap();
        assert_eq!(b.release_native(ETH, 1), Err(LedgerError::Insufficient), "Ethereum cannot release what backs ICON's wrapped DOT");
        assert_eq!(b.release_native(ICON, 91), Err(LedgerError::Insufficient));
        b.release_native(ICON, 90).unwrap();
        // Wrapped ICX minted for ICON's lock goes back to ICON only.
        b.mint(user(2), ICX, ICON, 30).unwrap();
        assert_eq!(b.lock(user(2), ETH, &pending(user(2), ETH, ICX, 10, 0).assets), Err(LedgerError::Insufficient), "Ethereum backs none of it");
        b.lock(user(2), ICON, &pending(user(2), ICON, ICX, 30, 0).assets).unwrap();
        assert_eq!(b.store.get(&Key::Backing(ICX.into(), ICON.into())), 0, "reserved while in flight");
    }

    /// One step of a random history. Transfers both ways go through the governor of [`GOVERNOR`] and [`LIMITS`]:
    /// a large one, or one over the window's limit, waits in the queue.
    #[derive(Debug, Clone)]
    enum Step {
        /// A user sends native coin (value) or ICX to a network.
        SendNative(u8, u128, usize),
        SendIcx(u8, u128, usize),
        /// Blocks pass.
        Wait(u32),
        /// Anyone releases the n-th oldest delayed transfer (out or in), if it is due.
        Release(usize, bool),
        /// An owner cancels the n-th oldest delayed transfer (out or in).
        Cancel(usize, bool),
        /// The destination answers the n-th oldest pending request.
        Answer(usize, bool),
        /// A network sends ICX (it locked it) to a user, or native coin back (paid out by the contract).
        ReceiveIcx(u8, u128, usize),
        ReceiveNative(u128, usize),
        Reclaim(u8, bool, u128),
        /// Users trade wrapped ICX.
        Trade(u8, u8, u128),
        /// Fees go to an aggregator here (true) or over the bridge to ICON.
        GatherFees(bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        let u = 1u8..4;
        let v = 0u128..1_000;
        let n = 0usize..NETWORKS.len();
        prop_oneof![
            (u.clone(), v.clone(), n.clone()).prop_map(|(a, v, n)| Step::SendNative(a, v, n)),
            (u.clone(), v.clone(), n.clone()).prop_map(|(a, v, n)| Step::SendIcx(a, v, n)),
            (0usize..8, any::<bool>()).prop_map(|(n, ok)| Step::Answer(n, ok)),
            (u.clone(), v.clone(), n.clone()).prop_map(|(a, v, n)| Step::ReceiveIcx(a, v, n)),
            (v.clone(), n).prop_map(|(v, n)| Step::ReceiveNative(v, n)),
            (u.clone(), any::<bool>(), v.clone()).prop_map(|(a, n, v)| Step::Reclaim(a, n, v)),
            (u.clone(), u, v).prop_map(|(a, b, v)| Step::Trade(a, b, v)),
            any::<bool>().prop_map(Step::GatherFees),
            (0u32..40).prop_map(Step::Wait),
            (0usize..8, any::<bool>()).prop_map(|(n, out)| Step::Release(n, out)),
            (0usize..8, any::<bool>()).prop_map(|(n, out)| Step::Cancel(n, out)),
        ]
    }

    const GOVERNOR: GovernorSettings = GovernorSettings { window: 48, delay: 5 };
    const LIMITS: CoinLimits = CoinLimits { max_out: 0, max_in: 0, window_limit: 1_500, large: 600 };

    /// A transfer from a network the governor holds back: (user, value, network, ICX rather than native coin).
    type DelayedIn = (u8, u128, usize, bool);

    /// What the world outside the books knows.
    #[derive(Default)]
    struct World {
        /// Native coin users put in, and what the service paid out (reclaims, releases, local fee payouts).
        native_in: u128,
        native_out: u128,
        /// Per network: what it holds locked for wrapped ICX here, and what it holds of our native coin as wrapped.
        peer_icx_locked: [u128; 2],
        peer_native_wrapped: [u128; 2],
        pending: Vec<Pending>,
        /// The governor's queue, with each transfer's due block.
        delayed_out: Vec<(u32, Pending)>,
        delayed_in: Vec<(u32, DelayedIn)>,
        now: u32,
        /// Per coin (native, ICX) and direction (out, in).
        flows: [[Flow; 2]; 2],
    }

    impl World {
        /// Whether the governor holds back `value` of a coin crossing in a direction; what it lets through is
        /// counted.
        fn governed(&mut self, icx: bool, direction: Direction, value: u128) -> bool {
            let flow = &mut self.flows[usize::from(icx)][usize::from(direction == Direction::In)];
            let mut coin = [(LIMITS, core::mem::take(flow), value)];
            let wait = govern(&GOVERNOR, self.now, &mut coin);
            *flow = core::mem::take(&mut coin[0].1);
            wait
        }

        /// Takes the n-th oldest of a queue if it is due.
        fn due<T>(queue: &mut Vec<(u32, T)>, n: usize, now: u32) -> Option<T> {
            let at = n.checked_rem(queue.len())?;
            (queue[at].0 <= now).then(|| queue.remove(at).1)
        }
    }

    /// A network sends `value` of ICX (it locked it) or of native coin back (paid out by the contract, if the
    /// network's backing covers it).
    fn receive(b: &mut Books<'_, Memory>, world: &mut World, (who, value, net, icx): DelayedIn) -> bool {
        if icx {
            b.mint(user(who), ICX, NETWORKS[net], value).unwrap();
            world.peer_icx_locked[net] += value;
            return true;
        }
        if value > world.peer_native_wrapped[net] {
            assert_eq!(b.release_native(NETWORKS[net], value), Err(LedgerError::Insufficient));
            return false;
        }
        b.release_native(NETWORKS[net], value).unwrap();
        world.peer_native_wrapped[net] -= value;
        world.native_out += value;
        true
    }

    fn sum(store: &Memory, f: impl Fn(&Key) -> bool) -> u128 {
        store.0.iter().filter(|(k, _)| f(k)).map(|(_, v)| *v).sum()
    }

    fn net_index(network: &str) -> usize {
        NETWORKS.iter().position(|n| *n == network).unwrap()
    }

    fn apply(store: &mut Memory, world: &mut World, step: Step) {
        let rule = FeeRule { ratio: 100, fixed: 3 };
        // A failing contract call changes nothing.
        let before = store.clone();
        let mut b = books(store);
        match step {
            Step::SendNative(who, value, net) | Step::SendIcx(who, value, net) => {
                let native = matches!(step, Step::SendNative(..));
                let Some(fee) = rule.fee(value) else { return };
                let coin = if native { NATIVE } else { ICX };
                let request = pending(user(who), NETWORKS[net], coin, value - fee, fee);
                if b.lock(user(who), NETWORKS[net], &request.assets).is_ok() {
                    if native {
                        world.native_in += value;
                    }
                    if world.governed(!native, Direction::Out, value) {
                        world.delayed_out.push((world.now + GOVERNOR.delay, request));
                    } else {
                        world.pending.push(request);
                    }
                } else {
                    *store = before;
                }
            }
            Step::Wait(blocks) => world.now += blocks,
            Step::Release(n, true) => {
                if let Some(request) = World::due(&mut world.delayed_out, n, world.now) {
                    world.pending.push(request);
                }
            }
            Step::Release(n, false) => {
                if let Some(transfer) = World::due(&mut world.delayed_in, n, world.now) {
                    if !receive(&mut b, world, transfer) {
                        *store = before;
                    }
                }
            }
            Step::Cancel(n, true) => {
                if let Some(request) = World::due(&mut world.delayed_out, n, u32::MAX) {
                    b.unlock(&request).unwrap();
                }
            }
            Step::Cancel(n, false) => {
                World::due(&mut world.delayed_in, n, u32::MAX);
            }
            Step::Answer(n, ok) => {
                if world.pending.is_empty() {
                    return;
                }
                let request = world.pending.remove(n % world.pending.len());
                b.settle(&request, ok).unwrap();
                let net = net_index(&request.network);
                if ok {
                    for a in &request.assets {
                        if a.coin == ICX {
                            world.peer_icx_locked[net] -= a.amount;
                        } else {
                            world.peer_native_wrapped[net] += a.amount;
                        }
                    }
                }
            }
            Step::ReceiveIcx(..) | Step::ReceiveNative(..) => {
                let transfer = match step {
                    Step::ReceiveIcx(who, value, net) => (who, value, net, true),
                    Step::ReceiveNative(value, net) => (1, value, net, false),
                    _ => unreachable!(),
                };
                // As the contract: a request the backing cannot cover is refused before the governor counts it.
                let (_, value, net, icx) = transfer;
                if !icx && value > world.peer_native_wrapped[net] {
                    return;
                }
                if world.governed(icx, Direction::In, value) {
                    // Held back, nothing moves: the request is checked again and carried out when released.
                    world.delayed_in.push((world.now + GOVERNOR.delay, transfer));
                } else {
                    assert!(receive(&mut b, world, transfer), "covered");
                }
            }
            Step::Reclaim(who, native, value) => {
                let coin = if native { NATIVE } else { ICX };
                if b.reclaim(user(who), coin, value).is_ok() {
                    if native {
                        world.native_out += value;
                    }
                } else {
                    *store = before;
                }
            }
            Step::Trade(from, to, value) => {
                if b.move_tokens(user(from), user(to), token_id(ICX), value).is_err() {
                    *store = before;
                }
            }
            Step::GatherFees(local) => {
                let fees = b.take_fees(&[NATIVE.into(), ICX.into()]);
                if local {
                    b.pay_fees_locally(user(9), &fees).unwrap();
                    world.native_out += fees.iter().filter(|(c, _)| c == NATIVE).map(|(_, f)| *f).sum::<u128>();
                } else if !fees.is_empty() {
                    let assets: Vec<_> = fees.iter().map(|(coin, fee)| AssetTransfer { coin: coin.clone(), amount: *fee, fee: 0 }).collect();
                    if b.lock(CUSTODY, ICON, &assets).is_ok() {
                        world.pending.push(Pending { from: CUSTODY, to: "btp://0x3.icon/hx0fa".into(), network: ICON.into(), assets });
                    } else {
                        *store = before;
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn value_is_conserved(steps in proptest::collection::vec(step(), 1..60)) {
            let mut store = Memory::default();
            let mut world = World::default();
            for step in steps {
                apply(&mut store, &mut world, step);
                let icx = token_id(ICX);
                // Wrapped ICX: minted − burned equals what the networks locked for it, and all of it is held by someone.
                prop_assert_eq!(sum(&store, |k| matches!(k, Key::Balance(_, id) if *id == icx)), world.peer_icx_locked.iter().sum::<u128>());
                for (net, network) in NETWORKS.iter().enumerate() {
                    // Each network's backing is its lock less what is on its way back to it, or held back on the way.
                    let in_flight: u128 = world
                        .pending
                        .iter()
                        .chain(world.delayed_out.iter().map(|(_, p)| p))
                        .filter(|p| p.network == *network)
                        .flat_map(|p| &p.assets)
                        .filter(|a| a.coin == ICX)
                        .map(|a| a.amount)
                        .sum();
                    prop_assert_eq!(store.get(&Key::Backing(ICX.into(), (*network).into())) + in_flight, world.peer_icx_locked[net]);
                    prop_assert_eq!(store.get(&Key::Backing(NATIVE.into(), (*network).into())), world.peer_native_wrapped[net]);
                }
                // ICX in custody is exactly what is locked, refundable or fees.
                let in_custody = sum(&store, |k| matches!(k, Key::Locked(_, c) | Key::Refundable(_, c) if c == ICX)) + store.get(&Key::Fees(ICX.into()));
                prop_assert_eq!(store.get(&Key::Balance(CUSTODY, icx)), in_custody);
                // Native coin: what users put in = locked + refundable + fees + backing of what is out there + paid out.
                let held = sum(&store, |k| matches!(k, Key::Locked(_, c) | Key::Refundable(_, c) if c == NATIVE))
                    + store.get(&Key::Fees(NATIVE.into()))
                    + sum(&store, |k| matches!(k, Key::Backing(c, _) if c == NATIVE));
                prop_assert_eq!(held + world.native_out, world.native_in);
                // What the governor let through in any window stays within its limit.
                for flow in world.flows.iter().flatten() {
                    prop_assert!(flow.in_window(&GOVERNOR, world.now) <= LIMITS.window_limit);
                }
            }
        }
    }
}
