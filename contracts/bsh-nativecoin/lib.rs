//! The native-coin BTP service (`nativecoin`): users send the parachain's native coin and wrapped foreign coins
//! (ICX first) to other chains, and receive them back; a fee per coin stays here for the fee aggregator.
//!
//! The wrapped coins are an ERC1155-style multi-token kept by this contract itself, not by a separate token
//! contract: minting and burning are then internal, so "only the BSH mints" holds by construction and no
//! cross-contract authority can be misconfigured; a wrapped coin in flight moves into the service's own balance
//! without any allowance (the Java IRC2 BSH's reclaim needed one it never had). A foreign coin's token id is the
//! Keccak-256 of its name (as the Solidity ERC1155 BSH), the native coin's is 0. `balance_of(owner, id)` is
//! ERC1155's, by token id; `coin_balance_of(owner, coin)` gives an account's usable, locked and refundable amounts
//! by coin name, as the BTP services' `balanceOf` does.
//!
//! The bookkeeping is plain Rust in [`ledger`]; this contract adds storage, access control, the BMC calls and
//! events. Choices where the Java and Solidity services differ (spec `bmc-bsh.md` §6, §7):
//! * fee = value × ratio / 10 000 + fixed fee, per coin, at least 1 when the ratio is not 0; the value must
//!   exceed it;
//! * a failed transfer refunds its amount (pull: `reclaim`) and keeps its fee, as ICON's token service does:
//!   failing transfers cost the relays on both chains, and must not be free to send;
//! * requests are numbered from `REQUEST_SN_BASE` (2^64), above every number ICON's services use, so an answer to
//!   one of ours and an error about one of our responses can never be taken for each other (spec §3.6 E);
//! * a response or error settles a request only when it comes from the network the request went to;
//! * backing is kept per coin and network: native coin comes back only from a network it went to, up to what
//!   went there; a wrapped coin is minted only for requests from the networks registered for it, and goes back
//!   only to a network that backs it;
//! * at most 15 coins per request, either way (ICON's token service's limit);
//! * an incoming request that cannot be carried out (bad account, unknown coin, zero value, halted, over a cap,
//!   to or from a blacklisted address, not enough native coin sent out before) gets an error response and
//!   changes nothing; only a message that is not a native-coin message at all is refused (the BMC then sends a
//!   BTP error);
//! * an `UNKNOWN_TYPE` answer fails the request (refund) instead of leaving it locked forever;
//! * a response or error for an unknown `sn` is ignored (Java), never reverted;
//! * a request whose answer the BMC could not deliver (or dropped) is settled from the answer the BMC kept:
//!   `settle_request`, open to anyone, with no outcome to choose;
//! * minting to a contract does not call into it (the relay's transaction must not run foreign code);
//!   `safe_transfer_from` does ask a receiving contract.
//!
//! Safety rails, all off until an owner sets them ([`rails`]): halting (`set_halted`: no transfer out, every
//! incoming request refused with an error response, answers to our requests still settled), per-coin caps on
//! one transfer each way, the governor (a large transfer, or one over a coin's limit per rolling window, waits
//! `delay` blocks in a queue; anyone releases it once due, an owner may cancel it), and a blacklist of
//! addresses that may neither send nor receive. The storage keeps fixed keys so that `set_code` can upgrade the
//! code in place, pending and delayed transfers included.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Overflow must be an error, never a wrapped value or a panic (cargo-contract lints the Wasm build alike).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

extern crate alloc;

#[path = "events.rs"]
pub mod events;
#[path = "ledger.rs"]
pub mod ledger;
#[path = "rails.rs"]
pub mod rails;

/// The contract and the types its users need, without the module path.
pub use self::bsh_nativecoin::{BshNativecoin, BshNativecoinRef, Coin, CoinBalance, Error};

#[ink::contract]
pub mod bsh_nativecoin {
    pub use crate::events::{TransferBatch, TransferEnd, TransferReceived, TransferSingle, TransferStart};
    use crate::ledger::{self, AssetTransfer, Books, FeeRule, Key, LedgerError, Pending, Store, TokenId, MAX_ASSETS};
    use crate::rails::{self, per_coin, Flow, Totals};
    pub use crate::rails::{CoinLimits, Delayed, DelayedTransfer, Direction, GovernorSettings};
    use btp_interfaces::{token, Admin, AdminError, Administered, Answer, BtpService, Incoming, MessageCenter, ServiceError, TokenReceiver};
    use btp_primitives::{
        address::{canonical_network, hex_account},
        message::{clipped, MessageError, EVENT_TEXT_MAX, REQUEST_SN_BASE},
        nativecoin::{Asset, ServiceMessage, TransferRequest, TransferResponse, RC_ERR, RC_OK, SERVICE},
        BtpAddress,
    };
    use ink::codegen::TraitCallBuilder;
    use ink::{
        prelude::{format, string::String, vec, vec::Vec},
        storage::{traits::ManualKey, Mapping},
    };

    /// This code's release: the `next-version` feature builds the next one (the same storage), which the upgrade
    /// e2e test moves a live service to.
    const VERSION: u32 = if cfg!(feature = "next-version") { 2 } else { 1 };

    /// Why a call failed. A refused BMC call carries the code [`ServiceError::from`] gives each error.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        Unknown,
        /// The caller may not do this.
        Unauthorized,
        /// A message for another service.
        InvalidService,
        /// Not a native-coin service message.
        InvalidMessage,
        /// The service is halted.
        Halted,
        /// A BTP address or account is malformed, or names this network.
        InvalidAddress,
        /// A coin name is empty or taken.
        InvalidCoinName,
        NotExistsCoin,
        /// A fee ratio of 100 % or more.
        InvalidFee,
        /// The value is zero or does not exceed the fee.
        InvalidAmount,
        /// Coins and values differ in number, or nothing to send.
        InvalidLengths,
        /// Not enough balance, refundable amount or backing.
        Insufficient,
        Overflow,
        /// The BMC refused to send.
        Bmc,
        /// Paying out native coin failed.
        TransferFailed,
        /// The receiving contract did not accept the tokens.
        TransferRejected,
        /// The caller is neither the owner of the tokens nor approved by them.
        NotApproved,
        /// More coins in one request than [`MAX_ASSETS`].
        TooManyAssets,
        /// The coin is not minted for requests from that network.
        UnsupportedNetwork,
        /// No request with that sn waits for an answer.
        NotExistsRequest,
        /// The transfer carries more of a coin than its cap allows.
        OverCap,
        /// The sender or the recipient is on the blacklist.
        Blacklisted,
        /// No delayed transfer has that id.
        NotExistsDelayed,
        /// The delayed transfer is not due yet.
        NotDue,
        /// A governor window of no block.
        InvalidGovernor,
    }

    pub type Result<T> = core::result::Result<T, Error>;

    /// The local BTP code of each error, pinned here (the BMC reports a refused message as 40 + code): errors of
    /// the same kind share a code, as the service range has 15.
    impl From<Error> for ServiceError {
        fn from(e: Error) -> Self {
            ServiceError::new(match e {
                Error::Unknown | Error::InvalidCoinName | Error::InvalidGovernor => 0,
                Error::Unauthorized | Error::NotApproved | Error::Blacklisted => 1,
                Error::InvalidService => 2,
                Error::InvalidMessage => 3,
                Error::Halted => 4,
                Error::InvalidAddress => 5,
                Error::NotExistsCoin => 6,
                Error::InvalidFee | Error::InvalidAmount | Error::InvalidLengths | Error::OverCap => 7,
                Error::Insufficient => 8,
                Error::Overflow => 9,
                Error::Bmc => 10,
                Error::TransferFailed | Error::TransferRejected => 11,
                Error::TooManyAssets => 12,
                Error::UnsupportedNetwork => 13,
                Error::NotExistsRequest | Error::NotExistsDelayed | Error::NotDue => 14,
            })
        }
    }

    impl From<LedgerError> for Error {
        fn from(e: LedgerError) -> Self {
            match e {
                LedgerError::Insufficient => Error::Insufficient,
                LedgerError::Overflow => Error::Overflow,
            }
        }
    }

    /// A coin this service moves.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Coin {
        pub name: String,
        pub symbol: String,
        pub decimals: u8,
        pub id: TokenId,
        pub fee: FeeRule,
        /// ERC1155 metadata URI.
        pub uri: String,
        /// The networks whose locks back this wrapped coin: only their requests mint it (none for the native
        /// coin, which goes anywhere a link leads).
        pub networks: Vec<String>,
    }

    /// An account's standing in one coin: `usable` wrapped tokens (`None` for the native coin, whose balance the
    /// chain keeps), value `locked` in transfers under way, value `refundable` from failed ones.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct CoinBalance {
        pub usable: Option<u128>,
        pub locked: u128,
        pub refundable: u128,
    }

    /// An answer about our request `sn` came from `src`, which is not the network the request went to: ignored.
    #[ink(event)]
    pub struct AnswerIgnored {
        src: String,
        sn: u128,
    }

    /// Request `sn` is settled from the answer the BMC kept for it (its `TransferEnd` follows).
    #[ink(event)]
    pub struct RequestSettled {
        #[ink(topic)]
        from: AccountId,
        sn: u128,
    }

    /// The peer did not understand our message `sn`; the request failed.
    #[ink(event)]
    pub struct UnknownResponse {
        from: String,
        sn: u128,
    }

    #[ink(event)]
    pub struct Reclaimed {
        #[ink(topic)]
        owner: AccountId,
        coin: String,
        value: u128,
    }

    /// Fees left for the aggregator: paid here, or as transfer request `sn`.
    #[ink(event)]
    pub struct FeesGathered {
        fee_aggregator: String,
        fees: Vec<(String, u128)>,
        sn: Option<u128>,
    }

    #[ink(event)]
    pub struct CoinRegistered {
        name: String,
        symbol: String,
        decimals: u8,
        id: TokenId,
        networks: Vec<String>,
    }

    #[ink(event)]
    pub struct FeeChanged {
        coin: String,
        ratio: u32,
        fixed: u128,
    }

    #[ink(event)]
    pub struct LimitsChanged {
        coin: String,
        limits: CoinLimits,
    }

    #[ink(event)]
    pub struct GovernorChanged {
        settings: GovernorSettings,
    }

    /// `address` (a BTP address, canonical) was put on the blacklist or taken off.
    #[ink(event)]
    pub struct BlacklistChanged {
        address: String,
        listed: bool,
    }

    /// The governor holds back transfer `sn` (ours out, or `network`'s in) as delayed transfer `id`, until block
    /// `due`.
    #[ink(event)]
    pub struct TransferDelayed {
        #[ink(topic)]
        id: u64,
        sn: u128,
        incoming: bool,
        network: String,
        due: u32,
    }

    /// Delayed transfer `id` was released: sent, or carried out and answered.
    #[ink(event)]
    pub struct DelayedReleased {
        #[ink(topic)]
        id: u64,
    }

    /// An owner cancelled delayed transfer `id`: refunded in full, or refused with an error response.
    #[ink(event)]
    pub struct DelayedCancelled {
        #[ink(topic)]
        id: u64,
    }

    #[ink(event)]
    pub struct ApprovalForAll {
        #[ink(topic)]
        owner: AccountId,
        #[ink(topic)]
        operator: AccountId,
        approved: bool,
    }

    #[ink(event)]
    pub struct Uri {
        value: String,
        #[ink(topic)]
        id: TokenId,
    }

    /// The most an ERC1155 receiver hook may use (ref_time, proof_size).
    const RECEIVER_GAS: (u64, u64) = (10_000_000_000, 256 * 1024);

    impl<K: ink::storage::traits::StorageKey> Store for Mapping<Key, u128, K> {
        fn get(&self, key: &Key) -> u128 {
            Mapping::get(self, key).unwrap_or(0)
        }

        fn set(&mut self, key: &Key, value: u128) {
            if value == 0 {
                self.remove(key);
            } else {
                self.insert(key, &value);
            }
        }
    }

    /// The storage an upgraded code (`set_code`) reads: these fields in this order, each `Mapping` under a
    /// fixed key (`ManualKey`) rather than one derived from its field's name. A new version keeps them and adds
    /// state under new keys.
    #[ink(storage)]
    pub struct BshNativecoin {
        admin: Admin,
        bmc: AccountId,
        /// This parachain's BTP network, e.g. `0x501.pra`.
        network: String,
        native: String,
        /// The native coin first, then the registered wrapped coins.
        coins: Vec<Coin>,
        books: Mapping<Key, u128, ManualKey<0x4253_4801>>,
        pending: Mapping<u128, Pending, ManualKey<0x4253_4802>>,
        /// Requests waiting for an answer and delayed transfers both ways, per network: what the BMC must keep a
        /// link for.
        pending_count: Mapping<String, u64, ManualKey<0x4253_4803>>,
        /// The last request's serial number (`REQUEST_SN_BASE - 1` before the first).
        sn: u128,
        approvals: Mapping<(AccountId, AccountId), (), ManualKey<0x4253_4804>>,
        limits: Mapping<String, CoinLimits, ManualKey<0x4253_4805>>,
        governor: GovernorSettings,
        flows: Mapping<(String, Direction), Flow, ManualKey<0x4253_4806>>,
        delayed: Mapping<u64, DelayedTransfer, ManualKey<0x4253_4807>>,
        /// The last delayed transfer's id (0 before the first).
        delayed_last: u64,
        /// Canonical BTP addresses, of accounts here (always `0x` and lowercase hex) and elsewhere.
        blacklist: Mapping<String, (), ManualKey<0x4253_4808>>,
        /// Transfers out the governor counted in their coins' flows, by sn: the block they were counted at and what
        /// each governed coin counted, so that a refund takes exactly that out of the window again.
        counted_out: Mapping<u128, (u32, Totals), ManualKey<0x4253_4809>>,
    }

    impl BshNativecoin {
        /// The service for the BMC `bmc` of the network `network`; `native_coin` names the parachain's coin on the
        /// wire, with its fee. The caller becomes owner.
        #[ink(constructor)]
        pub fn new(bmc: AccountId, network: String, native_coin: String, fee_ratio: u32, fixed_fee: u128) -> Result<Self> {
            let network = canonical_network(&network).map_err(|_| Error::InvalidAddress)?;
            if native_coin.is_empty() {
                return Err(Error::InvalidCoinName);
            }
            let fee = FeeRule { ratio: fee_ratio, fixed: fixed_fee };
            if !fee.is_valid() {
                return Err(Error::InvalidFee);
            }
            let native = Coin {
                name: native_coin.clone(),
                symbol: native_coin.clone(),
                decimals: 0,
                id: ledger::NATIVE_ID,
                fee,
                uri: String::new(),
                networks: Vec::new(),
            };
            Ok(Self {
                admin: Admin::new(Self::env().caller()),
                bmc,
                network,
                native: native_coin,
                coins: vec![native],
                books: Mapping::new(),
                pending: Mapping::new(),
                pending_count: Mapping::new(),
                sn: REQUEST_SN_BASE.saturating_sub(1),
                approvals: Mapping::new(),
                limits: Mapping::new(),
                governor: GovernorSettings::default(),
                flows: Mapping::new(),
                delayed: Mapping::new(),
                delayed_last: 0,
                blacklist: Mapping::new(),
                counted_out: Mapping::new(),
            })
        }

        // ---- administration -------------------------------------------------------------------------------

        /// Registers the foreign coin `name` as a wrapped token with its fee, minted for requests from
        /// `networks` (the chains whose locks back it; at least one, not this one). Owner only.
        #[ink(message)]
        pub fn register(&mut self, name: String, symbol: String, decimals: u8, fee_ratio: u32, fixed_fee: u128, networks: Vec<String>) -> Result<()> {
            self.only_owner()?;
            if name.is_empty() || self.coin(&name).is_some() {
                return Err(Error::InvalidCoinName);
            }
            let fee = FeeRule { ratio: fee_ratio, fixed: fixed_fee };
            if !fee.is_valid() {
                return Err(Error::InvalidFee);
            }
            let mut origins: Vec<String> = Vec::new();
            for network in &networks {
                let network = canonical_network(network).map_err(|_| Error::InvalidAddress)?;
                if network == self.network {
                    return Err(Error::InvalidAddress);
                }
                if !origins.contains(&network) {
                    origins.push(network);
                }
            }
            if origins.is_empty() {
                return Err(Error::UnsupportedNetwork);
            }
            let id = ledger::token_id(&name);
            self.coins.push(Coin { name: name.clone(), symbol: symbol.clone(), decimals, id, fee, uri: String::new(), networks: origins.clone() });
            self.env().emit_event(CoinRegistered { name, symbol, decimals, id, networks: origins });
            Ok(())
        }

        /// Sets a coin's fee: `value × ratio / 10 000 + fixed`, ratio below 10 000. Owner only.
        #[ink(message)]
        pub fn set_fee(&mut self, coin: String, ratio: u32, fixed: u128) -> Result<()> {
            self.only_owner()?;
            let fee = FeeRule { ratio, fixed };
            if !fee.is_valid() {
                return Err(Error::InvalidFee);
            }
            self.coins.iter_mut().find(|c| c.name == coin).ok_or(Error::NotExistsCoin)?.fee = fee;
            self.env().emit_event(FeeChanged { coin, ratio, fixed });
            Ok(())
        }

        /// Sets a wrapped coin's ERC1155 metadata URI. Owner only.
        #[ink(message)]
        pub fn set_uri(&mut self, coin: String, uri: String) -> Result<()> {
            self.only_owner()?;
            let native = self.native.clone();
            let entry = self.coins.iter_mut().find(|c| c.name == coin && c.name != native).ok_or(Error::NotExistsCoin)?;
            entry.uri = uri.clone();
            let id = entry.id;
            self.env().emit_event(Uri { value: uri, id });
            Ok(())
        }

        /// Sets `coin`'s caps and governor limits (0 turns each off). Owner only.
        #[ink(message)]
        pub fn set_coin_limits(&mut self, coin: String, limits: CoinLimits) -> Result<()> {
            self.only_owner()?;
            self.coin(&coin).ok_or(Error::NotExistsCoin)?;
            if limits == CoinLimits::default() {
                self.limits.remove(&coin);
            } else {
                self.limits.insert(&coin, &limits);
            }
            self.env().emit_event(LimitsChanged { coin, limits });
            Ok(())
        }

        /// Sets the governor's rolling window and the delay of the transfers it holds back, in blocks; the window
        /// is at least 24 blocks (a block per bucket), the delay at least one. Transfers delayed before keep their
        /// due block. Owner only.
        #[ink(message)]
        pub fn set_governor(&mut self, window: u32, delay: u32) -> Result<()> {
            self.only_owner()?;
            let settings = GovernorSettings { window, delay };
            if !settings.is_valid() {
                return Err(Error::InvalidGovernor);
            }
            self.governor = settings;
            self.env().emit_event(GovernorChanged { settings });
            Ok(())
        }

        /// Puts the BTP address `address` (an account here, `btp://<this network>/0x…` or its SS58 spelling, or
        /// elsewhere) on the blacklist, or takes it off: a listed address neither sends nor receives through this
        /// service, nor moves wrapped coins here. Owner only.
        #[ink(message)]
        pub fn set_blacklisted(&mut self, address: String, listed: bool) -> Result<()> {
            self.only_owner()?;
            let address = self.blacklist_key(&address)?;
            if listed {
                self.blacklist.insert(&address, &());
            } else {
                self.blacklist.remove(&address);
            }
            self.env().emit_event(BlacklistChanged { address, listed });
            Ok(())
        }

        /// Sends delayed transfer `id` once it is due: a transfer out goes to the BMC, a request from another
        /// network is checked again and carried out, and answered either way. Anyone may call it.
        #[ink(message)]
        pub fn release_delayed(&mut self, id: u64) -> Result<()> {
            if self.admin.is_halted() {
                return Err(Error::Halted);
            }
            let delayed = self.delayed.get(id).ok_or(Error::NotExistsDelayed)?;
            if self.env().block_number() < delayed.due {
                return Err(Error::NotDue);
            }
            if let Delayed::Out { pending, .. } = &delayed.transfer {
                // Listed while it waited: it stays for an owner to cancel (a refund), never leaves.
                let to = BtpAddress::parse(&pending.to).map_err(|_| Error::InvalidAddress)?;
                self.check_parties(pending.from, &to)?;
            }
            self.delayed.remove(id);
            self.count_waiting(delayed.transfer.network(), false)?;
            match delayed.transfer {
                Delayed::Out { sn, pending } => self.dispatch(sn, pending)?,
                Delayed::In { network, sn, payload } => {
                    let Ok(ServiceMessage::TransferRequest(request)) = ServiceMessage::decode(&payload) else { return Err(Error::InvalidMessage) };
                    let response = self.answer_request(&network, sn, &request, None)?.ok_or(Error::Unknown)?;
                    self.send(&network, sn, &ServiceMessage::Response(response).encode())?;
                }
            }
            self.env().emit_event(DelayedReleased { id });
            Ok(())
        }

        /// Cancels delayed transfer `id`: a transfer out is refunded in full (its fee too: nothing was sent), a
        /// request from another network is answered with an error response, so that its sender is refunded
        /// there (a message: the BMC must not be halted). Owner only; works while this service is halted.
        #[ink(message)]
        pub fn cancel_delayed(&mut self, id: u64) -> Result<()> {
            self.only_owner()?;
            let delayed = self.delayed.take(id).ok_or(Error::NotExistsDelayed)?;
            self.count_waiting(delayed.transfer.network(), false)?;
            match delayed.transfer {
                Delayed::Out { sn, pending } => {
                    self.books().unlock(&pending)?;
                    self.env().emit_event(TransferEnd { from: pending.from, sn, code: RC_ERR, msg: "Cancelled".into() });
                }
                Delayed::In { network, sn, .. } => {
                    let refusal = ServiceMessage::Response(TransferResponse { code: RC_ERR, message: "Cancelled".into() });
                    self.send(&network, sn, &refusal.encode())?;
                }
            }
            self.env().emit_event(DelayedCancelled { id });
            Ok(())
        }

        // ---- queries --------------------------------------------------------------------------------------

        /// This code's release number.
        #[ink(message)]
        pub fn version(&self) -> u32 {
            VERSION
        }

        /// `coin`'s caps and governor limits (all 0: none).
        #[ink(message)]
        pub fn coin_limits(&self, coin: String) -> CoinLimits {
            self.limits.get(coin).unwrap_or_default()
        }

        /// The governor's window and delay, in blocks.
        #[ink(message)]
        pub fn governor(&self) -> GovernorSettings {
            self.governor
        }

        /// What crossed of `coin` in `direction` within the governor's window, as the governor counts it.
        #[ink(message)]
        pub fn flow(&self, coin: String, direction: Direction) -> u128 {
            self.flows.get((coin, direction)).unwrap_or_default().in_window(&self.governor, self.env().block_number())
        }

        /// Whether the BTP address `address` (in any spelling `set_blacklisted` takes) is on the blacklist.
        #[ink(message)]
        pub fn is_blacklisted(&self, address: String) -> bool {
            self.blacklist_key(&address).is_ok_and(|key| self.blacklist.contains(key))
        }

        /// Delayed transfer `id`, while it waits.
        #[ink(message)]
        pub fn delayed_transfer(&self, id: u64) -> Option<DelayedTransfer> {
            self.delayed.get(id)
        }

        /// The last delayed transfer's id (0: none yet); ids count up from 1.
        #[ink(message)]
        pub fn last_delayed_id(&self) -> u64 {
            self.delayed_last
        }

        /// The coins' names; the native coin comes first.
        #[ink(message)]
        pub fn coin_names(&self) -> Vec<String> {
            self.coins.iter().map(|c| c.name.clone()).collect()
        }

        /// A coin's symbol, decimals, token id, fee and URI.
        #[ink(message)]
        pub fn coin_info(&self, name: String) -> Option<Coin> {
            self.coin(&name).cloned()
        }

        /// The token id of a coin (0 for the native coin).
        #[ink(message)]
        pub fn coin_id(&self, name: String) -> Option<TokenId> {
            self.coin(&name).map(|c| c.id)
        }

        /// The fee of sending `value` of `coin`.
        #[ink(message)]
        pub fn fee_of(&self, coin: String, value: u128) -> Result<u128> {
            self.fee(&coin, value)
        }

        /// `owner`'s usable, locked and refundable amounts of `coin`.
        #[ink(message)]
        pub fn coin_balance_of(&self, owner: AccountId, coin: String) -> Result<CoinBalance> {
            let info = self.coin(&coin).ok_or(Error::NotExistsCoin)?;
            let usable = (coin != self.native).then(|| self.amount(&Key::Balance(owner, info.id)));
            Ok(CoinBalance { usable, locked: self.amount(&Key::Locked(owner, coin.clone())), refundable: self.amount(&Key::Refundable(owner, coin)) })
        }

        /// Fees waiting for the aggregator, per coin.
        #[ink(message)]
        pub fn accumulated_fees(&self) -> Vec<(String, u128)> {
            self.coins.iter().map(|c| (c.name.clone(), self.amount(&Key::Fees(c.name.clone())))).collect()
        }

        /// A coin's value held by `network`: for a wrapped coin what it locked behind the wrapped coins here (less
        /// what is on its way back to it), for the native coin what went there and is held here as backing.
        #[ink(message)]
        pub fn backing(&self, coin: String, network: String) -> u128 {
            self.amount(&Key::Backing(coin, network))
        }

        /// The request `sn` if it still waits for its response.
        #[ink(message)]
        pub fn pending_request(&self, sn: u128) -> Option<Pending> {
            self.pending.get(sn)
        }

        /// The serial number of the last request sent.
        #[ink(message)]
        pub fn last_sn(&self) -> u128 {
            self.sn
        }

        // ---- ERC1155 --------------------------------------------------------------------------------------

        /// ERC1155: `owner`'s balance of token `id`.
        #[ink(message)]
        pub fn balance_of(&self, owner: AccountId, id: TokenId) -> u128 {
            self.amount(&Key::Balance(owner, id))
        }

        /// ERC1155: balances of `owners[i]` in `ids[i]`.
        #[ink(message)]
        pub fn balance_of_batch(&self, owners: Vec<AccountId>, ids: Vec<TokenId>) -> Result<Vec<u128>> {
            if owners.len() != ids.len() {
                return Err(Error::InvalidLengths);
            }
            Ok(owners.into_iter().zip(ids).map(|(o, id)| self.balance_of(o, id)).collect())
        }

        /// ERC1155: lets `operator` move all of the caller's tokens (or stops it).
        #[ink(message)]
        pub fn set_approval_for_all(&mut self, operator: AccountId, approved: bool) -> Result<()> {
            let owner = self.env().caller();
            if operator == owner {
                return Err(Error::NotApproved);
            }
            if approved {
                self.approvals.insert((owner, operator), &());
            } else {
                self.approvals.remove((owner, operator));
            }
            self.env().emit_event(ApprovalForAll { owner, operator, approved });
            Ok(())
        }

        #[ink(message)]
        pub fn is_approved_for_all(&self, owner: AccountId, operator: AccountId) -> bool {
            self.approvals.contains((owner, operator))
        }

        /// ERC1155: moves `value` of token `id` from `from` to `to`; the caller is `from` or approved by it. A
        /// receiving contract must answer `on_erc1155_received` with that message's selector.
        #[ink(message)]
        pub fn safe_transfer_from(&mut self, from: AccountId, to: AccountId, id: TokenId, value: u128, data: Vec<u8>) -> Result<()> {
            self.safe_batch(from, to, vec![id], vec![value], data, false)
        }

        /// ERC1155: moves several tokens at once; a receiving contract must answer `on_erc1155_batch_received`.
        #[ink(message)]
        pub fn safe_batch_transfer_from(&mut self, from: AccountId, to: AccountId, ids: Vec<TokenId>, values: Vec<u128>, data: Vec<u8>) -> Result<()> {
            self.safe_batch(from, to, ids, values, data, true)
        }

        /// ERC1155 metadata: the URI of token `id`.
        #[ink(message)]
        pub fn uri(&self, id: TokenId) -> Option<String> {
            self.coins.iter().skip(1).find(|c| c.id == id).map(|c| c.uri.clone())
        }

        // ---- transfers out --------------------------------------------------------------------------------

        /// Sends the attached native coin, less its fee, to the BTP address `to`. Returns the request's sn.
        #[ink(message, payable)]
        pub fn transfer_native_coin(&mut self, to: String) -> Result<u128> {
            let value = self.env().transferred_value();
            let native = self.native.clone();
            self.transfer_out(to, vec![(native, value)])
        }

        /// Sends `value` of the wrapped coin `coin`, less its fee, to the BTP address `to`.
        #[ink(message)]
        pub fn transfer(&mut self, coin: String, value: u128, to: String) -> Result<u128> {
            if coin == self.native {
                return Err(Error::NotExistsCoin);
            }
            self.transfer_out(to, vec![(coin, value)])
        }

        /// Sends several wrapped coins, and the attached native coin if any, in one request.
        #[ink(message, payable)]
        pub fn transfer_batch(&mut self, coins: Vec<String>, values: Vec<u128>, to: String) -> Result<u128> {
            if coins.len() != values.len() || coins.iter().any(|c| *c == self.native) {
                return Err(Error::InvalidLengths);
            }
            let mut assets: Vec<(String, u128)> = coins.into_iter().zip(values).collect();
            let attached = self.env().transferred_value();
            if attached > 0 {
                assets.push((self.native.clone(), attached));
            }
            self.transfer_out(to, assets)
        }

        /// Pays out the caller's refundable `value` of `coin`.
        #[ink(message)]
        pub fn reclaim(&mut self, coin: String, value: u128) -> Result<()> {
            if value == 0 {
                return Err(Error::InvalidAmount);
            }
            let owner = self.env().caller();
            self.coin(&coin).ok_or(Error::NotExistsCoin)?;
            self.books().reclaim(owner, &coin, value)?;
            if coin == self.native {
                self.env().transfer(owner, value).map_err(|_| Error::TransferFailed)?;
            } else {
                let id = ledger::token_id(&coin);
                self.env().emit_event(TransferSingle { operator: owner, from: Some(self.env().account_id()), to: Some(owner), id, value });
            }
            self.env().emit_event(Reclaimed { owner, coin, value });
            Ok(())
        }

        /// Settles request `sn` from the answer the BMC kept because this service could not take it when it came
        /// (out of gas, its service paused at the BMC, or dropped by the BMC's owner): exactly as that verified answer says, so nobody
        /// chooses the outcome. Anyone may call it.
        #[ink(message)]
        pub fn settle_request(&mut self, sn: u128) -> Result<()> {
            let pending = self.pending.get(sn).ok_or(Error::NotExistsRequest)?;
            let mut bmc: ink::contract_ref!(MessageCenter) = self.bmc.into();
            let answer = bmc
                .call_mut()
                .take_undelivered_answer(SERVICE.into(), sn)
                .try_invoke()
                .map_err(|_| Error::Bmc)?
                .map_err(|_| Error::Bmc)?
                .map_err(|_| Error::Bmc)?
                .ok_or(Error::NotExistsRequest)?;
            self.env().emit_event(RequestSettled { from: pending.from, sn });
            if answer.sn > 0 {
                let src = BtpAddress::parse(&answer.src).map_err(|_| Error::InvalidAddress)?;
                return match self.receive(src.network(), sn, &answer.payload)? {
                    Some(reply) => self.send(src.network(), sn, &reply),
                    None => Ok(()),
                };
            }
            let report = btp_primitives::ErrorMessage::decode(&answer.payload).unwrap_or_else(|_| btp_primitives::ErrorMessage::new(0, ""));
            self.receive_error(&answer.src, sn, report.code, report.message)
        }

        // ---- the BMC's calls ------------------------------------------------------------------------------

        /// Takes message `sn` from the network `src`; returns the answer the BMC sends back, if any.
        fn receive(&mut self, src: &str, sn: u128, msg: &[u8]) -> Result<Answer> {
            let message = match ServiceMessage::decode(msg) {
                Ok(message) => message,
                Err(MessageError::UnknownServiceType(_)) => {
                    let answer = ServiceMessage::UnknownTypeResponse(TransferResponse { code: RC_ERR, message: "UNKNOWN_TYPE".into() });
                    return Ok(Some(answer.encode()));
                }
                Err(_) => return Err(Error::InvalidMessage),
            };
            match message {
                ServiceMessage::TransferRequest(request) => {
                    Ok(self.answer_request(src, sn, &request, Some(msg))?.map(|response| ServiceMessage::Response(response).encode()))
                }
                ServiceMessage::Response(response) => {
                    self.complete(src, sn, response.code == RC_OK, response.code, response.message)?;
                    Ok(None)
                }
                ServiceMessage::UnknownTypeResponse(response) => {
                    self.env().emit_event(UnknownResponse { from: src.into(), sn });
                    self.complete(src, sn, false, response.code.max(RC_ERR), response.message)?;
                    Ok(None)
                }
            }
        }

        /// Carries out (or refuses) request `sn` from the network `src`, and the response to send: none when the
        /// governor holds it back, which it may only when the request comes in (`payload`, its message, is what it
        /// keeps), not when it is released.
        fn answer_request(&mut self, src: &str, sn: u128, request: &TransferRequest, payload: Option<&[u8]>) -> Result<Option<TransferResponse>> {
            // A request that passes the checks is carried out; one that fails after them reverts the whole call,
            // so the BMC answers with a BTP error instead.
            let (code, text) = match self.check_request(src, request) {
                Ok((to, native_total, totals)) => {
                    if let Some(payload) = payload {
                        if self.govern(Direction::In, &totals).0 {
                            self.delay(Delayed::In { network: src.into(), sn, payload: payload.to_vec() })?;
                            return Ok(None);
                        }
                    }
                    match self.carry_out(src, request, to, native_total) {
                        Ok(()) => (RC_OK, String::from("Transfer Success")),
                        // Released from the governor's queue, a request that passed its checks and still cannot be
                        // carried out (its native coin refused by the chain, before anything changed) is answered
                        // with an error, so that its sender is refunded: a revert would keep it queued forever.
                        Err(e @ Error::TransferFailed) if payload.is_none() => (RC_ERR, format!("{e:?}")),
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => (RC_ERR, format!("{e:?}")),
            };
            // The request's texts are the sender's choice: clipped, so that no request can trap its event.
            let clip = |t: &str| clipped(t, EVENT_TEXT_MAX);
            let assets = request.assets.iter().take(MAX_ASSETS).map(|a| (clip(&a.coin_name), a.value)).collect();
            self.env().emit_event(TransferReceived { src: src.into(), from: clip(&request.from), to: clip(&request.to), sn, assets, code, msg: text.clone() });
            Ok(Some(TransferResponse { code, message: text }))
        }

        fn receive_error(&mut self, src: &str, sn: u128, code: u32, msg: String) -> Result<()> {
            let network = String::from(BtpAddress::parse(src).map_err(|_| Error::InvalidAddress)?.network());
            self.complete(&network, sn, false, code.max(RC_ERR), msg)
        }

        /// Sends the accumulated fees to the aggregator `fa` (a BTP address): paid out here when it is on this
        /// network, otherwise as a fee-free transfer request whose failure puts the fees back.
        fn gather_fees(&mut self, fa: String) -> Result<()> {
            // Halted, nothing leaves: the fees wait for the next gathering (the BMC names the service as failed).
            if self.admin.is_halted() {
                return Err(Error::Halted);
            }
            let aggregator = BtpAddress::parse(&fa).map_err(|_| Error::InvalidAddress)?;
            // An aggregator here is an account; fees paid to this service or its BMC would vanish from the books.
            let local = (aggregator.network() == self.network)
                .then(|| {
                    ledger::parse_account(aggregator.account()).filter(|to| *to != self.env().account_id() && *to != self.bmc).ok_or(Error::InvalidAddress)
                })
                .transpose()?;
            let mut coins = self.coin_names();
            if local.is_none() {
                // Over the bridge go only fees the aggregator's network backs, at most a request's worth; the rest
                // waits for the next gathering instead of failing all of it every time.
                let network = aggregator.network();
                coins.retain(|c| *c == self.native || self.amount(&Key::Backing(c.clone(), network.into())) >= self.amount(&Key::Fees(c.clone())));
                coins.truncate(MAX_ASSETS);
            }
            let fees = self.books().take_fees(&coins);
            if fees.is_empty() {
                return Ok(());
            }
            let sn = match local {
                Some(to) => {
                    self.books().pay_fees_locally(to, &fees)?;
                    for (coin, fee) in &fees {
                        if *coin == self.native {
                            self.env().transfer(to, *fee).map_err(|_| Error::TransferFailed)?;
                        } else {
                            let custody = self.env().account_id();
                            self.env().emit_event(TransferSingle {
                                operator: custody,
                                from: Some(custody),
                                to: Some(to),
                                id: ledger::token_id(coin),
                                value: *fee,
                            });
                        }
                    }
                    None
                }
                None => {
                    let assets = fees.iter().map(|(coin, fee)| AssetTransfer { coin: coin.clone(), amount: *fee, fee: 0 }).collect();
                    Some(self.request(self.env().account_id(), &aggregator, assets)?)
                }
            };
            self.env().emit_event(FeesGathered { fee_aggregator: fa, fees, sn });
            Ok(())
        }

        // ---- internals ------------------------------------------------------------------------------------

        fn amount(&self, key: &Key) -> u128 {
            Store::get(&self.books, key)
        }

        fn coin(&self, name: &str) -> Option<&Coin> {
            self.coins.iter().find(|c| c.name == name)
        }

        /// The fee of sending `value` of `coin`; the value must exceed it.
        fn fee(&self, coin: &str, value: u128) -> Result<u128> {
            self.coin(coin).ok_or(Error::NotExistsCoin)?.fee.fee(value).ok_or(Error::InvalidAmount)
        }

        fn books(&mut self) -> Books<'_, impl Store + '_> {
            let custody = self.env().account_id();
            Books { store: &mut self.books, native: &self.native, custody }
        }

        fn only_owner(&self) -> Result<()> {
            self.admin.ensure_owner(self.env().caller()).map_err(|_| Error::Unauthorized)
        }

        /// One more (or one fewer) request or delayed transfer that `network` waits for or owes an answer to.
        fn count_waiting(&mut self, network: &str, more: bool) -> Result<()> {
            let waiting = self.waiting(network);
            let waiting = if more { waiting.checked_add(1).ok_or(Error::Overflow)? } else { waiting.saturating_sub(1) };
            self.pending_count.insert(network, &waiting);
            Ok(())
        }

        /// Whether `account` on `network` is on the blacklist.
        fn listed(&self, network: &str, account: &str) -> bool {
            BtpAddress::new(network, account).is_ok_and(|a| self.blacklist.contains(String::from(a.canonical())))
        }

        /// The blacklist's key of the BTP address `address`: its canonical form, an account here always in hex
        /// (the form every check asks for), whichever spelling it came in.
        fn blacklist_key(&self, address: &str) -> Result<String> {
            let address = BtpAddress::parse(address).map_err(|_| Error::InvalidAddress)?;
            if address.network() != self.network {
                return Ok(String::from(address.canonical()));
            }
            let account = ledger::parse_local_account(address.account()).ok_or(Error::InvalidAddress)?;
            let local = BtpAddress::new(&self.network, &hex_account(account.as_ref())).map_err(|_| Error::InvalidAddress)?;
            Ok(String::from(local.canonical()))
        }

        /// Refuses when one of the accounts here `accounts` is on the blacklist.
        fn check_local(&self, accounts: &[AccountId]) -> Result<()> {
            if accounts.iter().any(|a| self.listed(&self.network, &hex_account(a.as_ref()))) {
                return Err(Error::Blacklisted);
            }
            Ok(())
        }

        /// Refuses a transfer out from `from` to `to` when either is on the blacklist.
        fn check_parties(&self, from: AccountId, to: &BtpAddress) -> Result<()> {
            self.check_local(&[from])?;
            if self.listed(to.network(), to.account()) {
                return Err(Error::Blacklisted);
            }
            Ok(())
        }

        /// Refuses `(coin, value)` totals of which one is over its cap in `direction`.
        fn check_caps(&self, direction: Direction, totals: &[(String, u128)]) -> Result<()> {
            if totals.iter().any(|(coin, value)| self.limits.get(coin).unwrap_or_default().over_cap(direction, *value)) {
                return Err(Error::OverCap);
            }
            Ok(())
        }

        /// Whether the governor holds back a transfer of `(coin, value)` totals in `direction`; a transfer it lets
        /// through is counted in each governed coin's flow. Whether it waits, and what it counted of which coin.
        fn govern(&mut self, direction: Direction, totals: &[(String, u128)]) -> (bool, Totals) {
            let mut names = Vec::new();
            let mut coins: Vec<(CoinLimits, Flow, u128)> = Vec::new();
            for (coin, value) in totals {
                let limits = self.limits.get(coin).unwrap_or_default();
                if limits.governed() {
                    coins.push((limits, self.flows.get((coin.clone(), direction)).unwrap_or_default(), *value));
                    names.push(coin);
                }
            }
            let wait = rails::govern(&self.governor, self.env().block_number(), &mut coins);
            let mut counted = Totals::new();
            if !wait {
                for (coin, (_, flow, value)) in names.into_iter().zip(&coins) {
                    self.flows.insert((coin.clone(), direction), flow);
                    counted.push((coin.clone(), *value));
                }
            }
            (wait, counted)
        }

        /// Takes a refunded transfer out of the flows it was counted in at block `at`.
        fn uncount(&mut self, at: u32, counted: Totals) {
            for (coin, value) in counted {
                let key = (coin, Direction::Out);
                if let Some(mut flow) = self.flows.get(&key) {
                    flow.unrecord(&self.governor, at, value);
                    self.flows.insert(&key, &flow);
                }
            }
        }

        /// Holds `transfer` back until the governor's delay has passed; its id.
        fn delay(&mut self, transfer: Delayed) -> Result<u64> {
            let id = self.delayed_last.checked_add(1).ok_or(Error::Overflow)?;
            self.delayed_last = id;
            let due = self.env().block_number().saturating_add(self.governor.delay);
            let (sn, incoming) = match &transfer {
                Delayed::Out { sn, .. } => (*sn, false),
                Delayed::In { sn, .. } => (*sn, true),
            };
            let network = String::from(transfer.network());
            self.count_waiting(&network, true)?;
            self.delayed.insert(id, &DelayedTransfer { due, transfer });
            self.env().emit_event(TransferDelayed { id, sn, incoming, network, due });
            Ok(id)
        }

        /// How many requests to `network` wait for an answer.
        fn waiting(&self, network: &str) -> u64 {
            self.pending_count.get(network).unwrap_or(0)
        }

        fn only_bmc(&self, svc: &str) -> Result<()> {
            if self.env().caller() != self.bmc {
                return Err(Error::Unauthorized);
            }
            if svc != SERVICE {
                return Err(Error::InvalidService);
            }
            Ok(())
        }

        /// Checks and charges `(coin, value)` pairs from the caller, then sends them.
        fn transfer_out(&mut self, to: String, assets: Vec<(String, u128)>) -> Result<u128> {
            if self.admin.is_halted() {
                return Err(Error::Halted);
            }
            if assets.is_empty() {
                return Err(Error::InvalidLengths);
            }
            if assets.len() > MAX_ASSETS {
                return Err(Error::TooManyAssets);
            }
            let to = BtpAddress::parse(&to).map_err(|_| Error::InvalidAddress)?;
            let from = self.env().caller();
            self.check_parties(from, &to)?;
            let totals = per_coin(assets.iter().cloned()).ok_or(Error::Overflow)?;
            self.check_caps(Direction::Out, &totals)?;
            let mut charged = Vec::new();
            for (coin, value) in assets {
                let fee = self.fee(&coin, value)?;
                let amount = value.checked_sub(fee).ok_or(Error::InvalidAmount)?;
                charged.push(AssetTransfer { coin, amount, fee });
            }
            let (wait, counted) = self.govern(Direction::Out, &totals);
            if wait {
                let pending = self.lock_for(from, &to, charged)?;
                let sn = self.next_sn()?;
                self.delay(Delayed::Out { sn, pending })?;
                return Ok(sn);
            }
            let sn = self.request(from, &to, charged)?;
            if !counted.is_empty() {
                self.counted_out.insert(sn, &(self.env().block_number(), counted));
            }
            Ok(sn)
        }

        /// Locks `assets` of `from` and sends the transfer request to `to`.
        fn request(&mut self, from: AccountId, to: &BtpAddress, assets: Vec<AssetTransfer>) -> Result<u128> {
            let pending = self.lock_for(from, to, assets)?;
            let sn = self.next_sn()?;
            self.dispatch(sn, pending)?;
            Ok(sn)
        }

        /// Locks `assets` of `from` for a transfer to `to`: the request to be sent.
        fn lock_for(&mut self, from: AccountId, to: &BtpAddress, assets: Vec<AssetTransfer>) -> Result<Pending> {
            if to.network() == self.network {
                return Err(Error::InvalidAddress);
            }
            let network = String::from(to.network());
            self.books().lock(from, &network, &assets)?;
            let custody = self.env().account_id();
            if from != custody {
                for asset in assets.iter().filter(|a| a.coin != self.native) {
                    self.env().emit_event(TransferSingle {
                        operator: from,
                        from: Some(from),
                        to: Some(custody),
                        id: ledger::token_id(&asset.coin),
                        value: asset.value()?,
                    });
                }
            }
            Ok(Pending { from, to: to.as_str().into(), network, assets })
        }

        /// Sends the locked `pending` as request `sn`.
        fn dispatch(&mut self, sn: u128, pending: Pending) -> Result<()> {
            let to = BtpAddress::parse(&pending.to).map_err(|_| Error::InvalidAddress)?;
            let request = TransferRequest {
                from: hex_account(pending.from.as_ref()),
                to: to.account().into(),
                assets: pending.assets.iter().map(|a| Asset { coin_name: a.coin.clone(), value: a.amount }).collect(),
            };
            self.pending.insert(sn, &pending);
            self.count_waiting(&pending.network, true)?;
            self.send(&pending.network, sn, &ServiceMessage::TransferRequest(request).encode())?;
            self.env().emit_event(TransferStart { from: pending.from, to: pending.to, sn, assets: pending.assets });
            Ok(())
        }

        /// The next request's serial number.
        fn next_sn(&mut self) -> Result<u128> {
            self.sn = self.sn.checked_add(1).ok_or(Error::Overflow)?;
            Ok(self.sn)
        }

        /// Checks an incoming transfer request from the network `src` without changing anything: the recipient,
        /// the native coin it releases and what it carries of each coin.
        fn check_request(&self, src: &str, request: &TransferRequest) -> Result<(AccountId, u128, Totals)> {
            if self.admin.is_halted() {
                return Err(Error::Halted);
            }
            if request.assets.len() > MAX_ASSETS {
                return Err(Error::TooManyAssets);
            }
            // Coins in the service's own account are only those in flight or fees: none may arrive there.
            let to = ledger::parse_account(&request.to).filter(|to| *to != self.env().account_id()).ok_or(Error::InvalidAddress)?;
            if request.assets.is_empty() {
                return Err(Error::InvalidLengths);
            }
            if self.listed(src, &request.from) || self.listed(&self.network, &request.to) {
                return Err(Error::Blacklisted);
            }
            let totals = per_coin(request.assets.iter().map(|a| (a.coin_name.clone(), a.value))).ok_or(Error::Overflow)?;
            self.check_caps(Direction::In, &totals)?;
            for asset in &request.assets {
                if asset.value == 0 {
                    return Err(Error::InvalidAmount);
                }
                let coin = self.coin(&asset.coin_name).ok_or(Error::NotExistsCoin)?;
                if coin.name != self.native {
                    if !coin.networks.iter().any(|n| n == src) {
                        return Err(Error::UnsupportedNetwork);
                    }
                    let balance = self.amount(&Key::Balance(to, coin.id));
                    let backing = self.amount(&Key::Backing(coin.name.clone(), src.into()));
                    balance.checked_add(asset.value).zip(backing.checked_add(asset.value)).ok_or(Error::Overflow)?;
                }
            }
            let native_total = totals.iter().find(|(coin, _)| *coin == self.native).map_or(0, |(_, value)| *value);
            if native_total > self.amount(&Key::Backing(self.native.clone(), src.into())) {
                return Err(Error::Insufficient);
            }
            Ok((to, native_total, totals))
        }

        /// Carries out a checked request: the native coin (the only step that can fail outside these books) is
        /// paid first.
        fn carry_out(&mut self, src: &str, request: &TransferRequest, to: AccountId, native_total: u128) -> Result<()> {
            if native_total > 0 {
                self.env().transfer(to, native_total).map_err(|_| Error::TransferFailed)?;
                self.books().release_native(src, native_total)?;
            }
            let operator = self.env().caller();
            let wrapped: Vec<&Asset> = request.assets.iter().filter(|a| a.coin_name != self.native).collect();
            for asset in wrapped {
                self.books().mint(to, &asset.coin_name, src, asset.value)?;
                self.env().emit_event(TransferSingle { operator, from: None, to: Some(to), id: ledger::token_id(&asset.coin_name), value: asset.value });
            }
            Ok(())
        }

        /// The end of our request `sn`, answered from the network `src`: settled as `success` or refunded. An
        /// unknown `sn` is ignored, and so is an answer from another network than the request's (recorded).
        fn complete(&mut self, src: &str, sn: u128, success: bool, code: u32, msg: String) -> Result<()> {
            let Some(pending) = self.pending.get(sn) else { return Ok(()) };
            if pending.network != src {
                self.env().emit_event(AnswerIgnored { src: src.into(), sn });
                return Ok(());
            }
            self.pending.remove(sn);
            self.count_waiting(&pending.network, false)?;
            self.books().settle(&pending, success)?;
            if let Some((at, counted)) = self.counted_out.take(sn) {
                if !success {
                    self.uncount(at, counted);
                }
            }
            if success {
                let custody = self.env().account_id();
                for asset in pending.assets.iter().filter(|a| a.coin != self.native) {
                    self.env().emit_event(TransferSingle {
                        operator: custody,
                        from: Some(custody),
                        to: None,
                        id: ledger::token_id(&asset.coin),
                        value: asset.amount,
                    });
                }
            }
            self.env().emit_event(TransferEnd { from: pending.from, sn, code, msg: clipped(&msg, EVENT_TEXT_MAX) });
            Ok(())
        }

        fn send(&self, to_network: &str, sn: u128, msg: &[u8]) -> Result<()> {
            btp_interfaces::service::send_message(self.bmc, to_network.into(), SERVICE.into(), sn, msg.to_vec()).map_err(|_| Error::Bmc)
        }

        fn safe_batch(&mut self, from: AccountId, to: AccountId, ids: Vec<TokenId>, values: Vec<u128>, data: Vec<u8>, batch: bool) -> Result<()> {
            let operator = self.env().caller();
            if operator != from && !self.is_approved_for_all(from, operator) {
                return Err(Error::NotApproved);
            }
            if ids.len() != values.len() || ids.is_empty() {
                return Err(Error::InvalidLengths);
            }
            if to == self.env().account_id() {
                return Err(Error::InvalidAddress);
            }
            // A listed holder must not hand its wrapped coins to a fresh account that bridges them out.
            self.check_local(&[operator, from, to])?;
            for (id, value) in ids.iter().zip(&values) {
                self.books().move_tokens(from, to, *id, *value)?;
            }
            if self.env().is_contract(&to) && !self.accepted(to, operator, from, &ids, &values, data, batch) {
                return Err(Error::TransferRejected);
            }
            if batch {
                self.env().emit_event(TransferBatch { operator, from: Some(from), to: Some(to), ids, values });
            } else {
                self.env().emit_event(TransferSingle { operator, from: Some(from), to: Some(to), id: ids[0], value: values[0] });
            }
            Ok(())
        }

        /// Whether the contract `to` accepts the tokens: its hook answers with the accepting value. The hook gets
        /// at most `RECEIVER_GAS`, so that a receiver that loops fails the transfer, not more.
        #[allow(clippy::too_many_arguments)]
        fn accepted(&self, to: AccountId, operator: AccountId, from: AccountId, ids: &[TokenId], values: &[u128], data: Vec<u8>, batch: bool) -> bool {
            let mut receiver: ink::contract_ref!(TokenReceiver) = to.into();
            let (ref_time, proof_size) = RECEIVER_GAS;
            let answer = match (batch, ids.first(), values.first()) {
                (true, _, _) => receiver
                    .call_mut()
                    .on_erc1155_batch_received(operator, from, ids.to_vec(), values.to_vec(), data)
                    .ref_time_limit(ref_time)
                    .proof_size_limit(proof_size)
                    .try_invoke()
                    .map(|answer| (answer, token::ACCEPT_BATCH)),
                (false, Some(id), Some(value)) => receiver
                    .call_mut()
                    .on_erc1155_received(operator, from, *id, *value, data)
                    .ref_time_limit(ref_time)
                    .proof_size_limit(proof_size)
                    .try_invoke()
                    .map(|answer| (answer, token::ACCEPT_SINGLE)),
                _ => return false,
            };
            matches!(answer, Ok((Ok(got), expected)) if got == expected)
        }
    }

    impl BtpService for BshNativecoin {
        /// Native-coin messages: transfer requests (carried out or refused, answered with a response either way)
        /// and responses to ours. Any message that fails (one that is not a native-coin message, say) fails the
        /// whole batch, which reverts: the BMC then hands the messages over one at a time. BMC only.
        #[ink(message)]
        fn handle_btp_messages(&mut self, svc: String, messages: Vec<Incoming>) -> core::result::Result<Vec<Answer>, ServiceError> {
            self.only_bmc(&svc)?;
            Ok(messages.iter().map(|m| self.receive(&m.src, m.sn, &m.msg)).collect::<Result<Vec<Answer>>>()?)
        }

        /// The BMC `src` reports that our request `sn` failed with `code`: its amount becomes refundable, if `src`
        /// is on the network the request went to. BMC only.
        #[ink(message)]
        fn handle_btp_error(&mut self, src: String, svc: String, sn: u128, code: u32, msg: String) -> core::result::Result<(), ServiceError> {
            self.only_bmc(&svc)?;
            Ok(self.receive_error(&src, sn, code, msg)?)
        }

        /// Sends the accumulated fees to the aggregator `fa` (a BTP address). BMC only.
        #[ink(message)]
        fn handle_fee_gathering(&mut self, fa: String, svc: String) -> core::result::Result<(), ServiceError> {
            self.only_bmc(&svc)?;
            Ok(self.gather_fees(fa)?)
        }

        /// How many requests to `network` wait for an answer, and transfers either way the governor holds back
        /// (the BMC keeps a link with any).
        #[ink(message)]
        fn pending_requests(&self, network: String) -> u64 {
            self.waiting(&network)
        }
    }

    /// Halting stops transfers out and refuses every incoming request with an error response (the sender is
    /// refunded there); answers to requests already sent are still settled, and delayed transfers wait.
    impl Administered for BshNativecoin {
        #[ink(message)]
        fn owners(&self) -> Vec<AccountId> {
            self.admin.owners()
        }

        #[ink(message)]
        fn owner_candidate(&self) -> Option<AccountId> {
            self.admin.candidate()
        }

        #[ink(message)]
        fn propose_owner(&mut self, candidate: Option<AccountId>) -> core::result::Result<(), AdminError> {
            self.admin.propose(self.env().caller(), candidate)
        }

        #[ink(message)]
        fn accept_ownership(&mut self) -> core::result::Result<(), AdminError> {
            self.admin.accept(self.env().caller())
        }

        #[ink(message)]
        fn remove_owner(&mut self, owner: AccountId) -> core::result::Result<(), AdminError> {
            self.admin.remove(self.env().caller(), owner)
        }

        #[ink(message)]
        fn halted(&self) -> bool {
            self.admin.is_halted()
        }

        #[ink(message)]
        fn set_halted(&mut self, halted: bool) -> core::result::Result<(), AdminError> {
            self.admin.set_halted(self.env().caller(), halted)
        }

        #[ink(message)]
        fn set_code(&mut self, code_hash: Hash) -> core::result::Result<(), AdminError> {
            self.admin.set_code(self.env().caller(), code_hash)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use ink::env::{test, DefaultEnvironment as Env};

        btp_interfaces::service_conformance_tests!(
            service: BshNativecoin,
            new: |bmc| {
                let mut bsh = BshNativecoin::new(bmc, "0x501.pra".into(), "DOT".into(), 10, 0).expect("a valid service");
                bsh.register("ICX".into(), "ICX".into(), 18, 0, 0, vec![ICON.into()]).expect("ICX registered");
                // Bob's request REQUEST_SN_BASE to ICON waits: one of the messages answers it.
                bsh.books().mint(accounts().bob, "ICX", ICON, 100).expect("Bob's ICX");
                pending_to_icon(&mut bsh, REQUEST_SN_BASE, vec![AssetTransfer { coin: "ICX".into(), amount: 9, fee: 1 }]);
                bsh
            },
            svc: "nativecoin",
            messages: || {
                let bob = hex_account(test::default_accounts::<Env>().bob.as_ref());
                let request = |coin: &str, value: u128| {
                    let assets = vec![Asset { coin_name: coin.into(), value }];
                    ServiceMessage::TransferRequest(TransferRequest { from: "hx0000000000000000000000000000000000000b0b".into(), to: bob.clone(), assets }).encode()
                };
                let response = ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode();
                let unknown_type = btp_primitives::rlp::ListBuilder::new().uint(9).bytes(&[0xc0]).finish();
                let message = |sn: u128, msg: Vec<u8>| Incoming { src: ICON.into(), sn, msg };
                vec![message(1, request("ICX", 5)), message(2, request("BTC", 5)), message(REQUEST_SN_BASE, response), message(3, unknown_type), message(4, request("ICX", 7))]
            },
            state: |bsh: &BshNativecoin| {
                let bob = accounts().bob;
                (bsh.coin_balance_of(bob, "ICX".into()), bsh.backing("ICX".into(), ICON.into()), bsh.accumulated_fees(), bsh.pending_request(REQUEST_SN_BASE))
            }
        );

        /// The BMC's delivery of message `sn` from `src`, alone.
        fn deliver(bsh: &mut BshNativecoin, src: &str, sn: u128, msg: Vec<u8>) -> core::result::Result<Answer, ServiceError> {
            let mut answers = bsh.handle_btp_messages("nativecoin".into(), vec![Incoming { src: src.into(), sn, msg }])?;
            assert_eq!(answers.len(), 1, "one answer for one message");
            Ok(answers.remove(0))
        }

        const ICON_BOB: &str = "btp://0x3.icon/hx0000000000000000000000000000000000000b0b";
        const ICON: &str = "0x3.icon";
        const ICON_BMC: &str = "btp://0x3.icon/cx0000000000000000000000000000000000000001";

        fn accounts() -> test::DefaultAccounts<Env> {
            test::default_accounts::<Env>()
        }

        fn as_caller(account: AccountId) {
            test::set_caller::<Env>(account);
        }

        /// Alice's service for the BMC Django, DOT at 1 % + 10, ICX at 0.1 % + 1.
        fn deploy() -> BshNativecoin {
            as_caller(accounts().alice);
            let mut bsh = BshNativecoin::new(accounts().django, "0x501.pra".into(), "DOT".into(), 100, 10).unwrap();
            bsh.register("ICX".into(), "ICX".into(), 18, 10, 1, vec![ICON.into()]).unwrap();
            bsh
        }

        /// Bob's request `sn` of `assets` to ICON, locked and waiting.
        fn pending_to_icon(bsh: &mut BshNativecoin, sn: u128, assets: Vec<AssetTransfer>) {
            let bob = accounts().bob;
            bsh.books().lock(bob, ICON, &assets).unwrap();
            bsh.pending.insert(sn, &Pending { from: bob, to: ICON_BOB.into(), network: ICON.into(), assets });
            bsh.pending_count.insert(ICON, &1);
        }

        fn icx() -> TokenId {
            ledger::token_id("ICX")
        }

        #[ink::test]
        fn deployment_and_coins_are_validated() {
            let a = accounts();
            assert_eq!(BshNativecoin::new(a.django, "nodot".into(), "DOT".into(), 0, 0).err(), Some(Error::InvalidAddress));
            assert_eq!(BshNativecoin::new(a.django, "0x501.pra".into(), String::new(), 0, 0).err(), Some(Error::InvalidCoinName));
            assert_eq!(BshNativecoin::new(a.django, "0x501.pra".into(), "DOT".into(), 10_000, 0).err(), Some(Error::InvalidFee));
            let mut bsh = deploy();
            assert_eq!(bsh.coin_names(), vec![String::from("DOT"), String::from("ICX")]);
            assert_eq!(bsh.last_sn(), REQUEST_SN_BASE - 1, "no request yet");
            assert_eq!(bsh.coin_id("DOT".into()), Some(ledger::NATIVE_ID));
            assert_eq!(bsh.coin_id("ICX".into()), Some(icx()));
            let icon = || vec![String::from(ICON)];
            assert_eq!(bsh.register("DOT".into(), "DOT".into(), 10, 0, 0, icon()), Err(Error::InvalidCoinName), "the native coin");
            assert_eq!(bsh.register("ICX".into(), "ICX".into(), 18, 0, 0, icon()), Err(Error::InvalidCoinName), "twice");
            assert_eq!(bsh.register("ETH".into(), "ETH".into(), 18, 10_000, 0, icon()), Err(Error::InvalidFee));
            assert_eq!(bsh.register("ETH".into(), "ETH".into(), 18, 0, 0, vec![]), Err(Error::UnsupportedNetwork), "backed by nobody");
            assert_eq!(bsh.register("ETH".into(), "ETH".into(), 18, 0, 0, vec!["0x501.pra".into()]), Err(Error::InvalidAddress), "not by this chain");
            assert_eq!(bsh.register("ETH".into(), "ETH".into(), 18, 0, 0, vec!["eth".into()]), Err(Error::InvalidAddress));
            bsh.register("ETH".into(), "ETH".into(), 18, 0, 0, vec!["0X5.eth".into(), "0x5.eth".into()]).unwrap();
            assert_eq!(bsh.coin_info("ETH".into()).unwrap().networks, vec![String::from("0x5.eth")], "one spelling, once");
            assert_eq!(bsh.fee_of("ICX".into(), 1_000), Ok(2));
            assert_eq!(bsh.fee_of("DOT".into(), 10), Err(Error::InvalidAmount));
            bsh.set_fee("ICX".into(), 0, 5).unwrap();
            assert_eq!(bsh.coin_info("ICX".into()).unwrap().fee, FeeRule { ratio: 0, fixed: 5 });
            assert_eq!(bsh.set_fee("BTC".into(), 0, 5), Err(Error::NotExistsCoin));
            bsh.set_uri("ICX".into(), "ipfs://icx".into()).unwrap();
            assert_eq!(bsh.uri(icx()), Some("ipfs://icx".into()));
            assert_eq!(bsh.set_uri("DOT".into(), "x".into()), Err(Error::NotExistsCoin), "the native coin is no token");
        }

        #[ink::test]
        fn strangers_administer_nothing() {
            let a = accounts();
            let mut bsh = deploy();
            as_caller(a.charlie);
            assert_eq!(bsh.register("ETH".into(), "ETH".into(), 18, 0, 0, vec![ICON.into()]), Err(Error::Unauthorized));
            assert_eq!(bsh.set_fee("ICX".into(), 0, 0), Err(Error::Unauthorized));
            assert_eq!(bsh.set_uri("ICX".into(), "x".into()), Err(Error::Unauthorized));
            assert_eq!(bsh.set_halted(true), Err(AdminError::Unauthorized));
            assert_eq!(bsh.propose_owner(Some(a.charlie)), Err(AdminError::Unauthorized));
            assert_eq!(bsh.set_coin_limits("ICX".into(), CoinLimits { max_out: 1, ..Default::default() }), Err(Error::Unauthorized));
            assert_eq!(bsh.set_governor(1, 1), Err(Error::Unauthorized));
            assert_eq!(bsh.set_blacklisted(ICON_BOB.into(), true), Err(Error::Unauthorized));
            assert_eq!(bsh.cancel_delayed(1), Err(Error::Unauthorized));
            assert_eq!(bsh.set_code(Hash::from([1; 32])), Err(AdminError::Unauthorized));
            as_caller(a.alice);
            bsh.propose_owner(Some(a.bob)).unwrap();
            as_caller(a.bob);
            bsh.accept_ownership().unwrap();
            bsh.remove_owner(a.alice).unwrap();
            assert_eq!(bsh.owners(), vec![a.bob]);
        }

        #[ink::test]
        fn only_the_bmc_speaks_for_the_service() {
            let a = accounts();
            let mut bsh = deploy();
            let response = ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode();
            as_caller(a.charlie);
            fn refused<T>(e: Error) -> core::result::Result<T, ServiceError> {
                Err(ServiceError::from(e))
            }
            assert_eq!(deliver(&mut bsh, "0x3.icon", 1, response.clone()), refused(Error::Unauthorized));
            assert_eq!(bsh.handle_btp_error(ICON_BOB.into(), "nativecoin".into(), 1, 40, String::new()), refused(Error::Unauthorized));
            assert_eq!(bsh.handle_fee_gathering(ICON_BOB.into(), "nativecoin".into()), refused(Error::Unauthorized));
            as_caller(a.django);
            let one = |sn: u128, msg: Vec<u8>| vec![Incoming { src: ICON.into(), sn, msg }];
            assert_eq!(bsh.handle_btp_messages("other".into(), one(1, response.clone())), refused(Error::InvalidService));
            assert_eq!(deliver(&mut bsh, "0x3.icon", 1, vec![0xc0]), refused(Error::InvalidMessage));
            assert_eq!(deliver(&mut bsh, "0x3.icon", 1, response), Ok(None), "an unknown sn is ignored, unanswered");
            assert_eq!(bsh.handle_fee_gathering("nonsense".into(), "nativecoin".into()), refused(Error::InvalidAddress));
        }

        #[ink::test]
        fn incoming_requests_are_checked_before_anything_changes() {
            let a = accounts();
            let mut bsh = deploy();
            let request = |to: &AccountId, coin: &str, value: u128| TransferRequest {
                from: "hx0000000000000000000000000000000000000b0b".into(),
                to: hex_account(to.as_ref()),
                assets: vec![Asset { coin_name: coin.into(), value }],
            };
            let check = |bsh: &BshNativecoin, r: &TransferRequest| bsh.check_request(ICON, r).map(|(to, native, _)| (to, native));
            assert_eq!(check(&bsh, &request(&a.bob, "ICX", 5)), Ok((a.bob, 0)));
            assert_eq!(check(&bsh, &request(&test::callee::<Env>(), "ICX", 5)), Err(Error::InvalidAddress));
            assert_eq!(check(&bsh, &TransferRequest { to: "0x0b0b".into(), ..request(&a.bob, "ICX", 5) }), Err(Error::InvalidAddress));
            assert_eq!(check(&bsh, &TransferRequest { assets: vec![], ..request(&a.bob, "ICX", 5) }), Err(Error::InvalidLengths));
            let many = vec![Asset { coin_name: "ICX".into(), value: 1 }; MAX_ASSETS + 1];
            assert_eq!(check(&bsh, &TransferRequest { assets: many, ..request(&a.bob, "ICX", 5) }), Err(Error::TooManyAssets));
            assert_eq!(check(&bsh, &request(&a.bob, "BTC", 5)), Err(Error::NotExistsCoin));
            assert_eq!(check(&bsh, &request(&a.bob, "ICX", 0)), Err(Error::InvalidAmount));
            assert_eq!(bsh.check_request("0x5.eth", &request(&a.bob, "ICX", 5)), Err(Error::UnsupportedNetwork), "ICX is minted for ICON's locks only");
            assert_eq!(check(&bsh, &request(&a.bob, "DOT", 5)), Err(Error::Insufficient), "no DOT went out to come back");
            bsh.books().add(&Key::Backing("DOT".into(), ICON.into()), 5).unwrap();
            assert_eq!(check(&bsh, &request(&a.bob, "DOT", 5)), Ok((a.bob, 5)));
            assert_eq!(bsh.check_request("0x5.eth", &request(&a.bob, "DOT", 5)), Err(Error::Insufficient), "what went to ICON comes back from ICON");
            bsh.books().add(&Key::Backing("ICX".into(), ICON.into()), u128::MAX).unwrap();
            assert_eq!(check(&bsh, &request(&a.bob, "ICX", 1)), Err(Error::Overflow));
            bsh.set_halted(true).unwrap();
            assert_eq!(check(&bsh, &request(&a.bob, "DOT", 5)), Err(Error::Halted));
        }

        #[ink::test]
        fn requests_are_answered_for_the_bmc_to_send() {
            let a = accounts();
            let mut bsh = deploy();
            as_caller(a.django);
            let request = |coin: &str| {
                let assets = vec![Asset { coin_name: coin.into(), value: 5 }];
                ServiceMessage::TransferRequest(TransferRequest {
                    from: "hx0000000000000000000000000000000000000b0b".into(),
                    to: hex_account(a.bob.as_ref()),
                    assets,
                })
                .encode()
            };
            let response = |answer: Answer| ServiceMessage::decode(&answer.expect("answered")).expect("a service message");
            let ok = response(deliver(&mut bsh, ICON, 7, request("ICX")).unwrap());
            assert_eq!(ok, ServiceMessage::Response(TransferResponse { code: RC_OK, message: "Transfer Success".into() }));
            assert_eq!(bsh.balance_of(a.bob, icx()), 5, "minted");
            let refused = response(deliver(&mut bsh, ICON, 8, request("BTC")).unwrap());
            assert_eq!(refused, ServiceMessage::Response(TransferResponse { code: RC_ERR, message: "NotExistsCoin".into() }), "answered, not refused");
            assert_eq!(bsh.balance_of(a.bob, icx()), 5);
        }

        #[ink::test]
        fn outgoing_transfers_are_checked_before_anything_moves() {
            let a = accounts();
            let mut bsh = deploy();
            as_caller(a.bob);
            test::set_value_transferred::<Env>(10);
            assert_eq!(bsh.transfer_native_coin(ICON_BOB.into()), Err(Error::InvalidAmount), "the fee would take it all");
            test::set_value_transferred::<Env>(1_000);
            assert_eq!(bsh.transfer_native_coin("0x3.icon/hx01".into()), Err(Error::InvalidAddress));
            assert_eq!(bsh.transfer_native_coin("btp://0x501.pra/0x01".into()), Err(Error::InvalidAddress), "not to this network");
            test::set_value_transferred::<Env>(0);
            assert_eq!(bsh.transfer("DOT".into(), 100, ICON_BOB.into()), Err(Error::NotExistsCoin), "native coin is sent as value");
            assert_eq!(bsh.transfer("BTC".into(), 100, ICON_BOB.into()), Err(Error::NotExistsCoin));
            assert_eq!(bsh.transfer("ICX".into(), 100, ICON_BOB.into()), Err(Error::Insufficient), "Bob holds no ICX");
            assert_eq!(bsh.transfer_batch(vec!["ICX".into()], vec![], ICON_BOB.into()), Err(Error::InvalidLengths));
            assert_eq!(bsh.transfer_batch(vec![], vec![], ICON_BOB.into()), Err(Error::InvalidLengths));
            let many = vec![String::from("ICX"); MAX_ASSETS + 1];
            assert_eq!(bsh.transfer_batch(many, vec![100; MAX_ASSETS + 1], ICON_BOB.into()), Err(Error::TooManyAssets));
            as_caller(a.alice);
            bsh.set_halted(true).unwrap();
            as_caller(a.bob);
            assert_eq!(bsh.transfer("ICX".into(), 100, ICON_BOB.into()), Err(Error::Halted));
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()), Ok(CoinBalance { usable: Some(0), locked: 0, refundable: 0 }));
        }

        #[ink::test]
        fn a_failed_request_becomes_refundable_without_its_fee_and_is_reclaimed() {
            let a = accounts();
            let mut bsh = deploy();
            // Bob's 100 ICX request (99 + 1 fee) and 1 000 DOT request (980 + 20) are under way.
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            let sn = REQUEST_SN_BASE + 7;
            pending_to_icon(
                &mut bsh,
                sn,
                vec![AssetTransfer { coin: "ICX".into(), amount: 99, fee: 1 }, AssetTransfer { coin: "DOT".into(), amount: 980, fee: 20 }],
            );
            assert_eq!(bsh.pending_requests(ICON.into()), 1);
            test::set_account_balance::<Env>(test::callee::<Env>(), 1_000_000);
            as_caller(a.django);
            bsh.handle_btp_error(ICON_BMC.into(), "nativecoin".into(), sn, 42, "refused".into()).unwrap();
            assert_eq!(bsh.pending_request(sn), None);
            assert_eq!(bsh.pending_requests(ICON.into()), 0);
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()), Ok(CoinBalance { usable: Some(0), locked: 0, refundable: 99 }));
            assert_eq!(bsh.coin_balance_of(a.bob, "DOT".into()), Ok(CoinBalance { usable: None, locked: 0, refundable: 980 }));
            assert_eq!(bsh.accumulated_fees(), vec![(String::from("DOT"), 20), (String::from("ICX"), 1)], "the fees are kept");
            assert_eq!(bsh.backing("ICX".into(), ICON.into()), 100, "ICON still backs every wrapped ICX");
            as_caller(a.bob);
            assert_eq!(bsh.reclaim("ICX".into(), 0), Err(Error::InvalidAmount));
            assert_eq!(bsh.reclaim("ICX".into(), 100), Err(Error::Insufficient));
            bsh.reclaim("ICX".into(), 99).unwrap();
            assert_eq!(bsh.balance_of(a.bob, icx()), 99);
            let before = test::get_account_balance::<Env>(a.bob).unwrap();
            bsh.reclaim("DOT".into(), 980).unwrap();
            assert_eq!(test::get_account_balance::<Env>(a.bob).unwrap(), before + 980);
            assert_eq!(bsh.coin_balance_of(a.bob, "DOT".into()).unwrap().refundable, 0);
        }

        #[ink::test]
        fn response_from_another_network_is_ignored() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            let sn = REQUEST_SN_BASE;
            pending_to_icon(&mut bsh, sn, vec![AssetTransfer { coin: "ICX".into(), amount: 49, fee: 1 }]);
            as_caller(a.django);
            let ok = ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode();
            let failed = ServiceMessage::Response(TransferResponse { code: RC_ERR, message: String::new() }).encode();
            // Ethereum's BMC answering for ICON: neither its error, its failure response nor its success settles.
            bsh.handle_btp_error("btp://0x5.eth/0x0000000000000000000000000000000000000002".into(), "nativecoin".into(), sn, 40, "no".into()).unwrap();
            deliver(&mut bsh, "0x5.eth", sn, failed).unwrap();
            deliver(&mut bsh, "0x5.eth", sn, ok.clone()).unwrap();
            assert!(bsh.pending_request(sn).is_some(), "still waiting for ICON");
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()).unwrap(), CoinBalance { usable: Some(50), locked: 50, refundable: 0 });
            deliver(&mut bsh, ICON, sn, ok).unwrap();
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()).unwrap(), CoinBalance { usable: Some(50), locked: 0, refundable: 0 });
        }

        #[ink::test]
        fn own_requests_are_numbered_above_every_icon_number() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            let first = bsh.next_sn().unwrap();
            assert_eq!((first, bsh.next_sn()), (REQUEST_SN_BASE, Ok(REQUEST_SN_BASE + 1)));
            pending_to_icon(&mut bsh, first, vec![AssetTransfer { coin: "ICX".into(), amount: 49, fee: 1 }]);
            // ICON's BMC could not deliver our response to ICON's own request 1 and says so with sn -1.
            as_caller(a.django);
            bsh.handle_btp_error(ICON_BMC.into(), "nativecoin".into(), 1, 40, "your response failed".into()).unwrap();
            assert!(bsh.pending_request(first).is_some(), "our first request is not the one that failed");
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()).unwrap().refundable, 0);
        }

        #[ink::test]
        fn only_a_waiting_request_is_settled() {
            let mut bsh = deploy();
            as_caller(accounts().charlie);
            assert_eq!(bsh.settle_request(REQUEST_SN_BASE), Err(Error::NotExistsRequest), "nothing to settle, and the BMC is not asked");
        }

        #[ink::test]
        fn a_successful_request_burns_the_wrapped_amount_and_keeps_the_fee() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            pending_to_icon(&mut bsh, 3, vec![AssetTransfer { coin: "ICX".into(), amount: 49, fee: 1 }]);
            as_caller(a.django);
            let ok = ServiceMessage::Response(TransferResponse { code: RC_OK, message: "Transfer Success".into() }).encode();
            deliver(&mut bsh, ICON, 3, ok.clone()).unwrap();
            assert_eq!(bsh.balance_of(a.bob, icx()), 50);
            assert_eq!(bsh.backing("ICX".into(), ICON.into()), 51, "49 burned");
            assert_eq!(bsh.accumulated_fees()[1], (String::from("ICX"), 1));
            deliver(&mut bsh, ICON, 3, ok).unwrap();
            assert_eq!(bsh.backing("ICX".into(), ICON.into()), 51, "a second response changes nothing");
        }

        #[ink::test]
        fn fees_for_an_aggregator_here_are_paid_out_here() {
            let a = accounts();
            let mut bsh = deploy();
            let custody = test::callee::<Env>();
            test::set_account_balance::<Env>(custody, 1_000_000);
            bsh.books().mint(custody, "ICX", ICON, 5).unwrap();
            bsh.books().add(&Key::Fees("ICX".into()), 5).unwrap();
            bsh.books().add(&Key::Fees("DOT".into()), 30).unwrap();
            let fa = ink::prelude::format!("btp://0x501.pra/{}", hex_account(a.frank.as_ref()));
            let before = test::get_account_balance::<Env>(a.frank).unwrap();
            as_caller(a.django);
            bsh.handle_fee_gathering(fa, "nativecoin".into()).unwrap();
            assert_eq!(bsh.balance_of(a.frank, icx()), 5);
            assert_eq!(test::get_account_balance::<Env>(a.frank).unwrap(), before + 30);
            assert_eq!(bsh.accumulated_fees(), vec![(String::from("DOT"), 0), (String::from("ICX"), 0)]);
            bsh.books().add(&Key::Fees("DOT".into()), 30).unwrap();
            let here = |account: &AccountId| ink::prelude::format!("btp://0x501.pra/{}", hex_account(account.as_ref()));
            for fa in ["btp://0x501.pra/hx01".to_string(), here(&custody), here(&a.django)] {
                assert_eq!(
                    bsh.handle_fee_gathering(fa.clone(), "nativecoin".into()),
                    Err(ServiceError::from(Error::InvalidAddress)),
                    "{fa}: not an account whose fees stay paid"
                );
            }
        }

        /// ICON's request `sn` of `value` ICX to Bob, as the BMC delivers it.
        fn icx_to_bob(bsh: &mut BshNativecoin, sn: u128, value: u128) -> Option<ServiceMessage> {
            let request = TransferRequest {
                from: "hx0000000000000000000000000000000000000b0b".into(),
                to: hex_account(accounts().bob.as_ref()),
                assets: vec![Asset { coin_name: "ICX".into(), value }],
            };
            as_caller(accounts().django);
            let answer = deliver(bsh, ICON, sn, ServiceMessage::TransferRequest(request).encode()).expect("taken");
            answer.map(|a| ServiceMessage::decode(&a).expect("a service message"))
        }

        fn refused_with(message: &str) -> Option<ServiceMessage> {
            Some(ServiceMessage::Response(TransferResponse { code: RC_ERR, message: message.into() }))
        }

        /// An upgrade (`set_code`) keeps the storage: the layout is the deployed one (`storage-layout.txt`).
        #[test]
        fn the_storage_layout_is_pinned() {
            btp_interfaces::layout::assert_pinned::<BshNativecoin>(concat!(env!("CARGO_MANIFEST_DIR"), "/storage-layout.txt"));
        }

        #[ink::test]
        fn caps_refuse_out_and_answer_in_with_an_error() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            bsh.set_coin_limits("ICX".into(), CoinLimits { max_out: 50, max_in: 20, ..Default::default() }).unwrap();
            assert_eq!(bsh.set_coin_limits("BTC".into(), CoinLimits::default()), Err(Error::NotExistsCoin));
            as_caller(a.bob);
            assert_eq!(bsh.transfer("ICX".into(), 51, ICON_BOB.into()), Err(Error::OverCap));
            assert_eq!(
                bsh.transfer_batch(vec!["ICX".into(), "ICX".into()], vec![30, 30], ICON_BOB.into()),
                Err(Error::OverCap),
                "a coin named twice counts once, in all"
            );
            assert_eq!(icx_to_bob(&mut bsh, 1, 21), refused_with("OverCap"));
            assert_eq!(bsh.balance_of(a.bob, icx()), 100, "nothing moved either way");
        }

        #[ink::test]
        fn the_governor_holds_back_a_large_transfer_out_and_cancelling_refunds_all_of_it() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            bsh.set_governor(100, 3).unwrap();
            assert_eq!(bsh.set_governor(0, 3), Err(Error::InvalidGovernor));
            bsh.set_coin_limits("ICX".into(), CoinLimits { large: 40, ..Default::default() }).unwrap();
            as_caller(a.bob);
            let sn = bsh.transfer("ICX".into(), 60, ICON_BOB.into()).expect("delayed, not refused");
            assert_eq!(bsh.pending_request(sn), None, "not sent");
            assert_eq!(bsh.pending_requests(ICON.into()), 1, "the BMC keeps the link for it");
            let delayed = bsh.delayed_transfer(1).expect("queued");
            assert_eq!((delayed.due, bsh.last_delayed_id()), (ink::env::block_number::<Env>() + 3, 1));
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()).unwrap(), CoinBalance { usable: Some(40), locked: 60, refundable: 0 });
            assert_eq!(bsh.release_delayed(1), Err(Error::NotDue));
            assert_eq!(bsh.release_delayed(2), Err(Error::NotExistsDelayed));
            assert_eq!(bsh.flow("ICX".into(), Direction::Out), 0, "what waits has not crossed");
            as_caller(a.alice);
            bsh.set_blacklisted(ICON_BOB.into(), true).unwrap();
            for _ in 0..3 {
                test::advance_block::<Env>();
            }
            assert_eq!(bsh.release_delayed(1), Err(Error::Blacklisted), "listed while it waited: it never leaves");
            bsh.cancel_delayed(1).unwrap();
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()).unwrap(), CoinBalance { usable: Some(40), locked: 0, refundable: 60 }, "the fee too");
            assert_eq!((bsh.pending_requests(ICON.into()), bsh.backing("ICX".into(), ICON.into())), (0, 100));
            assert_eq!(bsh.cancel_delayed(1), Err(Error::NotExistsDelayed));
        }

        #[ink::test]
        fn the_governor_counts_a_window_and_holds_back_what_goes_over() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.set_governor(48, 2).unwrap();
            bsh.set_coin_limits("ICX".into(), CoinLimits { window_limit: 30, ..Default::default() }).unwrap();
            let ok = icx_to_bob(&mut bsh, 1, 20).map(|m| matches!(m, ServiceMessage::Response(r) if r.code == RC_OK));
            assert_eq!(ok, Some(true));
            assert_eq!(icx_to_bob(&mut bsh, 2, 20), None, "20 more would make 40 of 30: no answer yet");
            assert_eq!(bsh.flow("ICX".into(), Direction::In), 20);
            assert_eq!(bsh.balance_of(a.bob, icx()), 20);
            for _ in 0..2 {
                test::advance_block::<Env>();
            }
            assert_eq!(bsh.delayed_transfer(1).map(|d| d.transfer.network().to_string()), Some(ICON.into()));
            // The window (two blocks a bucket) rolls past the first 20 after 48 blocks.
            for _ in 0..46 {
                test::advance_block::<Env>();
            }
            assert_eq!(bsh.flow("ICX".into(), Direction::In), 0);
            let ok = icx_to_bob(&mut bsh, 3, 20).map(|m| matches!(m, ServiceMessage::Response(r) if r.code == RC_OK));
            assert_eq!(ok, Some(true), "room again");
        }

        #[ink::test]
        fn listed_addresses_neither_send_nor_receive() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            let bob_here = ink::prelude::format!("btp://0x501.pra/{}", hex_account(a.bob.as_ref()));
            assert_eq!(bsh.set_blacklisted("nonsense".into(), true), Err(Error::InvalidAddress));
            bsh.set_blacklisted("btp://0x3.icon/hx0000000000000000000000000000000000000B0B".into(), true).unwrap();
            assert!(bsh.is_blacklisted(ICON_BOB.into()), "one address, whatever its spelling");
            as_caller(a.bob);
            assert_eq!(bsh.transfer("ICX".into(), 10, ICON_BOB.into()), Err(Error::Blacklisted), "not to a listed recipient");
            assert_eq!(icx_to_bob(&mut bsh, 1, 5), refused_with("Blacklisted"), "nor from a listed sender");
            as_caller(a.alice);
            bsh.set_blacklisted(ICON_BOB.into(), false).unwrap();
            bsh.set_blacklisted(bob_here, true).unwrap();
            as_caller(a.bob);
            assert_eq!(bsh.transfer("ICX".into(), 10, ICON_BOB.into()), Err(Error::Blacklisted), "a listed sender");
            assert_eq!(icx_to_bob(&mut bsh, 2, 5), refused_with("Blacklisted"), "a listed recipient");
            assert_eq!(bsh.balance_of(a.bob, icx()), 100);
        }

        #[ink::test]
        fn local_accounts_are_listed_in_any_spelling() {
            let a = accounts();
            let mut bsh = deploy();
            // //Bob's sr25519 key, and the SS58 spelling (generic prefix 42) wallets show for it.
            let bob = ledger::parse_account("0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48").unwrap();
            let ss58 = "btp://0x501.pra/5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
            bsh.books().mint(bob, "ICX", ICON, 100).unwrap();
            bsh.set_blacklisted(ss58.into(), true).unwrap();
            let hex = ink::prelude::format!("btp://0x501.pra/{}", hex_account(bob.as_ref()));
            assert!(bsh.is_blacklisted(hex.clone()), "the SS58 spelling lists the account");
            assert!(bsh.is_blacklisted(hex.to_uppercase().replace("BTP://0X501.PRA/0X", "btp://0x501.pra/0x")), "upper-case hex");
            as_caller(bob);
            assert_eq!(bsh.transfer("ICX".into(), 10, ICON_BOB.into()), Err(Error::Blacklisted), "the account, not a spelling of it");
            as_caller(a.alice);
            bsh.set_blacklisted(hex, false).unwrap();
            assert!(!bsh.is_blacklisted(ss58.into()), "taken off in another spelling");
            let bad_checksum = "btp://0x501.pra/5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694tz";
            assert_eq!(bsh.set_blacklisted(bad_checksum.into(), true), Err(Error::InvalidAddress));
            assert_eq!(bsh.set_blacklisted("btp://0x501.pra/bob".into(), true), Err(Error::InvalidAddress), "no account of this chain");
            bsh.set_blacklisted("btp://0x3.icon/anything".into(), true).unwrap();
            assert!(bsh.is_blacklisted("btp://0x3.icon/anything".into()), "other chains' accounts as they are written there");
        }

        #[ink::test]
        fn listed_accounts_cannot_move_wrapped_coins() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            let here = |account: &AccountId| ink::prelude::format!("btp://0x501.pra/{}", hex_account(account.as_ref()));
            as_caller(a.bob);
            bsh.set_approval_for_all(a.charlie, true).unwrap();
            as_caller(a.alice);
            bsh.set_blacklisted(here(&a.bob), true).unwrap();
            as_caller(a.bob);
            assert_eq!(bsh.safe_transfer_from(a.bob, a.eve, icx(), 10, vec![]), Err(Error::Blacklisted), "a listed holder sends nothing");
            assert_eq!(bsh.safe_batch_transfer_from(a.bob, a.eve, vec![icx()], vec![10], vec![]), Err(Error::Blacklisted));
            as_caller(a.charlie);
            assert_eq!(bsh.safe_transfer_from(a.bob, a.eve, icx(), 10, vec![]), Err(Error::Blacklisted), "nor through an operator");
            as_caller(a.alice);
            bsh.set_blacklisted(here(&a.bob), false).unwrap();
            bsh.set_blacklisted(here(&a.eve), true).unwrap();
            as_caller(a.bob);
            assert_eq!(bsh.safe_transfer_from(a.bob, a.eve, icx(), 10, vec![]), Err(Error::Blacklisted), "a listed account receives nothing");
            as_caller(a.alice);
            bsh.set_blacklisted(here(&a.eve), false).unwrap();
            bsh.set_blacklisted(here(&a.charlie), true).unwrap();
            as_caller(a.charlie);
            assert_eq!(bsh.safe_transfer_from(a.bob, a.eve, icx(), 10, vec![]), Err(Error::Blacklisted), "a listed operator moves nothing");
            as_caller(a.bob);
            bsh.safe_transfer_from(a.bob, a.eve, icx(), 10, vec![]).unwrap();
            assert_eq!(bsh.balance_of_batch(vec![a.bob, a.eve], vec![icx(), icx()]), Ok(vec![90, 10]), "only the one move nobody listed");
        }

        #[ink::test]
        fn a_governor_delay_of_zero_is_refused() {
            let mut bsh = deploy();
            assert_eq!(bsh.set_governor(2_400, 0), Err(Error::InvalidGovernor), "released at once: no governor at all");
            assert_eq!(bsh.governor(), GovernorSettings::default());
            bsh.set_governor(2_400, 1).unwrap();
        }

        #[ink::test]
        fn a_halted_bsh_sends_no_fee_gathering() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().add(&Key::Fees("DOT".into()), 50).unwrap();
            bsh.books().add(&Key::Backing("ICX".into(), ICON.into()), 10).unwrap();
            bsh.books().add(&Key::Fees("ICX".into()), 10).unwrap();
            bsh.set_halted(true).unwrap();
            as_caller(a.django);
            let here = ink::prelude::format!("btp://0x501.pra/{}", hex_account(a.eve.as_ref()));
            for fa in [ICON_BOB.to_string(), here] {
                assert_eq!(bsh.handle_fee_gathering(fa.clone(), "nativecoin".into()), Err(ServiceError::from(Error::Halted)), "{fa}");
            }
            assert_eq!(bsh.accumulated_fees(), vec![("DOT".into(), 50), ("ICX".into(), 10)], "kept for the next gathering");
        }

        #[ink::test]
        fn a_delayed_incoming_transfer_that_fails_is_refunded() {
            let a = accounts();
            // The service's account is one the off-chain engine holds no balance for: every transfer of native coin
            // from it fails, as a transfer the chain refuses (below the existential deposit, say).
            test::set_callee::<Env>(AccountId::from([0x77; 32]));
            let mut bsh = deploy();
            bsh.books().add(&Key::Backing("DOT".into(), ICON.into()), 500).unwrap();
            bsh.set_governor(24, 1).unwrap();
            bsh.set_coin_limits("DOT".into(), CoinLimits { large: 100, ..Default::default() }).unwrap();
            let request = TransferRequest {
                from: "hx0000000000000000000000000000000000000b0b".into(),
                to: hex_account(a.bob.as_ref()),
                assets: vec![Asset { coin_name: "DOT".into(), value: 200 }],
            };
            as_caller(a.django);
            assert_eq!(deliver(&mut bsh, ICON, 5, ServiceMessage::TransferRequest(request.clone()).encode()), Ok(None), "held back");
            // When it is released, the chain refuses to pay the coin out.
            let answer = bsh.answer_request(ICON, 5, &request, None);
            assert_eq!(answer, Ok(Some(TransferResponse { code: RC_ERR, message: "TransferFailed".into() })), "refused, so ICON refunds");
            assert_eq!(bsh.backing("DOT".into(), ICON.into()), 500, "nothing released");
        }

        #[ink::test]
        fn a_halted_service_still_settles_what_it_sent() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            pending_to_icon(&mut bsh, REQUEST_SN_BASE, vec![AssetTransfer { coin: "ICX".into(), amount: 9, fee: 1 }]);
            bsh.set_governor(24, 1).unwrap();
            bsh.set_coin_limits("ICX".into(), CoinLimits { large: 5, ..Default::default() }).unwrap();
            assert_eq!(icx_to_bob(&mut bsh, 9, 6), None, "delayed");
            test::advance_block::<Env>();
            as_caller(a.alice);
            bsh.set_halted(true).unwrap();
            assert_eq!(icx_to_bob(&mut bsh, 1, 5), refused_with("Halted"));
            let ok = ServiceMessage::Response(TransferResponse { code: RC_OK, message: String::new() }).encode();
            assert_eq!(deliver(&mut bsh, ICON, REQUEST_SN_BASE, ok), Ok(None));
            assert_eq!(bsh.coin_balance_of(a.bob, "ICX".into()).unwrap(), CoinBalance { usable: Some(90), locked: 0, refundable: 0 });
            as_caller(a.charlie);
            assert_eq!(bsh.release_delayed(1), Err(Error::Halted), "due, and waiting for the service to resume");
            assert!(bsh.delayed_transfer(1).is_some());
        }

        #[ink::test]
        fn wrapped_coins_move_like_erc1155_tokens() {
            let a = accounts();
            let mut bsh = deploy();
            bsh.books().mint(a.bob, "ICX", ICON, 100).unwrap();
            as_caller(a.charlie);
            assert_eq!(bsh.safe_transfer_from(a.bob, a.charlie, icx(), 10, vec![]), Err(Error::NotApproved));
            as_caller(a.bob);
            assert_eq!(bsh.set_approval_for_all(a.bob, true), Err(Error::NotApproved));
            bsh.set_approval_for_all(a.charlie, true).unwrap();
            assert!(bsh.is_approved_for_all(a.bob, a.charlie));
            as_caller(a.charlie);
            bsh.safe_transfer_from(a.bob, a.eve, icx(), 10, vec![]).unwrap();
            assert_eq!(bsh.safe_transfer_from(a.bob, a.eve, icx(), 91, vec![]), Err(Error::Insufficient));
            bsh.safe_batch_transfer_from(a.bob, a.eve, vec![icx(), icx()], vec![5, 5], vec![]).unwrap();
            assert_eq!(bsh.safe_batch_transfer_from(a.bob, a.eve, vec![icx()], vec![], vec![]), Err(Error::InvalidLengths));
            assert_eq!(bsh.balance_of_batch(vec![a.bob, a.eve], vec![icx(), icx()]), Ok(vec![80, 20]));
            assert_eq!(bsh.balance_of_batch(vec![a.bob], vec![]), Err(Error::InvalidLengths));
            assert_eq!(
                bsh.safe_transfer_from(a.bob, test::callee::<Env>(), icx(), 1, vec![]),
                Err(Error::InvalidAddress),
                "tokens held by the service are in flight or fees"
            );
            as_caller(a.bob);
            bsh.set_approval_for_all(a.charlie, false).unwrap();
            as_caller(a.charlie);
            assert_eq!(bsh.safe_transfer_from(a.bob, a.eve, icx(), 1, vec![]), Err(Error::NotApproved));
            assert_eq!(test::recorded_events().count(), 6, "owner, coin, 2 approvals, 2 transfers");
        }
    }
}
