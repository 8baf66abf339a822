//! A contract that takes ERC1155-style tokens: the hooks a token contract (the native-coin service's wrapped coins)
//! asks before it moves tokens to a contract.

use ink::prelude::vec::Vec;
use ink::primitives::AccountId;

/// What a receiver answers to accept one token transfer: the selector of `on_erc1155_received`.
pub const ACCEPT_SINGLE: [u8; 4] = [0xc2, 0xee, 0xd9, 0x98];
/// What a receiver answers to accept a batch: the selector of `on_erc1155_batch_received`.
pub const ACCEPT_BATCH: [u8; 4] = [0x16, 0x20, 0x49, 0x85];

/// A contract that takes tokens. The selectors are those of plain messages of these names, so that a receiver
/// written without this trait is asked the same.
#[ink::trait_definition]
pub trait TokenReceiver {
    /// `value` of token `id` is moved from `from` to this contract by `operator`; `data` is the caller's. The
    /// transfer goes through only when the answer is [`ACCEPT_SINGLE`].
    #[ink(message, selector = 0xc2eed998)]
    fn on_erc1155_received(&mut self, operator: AccountId, from: AccountId, id: [u8; 32], value: u128, data: Vec<u8>) -> [u8; 4];

    /// `values[i]` of token `ids[i]` are moved from `from` to this contract by `operator`. The transfer goes
    /// through only when the answer is [`ACCEPT_BATCH`].
    #[ink(message, selector = 0x16204985)]
    fn on_erc1155_batch_received(&mut self, operator: AccountId, from: AccountId, ids: Vec<[u8; 32]>, values: Vec<u128>, data: Vec<u8>) -> [u8; 4];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answers_are_the_plain_selectors() {
        assert_eq!(ACCEPT_SINGLE, ink::selector_bytes!("on_erc1155_received"));
        assert_eq!(ACCEPT_BATCH, ink::selector_bytes!("on_erc1155_batch_received"));
    }
}
