//! The owner list every BTP contract keeps: owners add and remove owners, and the last one cannot go, so a
//! contract is never left without an administrator.

use alloc::vec::Vec;

/// Adds `owner`; `exists` is the caller's error for an owner already there.
pub fn add<T: PartialEq, E>(owners: &mut Vec<T>, owner: T, exists: E) -> Result<(), E> {
    if owners.contains(&owner) {
        return Err(exists);
    }
    owners.push(owner);
    Ok(())
}

/// Removes `owner`; `missing` and `last` are the caller's errors for an unknown owner and for the last one.
pub fn remove<T: PartialEq, E>(owners: &mut Vec<T>, owner: &T, missing: E, last: E) -> Result<(), E> {
    let at = owners.iter().position(|o| o == owner).ok_or(missing)?;
    if owners.len() == 1 {
        return Err(last);
    }
    owners.swap_remove(at);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_come_and_go_but_one_stays() {
        let mut owners = alloc::vec![1];
        assert_eq!(remove(&mut owners, &1, "missing", "last"), Err("last"));
        assert_eq!(add(&mut owners, 2, "exists"), Ok(()));
        assert_eq!(add(&mut owners, 2, "exists"), Err("exists"));
        assert_eq!(remove(&mut owners, &3, "missing", "last"), Err("missing"));
        assert_eq!(remove(&mut owners, &1, "missing", "last"), Ok(()));
        assert_eq!(owners, alloc::vec![2]);
    }
}
