//! A BTP service for the BMC's end-to-end tests. It implements the service interface the BMC calls
//! (`handle_btp_message`, `handle_btp_error`, `handle_fee_gathering`, `pending_requests`) and records every call,
//! so a test can see exactly what the BMC delivered. A message whose payload is `refuse` is refused; `loop` never
//! returns (it runs until its gas is gone); one starting with `reply:` is answered through the BMC while the BMC
//! is still handling the relay message, as a real service answers. It also
//! accepts single ERC1155-style token transfers (`on_erc1155_received`) but not batches, so a test can see a token
//! contract ask.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

/// The contract and the types its users need, without the module path.
pub use self::test_service::{Error, Received, TestService, TestServiceRef};

#[ink::contract]
pub mod test_service {
    use ink::prelude::{string::String, vec::Vec};

    /// The SCALE index is the local BTP code the BMC reports (40 + index).
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
    }

    impl TestService {
        /// A service that takes calls from `bmc` only.
        #[ink(constructor)]
        pub fn new(bmc: AccountId) -> Self {
            Self { bmc, received: Vec::new() }
        }

        /// Every call the BMC made, in order.
        #[ink(message)]
        pub fn received(&self) -> Vec<Received> {
            self.received.clone()
        }

        /// Sends `msg` as message `sn` of `svc` to network `to` through the BMC.
        #[ink(message)]
        pub fn send(&mut self, to: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<(), Error> {
            self.send_message(&to, &svc, sn, &msg)
        }

        /// A message of the service from network `src`.
        #[ink(message)]
        pub fn handle_btp_message(&mut self, src: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<(), Error> {
            self.only_bmc()?;
            if msg == b"refuse" {
                return Err(Error::Refused);
            }
            if msg == b"loop" {
                let mut spins: u64 = 0;
                loop {
                    spins = core::hint::black_box(spins.wrapping_add(1));
                }
            }
            if let Some(answer) = msg.strip_prefix(b"reply:") {
                self.send_message(&src, &svc, sn, answer)?;
            }
            self.record(Received::Message { src, svc, sn, msg });
            Ok(())
        }

        /// The BMC `src` reports that message `sn` failed with `code`.
        #[ink(message)]
        pub fn handle_btp_error(&mut self, src: String, svc: String, sn: u128, code: u32, msg: String) -> Result<(), Error> {
            self.only_bmc()?;
            self.record(Received::Error { src, svc, sn, code, msg });
            Ok(())
        }

        /// The BMC asks for the fees to go to `fa`.
        #[ink(message)]
        pub fn handle_fee_gathering(&mut self, fa: String, svc: String) -> Result<(), Error> {
            self.only_bmc()?;
            self.record(Received::FeeGathering { fa, svc });
            Ok(())
        }

        /// Requests of this service waiting for an answer: it sends none of its own.
        #[ink(message)]
        pub fn pending_requests(&self, network: String) -> u64 {
            let _ = network;
            0
        }

        /// ERC1155 receiver hook: accepts by answering with this message's selector.
        #[ink(message)]
        pub fn on_erc1155_received(&mut self, operator: AccountId, from: AccountId, id: [u8; 32], value: u128, data: Vec<u8>) -> [u8; 4] {
            let _ = data;
            self.record(Received::Tokens { operator, from, id, value });
            ink::selector_bytes!("on_erc1155_received")
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
            bmc::client::send_message(self.bmc, to, svc, sn, msg).map_err(|_| Error::Bmc)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use ink::env::{test, DefaultEnvironment as Env};

        #[ink::test]
        fn only_the_bmc_is_heard_and_refusals_are_on_request() {
            let accounts = test::default_accounts::<Env>();
            let mut service = TestService::new(accounts.alice);
            test::set_caller::<Env>(accounts.bob);
            assert_eq!(service.handle_btp_message("0x3.icon".into(), "test".into(), 1, vec![1]), Err(Error::Unauthorized));
            assert_eq!(service.handle_fee_gathering("btp://0x3.icon/hx01".into(), "test".into()), Err(Error::Unauthorized));
            test::set_caller::<Env>(accounts.alice);
            assert_eq!(service.handle_btp_message("0x3.icon".into(), "test".into(), 1, b"refuse".to_vec()), Err(Error::Refused));
            service.handle_btp_message("0x3.icon".into(), "test".into(), 2, vec![1]).unwrap();
            service.handle_btp_error("btp://0x3.icon/cx01".into(), "test".into(), 3, 42, "no".into()).unwrap();
            assert_eq!(service.received().len(), 2);
        }
    }
}
