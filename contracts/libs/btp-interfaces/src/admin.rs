//! What every BTP contract (BMC, BMV, BSH) is administered by, in one shape: a list of owners, added in two
//! steps (an owner proposes, the candidate accepts, so that a mistyped account never becomes an owner) and never
//! emptied; a halt switch; and code upgrades. Each contract keeps an [`Admin`] in its storage and implements
//! [`Administered`] over it, so that operators and tooling drive the three contracts alike. What halting stops
//! is each contract's own rule (its documentation says); reads are never stopped.

use ink::{
    prelude::vec::Vec,
    primitives::{AccountId, Hash},
};

/// Why an administrative call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum AdminError {
    /// The caller is not an owner.
    #[codec(index = 0)]
    Unauthorized,
    #[codec(index = 1)]
    AlreadyExistsOwner,
    #[codec(index = 2)]
    NotExistsOwner,
    /// The last owner cannot be removed.
    #[codec(index = 3)]
    LastOwner,
    /// The caller is not the proposed owner, or nobody is proposed.
    #[codec(index = 4)]
    NotCandidate,
    /// The runtime has no code under that hash (upload it first).
    #[codec(index = 5)]
    InvalidCode,
}

/// An owner proposed `candidate` as an owner (`None`: withdrew the proposal); it becomes one when it accepts.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerProposed {
    #[ink(topic)]
    pub candidate: Option<AccountId>,
    pub by: AccountId,
}

/// `owner` became an owner (`added`) or stopped being one.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerChanged {
    #[ink(topic)]
    pub owner: AccountId,
    pub added: bool,
}

/// The contract was halted or resumed by the owner `by`.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaltChanged {
    pub halted: bool,
    pub by: AccountId,
}

/// The owner `by` replaced the contract's code with the code `code_hash`; the storage stays.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUpgraded {
    #[ink(topic)]
    pub code_hash: Hash,
    pub by: AccountId,
}

/// The administration messages every BTP contract answers.
#[ink::trait_definition]
pub trait Administered {
    /// The accounts that administer the contract.
    #[ink(message)]
    fn owners(&self) -> Vec<AccountId>;

    /// The account proposed as an owner, until it accepts.
    #[ink(message)]
    fn owner_candidate(&self) -> Option<AccountId>;

    /// Proposes `candidate` as another owner (`None` withdraws the proposal); it becomes one by calling
    /// `accept_ownership`. Owner only.
    #[ink(message)]
    fn propose_owner(&mut self, candidate: Option<AccountId>) -> Result<(), AdminError>;

    /// The proposed owner accepts: it becomes an owner.
    #[ink(message)]
    fn accept_ownership(&mut self) -> Result<(), AdminError>;

    /// Removes an owner (the caller itself, say, after handing over); the last one stays. A pending proposal is
    /// withdrawn with it. Owner only.
    #[ink(message)]
    fn remove_owner(&mut self, owner: AccountId) -> Result<(), AdminError>;

    /// Whether the contract is halted.
    #[ink(message)]
    fn halted(&self) -> bool;

    /// Halts the contract (or resumes it). Owner only.
    #[ink(message)]
    fn set_halted(&mut self, halted: bool) -> Result<(), AdminError>;

    /// Replaces the contract's code with the uploaded code `code_hash`, keeping its storage and address: the
    /// new code must read the storage this one wrote (every contract's storage keys are fixed for that). Owner
    /// only.
    #[ink(message)]
    fn set_code(&mut self, code_hash: Hash) -> Result<(), AdminError>;
}

/// A contract's administrative state. Its methods take the caller and emit the events; a failed call changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Admin {
    owners: Vec<AccountId>,
    candidate: Option<AccountId>,
    halted: bool,
}

fn emit<E: ink::env::Event>(event: E) {
    ink::env::emit_event::<ink::env::DefaultEnvironment, E>(event);
}

impl Admin {
    /// `owner` administers a running contract.
    pub fn new(owner: AccountId) -> Self {
        emit(OwnerChanged { owner, added: true });
        Self { owners: ink::prelude::vec![owner], candidate: None, halted: false }
    }

    pub fn owners(&self) -> Vec<AccountId> {
        self.owners.clone()
    }

    pub fn candidate(&self) -> Option<AccountId> {
        self.candidate
    }

    pub fn is_halted(&self) -> bool {
        self.halted
    }

    pub fn ensure_owner(&self, caller: AccountId) -> Result<(), AdminError> {
        if self.owners.contains(&caller) {
            Ok(())
        } else {
            Err(AdminError::Unauthorized)
        }
    }

    pub fn propose(&mut self, caller: AccountId, candidate: Option<AccountId>) -> Result<(), AdminError> {
        self.ensure_owner(caller)?;
        if candidate.is_some_and(|c| self.owners.contains(&c)) {
            return Err(AdminError::AlreadyExistsOwner);
        }
        self.candidate = candidate;
        emit(OwnerProposed { candidate, by: caller });
        Ok(())
    }

    pub fn accept(&mut self, caller: AccountId) -> Result<(), AdminError> {
        if self.candidate != Some(caller) {
            return Err(AdminError::NotCandidate);
        }
        self.candidate = None;
        self.owners.push(caller);
        emit(OwnerChanged { owner: caller, added: true });
        Ok(())
    }

    pub fn remove(&mut self, caller: AccountId, owner: AccountId) -> Result<(), AdminError> {
        self.ensure_owner(caller)?;
        let at = self.owners.iter().position(|o| *o == owner).ok_or(AdminError::NotExistsOwner)?;
        if self.owners.len() == 1 {
            return Err(AdminError::LastOwner);
        }
        self.owners.swap_remove(at);
        emit(OwnerChanged { owner, added: false });
        // Who proposed the candidate is not kept (the stored layout stays as deployed), so any removal withdraws
        // the proposal: a removed owner's candidate must not become an owner later. The others propose again.
        if self.candidate.take().is_some() {
            emit(OwnerProposed { candidate: None, by: caller });
        }
        Ok(())
    }

    pub fn set_halted(&mut self, caller: AccountId, halted: bool) -> Result<(), AdminError> {
        self.ensure_owner(caller)?;
        self.halted = halted;
        emit(HaltChanged { halted, by: caller });
        Ok(())
    }

    /// Replaces the running contract's code: the call after this one runs `code_hash`.
    pub fn set_code(&self, caller: AccountId, code_hash: Hash) -> Result<(), AdminError> {
        self.ensure_owner(caller)?;
        ink::env::set_code_hash::<ink::env::DefaultEnvironment>(&code_hash).map_err(|_| AdminError::InvalidCode)?;
        emit(CodeUpgraded { code_hash, by: caller });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(i: u8) -> AccountId {
        AccountId::from([i; 32])
    }

    #[test]
    fn owners_join_in_two_steps_and_one_always_stays() {
        let mut admin = Admin::new(account(1));
        assert_eq!(admin.remove(account(1), account(1)), Err(AdminError::LastOwner));
        assert_eq!(admin.propose(account(2), Some(account(2))), Err(AdminError::Unauthorized), "only an owner proposes");
        assert_eq!(admin.propose(account(1), Some(account(1))), Err(AdminError::AlreadyExistsOwner));
        admin.propose(account(1), Some(account(2))).unwrap();
        assert_eq!(admin.accept(account(3)), Err(AdminError::NotCandidate), "only the candidate accepts");
        assert_eq!(admin.owners(), vec![account(1)], "proposed is not yet an owner");
        admin.accept(account(2)).unwrap();
        assert_eq!((admin.owners(), admin.candidate()), (vec![account(1), account(2)], None));
        assert_eq!(admin.accept(account(2)), Err(AdminError::NotCandidate), "a proposal is accepted once");
        admin.propose(account(2), Some(account(4))).unwrap();
        admin.propose(account(2), None).unwrap();
        assert_eq!(admin.accept(account(4)), Err(AdminError::NotCandidate), "a withdrawn proposal");
        assert_eq!(admin.remove(account(3), account(1)), Err(AdminError::Unauthorized));
        assert_eq!(admin.remove(account(2), account(3)), Err(AdminError::NotExistsOwner));
        admin.remove(account(2), account(1)).unwrap();
        assert_eq!(admin.owners(), vec![account(2)], "ownership handed over");
    }

    #[test]
    fn a_removed_owners_candidate_cannot_accept() {
        let mut admin = Admin::new(account(1));
        admin.propose(account(1), Some(account(2))).unwrap();
        admin.accept(account(2)).unwrap();
        // Owner 2 proposes its accomplice 3, and is removed by owner 1 before 3 accepts.
        admin.propose(account(2), Some(account(3))).unwrap();
        admin.remove(account(1), account(2)).unwrap();
        assert_eq!(admin.candidate(), None, "the proposal went with its proposer");
        assert_eq!(admin.accept(account(3)), Err(AdminError::NotCandidate));
        assert_eq!(admin.owners(), vec![account(1)]);
    }

    #[test]
    fn only_owners_halt() {
        let mut admin = Admin::new(account(1));
        assert_eq!(admin.set_halted(account(2), true), Err(AdminError::Unauthorized));
        assert!(!admin.is_halted(), "a contract starts running");
        admin.set_halted(account(1), true).unwrap();
        assert!(admin.is_halted());
        assert_eq!(admin.set_code(account(2), Hash::from([7; 32])), Err(AdminError::Unauthorized));
    }
}
