//! The parachain's BTP Message Center.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

extern crate alloc;

#[path = "routing.rs"]
pub mod routing;

#[ink::contract]
pub mod bmc {
    use btp_primitives::address::{hex_account, validate_network};
    use ink::prelude::string::String;

    #[derive(Debug, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        /// The network address is not `<id>.<type>`.
        InvalidNetwork,
    }

    /// The BMC was deployed for `network` by `owner`.
    #[ink(event)]
    pub struct Deployed {
        #[ink(topic)]
        owner: AccountId,
        network: String,
    }

    #[ink(storage)]
    pub struct Bmc {
        owner: AccountId,
        network: String,
    }

    impl Bmc {
        /// Deploys the BMC of the parachain network `network` (e.g. `0x501.pra`); the caller becomes owner.
        #[ink(constructor)]
        pub fn new(network: String) -> Result<Self, Error> {
            validate_network(&network).map_err(|_| Error::InvalidNetwork)?;
            let owner = Self::env().caller();
            Self::env().emit_event(Deployed { owner, network: network.clone() });
            Ok(Self { owner, network })
        }

        /// This BMC's BTP address: `btp://<network>/0x<contract account in hex>`.
        #[ink(message)]
        pub fn btp_address(&self) -> String {
            let account = self.env().account_id();
            ink::prelude::format!("btp://{}/{}", self.network, hex_account(account.as_ref()))
        }

        /// The account that administers this BMC.
        #[ink(message)]
        pub fn owner(&self) -> AccountId {
            self.owner
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[ink::test]
        fn address_names_network_and_contract() {
            let bmc = Bmc::new("0x501.pra".into()).unwrap();
            let addr = bmc.btp_address();
            assert!(addr.starts_with("btp://0x501.pra/0x"), "{addr}");
            assert_eq!(addr.len(), "btp://0x501.pra/0x".len() + 64);
            assert!(btp_primitives::BtpAddress::parse(&addr).is_ok());
            assert_eq!(Bmc::new("nodot".into()).err(), Some(Error::InvalidNetwork));
        }
    }
}
