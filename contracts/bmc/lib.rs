//! The parachain's BTP Message Center.
//!
//! State, access control and events; the rules live in [`routing`], plain Rust that unit tests reach directly.
//! Services (BSH contracts) call `send_message`; the BMC emits `Message { next, seq, msg }` events that the relay
//! carries to the next BMC. Links, routes, relays, verifiers and services are configured by the owners, who
//! administer it as every BTP contract here is (`btp_interfaces::Administered`): owners added in two steps, a
//! halt switch (a halted BMC takes no relay message and sends nothing) and code upgrades in place.
//!
//! # The service interface
//! A service (BSH) contract registered with `add_service` implements `btp_interfaces::BtpService`, which the
//! BMC calls typed (`contract_ref!`). A relay message's consecutive messages for one service go to it in one
//! `handle_btp_messages` call, and the service returns its answers (a transfer's response) for the BMC to send:
//! the service's code is loaded once per batch and never calls back to answer. A batch is all or nothing; when it
//! fails, each message is handed over alone, and a refusal (`ServiceError`, local code 0–14) of message `sn` then
//! becomes the error reply 40 + code, a trap 40. Error reports go to `handle_btp_error` one at a time. The BMC
//! implements `btp_interfaces::MessageCenter` for its services (`send_message`, `take_undelivered_answer`). A
//! service numbers its own requests from `btp_primitives::message::REQUEST_SN_BASE` (2^64): a message for this
//! chain at or above it answers one of them, and an answer that cannot be delivered gets no error reply
//! (`AnswerUndelivered` records it). A service may still call `send_message` while it handles messages: the BMC
//! writes its state before calling a service and reads it back afterwards, so nothing the service causes is lost
//! or overwritten. Each call gets at most the owner-set gas per message it carries, so a service that loops or
//! runs out of gas fails alone.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Overflow must be an error, never a wrapped value or a panic (cargo-contract lints the Wasm build alike).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

extern crate alloc;

// ink!'s bump allocator never frees: the BMC makes and drops a few buffers per BTP message (decoded, re-encoded,
// answered), which for a full relay message of large messages outgrew the contract's 1 MiB. dlmalloc reuses them
// (+14 KB of code, +2 % ref_time per delivered transfer: `examples/bridge_gas.rs`).
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[path = "routing.rs"]
pub mod routing;

/// The contract and the types its users need, without the module path.
pub use self::bmc::{Bmc, BmcRef, Error, FeeGatheringSettings, GasLimit, LinkStatus};

#[ink::contract]
pub mod bmc {
    use crate::routing::{self, Disposition, View};
    use btp_interfaces::{
        Admin, AdminError, Administered, Answer, BmcError, BtpService, Incoming, MessageCenter, ServiceError, Verified, Verifier, VerifierError,
    };
    use btp_primitives::{
        address::{canonical_network, hex_account, validate_network},
        bmc::{BmcMessage, BMC_SERVICE},
        message::{answers_own_request, clipped, EVENT_TEXT_MAX},
        BtpAddress, BtpMessage, ErrorMessage,
    };
    use ink::codegen::TraitCallBuilder;
    use ink::{
        env::call::{build_call, ExecutionInput},
        prelude::{string::String, vec::Vec},
        storage::{traits::ManualKey, Mapping},
    };

    pub use crate::routing::{LinkState, Relay, Rotation, ServiceFailure};
    pub use btp_interfaces::{
        events::{Message, RelayMessageHandled},
        UndeliveredAnswer, VerifierStatus,
    };

    #[derive(Debug, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum Error {
        /// The caller may not do this.
        Unauthorized,
        /// A network address is not `<id>.<type>`, or names this BMC's own network where another is needed.
        InvalidNetwork,
        /// A BTP address is malformed.
        InvalidAddress,
        /// Services send messages with `sn > 0`.
        InvalidSn,
        AlreadyExistsBmv,
        NotExistsBmv,
        AlreadyExistsBsh,
        NotExistsBsh,
        /// `bmc` names the BMC's own internal service.
        ReservedService,
        /// A link to that BMC, or to another BMC of its network, exists.
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
        /// A drop is scheduled only for a message not yet received, and once.
        InvalidSeq,
        /// The link's BMV could not be called.
        VerifierUnavailable,
        /// The link's BMV refused the relay message; the BTP error code (25–39) it reported.
        Verifier(u32),
        /// The link's BMV is halted: no relay message of its network is taken until its owner resumes it.
        VerifierHalted,
        /// No fee aggregator is set.
        NoFeeAggregator,
        /// Service names are ASCII letters and digits.
        InvalidServiceName,
        /// A service still waits for answers to requests that leave on this link, or at all.
        PendingRequests,
        /// The relay message carries a message for a paused service: nothing was taken, retry once it resumes.
        ServicePaused,
        /// The message would not fit in an event (pallet-contracts' payload limit), or a relay message is longer
        /// than `MAX_RELAY_MESSAGE_LEN`.
        MessageTooLarge,
        /// Fees may not go to this BMC or to a service's own account: they would vanish from the books.
        InvalidFeeAggregator,
        /// No drop is scheduled for that message.
        NotScheduled,
        /// A service failed with less gas left than its limit: give the call what its dry run used.
        OutOfGas,
        /// The BMC is halted: it takes no relay message and sends nothing until an owner resumes it.
        Halted,
    }

    pub type Result<T> = core::result::Result<T, Error>;

    impl Error {
        /// What a service is told of this error (`MessageCenter`'s error type).
        fn for_service(self) -> BmcError {
            match self {
                Self::NotExistsBsh => BmcError::NotExistsBsh,
                Self::Unauthorized => BmcError::Unauthorized,
                Self::InvalidSn => BmcError::InvalidSn,
                Self::Unreachable => BmcError::Unreachable,
                Self::MessageTooLarge => BmcError::MessageTooLarge,
                Self::Halted => BmcError::Halted,
                _ => BmcError::Failed,
            }
        }
    }

    /// A service as the BMC calls it.
    type ServiceRef = ink::contract_ref!(BtpService);

    /// A typed call to a service returning `Result<T, ServiceError>`, before its gas limits and flags are set.
    type ServiceCall<Args, T> = ink::env::call::CallBuilder<
        ink::env::DefaultEnvironment,
        ink::env::call::utils::Set<ink::env::call::Call<ink::env::DefaultEnvironment>>,
        ink::env::call::utils::Set<ExecutionInput<Args>>,
        ink::env::call::utils::Set<ink::env::call::utils::ReturnType<core::result::Result<T, ServiceError>>>,
    >;

    /// Fee gathering as an owner set it: `fee_gathering()`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct FeeGatheringSettings {
        /// The BTP address the services' fees go to; `None`: no gathering.
        pub fee_aggregator: Option<String>,
        /// Blocks between gatherings; 0: only when an owner calls `gather_fees`.
        pub term: u32,
        /// The block the next gathering runs at (after a relay message in or past it).
        pub next: u32,
    }

    /// How a service call ended.
    enum Served<T> {
        /// It answered: what it did stays.
        Answered(T),
        /// It returned something that is not an answer (the wrong number of answers, or bytes that do not
        /// decode): what it did may have stayed, so its messages count as delivered, unanswered: never handed over
        /// twice, and never refused, as an error reply would have the source refund what the service may have kept.
        Garbled,
        /// It refused, trapped or ran out of gas: nothing of it stays.
        Failed(ServiceFailure),
    }

    /// What a relay resumes from: `get_status(link)`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct LinkStatus {
        pub rx_seq: u64,
        pub tx_seq: u64,
        /// The link's BMV.
        pub verifier: VerifierStatus,
        pub relays: Vec<Relay>,
        /// The rotation parameters and state; `rotate_term` 0 means any relay of the link may submit.
        pub rotation: Rotation,
        pub rotate_term: u64,
        pub cur_height: u32,
    }

    /// The gas a service may use per message it is handed (`ref_time`, `proof_size`): a batch of `n` messages
    /// gets `n` times this, an error report or a fee-gathering request once this.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct GasLimit {
        pub ref_time: u64,
        pub proof_size: u64,
    }

    /// A relay message with one transfer costs about 17.5 G ref_time and 0.3 MB of proof in all (the BMV and the
    /// service's code included), each further transfer in the same batch about 2.7 G and 21 KB
    /// (`examples/bridge_gas.rs`): per message, the default leaves a service several times a transfer's need.
    pub const DEFAULT_SERVICE_GAS: GasLimit = GasLimit { ref_time: 10_000_000_000, proof_size: 256 * 1024 };

    /// pallet-contracts refuses event data (and storage values) over 16 KiB: a `Message` event must fit.
    pub const MAX_EVENT_LEN: usize = 16 * 1024;

    /// Message `seq` of `prev` was dropped as an owner scheduled: not delivered; `msg` is what the BMV verified
    /// (its source got the error reply when it asked for one), empty when it is too large for an event, and
    /// `hash` its Blake2-256 hash either way.
    #[ink(event)]
    pub struct MessageDropped {
        #[ink(topic)]
        prev: String,
        seq: u64,
        hash: [u8; 32],
        msg: Vec<u8>,
    }

    /// An owner scheduled (or cancelled) dropping message `seq` of `link`.
    #[ink(event)]
    pub struct DropScheduled {
        #[ink(topic)]
        link: String,
        seq: u64,
        scheduled: bool,
    }

    /// An answer to our own request `sn` of `svc` could not be delivered (`code`), or was dropped: no error reply
    /// goes back, as the peer has nothing to undo. `kept`: the BMC keeps it for the service to take
    /// (`take_undelivered_answer`), which settles the request as the answer says.
    #[ink(event)]
    pub struct AnswerUndelivered {
        #[ink(topic)]
        svc: String,
        sn: u128,
        code: u32,
        kept: bool,
    }

    /// Message `seq` of `prev` names a source `src` the link does not lead to: neither delivered nor answered.
    #[ink(event)]
    pub struct ForgedMessage {
        #[ink(topic)]
        prev: String,
        seq: u64,
        src: String,
        svc: String,
        sn: i128,
    }

    /// The service `svc` answered its message `sn` from `src` (a network) with more than an event holds: the
    /// message was delivered and what the service did stays, but no answer went back.
    #[ink(event)]
    pub struct AnswerNotSent {
        #[ink(topic)]
        svc: String,
        sn: u128,
        src: String,
        len: u32,
    }

    /// The service `svc` took `messages` messages in one call but answered with something that is not an
    /// answer for each (a service defect): what it did stays, so they count as delivered; no answer or error
    /// reply goes back for them.
    #[ink(event)]
    pub struct AnswersGarbled {
        #[ink(topic)]
        svc: String,
        messages: u32,
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

    /// What the peer of `link` can reach changed; `ignored` announced BMCs did not fit the list.
    #[ink(event)]
    pub struct ReachableChanged {
        #[ink(topic)]
        link: String,
        added: Vec<String>,
        removed: Vec<String>,
        ignored: u32,
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

    /// The aggregator the peer of `link` may ask fees to be sent to (`None`: its `FeeGathering` is ignored).
    #[ink(event)]
    pub struct LinkFeeAggregatorChanged {
        #[ink(topic)]
        link: String,
        fee_aggregator: Option<String>,
    }

    /// The relay rotation of `link` was reconfigured; `rotate_term` 0 turns it off.
    #[ink(event)]
    pub struct LinkRotationChanged {
        #[ink(topic)]
        link: String,
        rotation: Rotation,
        rotate_term: u64,
    }

    /// The service `svc` was paused or resumed.
    #[ink(event)]
    pub struct ServicePauseChanged {
        svc: String,
        paused: bool,
    }

    /// The gas limit of service calls changed.
    #[ink(event)]
    pub struct ServiceGasChanged {
        limit: GasLimit,
    }

    /// Configuration changed: `what` (verifier, service, link, route, relay) `key` was added or removed.
    #[ink(event)]
    pub struct ConfigurationChanged {
        what: String,
        key: String,
        added: bool,
    }

    /// Registries and links live in `Mapping`s: a call decodes what it touches, and no value grows with the
    /// number of links or services past pallet-contracts' 16 KiB limit. The lists beside them hold only keys.
    ///
    /// The storage is what an upgraded code (`set_code`) reads: the fields below are its layout, in order, and
    /// each `Mapping` has a fixed key (`ManualKey`), not one derived from its field's name. A new version keeps
    /// them and adds state under new keys.
    #[ink(storage)]
    pub struct Bmc {
        network: String,
        address: String,
        admin: Admin,
        verifiers: Mapping<String, AccountId, ManualKey<0x424d_4301>>,
        verifier_networks: Vec<String>,
        services: Mapping<String, AccountId, ManualKey<0x424d_4302>>,
        service_names: Vec<String>,
        paused_services: Vec<String>,
        service_gas: GasLimit,
        /// Every link ever added, by its peer's canonical address; removal only disconnects it.
        links: Mapping<String, LinkState, ManualKey<0x424d_4303>>,
        /// The connected links' keys.
        connected: Vec<String>,
        /// (destination BMC, link it leaves on), canonical.
        routes: Vec<(String, String)>,
        /// Every network this BMC has had a link to: no peer may announce it as reachable through itself.
        direct_networks: Vec<String>,
        /// Answers to our own requests their service could not take, by (service, sn).
        undelivered: Mapping<(String, u128), UndeliveredAnswer, ManualKey<0x424d_4304>>,
        fee_aggregator: Option<String>,
        /// Blocks between fee gatherings; 0 gathers only when an owner asks.
        fee_gathering_term: u32,
        fee_gathering_next: u32,
    }

    fn parse(text: &str) -> Result<BtpAddress> {
        BtpAddress::parse(text).map_err(|_| Error::InvalidAddress)
    }

    /// ICON's BMC takes only names of ASCII letters and digits.
    fn valid_service_name(name: &str) -> bool {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    impl Bmc {
        /// Deploys the BMC of the parachain network `network` (e.g. `0x501.pra`); the caller becomes owner.
        #[ink(constructor)]
        pub fn new(network: String) -> Result<Self> {
            validate_network(&network).map_err(|_| Error::InvalidNetwork)?;
            let address = parse(&ink::prelude::format!("btp://{network}/{}", hex_account(Self::env().account_id().as_ref())))?;
            let bmc = Self {
                network: address.network().into(),
                address: address.canonical().into(),
                admin: Admin::new(Self::env().caller()),
                verifiers: Mapping::new(),
                verifier_networks: Vec::new(),
                services: Mapping::new(),
                service_names: Vec::new(),
                paused_services: Vec::new(),
                service_gas: DEFAULT_SERVICE_GAS,
                links: Mapping::new(),
                connected: Vec::new(),
                routes: Vec::new(),
                direct_networks: Vec::new(),
                undelivered: Mapping::new(),
                fee_aggregator: None,
                fee_gathering_term: 0,
                fee_gathering_next: 0,
            };
            Ok(bmc)
        }

        /// This BMC's BTP address: `btp://<network>/0x<contract account in hex>`.
        #[ink(message)]
        pub fn btp_address(&self) -> String {
            self.address.clone()
        }

        /// The BMV contracts, by the network they verify.
        #[ink(message)]
        pub fn verifiers(&self) -> Vec<(String, AccountId)> {
            self.verifier_networks.iter().filter_map(|n| Some((n.clone(), self.verifiers.get(n)?))).collect()
        }

        /// Registers the BMV `bmv` for messages from `network`, which is not this BMC's own. Owner only.
        #[ink(message)]
        pub fn add_verifier(&mut self, network: String, bmv: AccountId) -> Result<()> {
            self.only_owner()?;
            let network = Self::network_of(&network)?;
            if network == self.network {
                return Err(Error::InvalidNetwork);
            }
            if self.verifiers.contains(&network) {
                return Err(Error::AlreadyExistsBmv);
            }
            self.verifiers.insert(&network, &bmv);
            self.verifier_networks.push(network.clone());
            self.changed("verifier", network, true);
            Ok(())
        }

        /// Removes the BMV of `network`. Owner only.
        #[ink(message)]
        pub fn remove_verifier(&mut self, network: String) -> Result<()> {
            self.only_owner()?;
            let network = Self::network_of(&network)?;
            let at = self.verifier_networks.iter().position(|n| *n == network).ok_or(Error::NotExistsBmv)?;
            self.verifier_networks.swap_remove(at);
            self.verifiers.remove(&network);
            self.changed("verifier", network, false);
            Ok(())
        }

        /// The services (BSH contracts) by name.
        #[ink(message)]
        pub fn services(&self) -> Vec<(String, AccountId)> {
            self.service_names.iter().filter_map(|n| Some((n.clone(), self.services.get(n)?))).collect()
        }

        /// Registers the service `name` (ASCII letters and digits; `bmc` is reserved) at `bsh`. Owner only.
        #[ink(message)]
        pub fn add_service(&mut self, name: String, bsh: AccountId) -> Result<()> {
            self.only_owner()?;
            if name == BMC_SERVICE {
                return Err(Error::ReservedService);
            }
            if !valid_service_name(&name) {
                return Err(Error::InvalidServiceName);
            }
            if self.services.contains(&name) {
                return Err(Error::AlreadyExistsBsh);
            }
            self.services.insert(&name, &bsh);
            self.service_names.push(name.clone());
            self.changed("service", name, true);
            Ok(())
        }

        /// Removes the service `name`, refused while it waits for answers to any of its requests: to upgrade a
        /// service, pause it instead (`set_service_paused`). Owner only.
        #[ink(message)]
        pub fn remove_service(&mut self, name: String) -> Result<()> {
            self.only_owner()?;
            let bsh = self.services.get(&name).ok_or(Error::NotExistsBsh)?;
            let view = self.routing_view()?;
            let networks: Vec<String> = view.links.iter().flat_map(|l| view.networks_via(&l.peer)).collect();
            if Self::pending_requests(bsh, &networks) > 0 {
                return Err(Error::PendingRequests);
            }
            self.service_names.retain(|n| *n != name);
            self.paused_services.retain(|n| *n != name);
            self.services.remove(&name);
            self.changed("service", name, false);
            Ok(())
        }

        /// Pauses (or resumes) delivery to the service `name`, for an upgrade: while it is paused, a relay
        /// message that carries a message for it is refused whole (`ServicePaused`), so its messages wait on the
        /// peer chain instead of failing. Owner only.
        #[ink(message)]
        pub fn set_service_paused(&mut self, name: String, paused: bool) -> Result<()> {
            self.only_owner()?;
            if !self.services.contains(&name) {
                return Err(Error::NotExistsBsh);
            }
            self.paused_services.retain(|n| *n != name);
            if paused {
                self.paused_services.push(name.clone());
            }
            self.env().emit_event(ServicePauseChanged { svc: name, paused });
            Ok(())
        }

        /// The paused services.
        #[ink(message)]
        pub fn paused_services(&self) -> Vec<String> {
            self.paused_services.clone()
        }

        /// The gas a service call may use at most.
        #[ink(message)]
        pub fn service_gas(&self) -> GasLimit {
            self.service_gas
        }

        /// Sets the gas a service call may use at most (both parts above 0). Owner only.
        #[ink(message)]
        pub fn set_service_gas(&mut self, limit: GasLimit) -> Result<()> {
            self.only_owner()?;
            if limit.ref_time == 0 || limit.proof_size == 0 {
                return Err(Error::Overflow);
            }
            self.service_gas = limit;
            self.env().emit_event(ServiceGasChanged { limit });
            Ok(())
        }

        /// The connected links: peers with their sequence numbers, reachable BMCs and relays.
        #[ink(message)]
        pub fn links(&self) -> Vec<LinkState> {
            self.connected.iter().filter_map(|k| self.links.get(k)).collect()
        }

        /// The link to `peer` as stored, also after it was removed (its sequence numbers stay).
        #[ink(message)]
        pub fn link(&self, peer: String) -> Option<LinkState> {
            self.links.get(parse(&peer).ok()?.canonical())
        }

        /// Connects the BMC `link`, whose network needs a BMV; at most one link per network. A link added again
        /// resumes the sequence numbers it had (and what its peer announced): its old messages are never taken
        /// twice. The new peer is told the links that exist (`Init`); every existing peer is told of the new one
        /// (`Link`). Owner only.
        #[ink(message)]
        pub fn add_link(&mut self, link: String) -> Result<()> {
            self.only_owner()?;
            let peer = parse(&link)?;
            if peer.network() == self.network {
                return Err(Error::InvalidNetwork);
            }
            self.verifier_for(peer.network())?;
            let existing = self.routing_view()?.links;
            if existing.iter().any(|l| l.peer.network() == peer.network()) {
                return Err(Error::AlreadyExistsLink);
            }
            let key = String::from(peer.canonical());
            let state = match self.links.get(&key) {
                Some(mut old) => {
                    old.connected = true;
                    old
                }
                None => LinkState::new(key.clone()),
            };
            self.links.insert(&key, &state);
            self.connected.push(key.clone());
            if !self.direct_networks.iter().any(|n| n == peer.network()) {
                self.direct_networks.push(peer.network().into());
            }
            self.changed("link", key, true);
            let peers: Vec<BtpAddress> = existing.into_iter().map(|l| l.peer).collect();
            self.send_internal(&peer, &BmcMessage::Init { links: peers.clone() })?;
            for other in peers {
                self.send_internal(&other, &BmcMessage::Link { link: peer.clone() })?;
            }
            Ok(())
        }

        /// Disconnects `link`, telling the remaining peers (`Unlink`). Refused while a route uses it or a service
        /// waits for answers to requests that leave on it. Its sequence numbers are kept for when it is added
        /// again; its relays are withdrawn. Owner only.
        #[ink(message)]
        pub fn remove_link(&mut self, link: String) -> Result<()> {
            self.only_owner()?;
            let gone = parse(&link)?;
            let key = String::from(gone.canonical());
            let mut state = self.connected_link(&key)?;
            if self.routes.iter().any(|(_, via)| *via == key) {
                return Err(Error::LinkInUse);
            }
            let networks = self.routing_view()?.networks_via(&gone);
            for svc in &self.service_names {
                if self.services.get(svc).is_some_and(|bsh| Self::pending_requests(bsh, &networks) > 0) {
                    return Err(Error::PendingRequests);
                }
            }
            state.disconnect();
            self.links.insert(&key, &state);
            self.connected.retain(|k| *k != key);
            self.changed("link", key, false);
            for other in self.routing_view()?.links {
                self.send_internal(&other.peer, &BmcMessage::Unlink { link: gone.clone() })?;
            }
            Ok(())
        }

        /// Explicit routes: (destination BMC, link).
        #[ink(message)]
        pub fn routes(&self) -> Vec<(String, String)> {
            self.routes.clone()
        }

        /// Sends messages for the BMC `dst` (and its network, not this one) out on `link`. Owner only.
        #[ink(message)]
        pub fn add_route(&mut self, dst: String, link: String) -> Result<()> {
            self.only_owner()?;
            let dst = parse(&dst)?;
            if dst.network() == self.network {
                return Err(Error::InvalidNetwork);
            }
            let link = String::from(parse(&link)?.canonical());
            self.connected_link(&link)?;
            let dst = String::from(dst.canonical());
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
            let dst = String::from(parse(&dst)?.canonical());
            let at = self.routes.iter().position(|(d, _)| *d == dst).ok_or(Error::NotExistsRoute)?;
            self.routes.remove(at);
            self.changed("route", dst, false);
            Ok(())
        }

        /// Allows `relay` to submit relay messages for `link`. Owner only.
        #[ink(message)]
        pub fn add_relay(&mut self, link: String, relay: AccountId) -> Result<()> {
            self.only_owner()?;
            self.update_link(&link, |state| {
                if state.relays.iter().any(|r| r.account == relay) {
                    return Err(Error::AlreadyExistsBmr);
                }
                state.relays.push(Relay { account: relay, block_count: 0, msg_count: 0 });
                Ok(())
            })?;
            self.changed("relay", ink::prelude::format!("{link} {}", hex_account(relay.as_ref())), true);
            Ok(())
        }

        /// Withdraws `relay` from `link`. Owner only.
        #[ink(message)]
        pub fn remove_relay(&mut self, link: String, relay: AccountId) -> Result<()> {
            self.only_owner()?;
            self.update_link(&link, |state| {
                let at = state.relays.iter().position(|r| r.account == relay).ok_or(Error::NotExistsBmr)?;
                state.relays.remove(at);
                Ok(())
            })?;
            self.changed("relay", ink::prelude::format!("{link} {}", hex_account(relay.as_ref())), false);
            Ok(())
        }

        /// Sets the one fee aggregator (a BTP address) the peer of `link` may ask this chain's fees to be sent to
        /// with `FeeGathering`; `None` ignores its requests. Owner only.
        #[ink(message)]
        pub fn set_link_fee_aggregator(&mut self, link: String, fee_aggregator: Option<String>) -> Result<()> {
            self.only_owner()?;
            let fee_aggregator = fee_aggregator.map(|fa| self.valid_fee_aggregator(&fa)).transpose()?;
            self.update_link(&link, |state| {
                state.fee_aggregator = fee_aggregator.clone();
                Ok(())
            })?;
            self.env().emit_event(LinkFeeAggregatorChanged { link, fee_aggregator });
            Ok(())
        }

        /// Schedules message `seq` of `link` (not received yet) to be dropped when a relay brings it: the BMV
        /// still verifies it, the BMC then does not deliver it and sends its source the error reply built from
        /// the verified message. The way past a message that can never be delivered. Owner only.
        #[ink(message)]
        pub fn schedule_drop(&mut self, link: String, seq: u64) -> Result<()> {
            self.only_owner()?;
            self.update_link(&link, |state| {
                if seq <= state.rx_seq || state.drops.contains(&seq) {
                    return Err(Error::InvalidSeq);
                }
                state.drops.push(seq);
                Ok(())
            })?;
            self.env().emit_event(DropScheduled { link, seq, scheduled: true });
            Ok(())
        }

        /// Cancels a scheduled drop. Owner only.
        #[ink(message)]
        pub fn cancel_drop(&mut self, link: String, seq: u64) -> Result<()> {
            self.only_owner()?;
            self.update_link(&link, |state| if state.take_drop(seq) { Ok(()) } else { Err(Error::NotScheduled) })?;
            self.env().emit_event(DropScheduled { link, seq, scheduled: false });
            Ok(())
        }

        /// The kept answer to request `sn` of `svc`, if its delivery failed or it was dropped.
        #[ink(message)]
        pub fn undelivered_answer(&self, svc: String, sn: u128) -> Option<UndeliveredAnswer> {
            self.undelivered.get((svc, sn))
        }

        /// Takes a relay message from a relay of the link `prev`: the link's BMV verifies it (its refusal reverts
        /// with the BMV's code), `rx_seq` advances by the messages it proves, and each message is handled: the
        /// BMC's own messages update what the peer can reach, messages for other BMCs go out on their next link,
        /// messages an owner scheduled are dropped, consecutive messages for one service are delivered in one
        /// call whose answers go back to their sources, and what cannot be delivered gets an error reply on
        /// `prev`. One bad message never reverts the others; a message for a paused service refuses the whole
        /// relay message (`ServicePaused`), and a halted BMC refuses every one (`Halted`).
        #[ink(message)]
        pub fn handle_relay_message(&mut self, prev: String, msg: Vec<u8>) -> Result<()> {
            if self.admin.is_halted() {
                return Err(Error::Halted);
            }
            // Longer ones would overflow the I/O buffer of the call to the BMV: a trap, not an answer.
            if msg.len() > btp_primitives::bmc::MAX_RELAY_MESSAGE_LEN {
                return Err(Error::MessageTooLarge);
            }
            let peer = parse(&prev)?;
            let key = String::from(peer.canonical());
            let caller = self.env().caller();
            let mut state = self.connected_link(&key)?;
            if !state.relays.iter().any(|r| r.account == caller) {
                return Err(Error::Unauthorized);
            }
            let bmv = self.verifier_for(peer.network())?;
            // One call: the verifier returns its status with where in `msg` the messages it proved are.
            let Verified { messages: spans, blocks, status } = build_call::<ink::env::DefaultEnvironment>()
                .call(bmv)
                .exec_input(btp_interfaces::verifier::handle_relay_message_input(&self.address, &key, u128::from(state.rx_seq), &msg))
                .returns::<core::result::Result<Verified, VerifierError>>()
                .try_invoke()
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|e| match e {
                    VerifierError::Halted => Error::VerifierHalted,
                    e => e.btp_code().map_or(Error::VerifierUnavailable, Error::Verifier),
                })?;
            let messages = spans.iter().map(|span| span.slice(&msg)).collect::<Option<Vec<&[u8]>>>().ok_or(Error::VerifierUnavailable)?;
            let count = u64::try_from(messages.len()).map_err(|_| Error::Overflow)?;
            let now = self.env().block_number();
            if let Some(turn) = state.rotation.rotate(u64::from(now), status.last_height, count > 0, state.relays.len()) {
                if state.relays.get(turn).map(|r| r.account) != Some(caller) {
                    return Err(Error::Unauthorized);
                }
            }
            let first = state.rx_seq.checked_add(1).ok_or(Error::Overflow)?;
            state.rx_seq = state.rx_seq.checked_add(count).ok_or(Error::Overflow)?;
            let drops: Vec<bool> = (first..=state.rx_seq).map(|seq| state.take_drop(seq)).collect();
            if let Some(relay) = state.relays.iter_mut().find(|r| r.account == caller) {
                relay.block_count = relay.block_count.saturating_add(u64::from(blocks));
                relay.msg_count = relay.msg_count.saturating_add(count);
            }
            let rx_seq = state.rx_seq;
            // Written before any message is handled: a service answering from inside its delivery emits on this
            // link, and the sequence it takes must follow what is stored here.
            self.links.insert(&key, &state);
            let mut view = self.routing_view()?;
            let (mut undecodable, mut refused, mut dropped) = (0u32, 0u32, 0u32);
            // Each message is classified when its turn comes: an internal message before it may have changed
            // what the peer leads to. Consecutive messages for one service are delivered in one call, when the
            // run ends, so that the service's code is loaded once, not once per message.
            let mut batch: Vec<BtpMessage> = Vec::new();
            for ((bytes, drop), seq) in messages.iter().zip(drops).zip(first..) {
                let disposition = view.classify(&peer, bytes, drop);
                let joins = match &disposition {
                    Disposition::Deliver(message) => {
                        if self.paused_services.contains(&message.svc) {
                            return Err(Error::ServicePaused);
                        }
                        message.sn >= 0 && batch.first().is_none_or(|first| first.svc == message.svc)
                    }
                    _ => false,
                };
                if !joins {
                    let failed = self.deliver_batch(&view, &peer, core::mem::take(&mut batch))?;
                    refused = refused.saturating_add(failed);
                }
                match disposition {
                    Disposition::Undecodable => undecodable = undecodable.saturating_add(1),
                    Disposition::Internal(message) => {
                        if self.handle_internal(&view, &key, &message)? {
                            view = self.routing_view()?;
                        }
                    }
                    Disposition::Forward { next, message } => {
                        if let Err(error) = self.emit(&next, message.encode()) {
                            refused = refused.saturating_add(1);
                            self.reply(&view, &peer, &message, &ErrorMessage::new(routing::code::UNKNOWN, ink::prelude::format!("{error:?}")));
                        }
                    }
                    Disposition::Reject { message, error } => {
                        refused = refused.saturating_add(1);
                        self.reply(&view, &peer, &message, &error);
                    }
                    Disposition::Forged(message) => {
                        refused = refused.saturating_add(1);
                        let svc = clipped(&message.svc, EVENT_TEXT_MAX);
                        self.env().emit_event(ForgedMessage {
                            prev: key.clone(),
                            seq,
                            src: clipped(message.src.as_str(), EVENT_TEXT_MAX),
                            svc,
                            sn: message.sn,
                        });
                    }
                    Disposition::Deliver(message) if message.sn >= 0 => batch.push(message),
                    Disposition::Deliver(message) => {
                        if let Err(error) = self.deliver_error_report(&message)? {
                            refused = refused.saturating_add(1);
                            if answers_own_request(message.sn) {
                                self.keep_undelivered(&message, error.code);
                            } else {
                                self.reply(&view, &peer, &message, &error);
                            }
                        }
                    }
                    Disposition::Dropped(message) => {
                        dropped = dropped.saturating_add(1);
                        if let Some(message) = message {
                            if answers_own_request(message.sn) {
                                self.keep_undelivered(&message, routing::code::DROPPED);
                            } else {
                                self.reply(&view, &peer, &message, &ErrorMessage::new(routing::code::DROPPED, "DropMessage"));
                            }
                        }
                        let mut hash = [0u8; 32];
                        ink::env::hash_bytes::<ink::env::hash::Blake2x256>(bytes, &mut hash);
                        let msg = if bytes.len() <= MAX_EVENT_LEN / 2 { bytes.to_vec() } else { Vec::new() };
                        self.env().emit_event(MessageDropped { prev: key.clone(), seq, hash, msg });
                    }
                }
            }
            let failed = self.deliver_batch(&view, &peer, batch)?;
            refused = refused.saturating_add(failed);
            if self.fee_gathering_term > 0 && self.fee_gathering_next <= now && !self.service_names.is_empty() && self.fee_aggregator.is_some() {
                self.gather_fees_now()?;
            }
            self.env().emit_event(RelayMessageHandled {
                prev: key,
                rx_seq,
                messages: u32::try_from(messages.len()).unwrap_or(u32::MAX),
                undecodable,
                refused,
                dropped,
            });
            Ok(())
        }

        /// Where a relay of `link` resumes: sequence numbers, the BMV's status, relays, the current block.
        #[ink(message)]
        pub fn get_status(&self, link: String) -> Result<LinkStatus> {
            let peer = parse(&link)?;
            let state = self.connected_link(peer.canonical())?;
            let verifier = Self::verifier_status(self.verifier_for(peer.network())?)?;
            Ok(LinkStatus {
                rx_seq: state.rx_seq,
                tx_seq: state.tx_seq,
                verifier,
                relays: state.relays,
                rotate_term: state.rotation.rotate_term(),
                rotation: state.rotation,
                cur_height: self.env().block_number(),
            })
        }

        /// Configures relay rotation on `link` (spec §2.12): block intervals of this chain and the peer chain in
        /// ms, peer blocks per turn, local blocks of lateness before a turn is skipped (0: never). Any zero among
        /// the first three turns rotation off. Owner only.
        #[ink(message)]
        pub fn set_link_rotation(
            &mut self,
            link: String,
            block_interval_src: u64,
            block_interval_dst: u64,
            max_aggregation: u64,
            delay_limit: u64,
        ) -> Result<()> {
            self.only_owner()?;
            let peer = parse(&link)?;
            let height = Self::verifier_status(self.verifier_for(peer.network())?)?.height;
            let now = u64::from(self.env().block_number());
            let rotation = self.update_link(&link, |state| {
                state.rotation.configure(block_interval_src, block_interval_dst, max_aggregation, delay_limit, now, height);
                Ok(state.rotation.clone())
            })?;
            self.env().emit_event(LinkRotationChanged { link: peer.canonical().into(), rotate_term: rotation.rotate_term(), rotation });
            Ok(())
        }

        /// Where fee gathering sends the services' fees, how often, and when next.
        #[ink(message)]
        pub fn fee_gathering(&self) -> FeeGatheringSettings {
            FeeGatheringSettings { fee_aggregator: self.fee_aggregator.clone(), term: self.fee_gathering_term, next: self.fee_gathering_next }
        }

        /// Sets the fee aggregator (a BTP address, `None` to stop gathering; never this BMC or a service) and the
        /// term in blocks; the first gathering runs one term from now. Owner only.
        #[ink(message)]
        pub fn set_fee_gathering(&mut self, fee_aggregator: Option<String>, term: u32) -> Result<()> {
            self.only_owner()?;
            self.fee_aggregator = fee_aggregator.map(|fa| self.valid_fee_aggregator(&fa)).transpose()?;
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
            let names = self.service_names.clone();
            self.ask_for_fees(&fa, &names)?;
            if aggregator.network() == self.network {
                for peer in self.routing_view()?.links {
                    self.send_internal(&peer.peer, &BmcMessage::FeeGathering { fee_aggregator: aggregator.clone(), services: names.clone() })?;
                }
            }
            if self.fee_gathering_term > 0 {
                self.fee_gathering_next = self.env().block_number().saturating_add(self.fee_gathering_term);
            }
            Ok(())
        }

        /// Asks each of the services `names` (paused ones excepted) to send its fees to `fa`. A service that cannot
        /// pay out now keeps its fees for the next gathering; the event names it.
        fn ask_for_fees(&mut self, fa: &str, names: &[String]) -> Result<()> {
            let mut failed = Vec::new();
            let mut asked = Vec::new();
            for svc in names {
                let Some(bsh) = self.services.get(svc).filter(|_| !self.paused_services.contains(svc)) else { continue };
                let call = ServiceRef::from(bsh).call_mut().handle_fee_gathering(fa.into(), svc.clone());
                if let Served::Failed(_) = self.call_service(call, 1)? {
                    failed.push(svc.clone());
                }
                asked.push(svc.clone());
            }
            self.env().emit_event(FeeGathering { fee_aggregator: fa.into(), services: asked, failed });
            Ok(())
        }

        /// A fee aggregator's canonical address, refused when fees sent there would be lost: this BMC, or a
        /// service's own account (the services' books hold only what is in flight or fees).
        fn valid_fee_aggregator(&self, fa: &str) -> Result<String> {
            let fa = parse(fa)?;
            if fa.network() == self.network {
                let account = |a: AccountId| parse(&ink::prelude::format!("btp://{}/{}", self.network, hex_account(a.as_ref())));
                let service = self.service_names.iter().filter_map(|n| self.services.get(n)).any(|bsh| account(bsh).is_ok_and(|a| a == fa));
                if fa.canonical() == self.address || service {
                    return Err(Error::InvalidFeeAggregator);
                }
            }
            Ok(fa.canonical().into())
        }

        /// Hands `messages` (consecutive ones for one service, each with `sn >= 0`) to their service in one call;
        /// when that call fails (a refusal, a trap, too little gas, a wrong number of answers) nothing of it stays
        /// and each message is handed over alone, so that one bad message fails alone and the outcome never
        /// depends on the gas the relay brought. Returns how many were refused. `Err` is a relay message without
        /// the gas a lone service call may take.
        fn deliver_batch(&mut self, view: &View, peer: &BtpAddress, messages: Vec<BtpMessage>) -> Result<u32> {
            let Some(first) = messages.first() else { return Ok(0) };
            let svc = first.svc.clone();
            let Some(bsh) = self.services.get(&svc) else {
                let missing = ErrorMessage::new(routing::code::NOT_EXISTS_BSH, "NotExistsBSH");
                messages.iter().try_for_each(|m| self.settle(view, peer, m, Err(missing.clone())))?;
                return u32::try_from(messages.len()).map_err(|_| Error::Overflow);
            };
            if messages.len() > 1 {
                match self.hand_over(bsh, &svc, &messages)? {
                    Served::Answered(answers) => {
                        messages.iter().zip(answers).try_for_each(|(m, answer)| self.settle(view, peer, m, Ok(answer)))?;
                        return Ok(0);
                    }
                    // What the service did stays: handing the messages over again would deliver them twice.
                    Served::Garbled => return Ok(0),
                    Served::Failed(_) => {}
                }
            }
            let mut refused = 0u32;
            for message in &messages {
                let outcome = match self.hand_over(bsh, &svc, core::slice::from_ref(message))? {
                    Served::Answered(mut answers) => Ok(answers.pop().flatten()),
                    // Delivered, unanswered: an error reply would have its source refund what the service kept.
                    Served::Garbled => Ok(None),
                    Served::Failed(failure) => Err(failure.error_message()),
                };
                if outcome.is_err() {
                    refused = refused.saturating_add(1);
                }
                self.settle(view, peer, message, outcome)?;
            }
            Ok(refused)
        }

        /// One `handle_btp_messages` call for `messages` of the service `svc` at `bsh`: `Answered` holds exactly
        /// one answer per message; any other number of answers is `Garbled`, recorded (`AnswersGarbled`).
        fn hand_over(&mut self, bsh: AccountId, svc: &str, messages: &[BtpMessage]) -> Result<Served<Vec<Answer>>> {
            let incoming = messages.iter().map(|m| Incoming { src: m.src.network().into(), sn: m.sn.unsigned_abs(), msg: m.payload.clone() }).collect();
            let count = u64::try_from(messages.len()).map_err(|_| Error::Overflow)?;
            let call = ServiceRef::from(bsh).call_mut().handle_btp_messages(svc.into(), incoming);
            let served = match self.call_service(call, count)? {
                Served::Answered(answers) if answers.len() == messages.len() => return Ok(Served::Answered(answers)),
                Served::Answered(_) => Served::Garbled,
                other => other,
            };
            if let Served::Garbled = served {
                self.env().emit_event(AnswersGarbled { svc: clipped(svc, EVENT_TEXT_MAX), messages: u32::try_from(count).unwrap_or(u32::MAX) });
            }
            Ok(served)
        }

        /// What follows a delivery: the service's answer goes back to the message's source; a failure gets the
        /// error reply, or, for an answer to one of our own requests, the answer is kept for its service.
        fn settle(&mut self, view: &View, peer: &BtpAddress, message: &BtpMessage, outcome: core::result::Result<Answer, ErrorMessage>) -> Result<()> {
            match outcome {
                Ok(None) => {}
                Ok(Some(payload)) => self.answer(view, message, payload)?,
                Err(error) if answers_own_request(message.sn) => self.keep_undelivered(message, error.code),
                Err(error) => {
                    self.reply(view, peer, message, &error);
                }
            }
            Ok(())
        }

        /// Sends the service's answer to `message` back to its source under the message's `sn`. One that no
        /// event can hold is recorded (`AnswerNotSent`); the message stays delivered.
        fn answer(&mut self, view: &View, message: &BtpMessage, payload: Vec<u8>) -> Result<()> {
            let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
            match self.send(view, message.src.network(), message.svc.clone(), message.sn, payload) {
                Err(Error::MessageTooLarge | Error::Unreachable) => {
                    let (svc, src) = (clipped(&message.svc, EVENT_TEXT_MAX), clipped(message.src.network(), EVENT_TEXT_MAX));
                    self.env().emit_event(AnswerNotSent { svc, sn: message.sn.unsigned_abs(), src, len });
                    Ok(())
                }
                other => other,
            }
        }

        /// Sends `payload` of service `svc` as message `sn` to the network `to`, on the way `view` knows.
        fn send(&mut self, view: &View, to: &str, svc: String, sn: i128, payload: Vec<u8>) -> Result<()> {
            let hop = view.resolve(to).ok_or(Error::Unreachable)?;
            let message = BtpMessage { src: view.own.clone(), dst: hop.dst.clone(), svc, sn, payload };
            self.emit(hop.next, message.encode())
        }

        /// Hands an error report (a message with `sn < 0`) to its service; the inner `Err` is why it failed. A
        /// failed report is recorded in `ErrorOnBtpError` and fails only when it concerns one of our own requests
        /// (kept for its service). The outer `Err` is a relay message without the gas a service call may take.
        fn deliver_error_report(&mut self, message: &BtpMessage) -> Result<core::result::Result<(), ErrorMessage>> {
            let bsh = self.services.get(&message.svc);
            let sn = message.sn.unsigned_abs();
            // A garbled report still means the message failed: the service hears of it with the Unknown code
            // so that it can refund, rather than keep the value locked forever.
            let report = ErrorMessage::decode(&message.payload).unwrap_or_else(|_| ErrorMessage::new(routing::code::UNKNOWN, ""));
            let failure = match bsh {
                None => Some(routing::code::NOT_EXISTS_BSH),
                Some(bsh) => {
                    let call = ServiceRef::from(bsh).call_mut().handle_btp_error(
                        message.src.as_str().into(),
                        message.svc.clone(),
                        sn,
                        report.code,
                        report.message.clone(),
                    );
                    match self.call_service(call, 1)? {
                        Served::Failed(failure) => Some(failure.code()),
                        Served::Answered(()) | Served::Garbled => None,
                    }
                }
            };
            let Some(failure) = failure else { return Ok(Ok(())) };
            let msg = clipped(&report.message, EVENT_TEXT_MAX);
            self.env().emit_event(ErrorOnBtpError { svc: message.svc.clone(), sn, code: report.code, msg, failure });
            Ok(if answers_own_request(message.sn) { Err(ErrorMessage::new(failure, "")) } else { Ok(()) })
        }

        /// Keeps an answer to one of our own requests that its service could not take (`code`), for the service
        /// to take later (`take_undelivered_answer`): no error reply goes back, as the peer has nothing to undo.
        /// One too large for a storage value is only recorded in the event.
        fn keep_undelivered(&mut self, message: &BtpMessage, code: u32) {
            let sn = message.sn.unsigned_abs();
            let answer = UndeliveredAnswer { src: message.src.as_str().into(), sn: message.sn, payload: message.payload.clone() };
            let kept = ink::scale::Encode::encoded_size(&answer) <= MAX_EVENT_LEN / 2;
            if kept {
                self.undelivered.insert((&message.svc, sn), &answer);
            }
            self.env().emit_event(AnswerUndelivered { svc: clipped(&message.svc, EVENT_TEXT_MAX), sn, code, kept });
        }

        /// Calls a service, which may call back into this BMC (`send_message`): the state is written before the
        /// call and read back after it, so that what the service caused is kept and nothing is written twice.
        /// The call is for `messages` messages and gets at most that many times the service gas (the runtime
        /// gives it no more than is left). A lone call (`messages` 1) that traps or runs out of gas while less than
        /// its limit was left may have failed only because the relay brought too little gas: then the whole call
        /// fails (`OutOfGas`), so that the relay's choice of gas never decides whether a message fails; a failed
        /// batch is handed over again message by message, so its failure decides nothing either: the gas a relay
        /// brings changes what the call costs or whether it goes through, never a message's outcome.
        fn call_service<Args: ink::scale::Encode, T: ink::scale::Decode>(&mut self, call: ServiceCall<Args, T>, messages: u64) -> Result<Served<T>> {
            let ref_time = self.service_gas.ref_time.saturating_mul(messages);
            let proof_size = self.service_gas.proof_size.saturating_mul(messages);
            let short = messages <= 1 && self.env().gas_left() < ref_time;
            let key = <Self as ink::storage::traits::StorageKey>::KEY;
            ink::env::set_contract_storage(&key, self);
            let outcome = call.ref_time_limit(ref_time).proof_size_limit(proof_size).call_flags(ink::env::CallFlags::ALLOW_REENTRY).try_invoke();
            if let Ok(Some(fresh)) = ink::env::get_contract_storage::<_, Self>(&key) {
                *self = fresh;
            }
            match outcome {
                Ok(Ok(Ok(value))) => Ok(Served::Answered(value)),
                Ok(Ok(Err(refusal))) => Ok(Served::Failed(ServiceFailure::Refused(refusal.code()))),
                Err(ink::env::Error::Decode(_)) => Ok(Served::Garbled),
                _ if short => Err(Error::OutOfGas),
                _ => Ok(Served::Failed(ServiceFailure::Failed)),
            }
        }

        /// How many of the service's requests to `networks` wait for an answer. A service that cannot answer is
        /// taken to have none: it could not settle them either, and must not keep its links forever.
        fn pending_requests(bsh: AccountId, networks: &[String]) -> u64 {
            networks
                .iter()
                .map(|network| ServiceRef::from(bsh).call().pending_requests(network.clone()).try_invoke().ok().and_then(|r| r.ok()).unwrap_or(0))
                .fold(0u64, u64::saturating_add)
        }

        /// Refuses a caller that is not the registered contract of service `svc`.
        fn service_caller(&self, svc: &str) -> Result<()> {
            let bsh = self.services.get(svc).ok_or(Error::NotExistsBsh)?;
            if self.env().caller() != bsh {
                return Err(Error::Unauthorized);
            }
            Ok(())
        }

        /// The BMV verifying messages from `network`.
        fn verifier_for(&self, network: &str) -> Result<AccountId> {
            self.verifiers.get(network).ok_or(Error::NotExistsBmv)
        }

        /// Where the BMV stands.
        fn verifier_status(bmv: AccountId) -> Result<VerifierStatus> {
            let verifier: ink::contract_ref!(Verifier) = bmv.into();
            verifier
                .call()
                .status()
                .try_invoke()
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|_| Error::VerifierUnavailable)?
                .map_err(|_| Error::VerifierUnavailable)
        }

        /// The BMC-internal messages of the peer of link `key`: what it can reach (never a network this chain
        /// has or had a link to, its own, or one another peer leads to), and fee gathering for the aggregator
        /// approved for that link. Unknown types are ignored. Returns whether routing changed.
        fn handle_internal(&mut self, view: &View, key: &str, message: &BtpMessage) -> Result<bool> {
            let Ok(internal) = BmcMessage::decode(&message.payload) else { return Ok(false) };
            let Some(mut state) = self.links.get(key) else { return Ok(false) };
            if let BmcMessage::FeeGathering { fee_aggregator, services } = &internal {
                if routing::accepts_fee_gathering(state.fee_aggregator.as_deref(), fee_aggregator) {
                    let asked: Vec<String> = self.service_names.iter().filter(|n| services.contains(n)).cloned().collect();
                    self.ask_for_fees(fee_aggregator.as_str(), &asked)?;
                }
                return Ok(false);
            }
            let mut taken: Vec<String> = self.direct_networks.clone();
            taken.push(self.network.clone());
            taken.extend(view.routes.iter().map(|(dst, _)| dst.network().into()));
            for other in view.links.iter().filter(|l| l.peer.canonical() != key) {
                taken.extend(other.reachable.iter().map(|r| r.network().into()));
            }
            let change = state.apply(&internal, &taken);
            if change.is_empty() {
                return Ok(false);
            }
            self.links.insert(key, &state);
            self.env().emit_event(ReachableChanged { link: key.into(), added: change.added, removed: change.removed, ignored: change.ignored });
            Ok(true)
        }

        /// Sends the error reply to `message` on the link it arrived on, if it asked for one; whether one went.
        fn reply(&mut self, view: &View, prev: &BtpAddress, message: &BtpMessage, error: &ErrorMessage) -> bool {
            match view.error_reply(message, error) {
                // A reply too large for an event (a huge source address) is not worth trapping the relay message.
                Some(reply) => self.emit(prev, reply.encode()).is_ok(),
                None => false,
            }
        }

        fn only_owner(&self) -> Result<()> {
            self.admin.ensure_owner(self.env().caller()).map_err(|_| Error::Unauthorized)
        }

        /// A network address in its canonical spelling.
        fn network_of(network: &str) -> Result<String> {
            canonical_network(network).map_err(|_| Error::InvalidNetwork)
        }

        fn connected_link(&self, key: &str) -> Result<LinkState> {
            self.links.get(key).filter(|l| l.connected).ok_or(Error::NotExistsLink)
        }

        /// Changes the connected link `link` (any spelling) with `change`, which may refuse.
        fn update_link<T>(&mut self, link: &str, change: impl FnOnce(&mut LinkState) -> Result<T>) -> Result<T> {
            let key = String::from(parse(link)?.canonical());
            let mut state = self.connected_link(&key)?;
            let out = change(&mut state)?;
            self.links.insert(&key, &state);
            Ok(out)
        }

        fn changed(&self, what: &str, key: String, added: bool) {
            self.env().emit_event(ConfigurationChanged { what: what.into(), key, added });
        }

        /// This BMC, its routes and its connected links in the form the routing rules take.
        fn routing_view(&self) -> Result<View> {
            let routes = self.routes.iter().filter_map(|(d, l)| Some((BtpAddress::parse(d).ok()?, BtpAddress::parse(l).ok()?))).collect();
            let links = self.links().iter().filter_map(routing::Link::of).collect();
            Ok(View { own: parse(&self.address)?, routes, links })
        }

        fn send_internal(&mut self, peer: &BtpAddress, message: &BmcMessage) -> Result<()> {
            let msg = BtpMessage { src: parse(&self.address)?, dst: peer.clone(), svc: BMC_SERVICE.into(), sn: 0, payload: message.encode() };
            self.emit(peer, msg.encode())
        }

        /// Emits `msg` as the next message on the link to `next`, if the event can hold it.
        /// The one place messages leave: a halted BMC sends nothing.
        fn emit(&mut self, next: &BtpAddress, msg: Vec<u8>) -> Result<()> {
            if self.admin.is_halted() {
                return Err(Error::Halted);
            }
            let next = next.canonical();
            let event_len = ink::scale::Encode::encoded_size(next).saturating_add(8).saturating_add(ink::scale::Encode::encoded_size(&msg));
            if event_len > MAX_EVENT_LEN {
                return Err(Error::MessageTooLarge);
            }
            let seq = self.update_link(next, |state| state.next_tx_seq().ok_or(Error::Overflow))?;
            self.env().emit_event(Message { next: next.into(), seq, msg });
            Ok(())
        }
    }

    /// Halting stops relay messages and every message out (services' sends, fee gathering, and the `Init`,
    /// `Link` and `Unlink` that adding or removing a link sends): reads go on, and so does configuration that
    /// tells no peer (verifiers, services, relays, routes, drops, gas).
    impl Administered for Bmc {
        #[ink(message)]
        fn owners(&self) -> Vec<AccountId> {
            self.admin.owners()
        }

        #[ink(message)]
        fn owner_candidate(&self) -> Option<AccountId> {
            self.admin.candidate()
        }

        #[ink(message)]
        fn propose_owner(&mut self, candidate: Option<AccountId>) -> core::result::Result<(), AdminError> {
            self.admin.propose(self.env().caller(), candidate)
        }

        #[ink(message)]
        fn accept_ownership(&mut self) -> core::result::Result<(), AdminError> {
            self.admin.accept(self.env().caller())
        }

        #[ink(message)]
        fn remove_owner(&mut self, owner: AccountId) -> core::result::Result<(), AdminError> {
            self.admin.remove(self.env().caller(), owner)
        }

        #[ink(message)]
        fn halted(&self) -> bool {
            self.admin.is_halted()
        }

        #[ink(message)]
        fn set_halted(&mut self, halted: bool) -> core::result::Result<(), AdminError> {
            self.admin.set_halted(self.env().caller(), halted)
        }

        #[ink(message)]
        fn set_code(&mut self, code_hash: Hash) -> core::result::Result<(), AdminError> {
            self.admin.set_code(self.env().caller(), code_hash)
        }
    }

    impl MessageCenter for Bmc {
        /// Sends `msg` of service `svc` with serial number `sn` (> 0) to network `to`. Only the service's BSH.
        #[ink(message)]
        fn send_message(&mut self, to: String, svc: String, sn: u128, msg: Vec<u8>) -> core::result::Result<(), BmcError> {
            self.service_caller(&svc).map_err(Error::for_service)?;
            let sn = i128::try_from(sn).ok().filter(|sn| *sn > 0).ok_or(BmcError::InvalidSn)?;
            let view = self.routing_view().map_err(Error::for_service)?;
            self.send(&view, &to, svc, sn, msg).map_err(Error::for_service)
        }

        /// Hands the service `svc` its kept answer to request `sn`, once. Only the service's BSH.
        #[ink(message)]
        fn take_undelivered_answer(&mut self, svc: String, sn: u128) -> core::result::Result<Option<UndeliveredAnswer>, BmcError> {
            self.service_caller(&svc).map_err(Error::for_service)?;
            Ok(self.undelivered.take((svc, sn)))
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

        fn internal(bmc: &Bmc, dst: &str, m: BmcMessage) -> BtpMessage {
            let own = BtpAddress::parse(&bmc.btp_address()).unwrap();
            BtpMessage { src: own, dst: BtpAddress::parse(dst).unwrap(), svc: "bmc".into(), sn: 0, payload: m.encode() }
        }

        /// An upgrade (`set_code`) keeps the storage: the layout is the deployed one (`storage-layout.txt`).
        #[test]
        fn the_storage_layout_is_pinned() {
            btp_interfaces::layout::assert_pinned::<Bmc>(concat!(env!("CARGO_MANIFEST_DIR"), "/storage-layout.txt"));
        }

        #[ink::test]
        fn owners_join_in_two_steps_and_administer() {
            let a = accounts();
            let mut bmc = deploy();
            bmc.propose_owner(Some(a.bob)).unwrap();
            as_caller(a.bob);
            assert_eq!(bmc.add_link(ICON.into()), Err(Error::Unauthorized), "not an owner before accepting");
            bmc.accept_ownership().unwrap();
            bmc.remove_owner(a.alice).unwrap();
            assert_eq!(bmc.owners(), vec![a.bob]);
            bmc.add_link(ICON.into()).unwrap();
            as_caller(a.alice);
            assert_eq!(bmc.set_halted(true), Err(AdminError::Unauthorized), "Alice handed over");
        }

        #[ink::test]
        fn a_halted_bmc_takes_nothing_and_sends_nothing() {
            let a = accounts();
            let mut bmc = deploy();
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_relay(ICON.into(), a.bob).unwrap();
            bmc.set_halted(true).unwrap();
            assert!(bmc.halted());
            as_caller(a.bob);
            assert_eq!(bmc.handle_relay_message(ICON.into(), vec![0xc0]), Err(Error::Halted), "refused before the verifier is asked");
            assert_eq!(bmc.links().iter().map(|l| l.tx_seq).collect::<Vec<_>>(), vec![1], "reads go on");
            as_caller(a.alice);
            // Last: the off-chain engine keeps a failed call's writes, which a chain reverts.
            assert_eq!(bmc.add_link(ETH.into()), Err(Error::Halted), "a new link's Init is not sent");
        }

        #[ink::test]
        fn verifiers_and_services_are_configured_by_owners() {
            let a = accounts();
            let mut bmc = deploy();
            assert_eq!(bmc.add_verifier("0x3.icon".into(), a.bob), Err(Error::AlreadyExistsBmv));
            assert_eq!(bmc.add_verifier("0X3.icon".into(), a.bob), Err(Error::AlreadyExistsBmv), "one network, two spellings");
            assert_eq!(bmc.add_verifier("icon".into(), a.bob), Err(Error::InvalidNetwork));
            assert_eq!(bmc.add_verifier("0x501.pra".into(), a.bob), Err(Error::InvalidNetwork), "not for the BMC's own network");
            assert_eq!(bmc.add_service("bmc".into(), a.bob), Err(Error::ReservedService));
            for bad in ["", "native-coin", "nativecoin ", "coin/wrapped"] {
                assert_eq!(bmc.add_service(bad.into(), a.bob), Err(Error::InvalidServiceName), "{bad:?}");
            }
            assert_eq!(bmc.add_service("nativecoin".into(), a.bob), Ok(()));
            assert_eq!(bmc.add_service("nativecoin".into(), a.bob), Err(Error::AlreadyExistsBsh));
            as_caller(a.charlie);
            assert_eq!(bmc.add_verifier("0x9.bsc".into(), a.bob), Err(Error::Unauthorized));
            assert_eq!(bmc.add_service("x".into(), a.bob), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_service("nativecoin".into()), Err(Error::Unauthorized));
            assert_eq!(bmc.set_service_paused("nativecoin".into(), true), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_verifier("0x3.icon".into()), Err(Error::Unauthorized));
            as_caller(a.alice);
            bmc.set_service_paused("nativecoin".into(), true).unwrap();
            assert_eq!(bmc.paused_services(), vec![String::from("nativecoin")]);
            assert_eq!(bmc.set_service_paused("other".into(), true), Err(Error::NotExistsBsh));
            assert_eq!(bmc.remove_service("nativecoin".into()), Ok(()), "no link, so nothing can be pending");
            assert!(bmc.paused_services().is_empty());
            assert_eq!(bmc.remove_service("nativecoin".into()), Err(Error::NotExistsBsh));
            assert_eq!(bmc.remove_verifier("0x5.eth".into()), Ok(()));
            assert_eq!(bmc.remove_verifier("0x5.eth".into()), Err(Error::NotExistsBmv));
            assert_eq!(bmc.verifiers(), vec![("0x3.icon".into(), a.django)]);
            assert_eq!(bmc.set_service_gas(GasLimit { ref_time: 0, proof_size: 1 }), Err(Error::Overflow));
            bmc.set_service_gas(GasLimit { ref_time: 7, proof_size: 9 }).unwrap();
            assert_eq!(bmc.service_gas(), GasLimit { ref_time: 7, proof_size: 9 });
        }

        #[ink::test]
        fn links_announce_themselves_to_every_peer() {
            let mut bmc = deploy();
            assert_eq!(bmc.add_link("btp://0x9.bsc/0x01".into()), Err(Error::NotExistsBmv));
            assert_eq!(bmc.add_link("0x3.icon/cx01".into()), Err(Error::InvalidAddress));
            assert_eq!(bmc.add_link("btp://0x501.pra/0x01".into()), Err(Error::InvalidNetwork));
            bmc.add_link(ICON.into()).unwrap();
            assert_eq!(bmc.add_link(ICON.into()), Err(Error::AlreadyExistsLink));
            bmc.add_link(ETH.into()).unwrap();
            let (icon, eth) = (BtpAddress::parse(ICON).unwrap(), BtpAddress::parse(ETH).unwrap());
            assert_eq!(
                sent(),
                vec![
                    (ICON.to_string(), 1, internal(&bmc, ICON, BmcMessage::Init { links: vec![] })),
                    (ETH.to_string(), 1, internal(&bmc, ETH, BmcMessage::Init { links: vec![icon.clone()] })),
                    (ICON.to_string(), 2, internal(&bmc, ICON, BmcMessage::Link { link: eth.clone() })),
                ]
            );
            bmc.add_route("btp://0x7.hmny/0x03".into(), ETH.into()).unwrap();
            assert_eq!(bmc.remove_link(ETH.into()), Err(Error::LinkInUse));
            bmc.remove_route("btp://0x7.hmny/0x03".into()).unwrap();
            bmc.remove_link(ETH.into()).unwrap();
            assert_eq!(sent().last().unwrap(), &(ICON.to_string(), 3, internal(&bmc, ICON, BmcMessage::Unlink { link: eth })));
            assert_eq!(bmc.remove_link(ETH.into()), Err(Error::NotExistsLink));
            assert_eq!(bmc.links().len(), 1);
            as_caller(accounts().charlie);
            assert_eq!(bmc.add_link(ETH.into()), Err(Error::Unauthorized));
            assert_eq!(bmc.remove_link(ICON.into()), Err(Error::Unauthorized));
        }

        #[ink::test]
        fn link_readd_keeps_sequences() {
            let mut bmc = deploy();
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_link(ETH.into()).unwrap();
            bmc.add_relay(ICON.into(), accounts().bob).unwrap();
            // 40 messages of ICON were taken; Init and Link went out.
            let mut state = bmc.link(ICON.into()).unwrap();
            state.rx_seq = 40;
            bmc.links.insert(ICON, &state);
            bmc.remove_link(ICON.into()).unwrap();
            assert_eq!(bmc.get_status(ICON.into()), Err(Error::NotExistsLink));
            let kept = bmc.link(ICON.into()).unwrap();
            assert_eq!((kept.rx_seq, kept.tx_seq, kept.connected), (40, 2, false), "the sequences outlive the link");
            assert!(kept.relays.is_empty(), "its relays are withdrawn");
            bmc.add_link(ICON.into()).unwrap();
            let back = bmc.link(ICON.into()).unwrap();
            assert_eq!((back.rx_seq, back.tx_seq, back.connected), (40, 3, true), "the BMV resumes at 41: ICON's old messages are never taken twice");
            let to_icon = sent().into_iter().filter(|(next, _, _)| next == ICON).last().unwrap();
            assert_eq!(to_icon, (ICON.to_string(), 3, internal(&bmc, ICON, BmcMessage::Init { links: vec![BtpAddress::parse(ETH).unwrap()] })));
        }

        #[ink::test]
        fn one_link_per_network() {
            let mut bmc = deploy();
            let upper = "btp://0x3.icon/CX0000000000000000000000000000000000000001";
            bmc.add_link(upper.into()).unwrap();
            assert_eq!(bmc.links()[0].peer, ICON, "kept in its one spelling");
            assert_eq!(bmc.add_link(ICON.into()), Err(Error::AlreadyExistsLink), "the same BMC spelled otherwise");
            assert_eq!(bmc.add_link("btp://0x3.icon/cx00000000000000000000000000000000000000ff".into()), Err(Error::AlreadyExistsLink), "a second BMC of ICON");
            bmc.add_relay(ICON.into(), accounts().bob).unwrap();
            assert_eq!(bmc.add_relay(upper.into(), accounts().bob), Err(Error::AlreadyExistsBmr));
            assert_eq!(bmc.links().len(), 1);
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
            assert_eq!(bmc.add_route("btp://0x501.pra/0x03".into(), ICON.into()), Err(Error::InvalidNetwork));
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
            assert_eq!(bmc.send_message("0x3.icon".into(), "nativecoin".into(), 1, vec![7]), Err(BmcError::Unauthorized));
            as_caller(a.bob);
            assert_eq!(bmc.send_message("0x3.icon".into(), "other".into(), 1, vec![7]), Err(BmcError::NotExistsBsh));
            assert_eq!(bmc.send_message("0x3.icon".into(), "nativecoin".into(), 0, vec![7]), Err(BmcError::InvalidSn));
            assert_eq!(bmc.send_message("0x3.icon".into(), "nativecoin".into(), u128::MAX, vec![7]), Err(BmcError::InvalidSn), "beyond BTP's signed sn");
            assert_eq!(bmc.send_message("0x9.bsc".into(), "nativecoin".into(), 1, vec![7]), Err(BmcError::Unreachable));
            assert_eq!(
                bmc.send_message("0x3.icon".into(), "nativecoin".into(), 1, vec![7; MAX_EVENT_LEN]),
                Err(BmcError::MessageTooLarge),
                "no event could hold it"
            );
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
        fn owners_schedule_drops_of_messages_not_yet_received() {
            let mut bmc = deploy();
            assert_eq!(bmc.schedule_drop(ICON.into(), 1), Err(Error::NotExistsLink));
            bmc.add_link(ICON.into()).unwrap();
            let mut state = bmc.link(ICON.into()).unwrap();
            state.rx_seq = 5;
            bmc.links.insert(ICON, &state);
            assert_eq!(bmc.schedule_drop(ICON.into(), 5), Err(Error::InvalidSeq), "already received");
            bmc.schedule_drop(ICON.into(), 6).unwrap();
            assert_eq!(bmc.schedule_drop(ICON.into(), 6), Err(Error::InvalidSeq), "scheduled once");
            bmc.schedule_drop(ICON.into(), 9).unwrap();
            assert_eq!(bmc.link(ICON.into()).unwrap().drops, vec![6, 9]);
            assert_eq!(bmc.cancel_drop(ICON.into(), 7), Err(Error::NotScheduled));
            bmc.cancel_drop(ICON.into(), 9).unwrap();
            assert_eq!(bmc.link(ICON.into()).unwrap().drops, vec![6]);
            as_caller(accounts().charlie);
            assert_eq!(bmc.schedule_drop(ICON.into(), 7), Err(Error::Unauthorized));
            assert_eq!(bmc.cancel_drop(ICON.into(), 6), Err(Error::Unauthorized));
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
            assert_eq!(bmc.set_link_fee_aggregator(ICON.into(), None), Err(Error::Unauthorized));
            as_caller(accounts().alice);
            bmc.add_link(ICON.into()).unwrap();
            bmc.add_link(ETH.into()).unwrap();
            let fa = "btp://0x501.pra/0x00000000000000000000000000000000000000000000000000000000000000fa";
            test::set_block_number::<Env>(5);
            bmc.set_fee_gathering(Some(fa.into()), 10).unwrap();
            assert_eq!(bmc.fee_gathering(), FeeGatheringSettings { fee_aggregator: Some(fa.into()), term: 10, next: 15 });
            let before = sent().len();
            bmc.gather_fees().unwrap();
            let asked: Vec<_> = sent()[before..].iter().map(|(next, _, m)| (next.clone(), BmcMessage::decode(&m.payload).unwrap())).collect();
            let request = BmcMessage::FeeGathering { fee_aggregator: BtpAddress::parse(fa).unwrap(), services: vec![] };
            assert_eq!(asked, vec![(ICON.to_string(), request.clone()), (ETH.to_string(), request)]);
            // An aggregator elsewhere gathers only this BMC's services' fees: peers are not asked.
            bmc.set_fee_gathering(Some(ICON.into()), 0).unwrap();
            assert_eq!(bmc.fee_gathering(), FeeGatheringSettings { fee_aggregator: Some(ICON.into()), term: 0, next: 0 });
            let before = sent().len();
            bmc.gather_fees().unwrap();
            assert_eq!(sent().len(), before);
            let icon_fa = "btp://0x3.icon/hx00000000000000000000000000000000000000fa";
            bmc.set_link_fee_aggregator(ICON.into(), Some(icon_fa.into())).unwrap();
            assert_eq!(bmc.link(ICON.into()).unwrap().fee_aggregator.as_deref(), Some(icon_fa));
        }

        #[ink::test]
        fn fees_never_go_to_the_bmc_or_a_service() {
            let a = accounts();
            let mut bmc = deploy();
            bmc.add_service("nativecoin".into(), a.bob).unwrap();
            let own = bmc.btp_address();
            let service = ink::prelude::format!("btp://0x501.pra/{}", hex_account(a.bob.as_ref()));
            for fa in [own.clone(), own.to_uppercase().replace("BTP://", "btp://").replace(".PRA", ".pra"), service] {
                assert_eq!(bmc.set_fee_gathering(Some(fa.clone()), 0), Err(Error::InvalidFeeAggregator), "{fa}");
            }
            bmc.add_link(ICON.into()).unwrap();
            assert_eq!(bmc.set_link_fee_aggregator(ICON.into(), Some(own)), Err(Error::InvalidFeeAggregator));
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
