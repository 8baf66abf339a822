//! The parachain's BTP Message Center.
//!
//! State, access control and events; the rules live in [`routing`], plain Rust that unit tests reach directly.
//! Services (BSH contracts) call `send_message`; the BMC emits `Message { next, seq, msg }` events that the relay
//! carries to the next BMC. Links, routes, relays, verifiers and services are configured by the owners.
//!
//! # The service interface
//! A service (BSH) contract registered with `add_service` has these messages, which the BMC calls by name:
//! * `handle_btp_message(src: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<(), E>`: a message of the
//!   service from the network `src`;
//! * `handle_btp_error(src: String, svc: String, sn: u128, code: u32, msg: String) -> Result<(), E>`: the BMC
//!   `src` (a BTP address) reports that the service's message `sn` failed with `code`;
//! * `handle_fee_gathering(fa: String, svc: String) -> Result<(), E>`: send the accumulated fees to the fee
//!   aggregator `fa` (a BTP address).
//!
//! `E` is a field-less enum whose SCALE index is the service's local BTP code: a refusal of message `sn` becomes
//! the error reply `40 + index` (capped at 54), a trap becomes 40. A service may call `send_message` while it
//! handles a message (a response, say): the BMC writes its state before calling a service and reads it back
//! afterwards, so nothing the service causes is lost or overwritten.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

extern crate alloc;

#[path = "routing.rs"]
pub mod routing;

/// What a service calls on its BMC, for service contracts that build on this crate (`ink-as-dependency`).
pub mod client {
    use crate::bmc::Error;
    use ink::{
        env::call::{build_call, ExecutionInput, Selector},
        primitives::AccountId,
    };

    /// Has the BMC at `bmc` send `msg` as message `sn` of `svc` to network `to`. `Err(None)`: the BMC could not
    /// be called at all.
    pub fn send_message(bmc: AccountId, to: &str, svc: &str, sn: u128, msg: &[u8]) -> Result<(), Option<Error>> {
        build_call::<ink::env::DefaultEnvironment>()
            .call(bmc)
            .exec_input(ExecutionInput::new(Selector::new(ink::selector_bytes!("send_message"))).push_arg(to).push_arg(svc).push_arg(sn).push_arg(msg))
            .returns::<Result<(), Error>>()
            .try_invoke()
            .map_err(|_| None)?
            .map_err(|_| None)?
            .map_err(Some)
    }
}

#[ink::contract]
pub mod bmc {
    use crate::routing::{self, Disposition, Link, ServiceFailure};
    use btp_primitives::{
        address::{hex_account, validate_network},
        bmc::{BmcMessage, BMC_SERVICE},
        BtpAddress, BtpMessage, ErrorMessage,
    };
    use ink::{
        env::call::{build_call, ExecutionInput, Selector},
        prelude::{string::String, vec::Vec},
    };

    pub use crate::routing::Rotation;

    #[derive(Debug, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        /// The caller may not do this.
        Unauthorized,
        /// A network address is not `<id>.<type>`.
        InvalidNetwork,
        /// A BTP address is malformed.
        InvalidAddress,
        /// Services send messages with `sn > 0`.
        InvalidSn,
        /// The last owner cannot be removed.
        LastOwner,
        AlreadyExistsOwner,
        NotExistsOwner,
        AlreadyExistsBmv,
        NotExistsBmv,
        AlreadyExistsBsh,
        NotExistsBsh,
        /// `bmc` names the BMC's own internal service.
        ReservedService,
        AlreadyExistsLink,
        NotExistsLink,
        /// A route still leaves on this link.
        LinkInUse,
        AlreadyExistsRoute,
        NotExistsRoute,
        AlreadyExistsBmr,
        NotExistsBmr,
        /// No route, link or announced BMC reaches the destination network.
        Unreachable,
        /// A sequence number would overflow.
        Overflow,
        /// Only the next message expected on a link can be dropped.
        InvalidSeq,
        /// The link's BMV could not be called.
        VerifierUnavailable,
        /// The link's BMV refused the relay message; the BTP error code (25–39) it reported.
        Verifier(u32),
        /// No fee aggregator is set.
        NoFeeAggregator,
    }

    pub type Result<T> = core::result::Result<T, Error>;

    /// A relay allowed to submit relay messages on a link, with what it delivered.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Relay {
        pub account: AccountId,
        pub block_count: u64,
        pub msg_count: u64,
    }

    /// A link as stored: the peer BMC, its sequence numbers, what it can reach, its relays.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct LinkState {
        pub peer: String,
        pub rx_seq: u64,
        pub tx_seq: u64,
        pub reachable: Vec<String>,
        pub relays: Vec<Relay>,
        pub rotation: Rotation,
    }

    /// What a relay resumes from: `get_status(link)`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct LinkStatus {
        pub rx_seq: u64,
        pub tx_seq: u64,
        /// The link's BMV: (accumulator height, offset, last height with messages).
        pub verifier: (u64, u64, u64),
        pub relays: Vec<Relay>,
        /// The rotation parameters and state; `rotate_term` 0 means any relay of the link may submit.
        pub rotation: Rotation,
        pub rotate_term: u64,
        pub cur_height: u32,
    }

    /// A BTP message for the BMC `next`, the `seq`-th on that link; `msg` is its RLP encoding.
    #[ink(event)]
    pub struct Message {
        #[ink(topic)]
        next: String,
        seq: u64,
        msg: Vec<u8>,
    }

    /// A relay message from `prev` was verified: `messages` BTP messages, of which `undecodable` were not BTP
    /// messages (skipped, still counted in `rx_seq`) and `refused` got error replies.
    #[ink(event)]
    pub struct RelayMessageHandled {
        #[ink(topic)]
        prev: String,
        rx_seq: u64,
        messages: u32,
        undecodable: u32,
        refused: u32,
    }

    /// An error reply for the service `svc`'s message `sn` (`code`, `msg`) could not be handed to the service:
    /// `failure` is the BMC or service code of why. Error replies are never answered, so this is their record.
    #[ink(event)]
    pub struct ErrorOnBtpError {
        #[ink(topic)]
        svc: String,
        sn: u128,
        code: u32,
        msg: String,
        failure: u32,
    }

    /// Fee gathering ran: every service was asked to send its fees to `fee_aggregator`; `failed` lists the
    /// services that could not (their fees stay with them).
    #[ink(event)]
    pub struct FeeGathering {
        fee_aggregator: String,
        services: Vec<String>,
        failed: Vec<String>,
    }

    /// The fee aggregator or the gathering term changed; gathering next runs at block `next` (0: never).
    #[ink(event)]
    pub struct FeeGatheringChanged {
        fee_aggregator: Option<String>,
        term: u32,
        next: u32,
    }

    /// The relay rotation of `link` was reconfigured; `rotate_term` 0 turns it off.
    #[ink(event)]
    pub struct LinkRotationChanged {
        #[ink(topic)]
        link: String,
        rotation: Rotation,
        rotate_term: u64,
    }

    /// Configuration changed: `what` (owner, verifier, service, link, route, relay) `key` was added or removed.
    #[ink(event)]
    pub struct ConfigurationChanged {
        what: String,
        key: String,
        added: bool,
    }

    #[ink(storage)]
    pub struct Bmc {
        network: String,
        address: String,
        owners: Vec<AccountId>,
        verifiers: Vec<(String, AccountId)>,
        services: Vec<(String, AccountId)>,
        links: Vec<LinkState>,
        /// (destination BMC, link it leaves on)
        routes: Vec<(String, String)>,
        fee_aggregator: Option<String>,
        /// Blocks between fee gatherings; 0 gathers only when an owner asks.
        fee_gathering_term: u32,
        fee_gathering_next: u32,
    }

    /// Adds `key → value` to a registry (verifiers, services) where keys are unique.
    fn register(registry: &mut Vec<(String, AccountId)>, key: String, value: AccountId, exists: Error) -> Result<()> {
        if lookup(registry, &key).is_some() {
            return Err(exists);
        }
        registry.push((key, value));
        Ok(())
    }

    /// The contract registered under `key`.
    fn lookup(registry: &[(String, AccountId)], key: &str) -> Option<AccountId> {
        registry.iter().find(|(k, _)| k == key).map(|(_, a)| *a)
    }

    fn unregister(registry: &mut Vec<(String, AccountId)>, key: &str, missing: Error) -> Result<()> {
        let at = registry.iter().position(|(k, _)| k == key).ok_or(missing)?;
        registry.swap_remove(at);
        Ok(())
    }

    fn parse(text: &str) -> Result<BtpAddress> {
        BtpAddress::parse(text).map_err(|_| Error::InvalidAddress)
    }

    impl Bmc {
        /// Deploys the BMC of the parachain network `network` (e.g. `0x501.pra`); the caller becomes owner.
        #[ink(constructor)]
        pub fn new(network: String) -> Result<Self> {
            validate_network(&network).map_err(|_| Error::InvalidNetwork)?;
            let owner = Self::env().caller();
            let address = ink::prelude::format!("btp://{network}/{}", hex_account(Self::env().account_id().as_ref()));
            let bmc = Self { network, address, owners: ink::prelude::vec![owner], verifiers: Vec::new(), services: Vec::new(), links: Vec::new(), routes: Vec::new(), fee_aggregator: None, fee_gathering_term: 0, fee_gathering_next: 0 };
            bmc.changed("owner", hex_account(owner.as_ref()), true);
            Ok(bmc)
        }

        /// This BMC's BTP address: `btp://<network>/0x<contract account in hex>`.
        #[ink(message)]
        pub fn btp_address(&self) -> String {
            self.address.clone()
        }

        /// The accounts that administer this BMC.
        #[ink(message)]
        pub fn owners(&self) -> Vec<AccountId> {
            self.owners.clone()
        }

        /// Adds an owner. Owner only.
        #[ink(message)]
        pub fn add_owner(&mut self, owner: AccountId) -> Result<()> {
            self.only_owner()?;
            btp_primitives::owners::add(&mut self.owners, owner, Error::AlreadyExistsOwner)?;
            self.changed("owner", hex_account(owner.as_ref()), true);
            Ok(())
        }

        /// Removes an owner; the last one stays. Owner only.
        #[ink(message)]
        pub fn remove_owner(&mut self, owner: AccountId) -> Result<()> {
            self.only_owner()?;
            btp_primitives::owners::remove(&mut self.owners, &owner, Error::NotExistsOwner, Error::LastOwner)?;
            self.changed("owner", hex_account(owner.as_ref()), false);
            Ok(())
        }

        /// The BMV contracts, by the network they verify.
        #[ink(message)]
        pub fn verifiers(&self) -> Vec<(String, AccountId)> {
            self.verifiers.clone()
        }

        /// Registers the BMV `bmv` for messages from `network`. Owner only.
        #[ink(message)]
        pub fn add_verifier(&mut self, network: String, bmv: AccountId) -> Result<()> {
            self.only_owner()?;
            validate_network(&network).map_err(|_| Error::InvalidNetwork)?;
            register(&mut self.verifiers, network.clone(), bmv, Error::AlreadyExistsBmv)?;
            self.changed("verifier", network, true);
            Ok(())
        }

        /// Removes the BMV of `network`. Owner only.
        #[ink(message)]
        pub fn remove_verifier(&mut self, network: String) -> Result<()> {
            self.only_owner()?;
            unregister(&mut self.verifiers, &network, Error::NotExistsBmv)?;
            self.changed("verifier", network, false);
            Ok(())
        }

        /// The services (BSH contracts) by name.
        #[ink(message)]
        pub fn services(&self) -> Vec<(String, AccountId)> {
            self.services.clone()
        }

        /// Registers the service `name` at `bsh`. Owner only; `bmc` is reserved.
        #[ink(message)]
        pub fn add_service(&mut self, name: String, bsh: AccountId) -> Result<()> {
            self.only_owner()?;
            if name == BMC_SERVICE || name.is_empty() {
                return Err(Error::ReservedService);
            }
            register(&mut self.services, name.clone(), bsh, Error::AlreadyExistsBsh)?;
            self.changed("service", name, true);
            Ok(())
        }

        /// Removes the service `name`. Owner only.
        #[ink(message)]
        pub fn remove_service(&mut self, name: String) -> Result<()> {
            self.only_owner()?;
            unregister(&mut self.services, &name, Error::NotExistsBsh)?;
            self.changed("service", name, false);
            Ok(())
        }

        /// The links: peers with their sequence numbers, reachable BMCs and relays.
        #[ink(message)]
        pub fn links(&self) -> Vec<LinkState> {
            self.links.clone()
        }

        /// Connects the BMC `link`, whose network needs a BMV. The new peer is told the links that exist
        /// (`Init`); every existing peer is told of the new one (`Link`). Owner only.
        #[ink(message)]
        pub fn add_link(&mut self, link: String) -> Result<()> {
            self.only_owner()?;
            let peer = parse(&link)?;
            self.verifier_for(peer.network())?;
            if self.links.iter().any(|l| l.peer == link) {
                return Err(Error::AlreadyExistsLink);
            }
            let existing: Vec<BtpAddress> = self.links.iter().filter_map(|l| BtpAddress::parse(&l.peer).ok()).collect();
            self.links.push(LinkState { peer: link.clone(), rx_seq: 0, tx_seq: 0, reachable: Vec::new(), relays: Vec::new(), rotation: Rotation::default() });
            self.changed("link", link.clone(), true);
            self.send_internal(&peer, &BmcMessage::Init { links: existing.clone() })?;
            for other in existing {
                self.send_internal(&other, &BmcMessage::Link { link: peer.clone() })?;
            }
            Ok(())
        }

        /// Disconnects `link`, telling the remaining peers (`Unlink`). Refused while a route uses it. Owner only.
        #[ink(message)]
        pub fn remove_link(&mut self, link: String) -> Result<()> {
            self.only_owner()?;
            let at = self.links.iter().position(|l| l.peer == link).ok_or(Error::NotExistsLink)?;
            if self.routes.iter().any(|(_, via)| *via == link) {
                return Err(Error::LinkInUse);
            }
            self.links.remove(at);
            self.changed("link", link.clone(), false);
            let gone = parse(&link)?;
            let remaining: Vec<BtpAddress> = self.links.iter().filter_map(|l| BtpAddress::parse(&l.peer).ok()).collect();
            for other in remaining {
                self.send_internal(&other, &BmcMessage::Unlink { link: gone.clone() })?;
            }
            Ok(())
        }

        /// Explicit routes: (destination BMC, link).
        #[ink(message)]
        pub fn routes(&self) -> Vec<(String, String)> {
            self.routes.clone()
        }

        /// Sends messages for the BMC `dst` (and its network) out on `link`. Owner only.
        #[ink(message)]
        pub fn add_route(&mut self, dst: String, link: String) -> Result<()> {
            self.only_owner()?;
            parse(&dst)?;
            if !self.links.iter().any(|l| l.peer == link) {
                return Err(Error::NotExistsLink);
            }
            if self.routes.iter().any(|(d, _)| *d == dst) {
                return Err(Error::AlreadyExistsRoute);
            }
            self.changed("route", dst.clone(), true);
            self.routes.push((dst, link));
            Ok(())
        }

        /// Removes the route to `dst`. Owner only.
        #[ink(message)]
        pub fn remove_route(&mut self, dst: String) -> Result<()> {
            self.only_owner()?;
            let at = self.routes.iter().position(|(d, _)| *d == dst).ok_or(Error::NotExistsRoute)?;
            self.routes.remove(at);
            self.changed("route", dst, false);
            Ok(())
        }

        /// Allows `relay` to submit relay messages for `link`. Owner only.
        #[ink(message)]
        pub fn add_relay(&mut self, link: String, relay: AccountId) -> Result<()> {
            self.only_owner()?;
            let state = self.link_mut(&link)?;
            if state.relays.iter().any(|r| r.account == relay) {
                return Err(Error::AlreadyExistsBmr);
            }
            state.relays.push(Relay { account: relay, block_count: 0, msg_count: 0 });
            self.changed("relay", ink::prelude::format!("{link} {}", hex_account(relay.as_ref())), true);
            Ok(())
        }

        /// Withdraws `relay` from `link`. Owner only.
        #[ink(message)]
        pub fn remove_relay(&mut self, link: String, relay: AccountId) -> Result<()> {
            self.only_owner()?;
            let state = self.link_mut(&link)?;
            let at = state.relays.iter().position(|r| r.account == relay).ok_or(Error::NotExistsBmr)?;
            state.relays.remove(at);
            self.changed("relay", ink::prelude::format!("{link} {}", hex_account(relay.as_ref())), false);
            Ok(())
        }

        /// Sends `msg` of service `svc` with serial number `sn` (> 0) to network `to`. Only the service's BSH.
        #[ink(message)]
        pub fn send_message(&mut self, to: String, svc: String, sn: u128, msg: Vec<u8>) -> Result<()> {
            let bsh = lookup(&self.services, &svc).ok_or(Error::NotExistsBsh)?;
            if self.env().caller() != bsh {
                return Err(Error::Unauthorized);
            }
            let sn = i128::try_from(sn).ok().filter(|sn| *sn > 0).ok_or(Error::InvalidSn)?;
            let (next, dst) = {
                let (routes, links) = self.routing_view();
                let hop = routing::resolve(&routes, &links, &to).ok_or(Error::Unreachable)?;
                (hop.next.clone(), hop.dst.clone())
            };
            let message = BtpMessage { src: parse(&self.address)?, dst, svc, sn, payload: msg };
            self.emit(&next, message.encode())
        }

        /// Takes a relay message from a relay of the link `prev`: the link's BMV verifies it (its refusal reverts
        /// with the BMV's code), `rx_seq` advances by the messages it proves, and each message is handled: the
        /// BMC's own messages update what the peer can reach, messages for other BMCs go out on their next link,
        /// and what cannot be delivered gets an error reply on `prev`. One bad message never reverts the others.
        #[ink(message)]
        pub fn handle_relay_message(&mut self, prev: String, msg: Vec<u8>) -> Result<()> {
            let peer = parse(&prev)?;
            let caller = self.env().caller();
            let link = self.links.iter().find(|l| l.peer == prev).ok_or(Error::NotExistsLink)?;
            if !link.relays.iter().any(|r| r.account == caller) {
                return Err(Error::Unauthorized);
            }
            let rx_seq = link.rx_seq;
            let bmv = self.verifier_for(peer.network())?;
            let before = Self::verifier_status(bmv)?;
            let messages = build_call::<ink::env::DefaultEnvironment>()
                .call(bmv)
                .exec_input(
                    ExecutionInput::new(Selector::new(ink::selector_bytes!("handle_relay_message")))
                        .push_arg(&self.address)
                        .push_arg(&prev)
                        .push_arg(u128::from(rx_seq))
                        .push_arg(&msg),
                )
                .returns::<core::result::Result<Vec<Vec<u8>>, u8>>()
                .try_invoke()
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|_| Error::VerifierUnavailable)?
                // The BMV's error index is its local code; BMV codes start at 25.
                .map_err(|code| Error::Verifier(u32::from(code).saturating_add(25)))?;
            let after = Self::verifier_status(bmv)?;
            let count = u64::try_from(messages.len()).map_err(|_| Error::Overflow)?;
            let now = self.env().block_number();
            let state = self.link_mut(&prev)?;
            if let Some(turn) = state.rotation.rotate(u64::from(now), after.2, count > 0, state.relays.len()) {
                if state.relays.get(turn).map(|r| r.account) != Some(caller) {
                    return Err(Error::Unauthorized);
                }
            }
            state.rx_seq = state.rx_seq.checked_add(count).ok_or(Error::Overflow)?;
            let new_rx = state.rx_seq;
            if let Some(relay) = state.relays.iter_mut().find(|r| r.account == caller) {
                relay.block_count = relay.block_count.saturating_add(after.0.saturating_sub(before.0));
                relay.msg_count = relay.msg_count.saturating_add(count);
            }
            let own = parse(&self.address)?;
            let (mut undecodable, mut refused) = (0u32, 0u32);
            for bytes in &messages {
                let disposition = {
                    let (routes, links) = self.routing_view();
                    routing::classify(&own, &peer, &routes, &links, bytes)
                };
                match disposition {
                    Disposition::Undecodable => undecodable = undecodable.saturating_add(1),
                    Disposition::Internal(message) => self.handle_internal(&peer, &message),
                    Disposition::Forward { next, message } => self.emit(&next, message.encode())?,
                    Disposition::Reject { message, error } => {
                        refused = refused.saturating_add(1);
                        self.reply(&own, &peer, &message, &error)?;
                    }
                    Disposition::Deliver(message) => {
                        if let Err(error) = self.deliver(&message) {
                            refused = refused.saturating_add(1);
                            self.reply(&own, &peer, &message, &error)?;
                        }
                    }
                }
            }
            if self.fee_gathering_term > 0 && self.fee_gathering_next <= now && !self.services.is_empty() && self.fee_aggregator.is_some() {
                self.gather_fees_now()?;
            }
            self.env().emit_event(RelayMessageHandled {
                prev,
                rx_seq: new_rx,
                messages: u32::try_from(messages.len()).unwrap_or(u32::MAX),
                undecodable,
                refused,
            });
            Ok(())
        }

        /// The way out of a stuck link: skips message `seq` (the next one expected on `link`, which can never be
        /// delivered) and sends the error reply its source BMC `src` needs to refund message `sn` of `svc`.
        /// Owner only.
        #[ink(message)]
        pub fn drop_message(&mut self, link: String, seq: u64, src: String, svc: String, sn: u64) -> Result<()> {
            self.only_owner()?;
            let peer = parse(&link)?;
            let source = parse(&src)?;
            let state = self.link_mut(&link)?;
            if Some(seq) != state.rx_seq.checked_add(1) {
                return Err(Error::InvalidSeq);
            }
            state.rx_seq = seq;
            let own = parse(&self.address)?;
            let dropped = BtpMessage { src: source, dst: own.clone(), svc, sn: sn.into(), payload: Vec::new() };
            let error = ErrorMessage::new(routing::code::UNKNOWN, "dropped");
            self.reply(&own, &peer, &dropped, &error)?;
            self.env().emit_event(RelayMessageHandled { prev: link, rx_seq: seq, messages: 1, undecodable: 0, refused: 1 });
            Ok(())
        }

        /// Where a relay of `link` resumes: sequence numbers, the BMV's status, relays, the current block.
        #[ink(message)]
        pub fn get_status(&self, link: String) -> Result<LinkStatus> {
            let state = self.links.iter().find(|l| l.peer == link).ok_or(Error::NotExistsLink)?;
            let peer = parse(&link)?;
            let bmv = self.verifier_for(peer.network())?;
            let verifier = Self::verifier_status(bmv)?;
            Ok(LinkStatus {
                rx_seq: state.rx_seq,
                tx_seq: state.tx_seq,
                verifier,
                relays: state.relays.clone(),
                rotation: state.rotation.clone(),
                rotate_term: state.rotation.rotate_term(),
                cur_height: self.env().block_number(),
            })
        }

        /// Configures relay rotation on `link` (spec §2.12): block intervals of this chain and the peer chain in
        /// ms, peer blocks per turn, local blocks of lateness before a turn is skipped (0: never). Any zero among
        /// the first three turns rotation off. Owner only.
        #[ink(message)]
        pub fn set_link_rotation(&mut self, link: String, block_interval_src: u64, block_interval_dst: u64, max_aggregation: u64, delay_limit: u64) -> Result<()> {
            self.only_owner()?;
            let peer = parse(&link)?;
            let (height, _, _) = Self::verifier_status(self.verifier_for(peer.network())?)?;
            let now = u64::from(self.env().block_number());
            let state = self.link_mut(&link)?;
            state.rotation.configure(block_interval_src, block_interval_dst, max_aggregation, delay_limit, now, height);
            let rotation = state.rotation.clone();
            self.env().emit_event(LinkRotationChanged { link, rotate_term: rotation.rotate_term(), rotation });
            Ok(())
        }

        /// Where fee gathering sends the services' fees (a BTP address), and the term in blocks (0: only when an
        /// owner calls `gather_fees`).
        #[ink(message)]
        pub fn fee_gathering(&self) -> (Option<String>, u32, u32) {
            (self.fee_aggregator.clone(), self.fee_gathering_term, self.fee_gathering_next)
        }

        /// Sets the fee aggregator (a BTP address, `None` to stop gathering) and the term in blocks; the first
        /// gathering runs one term from now. Owner only.
        #[ink(message)]
        pub fn set_fee_gathering(&mut self, fee_aggregator: Option<String>, term: u32) -> Result<()> {
            self.only_owner()?;
            if let Some(fa) = &fee_aggregator {
                parse(fa)?;
            }
            self.fee_aggregator = fee_aggregator;
            self.fee_gathering_term = term;
            self.fee_gathering_next = if term > 0 { self.env().block_number().saturating_add(term) } else { 0 };
            self.env().emit_event(FeeGatheringChanged { fee_aggregator: self.fee_aggregator.clone(), term, next: self.fee_gathering_next });
            Ok(())
        }

        /// Gathers fees now: every service sends its fees to the aggregator; when the aggregator is on this
        /// network, every peer BMC is asked (`FeeGathering`) to have its services send theirs too. Owner only.
        #[ink(message)]
        pub fn gather_fees(&mut self) -> Result<()> {
            self.only_owner()?;
            self.gather_fees_now()
        }

        fn gather_fees_now(&mut self) -> Result<()> {
            let fa = self.fee_aggregator.clone().ok_or(Error::NoFeeAggregator)?;
            let aggregator = parse(&fa)?;
            let services = self.services.clone();
            let names: Vec<String> = services.iter().map(|(svc, _)| svc.clone()).collect();
            self.ask_for_fees(&fa, services);
            if aggregator.network() == self.network {
                let peers: Vec<BtpAddress> = self.links.iter().filter_map(|l| BtpAddress::parse(&l.peer).ok()).collect();
                for peer in peers {
                    self.send_internal(&peer, &BmcMessage::FeeGathering { fee_aggregator: aggregator.clone(), services: names.clone() })?;
                }
            }
            if self.fee_gathering_term > 0 {
                self.fee_gathering_next = self.env().block_number().saturating_add(self.fee_gathering_term);
            }
            Ok(())
        }

        /// Asks each of `services` to send its fees to `fa`. A service that cannot pay out now keeps its fees for
        /// the next gathering; the event names it.
        fn ask_for_fees(&mut self, fa: &str, services: Vec<(String, AccountId)>) {
            let mut failed = Vec::new();
            for (svc, bsh) in &services {
                let input = ExecutionInput::new(Selector::new(ink::selector_bytes!("handle_fee_gathering"))).push_arg(fa).push_arg(svc);
                if self.call_service(*bsh, input).is_err() {
                    failed.push(svc.clone());
                }
            }
            let services = services.into_iter().map(|(svc, _)| svc).collect();
            self.env().emit_event(FeeGathering { fee_aggregator: fa.into(), services, failed });
        }

        /// Hands a message addressed to this BMC to its service; `Err` is the error reply a failed `sn >= 0`
        /// message gets. A failed error report (`sn < 0`) is recorded in `ErrorOnBtpError`, never answered.
        fn deliver(&mut self, message: &BtpMessage) -> core::result::Result<(), ErrorMessage> {
            let bsh = lookup(&self.services, &message.svc);
            if message.sn >= 0 {
                let bsh = bsh.ok_or_else(|| ErrorMessage::new(routing::code::NOT_EXISTS_BSH, "NotExistsBSH"))?;
                let input = ExecutionInput::new(Selector::new(ink::selector_bytes!("handle_btp_message")))
                    .push_arg(message.src.network())
                    .push_arg(&message.svc)
                    .push_arg(message.sn.unsigned_abs())
                    .push_arg(&message.payload);
                return self.call_service(bsh, input).map_err(ServiceFailure::error_message);
            }
            let sn = message.sn.unsigned_abs();
            // A garbled report still means the message failed: the service hears of it with the Unknown code
            // so that it can refund, rather than keep the value locked forever.
            let report = ErrorMessage::decode(&message.payload).unwrap_or_else(|_| ErrorMessage::new(routing::code::UNKNOWN, ""));
            let failure = match bsh {
                None => Some(routing::code::NOT_EXISTS_BSH),
                Some(bsh) => {
                    let input = ExecutionInput::new(Selector::new(ink::selector_bytes!("handle_btp_error")))
                        .push_arg(message.src.as_str())
                        .push_arg(&message.svc)
                        .push_arg(sn)
                        .push_arg(report.code)
                        .push_arg(&report.message);
                    self.call_service(bsh, input).err().map(ServiceFailure::code)
                }
            };
            if let Some(failure) = failure {
                self.env().emit_event(ErrorOnBtpError { svc: message.svc.clone(), sn, code: report.code, msg: report.message, failure });
            }
            Ok(())
        }

        /// Calls a service, which may call back into this BMC (`send_message`): the state is written before the
        /// call and read back after it, so that what the service caused is kept and nothing is written twice.
        fn call_service<Args: ink::scale::Encode>(&mut self, bsh: AccountId, input: ExecutionInput<Args>) -> core::result::Result<(), ServiceFailure> {
            let key = <Self as ink::storage::traits::StorageKey>::KEY;
            ink::env::set_contract_storage(&key, self);
            let outcome = build_call::<ink::env::DefaultEnvironment>()
                .call(bsh)
                .call_flags(ink::env::CallFlags::ALLOW_REENTRY)
                .exec_input(input)
                .returns::<core::result::Result<(), u8>>()
                .try_invoke();
            if let Ok(Some(fresh)) = ink::env::get_contract_storage::<_, Self>(&key) {
                *self = fresh;
            }
            match outcome {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(local))) => Err(ServiceFailure::Refused(local)),
                _ => Err(ServiceFailure::Failed),
            }
        }

        /// The BMV verifying messages from `network`.
        fn verifier_for(&self, network: &str) -> Result<AccountId> {
            lookup(&self.verifiers, network).ok_or(Error::NotExistsBmv)
        }

        /// The BMV's `(height, offset, last_height)`.
        fn verifier_status(bmv: AccountId) -> Result<(u64, u64, u64)> {
            build_call::<ink::env::DefaultEnvironment>()
                .call(bmv)
                .exec_input(ExecutionInput::new(Selector::new(ink::selector_bytes!("get_status"))))
                .returns::<core::result::Result<(u64, u64, u64), u8>>()
                .try_invoke()
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|_| Error::VerifierUnavailable)
        }

        /// The BMC-internal messages of the peer `prev`: what it can reach, and fee gathering for an aggregator
        /// on its network. Unknown types are ignored.
        fn handle_internal(&mut self, prev: &BtpAddress, message: &BtpMessage) {
            let Ok(internal) = BmcMessage::decode(&message.payload) else { return };
            if let BmcMessage::FeeGathering { fee_aggregator, services } = &internal {
                if routing::accepts_fee_gathering(prev, fee_aggregator) {
                    let asked = self.services.iter().filter(|(n, _)| services.contains(n)).cloned().collect();
                    self.ask_for_fees(fee_aggregator.as_str(), asked);
                }
                return;
            }
            let Ok(state) = self.link_mut(prev.as_str()) else { return };
            match internal {
                BmcMessage::Init { links } => {
                    for l in links {
                        if !state.reachable.iter().any(|r| *r == l.as_str()) {
                            state.reachable.push(l.as_str().into());
                        }
                    }
                }
                BmcMessage::Link { link } => {
                    if !state.reachable.iter().any(|r| *r == link.as_str()) {
                        state.reachable.push(link.as_str().into());
                    }
                }
                BmcMessage::Unlink { link } => state.reachable.retain(|r| *r != link.as_str()),
                BmcMessage::FeeGathering { .. } => {}
            }
        }

        /// The error reply to `message`, on the link it arrived on, if it asked for one.
        fn reply(&mut self, own: &BtpAddress, prev: &BtpAddress, message: &BtpMessage, error: &ErrorMessage) -> Result<()> {
            match routing::error_reply(own, message, error) {
                Some(reply) => self.emit(prev, reply.encode()),
                None => Ok(()),
            }
        }

        fn only_owner(&self) -> Result<()> {
            if self.owners.contains(&self.env().caller()) {
                Ok(())
            } else {
                Err(Error::Unauthorized)
            }
        }

        fn link_mut(&mut self, link: &str) -> Result<&mut LinkState> {
            self.links.iter_mut().find(|l| l.peer == link).ok_or(Error::NotExistsLink)
        }

        fn changed(&self, what: &str, key: String, added: bool) {
            self.env().emit_event(ConfigurationChanged { what: what.into(), key, added });
        }

        /// Links and routes in the form the routing rules take.
        fn routing_view(&self) -> (Vec<(BtpAddress, BtpAddress)>, Vec<Link>) {
            let routes = self.routes.iter().filter_map(|(d, l)| Some((BtpAddress::parse(d).ok()?, BtpAddress::parse(l).ok()?))).collect();
            let links = self
                .links
                .iter()
                .filter_map(|l| {
                    let mut link = Link::new(BtpAddress::parse(&l.peer).ok()?);
                    link.reachable = l.reachable.iter().filter_map(|r| BtpAddress::parse(r).ok()).collect();
                    Some(link)
                })
                .collect();
            (routes, links)
        }

        fn send_internal(&mut self, peer: &BtpAddress, message: &BmcMessage) -> Result<()> {
            let msg = BtpMessage { src: parse(&self.address)?, dst: peer.clone(), svc: BMC_SERVICE.into(), sn: 0, payload: message.encode() };
            self.emit(peer, msg.encode())
        }

        /// Emits `msg` as the next message on the link to `next`.
        fn emit(&mut self, next: &BtpAddress, msg: Vec<u8>) -> Result<()> {
            let state = self.link_mut(next.as_str())?;
            state.tx_seq = state.tx_seq.checked_add(1).ok_or(Error::Overflow)?;
            let seq = state.tx_seq;
            self.env().emit_event(Message { next: next.as_str().into(), seq, msg });
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use btp_primitives::rlp::Rlp;
        use ink::env::{test, DefaultEnvironment as Env};

        const ICON: &str = "btp://0x3.icon/cx0000000000000000000000000000000000000001";
        const ETH: &str = "btp://0x5.eth/0x0000000000000000000000000000000000000002";

        fn accounts() -> test::DefaultAccounts<Env> {
            test::default_accounts::<Env>()
        }

        fn as_caller(account: AccountId) {
            test::set_caller::<Env>(account);
        }

        /// Alice's BMC with BMVs for ICON and Ethereum networks.
        fn deploy() -> Bmc {
            as_caller(accounts().alice);
            let mut bmc = Bmc::new("0x501.pra".into()).unwrap();
            bmc.add_verifier("0x3.icon".into(), accounts().django).unwrap();
            bmc.add_verifier("0x5.eth".into(), accounts().eve).unwrap();
            bmc
        }

        /// The `Message` events so far, as (next, seq, BTP message).
        fn sent() -> Vec<(String, u64, BtpMessage)> {
            let signature = <Message as ink::env::Event>::SIGNATURE_TOPIC.expect("events have a signature topic");
            test::recorded_events()
                .filter(|e| e.topics.first().map(Vec::as_slice) == Some(&signature[..]))
                .map(|e| {
                    let (next, seq, msg): (String, u64, Vec<u8>) = ink::scale::Decode::decode(&mut &e.data[..]).unwrap();
                    (next, seq, BtpMessage::decode(&msg).unwrap())
                })
                .collect()
        }

        #[ink::test]
        fn owners_are_managed_by_owners_and_never_all_removed() {
            let a = accounts();
            let mut bmc = deploy();
            assert_eq!(bmc.remove_owner(a.alice), Err(Error::LastOwner));
            assert_eq!(bmc.add_owner(a.bob), Ok(()));
            assert_eq!(bmc.add_owner(a.bob), Err(Error::AlreadyExistsOwner));
            as_caller(a.charlie);
            assert_eq!(bmc.add_owner(a.charlie), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_owner(a.alice), Err(Error::Unauthorized));
            as_caller(a.bob);
            assert_eq!(bmc.remove_owner(a.alice), Ok(()));
            assert_eq!(bmc.remove_owner(a.alice), Err(Error::NotExistsOwner));
            assert_eq!(bmc.owners(), vec![a.bob]);
        }

        #[ink::test]
        fn verifiers_and_services_are_configured_by_owners() {
            let a = accounts();
            let mut bmc = deploy();
            assert_eq!(bmc.add_verifier("0x3.icon".into(), a.bob), Err(Error::AlreadyExistsBmv));
            assert_eq!(bmc.add_verifier("icon".into(), a.bob), Err(Error::InvalidNetwork));
            assert_eq!(bmc.add_service("bmc".into(), a.bob), Err(Error::ReservedService));
            assert_eq!(bmc.add_service("nativecoin".into(), a.bob), Ok(()));
            assert_eq!(bmc.add_service("nativecoin".into(), a.bob), Err(Error::AlreadyExistsBsh));
            as_caller(a.charlie);
            assert_eq!(bmc.add_verifier("0x9.bsc".into(), a.bob), Err(Error::Unauthorized));
            assert_eq!(bmc.add_service("x".into(), a.bob), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_service("nativecoin".into()), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_verifier("0x3.icon".into()), Err(Error::Unauthorized));
            as_caller(a.alice);
            assert_eq!(bmc.remove_service("nativecoin".into()), Ok(()));
            assert_eq!(bmc.remove_service("nativecoin".into()), Err(Error::NotExistsBsh));
            assert_eq!(bmc.remove_verifier("0x5.eth".into()), Ok(()));
            assert_eq!(bmc.remove_verifier("0x5.eth".into()), Err(Error::NotExistsBmv));
            assert_eq!(bmc.verifiers(), vec![("0x3.icon".into(), a.django)]);
        }

        #[ink::test]
        fn links_announce_themselves_to_every_peer() {
            let mut bmc = deploy();
            assert_eq!(bmc.add_link("btp://0x9.bsc/0x01".into()), Err(Error::NotExistsBmv));
            assert_eq!(bmc.add_link("0x3.icon/cx01".into()), Err(Error::InvalidAddress));
            bmc.add_link(ICON.into()).unwrap();
            assert_eq!(bmc.add_link(ICON.into()), Err(Error::AlreadyExistsLink));
            bmc.add_link(ETH.into()).unwrap();
            let own = BtpAddress::parse(&bmc.btp_address()).unwrap();
            let icon = BtpAddress::parse(ICON).unwrap();
            let eth = BtpAddress::parse(ETH).unwrap();
            let internal = |dst: &BtpAddress, m: BmcMessage| BtpMessage { src: own.clone(), dst: dst.clone(), svc: "bmc".into(), sn: 0, payload: m.encode() };
            assert_eq!(
                sent(),
                vec![
                    (ICON.to_string(), 1, internal(&icon, BmcMessage::Init { links: vec![] })),
                    (ETH.to_string(), 1, internal(&eth, BmcMessage::Init { links: vec![icon.clone()] })),
                    (ICON.to_string(), 2, internal(&icon, BmcMessage::Link { link: eth.clone() })),
                ]
            );
            bmc.add_route("btp://0x7.hmny/0x03".into(), ETH.into()).unwrap();
            assert_eq!(bmc.remove_link(ETH.into()), Err(Error::LinkInUse));
            bmc.remove_route("btp://0x7.hmny/0x03".into()).unwrap();
            bmc.remove_link(ETH.into()).unwrap();
            assert_eq!(sent().last().unwrap(), &(ICON.to_string(), 3, internal(&icon, BmcMessage::Unlink { link: eth })));
            assert_eq!(bmc.remove_link(ETH.into()), Err(Error::NotExistsLink));
            assert_eq!(bmc.links().len(), 1);
            as_caller(accounts().charlie);
            assert_eq!(bmc.add_link(ETH.into()), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_link(ICON.into()), Err(Error::Unauthorized));
        }

        #[ink::test]
        fn routes_and_relays_need_an_existing_link() {
            let a = accounts();
            let mut bmc = deploy();
            assert_eq!(bmc.add_route("btp://0x7.hmny/0x03".into(), ICON.into()), Err(Error::NotExistsLink));
            assert_eq!(bmc.add_relay(ICON.into(), a.bob), Err(Error::NotExistsLink));
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_route("btp://0x7.hmny/0x03".into(), ICON.into()).unwrap();
            assert_eq!(bmc.add_route("btp://0x7.hmny/0x03".into(), ICON.into()), Err(Error::AlreadyExistsRoute));
            assert_eq!(bmc.add_route("nonsense".into(), ICON.into()), Err(Error::InvalidAddress));
            assert_eq!(bmc.remove_route("btp://0x7.hmny/0x04".into()), Err(Error::NotExistsRoute));
            bmc.add_relay(ICON.into(), a.bob).unwrap();
            assert_eq!(bmc.add_relay(ICON.into(), a.bob), Err(Error::AlreadyExistsBmr));
            assert_eq!(bmc.links()[0].relays, vec![Relay { account: a.bob, block_count: 0, msg_count: 0 }]);
            assert_eq!(bmc.remove_relay(ICON.into(), a.charlie), Err(Error::NotExistsBmr));
            as_caller(a.charlie);
            assert_eq!(bmc.add_relay(ICON.into(), a.charlie), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_relay(ICON.into(), a.bob), Err(Error::Unauthorized));
            assert_eq!(bmc.add_route("btp://0x7.hmny/0x05".into(), ICON.into()), Err(Error::Unauthorized));
            as_caller(a.alice);
            bmc.remove_relay(ICON.into(), a.bob).unwrap();
            assert!(bmc.links()[0].relays.is_empty());
            assert_eq!(bmc.get_status(ETH.into()), Err(Error::NotExistsLink));
        }

        #[ink::test]
        fn services_send_to_the_final_bmc_over_the_next_link() {
            let a = accounts();
            let mut bmc = deploy();
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_service("nativecoin".into(), a.bob).unwrap();
            bmc.add_route("btp://0x7.hmny/0x03".into(), ICON.into()).unwrap();
            assert_eq!(bmc.send_message("0x3.icon".into(), "nativecoin".into(), 1, vec![7]), Err(Error::Unauthorized));
            as_caller(a.bob);
            assert_eq!(bmc.send_message("0x3.icon".into(), "other".into(), 1, vec![7]), Err(Error::NotExistsBsh));
            assert_eq!(bmc.send_message("0x3.icon".into(), "nativecoin".into(), 0, vec![7]), Err(Error::InvalidSn));
            assert_eq!(bmc.send_message("0x3.icon".into(), "nativecoin".into(), u128::MAX, vec![7]), Err(Error::InvalidSn), "beyond BTP's signed sn");
            assert_eq!(bmc.send_message("0x9.bsc".into(), "nativecoin".into(), 1, vec![7]), Err(Error::Unreachable));
            bmc.send_message("0x3.icon".into(), "nativecoin".into(), 1, vec![7]).unwrap();
            bmc.send_message("0x7.hmny".into(), "nativecoin".into(), 2, vec![8]).unwrap();
            let out = sent();
            let (next, seq, m) = &out[out.len() - 2];
            assert_eq!((next.as_str(), *seq, m.dst.as_str(), m.sn, m.payload.clone()), (ICON, 2, ICON, 1, vec![7]));
            let (next, seq, m) = &out[out.len() - 1];
            assert_eq!((next.as_str(), *seq, m.dst.as_str(), m.sn), (ICON, 3, "btp://0x7.hmny/0x03", 2));
            assert_eq!(m.src.as_str(), bmc.btp_address());
            assert_eq!(bmc.links()[0].tx_seq, 3);
            // What the relay carries is the RLP BTP message ICON's BMV reads.
            assert!(Rlp::new(&m.encode()).unwrap().items().is_ok());
        }

        #[ink::test]
        fn relay_messages_come_only_from_a_link_s_relays() {
            let a = accounts();
            let mut bmc = deploy();
            assert_eq!(bmc.handle_relay_message(ICON.into(), vec![0xc0]), Err(Error::NotExistsLink));
            assert_eq!(bmc.handle_relay_message("nonsense".into(), vec![0xc0]), Err(Error::InvalidAddress));
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_relay(ICON.into(), a.bob).unwrap();
            assert_eq!(bmc.handle_relay_message(ICON.into(), vec![0xc0]), Err(Error::Unauthorized), "an owner is not a relay");
            bmc.add_link(ETH.into()).unwrap();
            bmc.add_relay(ETH.into(), a.charlie).unwrap();
            as_caller(a.charlie);
            assert_eq!(bmc.handle_relay_message(ICON.into(), vec![0xc0]), Err(Error::Unauthorized), "a relay of another link");
            as_caller(a.alice);
            bmc.remove_verifier("0x3.icon".into()).unwrap();
            as_caller(a.bob);
            assert_eq!(bmc.handle_relay_message(ICON.into(), vec![0xc0]), Err(Error::NotExistsBmv));
        }

        #[ink::test]
        fn owners_drop_the_next_message_with_an_error_reply_to_its_source() {
            let mut bmc = deploy();
            bmc.add_link(ICON.into()).unwrap();
            assert_eq!(bmc.drop_message(ICON.into(), 2, ICON.into(), "nativecoin".into(), 5), Err(Error::InvalidSeq));
            as_caller(accounts().charlie);
            assert_eq!(bmc.drop_message(ICON.into(), 1, ICON.into(), "nativecoin".into(), 5), Err(Error::Unauthorized));
            as_caller(accounts().alice);
            bmc.drop_message(ICON.into(), 1, ICON.into(), "nativecoin".into(), 5).unwrap();
            assert_eq!(bmc.links()[0].rx_seq, 1);
            let (next, seq, reply) = sent().pop().unwrap();
            assert_eq!((next.as_str(), seq, reply.dst.as_str(), reply.svc.as_str(), reply.sn), (ICON, 2, ICON, "nativecoin", -5));
            assert_eq!(ErrorMessage::decode(&reply.payload).unwrap().code, routing::code::UNKNOWN);
            assert_eq!(bmc.drop_message(ICON.into(), 1, ICON.into(), "nativecoin".into(), 5), Err(Error::InvalidSeq));
        }

        #[ink::test]
        fn fee_gathering_is_configured_by_owners_and_asks_every_peer() {
            let mut bmc = deploy();
            assert_eq!(bmc.gather_fees(), Err(Error::NoFeeAggregator));
            assert_eq!(bmc.set_fee_gathering(Some("nonsense".into()), 10), Err(Error::InvalidAddress));
            as_caller(accounts().charlie);
            assert_eq!(bmc.set_fee_gathering(None, 10), Err(Error::Unauthorized));
            assert_eq!(bmc.gather_fees(), Err(Error::Unauthorized));
            assert_eq!(bmc.set_link_rotation(ICON.into(), 12_000, 2_000, 10, 3), Err(Error::Unauthorized));
            as_caller(accounts().alice);
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_link(ETH.into()).unwrap();
            let fa = "btp://0x501.pra/0x00000000000000000000000000000000000000000000000000000000000000fa";
            test::set_block_number::<Env>(5);
            bmc.set_fee_gathering(Some(fa.into()), 10).unwrap();
            assert_eq!(bmc.fee_gathering(), (Some(fa.into()), 10, 15));
            let before = sent().len();
            bmc.gather_fees().unwrap();
            let asked: Vec<_> = sent()[before..].iter().map(|(next, _, m)| (next.clone(), BmcMessage::decode(&m.payload).unwrap())).collect();
            let request = BmcMessage::FeeGathering { fee_aggregator: BtpAddress::parse(fa).unwrap(), services: vec![] };
            assert_eq!(asked, vec![(ICON.to_string(), request.clone()), (ETH.to_string(), request)]);
            // An aggregator elsewhere gathers only this BMC's services' fees: peers are not asked.
            bmc.set_fee_gathering(Some(ICON.into()), 0).unwrap();
            assert_eq!(bmc.fee_gathering(), (Some(ICON.into()), 0, 0));
            let before = sent().len();
            bmc.gather_fees().unwrap();
            assert_eq!(sent().len(), before);
        }

        #[ink::test]
        fn address_names_network_and_contract() {
            let bmc = Bmc::new("0x501.pra".into()).unwrap();
            let addr = bmc.btp_address();
            assert!(addr.starts_with("btp://0x501.pra/0x"), "{addr}");
            assert_eq!(addr.len(), "btp://0x501.pra/0x".len() + 64);
            assert!(BtpAddress::parse(&addr).is_ok());
            assert_eq!(Bmc::new("nodot".into()).err(), Some(Error::InvalidNetwork));
        }
    }
}
