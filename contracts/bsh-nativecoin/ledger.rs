//! The native-coin service's bookkeeping as plain Rust over a key → amount store: the contract keeps the store
//! in one `Mapping`, the unit and property tests in a `BTreeMap`. Everything that moves value goes through
//! [`Books`], so the conservation rules tested here are the ones the contract runs.
//!
//! Amounts per coin:
//! * `Locked(owner, coin)`: sent by `owner`, waiting for the peer's response;
//! * `Refundable(owner, coin)`: a failed transfer's whole value (fee included: keeping the fee of a transfer
//!   that never happened is icon-bridge issue #229), paid out by `reclaim`;
//! * `Fees(coin)`: fees of completed transfers, until fee gathering sends them to the aggregator;
//! * `Outstanding(coin)`: the coin's value on the other side of the bridge. For a wrapped coin that is the
//!   wrapped supply here (minted − burned), backed by what the peer locked; for the native coin it is what was
//!   sent out and not yet come back, the coins this service holds as backing. A peer can release native coin
//!   only up to it, so not even a compromised peer can pay out other users' locked or refundable coins;
//! * `Balance(owner, token)`: wrapped-coin balances (the multi-token ledger).
//!
//! Wrapped coins in flight sit in the service's own balance (`custody`): a transfer moves them there and locks
//! them; success burns the amount and leaves the fee there as `Fees`; failure makes them refundable.

use alloc::{string::String, vec::Vec};
use ink::primitives::AccountId;

/// A wrapped coin's token id: Keccak-256 of its name, as the Solidity ERC1155 BSH derives it. The native coin,
/// which is not a token here, has id 0.
pub type TokenId = [u8; 32];

pub const NATIVE_ID: TokenId = [0; 32];

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
    Outstanding(String),
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

/// A coin's fee: `value × ratio / 10 000 + fixed`.
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

    /// Mints `value` of the wrapped coin `coin` to `to`: the peer locked as much.
    pub fn mint(&mut self, to: AccountId, coin: &str, value: u128) -> Result<(), LedgerError> {
        self.add(&Key::Balance(to, token_id(coin)), value)?;
        self.add(&Key::Outstanding(coin.into()), value)
    }

    /// Releases `value` of the native coin that came back over the bridge; the contract pays it out.
    pub fn release_native(&mut self, value: u128) -> Result<(), LedgerError> {
        self.sub(&Key::Outstanding(self.native.into()), value)
    }

    /// Locks what `from` sends. Wrapped coins move into custody first; native coin arrived with the call.
    pub fn lock(&mut self, from: AccountId, assets: &[AssetTransfer]) -> Result<(), LedgerError> {
        for asset in assets {
            let value = asset.value()?;
            if !self.is_native(&asset.coin) {
                self.move_tokens(from, self.custody, token_id(&asset.coin), value)?;
            }
            self.add(&Key::Locked(from, asset.coin.clone()), value)?;
        }
        Ok(())
    }

    /// The peer answered `pending`. Success: fees join the pool, wrapped amounts are burned (the peer released
    /// them), native amounts become backing. Failure: the whole value is refundable to the sender, or goes back
    /// to the fee pool when the sender was this service (fee gathering).
    pub fn settle(&mut self, pending: &Pending, success: bool) -> Result<(), LedgerError> {
        for asset in &pending.assets {
            let value = asset.value()?;
            self.sub(&Key::Locked(pending.from, asset.coin.clone()), value)?;
            if !success {
                let back = if pending.from == self.custody { Key::Fees(asset.coin.clone()) } else { Key::Refundable(pending.from, asset.coin.clone()) };
                self.add(&back, value)?;
                continue;
            }
            self.add(&Key::Fees(asset.coin.clone()), asset.fee)?;
            if self.is_native(&asset.coin) {
                self.add(&Key::Outstanding(asset.coin.clone()), asset.amount)?;
            } else {
                self.sub(&Key::Balance(self.custody, token_id(&asset.coin)), asset.amount)?;
                self.sub(&Key::Outstanding(asset.coin.clone()), asset.amount)?;
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

    /// Puts fees back into the pool (a gathering that could not be paid out).
    pub fn restore_fees(&mut self, fees: &[(String, u128)]) -> Result<(), LedgerError> {
        for (coin, fee) in fees {
            self.add(&Key::Fees(coin.clone()), *fee)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use proptest::prelude::*;

    #[derive(Default)]
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
    const CUSTODY: AccountId = AccountId([0xee; 32]);

    fn user(i: u8) -> AccountId {
        AccountId::from([i; 32])
    }

    fn books(store: &mut Memory) -> Books<'_, Memory> {
        Books { store, native: NATIVE, custody: CUSTODY }
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
    fn a_failed_transfer_refunds_the_fee_too() {
        let mut store = Memory::default();
        let mut b = books(&mut store);
        b.mint(user(1), ICX, 100).unwrap();
        let pending = Pending { from: user(1), to: "btp://0x3.icon/hx01".into(), assets: vec![AssetTransfer { coin: ICX.into(), amount: 49, fee: 1 }] };
        b.lock(user(1), &pending.assets).unwrap();
        assert_eq!(b.store.get(&Key::Balance(user(1), token_id(ICX))), 50);
        b.settle(&pending, false).unwrap();
        assert_eq!(b.store.get(&Key::Refundable(user(1), ICX.into())), 50);
        assert_eq!(b.store.get(&Key::Fees(ICX.into())), 0);
        assert_eq!(b.reclaim(user(1), ICX, 51), Err(LedgerError::Insufficient));
        b.reclaim(user(1), ICX, 50).unwrap();
        assert_eq!(b.store.get(&Key::Balance(user(1), token_id(ICX))), 100);
        assert_eq!(b.settle(&pending, true), Err(LedgerError::Insufficient), "settled once only");
    }

    #[test]
    fn a_peer_cannot_release_more_native_coin_than_went_out() {
        let mut store = Memory::default();
        let mut b = books(&mut store);
        let pending = Pending { from: user(1), to: "btp://0x3.icon/hx01".into(), assets: vec![AssetTransfer { coin: NATIVE.into(), amount: 90, fee: 10 }] };
        b.lock(user(1), &pending.assets).unwrap();
        assert_eq!(b.release_native(1), Err(LedgerError::Insufficient), "locked coins are not backing");
        b.settle(&pending, true).unwrap();
        assert_eq!(b.release_native(91), Err(LedgerError::Insufficient));
        b.release_native(90).unwrap();
    }

    /// One step of a random history.
    #[derive(Debug, Clone)]
    enum Step {
        /// A user sends native coin (value) or ICX to the peer.
        SendNative(u8, u128),
        SendIcx(u8, u128),
        /// The peer answers the n-th oldest pending request.
        Answer(usize, bool),
        /// The peer sends ICX (it locked it) to a user, or native coin back (paid out by the contract).
        ReceiveIcx(u8, u128),
        ReceiveNative(u128),
        Reclaim(u8, bool, u128),
        /// Users trade wrapped ICX.
        Trade(u8, u8, u128),
        /// Fees go to an aggregator here (true) or over the bridge.
        GatherFees(bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        let u = 1u8..4;
        let v = 0u128..1_000;
        prop_oneof![
            (u.clone(), v.clone()).prop_map(|(a, v)| Step::SendNative(a, v)),
            (u.clone(), v.clone()).prop_map(|(a, v)| Step::SendIcx(a, v)),
            (0usize..8, any::<bool>()).prop_map(|(n, ok)| Step::Answer(n, ok)),
            (u.clone(), v.clone()).prop_map(|(a, v)| Step::ReceiveIcx(a, v)),
            v.clone().prop_map(Step::ReceiveNative),
            (u.clone(), any::<bool>(), v.clone()).prop_map(|(a, n, v)| Step::Reclaim(a, n, v)),
            (u.clone(), u, v).prop_map(|(a, b, v)| Step::Trade(a, b, v)),
            any::<bool>().prop_map(Step::GatherFees),
        ]
    }

    /// What the world outside the books knows.
    #[derive(Default)]
    struct World {
        /// Native coin users put in, and what the service paid out (reclaims, releases, local fee payouts).
        native_in: u128,
        native_out: u128,
        /// What the peer holds locked for wrapped ICX here, and what it holds of our native coin as wrapped.
        peer_icx_locked: u128,
        peer_native_wrapped: u128,
        pending: Vec<Pending>,
    }

    fn sum(store: &Memory, f: impl Fn(&Key) -> bool) -> u128 {
        store.0.iter().filter(|(k, _)| f(k)).map(|(_, v)| *v).sum()
    }

    fn apply(store: &mut Memory, world: &mut World, step: Step) {
        let rule = FeeRule { ratio: 100, fixed: 3 };
        let mut b = books(store);
        match step {
            Step::SendNative(who, value) | Step::SendIcx(who, value) => {
                let native = matches!(step, Step::SendNative(..));
                let Some(fee) = rule.fee(value) else { return };
                let coin = if native { NATIVE } else { ICX };
                let pending = Pending { from: user(who), to: "btp://0x3.icon/hx01".into(), assets: vec![AssetTransfer { coin: coin.into(), amount: value - fee, fee }] };
                if b.lock(user(who), &pending.assets).is_ok() {
                    if native {
                        world.native_in += value;
                    }
                    world.pending.push(pending);
                }
            }
            Step::Answer(n, ok) => {
                if world.pending.is_empty() {
                    return;
                }
                let pending = world.pending.remove(n % world.pending.len());
                b.settle(&pending, ok).unwrap();
                if ok {
                    for a in &pending.assets {
                        if a.coin == ICX {
                            world.peer_icx_locked -= a.amount;
                        } else {
                            world.peer_native_wrapped += a.amount;
                        }
                    }
                }
            }
            Step::ReceiveIcx(who, value) => {
                b.mint(user(who), ICX, value).unwrap();
                world.peer_icx_locked += value;
            }
            Step::ReceiveNative(value) => {
                if value <= world.peer_native_wrapped {
                    b.release_native(value).unwrap();
                    world.peer_native_wrapped -= value;
                    world.native_out += value;
                } else {
                    assert_eq!(b.release_native(value), Err(LedgerError::Insufficient));
                }
            }
            Step::Reclaim(who, native, value) => {
                let coin = if native { NATIVE } else { ICX };
                if b.reclaim(user(who), coin, value).is_ok() && native {
                    world.native_out += value;
                }
            }
            Step::Trade(from, to, value) => {
                let _ = b.move_tokens(user(from), user(to), token_id(ICX), value);
            }
            Step::GatherFees(local) => {
                let fees = b.take_fees(&[NATIVE.into(), ICX.into()]);
                if local {
                    b.pay_fees_locally(user(9), &fees).unwrap();
                    world.native_out += fees.iter().filter(|(c, _)| c == NATIVE).map(|(_, f)| *f).sum::<u128>();
                } else if !fees.is_empty() {
                    let assets: Vec<_> = fees.iter().map(|(coin, fee)| AssetTransfer { coin: coin.clone(), amount: *fee, fee: 0 }).collect();
                    b.lock(CUSTODY, &assets).unwrap();
                    world.pending.push(Pending { from: CUSTODY, to: "btp://0x3.icon/hx0fa".into(), assets });
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
                // Wrapped ICX: minted − burned equals what ICON locked for it, and all of it is held by someone.
                prop_assert_eq!(store.get(&Key::Outstanding(ICX.into())), world.peer_icx_locked);
                prop_assert_eq!(sum(&store, |k| matches!(k, Key::Balance(_, id) if *id == icx)), world.peer_icx_locked);
                // ICX in custody is exactly what is locked, refundable or fees.
                let in_flight = sum(&store, |k| matches!(k, Key::Locked(_, c) | Key::Refundable(_, c) if c == ICX)) + store.get(&Key::Fees(ICX.into()));
                prop_assert_eq!(store.get(&Key::Balance(CUSTODY, icx)), in_flight);
                // Native coin: what users put in = locked + refundable + fees + backing of what is out there + paid out.
                let held = sum(&store, |k| matches!(k, Key::Locked(_, c) | Key::Refundable(_, c) if c == NATIVE))
                    + store.get(&Key::Fees(NATIVE.into()))
                    + store.get(&Key::Outstanding(NATIVE.into()));
                prop_assert_eq!(held + world.native_out, world.native_in);
                prop_assert_eq!(store.get(&Key::Outstanding(NATIVE.into())), world.peer_native_wrapped);
            }
        }
    }
}
