//! A contract's storage layout as text, for its tests to pin: the fields in order, each cell's storage key, and
//! the shape of every type stored (names, type parameters and fields, without docs): a `Mapping<u64, _>` that
//! becomes a `Mapping<u128, _>` keeps its name and fields, and only its parameters tell. Code that replaces a deployed contract's code
//! (`Administered::set_code`) must read the storage the deployed code wrote; a change to any of this would make
//! it misread, so the test fails until the change is meant: then the new version needs a migration, and the
//! pinned file is rewritten with `UPDATE_STORAGE_LAYOUT=1`.

use ink::{
    metadata::layout::Layout,
    scale_info::{form::PortableForm, IntoPortable, PortableRegistry, Registry, TypeDef},
    storage::traits::{StorageKey, StorageLayout},
};
use std::fmt::Write;

/// The storage layout of the contract `C`.
pub fn storage_layout<C: StorageLayout + StorageKey>() -> String {
    let mut registry = Registry::new();
    let layout: Layout<PortableForm> = C::layout(&C::KEY).into_portable(&mut registry);
    let types = PortableRegistry::from(registry);
    // A type id's marker prints a compiler-given type name: it says nothing about the storage.
    let mut text = String::new();
    for line in format!("{layout:#?}").lines().filter(|l| !l.trim_start().starts_with("marker:")) {
        text.push_str(line);
        text.push('\n');
    }
    for t in &types.types {
        let path = format!("{}{}", t.ty.path.segments.join("::"), params(&t.ty.type_params));
        // Writing into a String cannot fail.
        let _ = match &t.ty.type_def {
            TypeDef::Composite(c) => writeln!(text, "#{} {path} {{ {} }}", t.id, fields(&c.fields)),
            TypeDef::Variant(v) => {
                let variants: Vec<String> = v.variants.iter().map(|v| format!("{}={}({})", v.name, v.index, fields(&v.fields))).collect();
                writeln!(text, "#{} {path} {}", t.id, variants.join(" | "))
            }
            other => {
                let shape = format!("{other:?}").replace(", marker: PhantomData<fn() -> core::any::TypeId>", "");
                writeln!(text, "#{} {path} {shape}", t.id)
            }
        };
    }
    text
}

/// `<K: #1, V: #2>`: the types a generic type is made of; nothing for a type without parameters.
fn params(params: &[ink::scale_info::TypeParameter<PortableForm>]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let each: Vec<String> = params.iter().map(|p| format!("{}: {}", p.name, p.ty.map_or_else(|| "_".into(), |t| format!("#{}", t.id)))).collect();
    format!("<{}>", each.join(", "))
}

fn fields(fields: &[ink::scale_info::Field<PortableForm>]) -> String {
    fields.iter().map(|f| format!("{}: #{}", f.name.as_deref().unwrap_or("_"), f.ty.id)).collect::<Vec<_>>().join(", ")
}

/// Fails when `C`'s storage layout differs from the one pinned in the file `pinned`; rewrites the file instead
/// when `UPDATE_STORAGE_LAYOUT` is set.
pub fn assert_pinned<C: StorageLayout + StorageKey>(pinned: &str) {
    let now = storage_layout::<C>();
    if std::env::var_os("UPDATE_STORAGE_LAYOUT").is_some() {
        std::fs::write(pinned, &now).expect("the pinned layout is writable");
        return;
    }
    let before = std::fs::read_to_string(pinned).unwrap_or_default();
    assert!(
        before == now,
        "the storage layout differs from {pinned}: a contract upgraded to this code would misread its state. If the change is \
         meant, the new version needs a migration; then rewrite the file with UPDATE_STORAGE_LAYOUT=1.\nnow:\n{now}"
    );
}

#[cfg(test)]
mod tests {
    use ink::storage::{traits::ManualKey, Mapping};

    // Both hold a u64 and a u128 elsewhere: only the mapping's key type differs.
    #[ink::storage_item]
    struct ByU64 {
        height: u64,
        total: u128,
        values: Mapping<u64, u8, ManualKey<7>>,
    }

    #[ink::storage_item]
    struct ByU128 {
        height: u64,
        total: u128,
        values: Mapping<u128, u8, ManualKey<7>>,
    }

    #[test]
    fn a_mapping_key_type_change_changes_the_layout() {
        let (before, after) = (super::storage_layout::<ByU64>(), super::storage_layout::<ByU128>());
        assert_ne!(before.replace("ByU64", "ByU128"), after, "the stored values would be misread after set_code");
    }
}
