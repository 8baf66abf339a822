//! A BTP service (BSH) as its BMC calls it, and the BMC as its services call it.

use ink::prelude::{string::String, vec::Vec};

/// Why a service refused a message: its local code, 0–14; the BMC reports BTP code 40 + code (the service
/// range, 40–54) in the error reply it sends for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct ServiceError {
    code: u8,
}

impl ServiceError {
    /// The highest local code of the service range.
    pub const MAX_CODE: u8 = 14;

    /// A refusal with local code `code`; a code beyond the range is `Unknown` (0).
    pub const fn new(code: u8) -> Self {
        Self { code: if code > Self::MAX_CODE { 0 } else { code } }
    }

    /// The local code. A refusal decoded from a service is not built by [`ServiceError::new`], so it is checked
    /// here too.
    pub fn code(self) -> u8 {
        if self.code > Self::MAX_CODE {
            0
        } else {
            self.code
        }
    }

    /// The BTP code a BMC reports: 40 + the local code.
    pub fn btp_code(self) -> u32 {
        u32::from(self.code()).saturating_add(40)
    }
}

/// A message for a service: its serial number `sn` (positive) from the network `src`, and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct Incoming {
    /// The network the message comes from (`0x3.icon`).
    pub src: String,
    /// The message's serial number: the sender's request number, or one of this service's own numbers for an
    /// answer to its request.
    pub sn: u128,
    /// The service's own encoding of the message.
    pub msg: Vec<u8>,
}

/// What a service answers to one message: the payload the BMC sends back to the message's source under the
/// message's `sn` (a transfer's response), or nothing.
pub type Answer = Option<Vec<u8>>;

/// A BTP service handler: the BMC delivers its messages, error reports and fee-gathering requests.
///
/// Messages come in batches: all of a relay message's consecutive messages for the service in one call, so that
/// the service's code is loaded once, not once per message (code is proof size on every call). A batch is all or
/// nothing: `Ok` keeps every change and holds one answer per message, in order; `Err` or a trap keeps none, and
/// the BMC then delivers the messages one at a time, each in a batch of its own, where `Err` refuses only that
/// message (the BMC sends its source an error reply with the refusal's code). So a service never refuses one
/// message of a larger batch: it returns `Err` for the batch and refuses the message when it comes alone. Handling
/// a batch must change the service exactly as handling its messages one after another does
/// ([`crate::service_conformance_tests!`] checks it).
#[ink::trait_definition]
pub trait BtpService {
    /// Messages of service `svc`, in the order they were sent. BMC only.
    #[ink(message)]
    fn handle_btp_messages(&mut self, svc: String, messages: Vec<Incoming>) -> Result<Vec<Answer>, ServiceError>;

    /// The BMC `src` (a BTP address) reports that this service's message `sn` failed with BTP code `code` and text
    /// `msg`. A refusal reverts the call's changes. BMC only.
    #[ink(message)]
    fn handle_btp_error(&mut self, src: String, svc: String, sn: u128, code: u32, msg: String) -> Result<(), ServiceError>;

    /// Send the fees gathered so far to the fee aggregator `fa` (a BTP address). BMC only.
    #[ink(message)]
    fn handle_fee_gathering(&mut self, fa: String, svc: String) -> Result<(), ServiceError>;

    /// How many of this service's requests to `network` wait for an answer: the BMC keeps the way to a network
    /// while any do.
    #[ink(message)]
    fn pending_requests(&self, network: String) -> u64;
}

/// Why a BMC refused a service's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum BmcError {
    /// No service of that name is registered.
    #[codec(index = 0)]
    NotExistsBsh,
    /// The caller is not the service's registered contract.
    #[codec(index = 1)]
    Unauthorized,
    /// A serial number must be positive and fit BTP's signed integer.
    #[codec(index = 2)]
    InvalidSn,
    /// No link or route leads to the network.
    #[codec(index = 3)]
    Unreachable,
    /// The message would not fit an event.
    #[codec(index = 4)]
    MessageTooLarge,
    /// Anything else the BMC could not do.
    #[codec(index = 5)]
    Failed,
    /// The BMC is halted: it sends nothing.
    #[codec(index = 6)]
    Halted,
}

/// An answer to one of a service's own requests that the service could not take when it came: `src` is the
/// BTP address of the BMC that sent it, `sn` as in the message (negative for an error reply), `payload` as in the
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct UndeliveredAnswer {
    pub src: String,
    pub sn: i128,
    pub payload: Vec<u8>,
}

/// Has the BMC `bmc` send message `sn` of service `svc` to the network `to`, from inside the service's contract.
/// `Err(None)`: the BMC could not be called at all (no such contract, a trap).
pub fn send_message(bmc: ink::primitives::AccountId, to: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<(), Option<BmcError>> {
    use ink::codegen::TraitCallBuilder;
    let mut center: ink::contract_ref!(MessageCenter, ink::env::DefaultEnvironment) = bmc.into();
    center.call_mut().send_message(to, svc, sn, msg).try_invoke().map_err(|_| None)?.map_err(|_| None)?.map_err(Some)
}

/// A BMC as its services call it.
#[ink::trait_definition]
pub trait MessageCenter {
    /// Sends `msg` of service `svc` with serial number `sn` (> 0) to network `to`. Only the service's contract.
    #[ink(message)]
    fn send_message(&mut self, to: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<(), BmcError>;

    /// Hands the service `svc` its kept answer to request `sn`, once. Only the service's contract.
    #[ink(message)]
    fn take_undelivered_answer(&mut self, svc: String, sn: u128) -> Result<Option<UndeliveredAnswer>, BmcError>;
}

/// The conformance tests every BTP service passes, as ink! off-chain tests in the crate that invokes it, inside
/// the contract module's `#[cfg(test)]` section:
///
/// ```text
/// btp_interfaces::service_conformance_tests!(
///     service: MyService, new: |bmc| MyService::new(bmc, …), svc: "my-service", messages: || vec![…],
///     state: |s: &MyService| (s.balance_of(…), …)
/// );
/// ```
///
/// `service` is the contract's type, `new` builds one whose BMC is `bmc` (the caller when it runs is the default account, which is `bmc`);
/// `messages` are messages the service takes (any mix of requests, answers to requests `new` left pending, unknown
/// kinds), and `state` reads what the service keeps (its `Debug` output is compared). The service must: hear only
/// its BMC; answer a batch with one answer per message, exactly as it answers those messages one at a time, and
/// end in the same state (compared by `state`, `pending_requests` and the events it emits); take an empty batch;
/// take error reports of requests it never sent without trapping.
#[macro_export]
macro_rules! service_conformance_tests {
    (service: $service:ty, new: $new:expr, svc: $svc:expr, messages: $messages:expr, state: $state:expr $(,)?) => {
        mod btp_service_conformance {
            use super::*;
            use $crate::{BtpService as _, Incoming};

            type Env = ::ink::env::DefaultEnvironment;

            fn service() -> $service {
                let accounts = ::ink::env::test::default_accounts::<Env>();
                ::ink::env::test::set_caller::<Env>(accounts.alice);
                ($new)(accounts.alice)
            }

            fn messages() -> ::ink::prelude::vec::Vec<Incoming> {
                ($messages)()
            }

            #[::ink::test]
            fn only_the_bmc_is_heard() {
                let mut service = service();
                ::ink::env::test::set_caller::<Env>(::ink::env::test::default_accounts::<Env>().bob);
                assert!(service.handle_btp_messages($svc.into(), messages()).is_err(), "messages from a stranger");
                assert!(service.handle_btp_messages($svc.into(), ::ink::prelude::vec::Vec::new()).is_err(), "an empty batch from a stranger");
                assert!(service.handle_btp_error("btp://0x3.icon/cx01".into(), $svc.into(), 1, 40, "".into()).is_err(), "an error from a stranger");
                assert!(service.handle_fee_gathering("btp://0x3.icon/hx01".into(), $svc.into()).is_err(), "fee gathering by a stranger");
            }

            /// What a service ends with after taking the messages in batches of `size`: the answers, the events,
            /// the pending requests per source network. Each run is a fresh off-chain chain.
            fn outcome(
                size: usize,
            ) -> (
                ::ink::prelude::vec::Vec<$crate::Answer>,
                ::ink::prelude::vec::Vec<::ink::prelude::vec::Vec<u8>>,
                ::ink::prelude::vec::Vec<u64>,
                ::ink::prelude::string::String,
            ) {
                let mut outcome = None;
                ::ink::env::test::run_test::<Env, _>(|_| {
                    let mut service = service();
                    let all = messages();
                    let mut answers = ::ink::prelude::vec::Vec::new();
                    for batch in all.chunks(size) {
                        let answer = service.handle_btp_messages($svc.into(), batch.to_vec()).expect("the messages are taken");
                        assert_eq!(answer.len(), batch.len(), "one answer per message");
                        answers.extend(answer);
                    }
                    let events = ::ink::env::test::recorded_events().map(|e| e.data).collect();
                    let pending = all.iter().map(|m| service.pending_requests(m.src.clone())).collect();
                    let state = ::ink::prelude::format!("{:?}", ($state)(&service));
                    outcome = Some((answers, events, pending, state));
                    Ok(())
                })
                .expect("off-chain run");
                outcome.expect("the run ended")
            }

            #[test]
            fn a_batch_is_its_messages_one_at_a_time() {
                let count = messages().len();
                assert!(count > 1, "conformance needs a batch of several messages");
                assert_eq!(outcome(count), outcome(1));
            }

            #[::ink::test]
            fn an_empty_batch_is_taken() {
                let mut service = service();
                assert_eq!(service.handle_btp_messages($svc.into(), ::ink::prelude::vec::Vec::new()), Ok(::ink::prelude::vec::Vec::new()));
            }

            #[::ink::test]
            fn no_requests_wait_on_a_network_that_is_none() {
                let service = service();
                assert_eq!(service.pending_requests("not a network".into()), 0);
            }

            #[::ink::test]
            fn an_error_for_a_request_never_sent_does_not_trap() {
                let mut service = service();
                let before = service.pending_requests("0x3.icon".into());
                let _ = service.handle_btp_error("btp://0x3.icon/cx01".into(), $svc.into(), (1u128 << 64) + 1_000_000, 41, "unknown".into());
                let _ = service.handle_btp_error("not an address".into(), $svc.into(), 7, 0, "".into());
                assert_eq!(service.pending_requests("0x3.icon".into()), before, "nothing it waits for changed");
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_stay_in_the_service_range() {
        assert_eq!(ServiceError::new(2).btp_code(), 42);
        assert_eq!(ServiceError::new(15).btp_code(), 40);
        let forged: ServiceError = scale::Decode::decode(&mut &[200u8][..]).unwrap();
        assert_eq!(forged.btp_code(), 40, "a code a service writes by hand is checked as well");
    }
}
