//! A BTP service for the BMC's end-to-end tests. It implements the service interface the BMC calls
//! (`btp_interfaces::BtpService`) and records every call, so a test can see exactly what the BMC delivered and in
//! which batches. A message whose payload is `refuse` is refused (the whole batch is); `loop` never returns (it
//! runs until its gas is gone); `reply:<text>` is answered with `<text>` for the BMC to send; `send:<text>` sends
//! `<text>` back through the BMC's `send_message` while the BMC is still handling the relay message; `garble` adds
//! an answer too many, as a broken service would. It also
//! accepts single ERC1155-style token transfers (`on_erc1155_received`) but not batches, so a test can see a token
//! contract ask.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

/// The contract and the types its users need, without the module path.
pub use self::test_service::{Error, Received, TestService, TestServiceRef};

#[ink::contract]
pub mod test_service {
    use btp_interfaces::{token, Answer, BtpService, Incoming, ServiceError, TokenReceiver};
    use ink::prelude::{string::String, vec::Vec};

    /// Why a call failed; as a refusal of the BMC's call, the code of [`ServiceError::from`].
    #[derive(Debug, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        Unknown,
        /// Only the BMC calls the service interface.
        Unauthorized,
        /// The message asked to be refused.
        Refused,
        /// The BMC refused to send.
        Bmc,
    }

    /// Local codes by declaration order: the BMC reports `Refused` as 42.
    impl From<Error> for ServiceError {
        fn from(e: Error) -> Self {
            ServiceError::new(match e {
                Error::Unknown => 0,
                Error::Unauthorized => 1,
                Error::Refused => 2,
                Error::Bmc => 3,
            })
        }
    }

    /// One call the BMC made.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum Received {
        Message {
            src: String,
            svc: String,
            sn: u128,
            msg: Vec<u8>,
        },
        Error {
            src: String,
            svc: String,
            sn: u128,
            code: u32,
            msg: String,
        },
        FeeGathering {
            fa: String,
            svc: String,
        },
        /// Tokens a token contract moved to this contract.
        Tokens {
            operator: AccountId,
            from: AccountId,
            id: [u8; 32],
            value: u128,
        },
    }

    /// The BMC delivered `call`.
    #[ink(event)]
    pub struct Delivered {
        call: Received,
    }

    #[ink(storage)]
    pub struct TestService {
        bmc: AccountId,
        received: Vec<Received>,
        batches: Vec<u32>,
    }

    impl TestService {
        /// A service that takes calls from `bmc` only.
        #[ink(constructor)]
        pub fn new(bmc: AccountId) -> Self {
            Self { bmc, received: Vec::new(), batches: Vec::new() }
        }

        /// Every call the BMC made, in order.
        #[ink(message)]
        pub fn received(&self) -> Vec<Received> {
            self.received.clone()
        }

        /// How many messages each batch the service took held, in order.
        #[ink(message)]
        pub fn batches(&self) -> Vec<u32> {
            self.batches.clone()
        }

        /// Sends `msg` as message `sn` of `svc` to network `to` through the BMC.
        #[ink(message)]
        pub fn send(&mut self, to: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<(), Error> {
            self.send_message(&to, &svc, sn, &msg)
        }

        fn only_bmc(&self) -> Result<(), Error> {
            if self.env().caller() == self.bmc {
                Ok(())
            } else {
                Err(Error::Unauthorized)
            }
        }

        fn record(&mut self, call: Received) {
            self.received.push(call.clone());
            self.env().emit_event(Delivered { call });
        }

        fn send_message(&self, to: &str, svc: &str, sn: u128, msg: &[u8]) -> Result<(), Error> {
            btp_interfaces::service::send_message(self.bmc, to.into(), svc.into(), sn, msg.to_vec()).map_err(|_| Error::Bmc)
        }
    }

    impl TokenReceiver for TestService {
        /// Accepts single token transfers, and records them.
        #[ink(message)]
        fn on_erc1155_received(&mut self, operator: AccountId, from: AccountId, id: [u8; 32], value: u128, data: Vec<u8>) -> [u8; 4] {
            let _ = data;
            self.record(Received::Tokens { operator, from, id, value });
            token::ACCEPT_SINGLE
        }

        /// Refuses batches.
        #[ink(message)]
        fn on_erc1155_batch_received(&mut self, operator: AccountId, from: AccountId, ids: Vec<[u8; 32]>, values: Vec<u128>, data: Vec<u8>) -> [u8; 4] {
            let _ = (operator, from, ids, values, data);
            [0; 4]
        }
    }

    impl BtpService for TestService {
        /// Messages of the service, taken all or none.
        #[ink(message)]
        fn handle_btp_messages(&mut self, svc: String, messages: Vec<Incoming>) -> Result<Vec<Answer>, ServiceError> {
            self.only_bmc()?;
            self.batches.push(u32::try_from(messages.len()).unwrap_or(u32::MAX));
            let mut answers = Vec::new();
            for Incoming { src, sn, msg } in messages {
                if msg == b"refuse" {
                    return Err(Error::Refused.into());
                }
                if msg == b"loop" {
                    let mut spins: u64 = 0;
                    loop {
                        spins = core::hint::black_box(spins.wrapping_add(1));
                    }
                }
                if let Some(text) = msg.strip_prefix(b"send:") {
                    self.send_message(&src, &svc, sn, text)?;
                }
                if msg == b"garble" {
                    answers.push(None);
                }
                answers.push(msg.strip_prefix(b"reply:").map(<[u8]>::to_vec));
                self.record(Received::Message { src, svc: svc.clone(), sn, msg });
            }
            Ok(answers)
        }

        /// The BMC `src` reports that message `sn` failed with `code`.
        #[ink(message)]
        fn handle_btp_error(&mut self, src: String, svc: String, sn: u128, code: u32, msg: String) -> Result<(), ServiceError> {
            self.only_bmc()?;
            self.record(Received::Error { src, svc, sn, code, msg });
            Ok(())
        }

        /// The BMC asks for the fees to go to `fa`.
        #[ink(message)]
        fn handle_fee_gathering(&mut self, fa: String, svc: String) -> Result<(), ServiceError> {
            self.only_bmc()?;
            self.record(Received::FeeGathering { fa, svc });
            Ok(())
        }

        /// Requests of this service waiting for an answer: it sends none of its own.
        #[ink(message)]
        fn pending_requests(&self, network: String) -> u64 {
            let _ = network;
            0
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use ink::env::{test, DefaultEnvironment as Env};

        btp_interfaces::service_conformance_tests!(
            service: TestService,
            new: TestService::new,
            svc: "test",
            messages: || {
                let message = |sn: u128, msg: &[u8]| Incoming { src: "0x3.icon".into(), sn, msg: msg.to_vec() };
                vec![message(1, b"hello"), message(2, b"reply:pong"), message(1 << 64, b"an answer")]
            },
            state: |service: &TestService| service.received()
        );

        #[ink::test]
        fn only_the_bmc_is_heard_and_refusals_are_on_request() {
            let accounts = test::default_accounts::<Env>();
            let mut service = TestService::new(accounts.alice);
            let one = |sn: u128, msg: &[u8]| vec![Incoming { src: "0x3.icon".into(), sn, msg: msg.to_vec() }];
            test::set_caller::<Env>(accounts.bob);
            assert_eq!(service.handle_btp_messages("test".into(), one(1, &[1])), Err(Error::Unauthorized.into()));
            assert_eq!(service.handle_fee_gathering("btp://0x3.icon/hx01".into(), "test".into()), Err(Error::Unauthorized.into()));
            test::set_caller::<Env>(accounts.alice);
            assert_eq!(service.handle_btp_messages("test".into(), one(1, b"refuse")), Err(ServiceError::new(2)));
            assert_eq!(service.handle_btp_messages("test".into(), one(2, b"reply:pong")), Ok(vec![Some(b"pong".to_vec())]));
            service.handle_btp_error("btp://0x3.icon/cx01".into(), "test".into(), 3, 42, "no".into()).unwrap();
            assert_eq!(service.received().len(), 2);
        }
    }
}
