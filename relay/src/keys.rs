//! `relay keys`: the relay's parachain key in an encrypted key file — a new one, or an existing secret imported —
//! and the account a key file holds. Secrets and passwords come from files or environment variables only.

use crate::signer::{open_key_file, write_key_file, write_new_icon_key_file, SignerConfig, DEFAULT_SURI_ENV};
use btp_parachain::Signer;
use clap::{Args, Subcommand};
use rand::RngCore;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new key (a 24-word mnemonic) in a new encrypted key file and print its account. Back the file and
    /// its password up: the mnemonic is not shown.
    New(KeyFileArgs),
    /// Encrypt an existing secret URI (from --suri-env or --suri-file) into a new key file and print its account.
    Import {
        #[command(flatten)]
        file: KeyFileArgs,
        /// Environment variable holding the secret URI to import.
        #[arg(long, value_name = "VAR", default_value = DEFAULT_SURI_ENV, conflicts_with = "suri_file")]
        suri_env: String,
        /// File holding the secret URI to import (its first line).
        #[arg(long, value_name = "PATH")]
        suri_file: Option<PathBuf>,
    },
    /// Print the account a key file holds (decrypting it proves the password).
    Show(KeyFileArgs),
    /// Create a new ICON key in a new ICON keystore file (the relay's ICON account, `[icon] key_file`) and print
    /// its hx address. Fund it on ICON: it pays for the relay messages toward ICON.
    NewIcon(KeyFileArgs),
}

/// A key file and where its password is.
#[derive(Args, Debug)]
pub struct KeyFileArgs {
    /// The encrypted key file.
    #[arg(long, value_name = "PATH", default_value = "relay-key.json")]
    pub key_file: PathBuf,
    /// Environment variable holding the key file's password.
    #[arg(long, value_name = "VAR", required_unless_present = "password_file")]
    pub password_env: Option<String>,
    /// File holding the key file's password (its first line).
    #[arg(long, value_name = "PATH", conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
}

impl KeyFileArgs {
    fn password(&self) -> Result<String, String> {
        SignerConfig { password_env: self.password_env.clone(), password_file: self.password_file.clone(), ..Default::default() }.password()
    }
}

/// A new 24-word mnemonic from the operating system's randomness.
fn new_mnemonic() -> Result<String, String> {
    let mut entropy = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut entropy).map_err(|e| format!("no randomness: {e}"))?;
    let mnemonic = bip39::Mnemonic::from_entropy(&entropy).map_err(|e| format!("mnemonic: {e}"))?;
    Ok(mnemonic.to_string())
}

pub fn run(command: KeysCommand) -> Result<(), String> {
    let (file, uri) = match command {
        KeysCommand::New(file) => (file, new_mnemonic()?),
        KeysCommand::Import { file, suri_env, suri_file } => (file, SignerConfig { suri_env: Some(suri_env), suri_file, ..Default::default() }.secret_uri()?),
        KeysCommand::NewIcon(file) => {
            println!("{}", write_new_icon_key_file(&file.key_file, &file.password()?)?);
            eprintln!("wrote {} (encrypted; back it up with its password)", file.key_file.display());
            return Ok(());
        }
        KeysCommand::Show(file) => {
            let uri = open_key_file(&file.key_file, &file.password()?)?;
            println!("{}", Signer::from_uri(&uri)?.account());
            return Ok(());
        }
    };
    println!("{}", write_key_file(&file.key_file, &uri, &file.password()?)?);
    eprintln!("wrote {} (encrypted; back it up with its password)", file.key_file.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_icon_key_file_opens_as_the_address_printed() {
        let dir = std::env::temp_dir().join(format!("btp-new-icon-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("icon-key.json");
        let address = write_new_icon_key_file(&path, "a password").unwrap();
        let wallet = crate::signer::open_icon_key_file(&path, "a password").unwrap();
        assert_eq!(wallet.address.to_string(), address);
        assert!(write_new_icon_key_file(&path, "a password").is_err(), "never overwritten");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_key_is_a_fresh_mnemonic() {
        let (a, b) = (new_mnemonic().unwrap(), new_mnemonic().unwrap());
        assert_eq!(a.split(' ').count(), 24);
        assert_ne!(a, b);
        assert!(Signer::from_uri(&a).is_ok());
    }
}
