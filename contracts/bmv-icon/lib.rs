//! The BTP Message Verifier for messages from ICON.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
mod bmv_icon {
    use btp_primitives::address::validate_network;
    use ink::prelude::string::String;

    #[derive(Debug, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        /// The ICON network address is not `<id>.<type>`.
        InvalidNetwork,
    }

    /// The BMV was deployed to verify `network` for `bmc`.
    #[ink(event)]
    pub struct Deployed {
        #[ink(topic)]
        bmc: AccountId,
        network: String,
    }

    #[ink(storage)]
    pub struct BmvIcon {
        owner: AccountId,
        bmc: AccountId,
        network: String,
    }

    impl BmvIcon {
        /// Deploys a verifier of the ICON network `network` (e.g. `0x1.icon`) serving the BMC `bmc`.
        #[ink(constructor)]
        pub fn new(bmc: AccountId, network: String) -> Result<Self, Error> {
            validate_network(&network).map_err(|_| Error::InvalidNetwork)?;
            Self::env().emit_event(Deployed { bmc, network: network.clone() });
            Ok(Self { owner: Self::env().caller(), bmc, network })
        }

        /// The ICON network this BMV verifies and the BMC it serves.
        #[ink(message)]
        pub fn network(&self) -> (String, AccountId) {
            (self.network.clone(), self.bmc)
        }

        /// The account that administers this BMV.
        #[ink(message)]
        pub fn owner(&self) -> AccountId {
            self.owner
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[ink::test]
        fn keeps_network_and_bmc() {
            let bmc = AccountId::from([7; 32]);
            let bmv = BmvIcon::new(bmc, "0x1.icon".into()).unwrap();
            assert_eq!(bmv.network(), ("0x1.icon".into(), bmc));
            assert_eq!(BmvIcon::new(bmc, "icon".into()).err(), Some(Error::InvalidNetwork));
        }
    }
}
