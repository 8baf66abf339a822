//! A BTP Message Verifier (BMV) as its BMC calls it.

use ink::{
    env::call::{
        utils::{Argument, ArgumentList, EmptyArgumentList},
        ExecutionInput, Selector,
    },
    prelude::{string::String, vec::Vec},
};

/// Where a verifier stands: what a relay resumes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct VerifierStatus {
    /// Height of the last block the verifier accumulated: the next block update is for `height + 1`.
    pub height: u64,
    /// The accumulator's offset: blocks at or below it cannot be proven.
    pub offset: u64,
    /// Height of the last block whose messages were delivered.
    pub last_height: u64,
}

/// Where a proven BTP message lies in the relay message that proved it: `msg[offset..offset + len]`, verbatim.
/// A verifier returns these rather than copies, so that its answer stays a few bytes per message and the relay
/// message and the answer share the contracts' I/O buffer without either limiting the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct MessageSpan {
    pub offset: u32,
    pub len: u32,
}

impl MessageSpan {
    /// The span of `part` within `msg`, when `part` is a subslice of it; an empty part is the empty span at 0,
    /// wherever it points (a null item reads as an empty slice of no particular place).
    pub fn within(msg: &[u8], part: &[u8]) -> Option<Self> {
        if part.is_empty() {
            return Some(Self::default());
        }
        let (start, end) = (msg.as_ptr() as usize, part.as_ptr() as usize);
        let offset = end.checked_sub(start)?;
        (offset.checked_add(part.len())? <= msg.len()).then_some(())?;
        Some(Self { offset: u32::try_from(offset).ok()?, len: u32::try_from(part.len()).ok()? })
    }

    /// The message this span marks in `msg`; `None` when it reaches past its end.
    pub fn slice(self, msg: &[u8]) -> Option<&[u8]> {
        let start = usize::try_from(self.offset).ok()?;
        msg.get(start..start.checked_add(usize::try_from(self.len).ok()?)?)
    }
}

/// What a verified relay message proved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct Verified {
    /// The BTP messages for the BMC, in sequence order, as spans of the relay message.
    pub messages: Vec<MessageSpan>,
    /// Block updates the verifier accepted.
    pub blocks: u32,
    /// The verifier after the message.
    pub status: VerifierStatus,
}

/// Why a verifier refused a relay message. Codes 0–14 are the BMV codes of ICON's BTP (`BMVException`, absolute
/// BTP code 25 + code; `icon_light_client::ErrorCode` names them); the rest are this interface's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum VerifierError {
    #[codec(index = 0)]
    Unknown,
    #[codec(index = 1)]
    InvalidMpt,
    #[codec(index = 2)]
    InvalidVotes,
    #[codec(index = 3)]
    InvalidSequence,
    #[codec(index = 4)]
    InvalidBlockUpdate,
    #[codec(index = 5)]
    InvalidBlockProof,
    #[codec(index = 6)]
    InvalidBlockWitness,
    #[codec(index = 7)]
    InvalidSequenceHigher,
    #[codec(index = 8)]
    InvalidBlockUpdateHeightHigher,
    #[codec(index = 9)]
    InvalidBlockUpdateHeightLower,
    #[codec(index = 10)]
    InvalidBlockProofHeightHigher,
    #[codec(index = 11)]
    InvalidBlockWitnessOld,
    #[codec(index = 12)]
    DecodeError,
    #[codec(index = 13)]
    NotAcceptedFromNetwork,
    #[codec(index = 14)]
    NotAcceptedBmc,
    /// The caller is not the verifier's BMC.
    #[codec(index = 64)]
    Unauthorized,
    /// The verifier's own state is unreadable: it cannot verify anything until fixed.
    #[codec(index = 65)]
    Corrupted,
    /// The verifier is halted: it verifies nothing until its owner resumes it.
    #[codec(index = 66)]
    Halted,
}

impl VerifierError {
    /// The absolute BTP code (BMV range 25–39) a BMC reports, for ICON's codes.
    pub fn btp_code(self) -> Option<u32> {
        let local = scale::Encode::encode(&self)[0];
        (local < 15).then(|| u32::from(local).saturating_add(25))
    }
}

/// A BMV: verifies relay messages from one network for one BMC.
#[ink::trait_definition]
pub trait Verifier {
    /// Verifies a relay message from the source BMC `prev` for the BMC `bmc` (its BTP address), whose link has
    /// received `seq` messages, and returns the BTP messages it proves with the verifier's new status. Only the
    /// verifier's BMC may call; a refusal changes nothing.
    #[ink(message)]
    fn handle_relay_message(&mut self, bmc: String, prev: String, seq: u128, msg: Vec<u8>) -> Result<Verified, VerifierError>;

    /// Where the verifier stands.
    #[ink(message)]
    fn status(&self) -> Result<VerifierStatus, VerifierError>;
}

/// The input of [`Verifier::handle_relay_message`]`(bmc, prev, seq, msg)` with the relay message borrowed, for a
/// caller that keeps using the message after the call (a BMC slicing the proven messages out of it): the typed
/// call builder takes it by value, and in a contract a second copy of a relay message may not fit the memory
/// (ink!'s bump allocator never frees). The selector is the trait definition's; a test compares the whole input
/// with the typed builder's.
pub fn handle_relay_message_input<'a>(bmc: &'a String, prev: &'a String, seq: u128, msg: &'a [u8]) -> ExecutionInput<RelayMessageArgs<'a>> {
    const SELECTOR: [u8; 4] =
        <<ink::reflect::TraitDefinitionRegistry<ink::env::DefaultEnvironment> as Verifier>::__ink_TraitInfo as ink::reflect::TraitMessageInfo<
            { ink::selector_id!("handle_relay_message") },
        >>::SELECTOR;
    ExecutionInput::new(Selector::new(SELECTOR)).push_arg(bmc).push_arg(prev).push_arg(seq).push_arg(msg)
}

/// The arguments [`handle_relay_message_input`] pushes, last first (ink!'s argument list).
pub type RelayMessageArgs<'a> =
    ArgumentList<Argument<&'a [u8]>, ArgumentList<Argument<u128>, ArgumentList<Argument<&'a String>, ArgumentList<Argument<&'a String>, EmptyArgumentList>>>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_borrowed_relay_message_input_is_the_typed_one() {
        use ink::codegen::TraitCallBuilder;
        let (bmc, prev, msg) = (String::from("btp://0x501.pra/0x0a"), String::from("btp://0x3.icon/cx01"), vec![7u8; 300]);
        let mut verifier: ink::contract_ref!(Verifier, ink::env::DefaultEnvironment) = ink::primitives::AccountId::from([1; 32]).into();
        let typed = verifier.call_mut().handle_relay_message(bmc.clone(), prev.clone(), 9, msg.clone()).params();
        assert_eq!(scale::Encode::encode(&handle_relay_message_input(&bmc, &prev, 9, &msg)), scale::Encode::encode(typed.exec_input()));
    }

    #[test]
    fn spans_mark_parts_of_the_message_and_nothing_else() {
        let msg = b"0123456789".to_vec();
        let span = MessageSpan::within(&msg, &msg[3..7]).unwrap();
        assert_eq!(span, MessageSpan { offset: 3, len: 4 });
        assert_eq!(span.slice(&msg), Some(&b"3456"[..]));
        assert_eq!(MessageSpan::within(&msg, &msg[10..]), Some(MessageSpan { offset: 0, len: 0 }));
        assert_eq!(MessageSpan::within(&msg, <&[u8]>::default()), Some(MessageSpan::default()), "a null item");
        let other = msg.clone();
        assert_eq!(MessageSpan::within(&msg, &other[3..7]), None, "a copy is not a part");
        assert_eq!(MessageSpan::within(&msg[..5], &msg[3..7]), None, "past the end");
        assert_eq!(MessageSpan { offset: 8, len: 3 }.slice(&msg), None);
        assert_eq!(MessageSpan { offset: u32::MAX, len: u32::MAX }.slice(&msg), None);
    }

    #[test]
    fn codes_are_pinned() {
        assert_eq!(VerifierError::Unknown.btp_code(), Some(25));
        assert_eq!(VerifierError::DecodeError.btp_code(), Some(37));
        assert_eq!(VerifierError::NotAcceptedBmc.btp_code(), Some(39));
        assert_eq!(VerifierError::Unauthorized.btp_code(), None);
        assert_eq!(scale::Encode::encode(&VerifierError::Corrupted), vec![65]);
    }
}
