//! The native-coin service's transfer events, for relays, wallets and indexers: what left, what arrived, how each
//! transfer ended, and the ERC1155 token movements of the wrapped coins.

use crate::ledger::{AssetTransfer, TokenId};
use ink::{
    prelude::{string::String, vec::Vec},
    primitives::AccountId,
};

/// A transfer left this chain: request `sn`, waiting for the destination's response.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferStart {
    /// The sender, whose value is locked until the request ends.
    #[ink(topic)]
    pub from: AccountId,
    /// The recipient, a BTP address on another network.
    pub to: String,
    /// The request's serial number (at or above `REQUEST_SN_BASE`).
    pub sn: u128,
    /// The coins sent: the amount that arrives and the fee kept here, per coin.
    pub assets: Vec<AssetTransfer>,
}

/// Request `sn` of `from` ended: `code` 0 delivered (the locked value is gone for good, the fee kept); any other
/// code failed (the amount without its fee is refundable to `from`).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEnd {
    #[ink(topic)]
    pub from: AccountId,
    pub sn: u128,
    /// 0 on success, the destination's response code or a BTP error code otherwise.
    pub code: u32,
    /// The destination's or the BMC's text, clipped.
    pub msg: String,
}

/// Transfer request `sn` arrived from the network `src`: `code` 0 carried out, 1 refused with nothing changed
/// (`msg` says why); the response with the same code goes back either way.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReceived {
    pub src: String,
    /// The sender on `src` and the recipient here, as the request spells them (clipped).
    pub from: String,
    pub to: String,
    pub sn: u128,
    /// The coins and values the request asked for (clipped names, at most `MAX_ASSETS`).
    pub assets: Vec<(String, u128)>,
    pub code: u32,
    pub msg: String,
}

/// ERC1155: `value` of token `id` moved from `from` to `to` by `operator` (`from` `None`: minted; `to` `None`:
/// burned).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSingle {
    #[ink(topic)]
    pub operator: AccountId,
    #[ink(topic)]
    pub from: Option<AccountId>,
    #[ink(topic)]
    pub to: Option<AccountId>,
    pub id: TokenId,
    pub value: u128,
}

/// ERC1155: `values[i]` of token `ids[i]` moved from `from` to `to` by `operator`.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferBatch {
    #[ink(topic)]
    pub operator: AccountId,
    #[ink(topic)]
    pub from: Option<AccountId>,
    #[ink(topic)]
    pub to: Option<AccountId>,
    pub ids: Vec<TokenId>,
    pub values: Vec<u128>,
}
