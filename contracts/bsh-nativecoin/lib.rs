//! The native-coin BTP service handler.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod bsh_nativecoin {
    use ink::prelude::string::String;

    #[derive(Debug, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        /// A coin name must be non-empty.
        InvalidCoinName,
    }

    /// The service was deployed for `bmc` with the parachain's native coin `native_coin`.
    #[ink(event)]
    pub struct Deployed {
        #[ink(topic)]
        bmc: AccountId,
        native_coin: String,
    }

    #[ink(storage)]
    pub struct BshNativecoin {
        owner: AccountId,
        bmc: AccountId,
        native_coin: String,
    }

    impl BshNativecoin {
        /// Deploys the service for the BMC `bmc`; `native_coin` names the parachain's own coin on the wire.
        #[ink(constructor)]
        pub fn new(bmc: AccountId, native_coin: String) -> Result<Self, Error> {
            if native_coin.is_empty() {
                return Err(Error::InvalidCoinName);
            }
            Self::env().emit_event(Deployed { bmc, native_coin: native_coin.clone() });
            Ok(Self { owner: Self::env().caller(), bmc, native_coin })
        }

        /// The names of the coins this service moves; the native coin comes first.
        #[ink(message)]
        pub fn coin_names(&self) -> ink::prelude::vec::Vec<String> {
            ink::prelude::vec![self.native_coin.clone()]
        }

        /// The account that administers this service.
        #[ink(message)]
        pub fn owner(&self) -> AccountId {
            self.owner
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[ink::test]
        fn names_the_native_coin() {
            let bsh = BshNativecoin::new(AccountId::from([1; 32]), "DOT".into()).unwrap();
            assert_eq!(bsh.coin_names(), ink::prelude::vec![String::from("DOT")]);
            assert_eq!(BshNativecoin::new(AccountId::from([1; 32]), String::new()).err(), Some(Error::InvalidCoinName));
        }
    }
}
