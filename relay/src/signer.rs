//! Where the parachain signer's secret comes from: an encrypted key file (`relay keys`), a file holding a secret
//! URI, a Substrate keystore directory, or an environment variable — never the command line, where it would sit
//! in the shell's history and in `ps`.

use btp_parachain::{AccountId32, Signer};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    str::FromStr,
};

/// The parachain account that signs: one of a key file, a secret-URI file or a keystore, else the environment
/// variable `suri_env` names. The same keys in the configuration file's `[signer]`.
#[derive(Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignerConfig {
    /// Environment variable holding the signer's secret URI (a mnemonic, a hex seed, `//Alice` on a dev chain,
    /// each with optional `//derivation` and `///password`) [default: RELAY_SURI].
    #[arg(long, value_name = "VAR")]
    pub suri_env: Option<String>,
    /// File holding the signer's secret URI (its first line).
    #[arg(long, value_name = "PATH")]
    pub suri_file: Option<PathBuf>,
    /// Encrypted key file written by `relay keys new` or `relay keys import`; its password from --password-env
    /// or --password-file.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Environment variable holding the key file's password.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// File holding the key file's password (its first line).
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Substrate keystore directory (files named by key type and public key, each holding the secret as a JSON
    /// string, as `subkey`/a node's `key insert` write them); use with --account.
    #[arg(long, value_name = "DIR")]
    pub keystore: Option<PathBuf>,
    /// The keystore account to sign with (SS58).
    #[arg(long, value_name = "SS58")]
    pub account: Option<String>,
    /// Environment variable holding the keystore key's password, if it has one.
    #[arg(long, value_name = "VAR")]
    pub keystore_password_env: Option<String>,
}

/// The environment variable a secret URI is read from when nothing else is named.
pub const DEFAULT_SURI_ENV: &str = "RELAY_SURI";

/// The first line of a secret file, trimmed.
fn first_line(path: &Path, what: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_string())
}

impl SignerConfig {
    /// These options in place of `configured` when they name any source: a signer is chosen whole, never a
    /// file's password with the command line's key.
    pub fn or(self, configured: Self) -> Self {
        match self == Self::default() {
            true => configured,
            false => self,
        }
    }

    pub fn signer(&self) -> Result<Signer, String> {
        let sources = [self.suri_file.is_some(), self.key_file.is_some(), self.keystore.is_some()];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err("name one signer: a key file, a secret-URI file or a keystore".into());
        }
        // An option that belongs to another source than the one in use would be silently ignored.
        if self.key_file.is_none() && (self.password_env.is_some() || self.password_file.is_some()) {
            return Err("a password option without --key-file (command-line signer options replace the configuration's [signer] whole)".into());
        }
        if self.keystore.is_none() && (self.account.is_some() || self.keystore_password_env.is_some()) {
            return Err(
                "--account or --keystore-password-env without --keystore (command-line signer options replace the configuration's [signer] whole)".into()
            );
        }
        if let Some(path) = &self.key_file {
            return Signer::from_uri(&open_key_file(path, &self.password()?)?);
        }
        if let Some(dir) = &self.keystore {
            return self.keystore_signer(dir);
        }
        Signer::from_uri(&self.secret_uri()?)
    }

    /// The secret URI of `suri_file`, else of the environment variable `suri_env`.
    pub fn secret_uri(&self) -> Result<String, String> {
        match &self.suri_file {
            Some(path) => first_line(path, "--suri-file"),
            None => {
                let var = self.suri_env.as_deref().unwrap_or(DEFAULT_SURI_ENV);
                std::env::var(var)
                    .map_err(|_| format!("no signer: set {var} to the signer's secret URI, or give --key-file, --suri-file or --keystore with --account"))
            }
        }
    }

    /// The key file's password.
    pub fn password(&self) -> Result<String, String> {
        read_password(self.password_env.as_deref(), self.password_file.as_deref())
    }

    fn keystore_signer(&self, dir: &Path) -> Result<Signer, String> {
        let account = self.account.as_deref().ok_or("--keystore needs --account (the SS58 address of the key to use)")?;
        let public = AccountId32::from_str(account).map_err(|e| format!("--account {account}: {e}"))?;
        let wanted = hex::encode(public.0);
        let entries = std::fs::read_dir(dir).map_err(|e| format!("--keystore {}: {e}", dir.display()))?;
        let file = entries
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_str().is_some_and(|name| name.len() == 8 + 64 && name.ends_with(&wanted)))
            .ok_or_else(|| format!("--keystore {}: no key for {account}", dir.display()))?;
        let text = std::fs::read_to_string(file.path()).map_err(|e| format!("{}: {e}", file.path().display()))?;
        let phrase: String = serde_json::from_str(&text).map_err(|e| format!("{}: not a keystore entry (a JSON string): {e}", file.path().display()))?;
        let password = match &self.keystore_password_env {
            Some(var) => Some(std::env::var(var).map_err(|_| format!("--keystore-password-env: {var} is not set"))?),
            None => None,
        };
        let uri = match password {
            Some(p) => format!("{phrase}///{p}"),
            None => phrase,
        };
        let signer = Signer::from_uri(&uri)?;
        if signer.account() != public {
            return Err(format!("{}: the key in it is not {account} (a wrong password?)", file.path().display()));
        }
        Ok(signer)
    }
}

/// A key file's password, from an environment variable or a file (never both).
pub fn read_password(env: Option<&str>, file: Option<&Path>) -> Result<String, String> {
    let password = match (env, file) {
        (Some(_), Some(_)) => return Err("name one password source: --password-env or --password-file".into()),
        (Some(var), None) => std::env::var(var).map_err(|_| format!("--password-env: {var} is not set"))?,
        // The line as written, spaces and all: a password from a file opens what the same text from the
        // environment sealed.
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("--password-file {}: {e}", path.display()))?;
            text.lines().next().unwrap_or_default().to_string()
        }
        (None, None) => return Err("a key file needs its password: --password-env VAR or --password-file PATH".into()),
    };
    match password.is_empty() {
        true => Err("the key file's password is empty".into()),
        false => Ok(password),
    }
}

/// Encrypts a secret URI into a new key file at `path` (Web3 Secret Storage: scrypt and AES-128-CTR, the format
/// of Ethereum's and ICON's keystores), readable by its owner only. An existing file is never overwritten.
///
/// The file is written inside a new directory only its owner may enter, next to `path`, and linked into place:
/// nobody can read it or swap it in between, and of two runs at once exactly one wins the name. Returns the
/// key's account.
pub fn write_key_file(path: &Path, uri: &str, password: &str) -> Result<AccountId32, String> {
    let account = Signer::from_uri(uri)?.account();
    write_secret(path, uri.as_bytes(), password).map(|()| account)
}

/// A new ICON key from the operating system's randomness in a new ICON keystore file at `path` (written as
/// [`write_key_file`] writes): the relay's ICON account. Returns its `hx` address.
pub fn write_new_icon_key_file(path: &Path, password: &str) -> Result<String, String> {
    let wallet = loop {
        let mut secret = [0u8; 32];
        rand::RngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut secret).map_err(|e| format!("no randomness: {e}"))?;
        // All but a vanishing share of 32-byte strings are secp256k1 keys.
        if let Some(wallet) = icon_rpc::wallet::Wallet::from_secret(&secret) {
            write_secret(path, &secret, password)?;
            break wallet;
        }
    };
    Ok(wallet.address.to_string())
}

/// Encrypts `secret` into a new file at `path`, owner-only, never overwriting one (see [`write_key_file`]).
fn write_secret(path: &Path, secret: &[u8], password: &str) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if path.exists() {
        return Err(format!("{}: exists already (a key file is never overwritten)", path.display()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let nonce = rand::random::<u64>();
    let private = dir.join(format!(".{name}.{nonce:016x}.tmp"));
    std::fs::DirBuilder::new().mode(0o700).create(&private).map_err(|e| format!("{}: {e}", private.display()))?;
    let done = eth_keystore::encrypt_key(&private, &mut rand::thread_rng(), secret, password, Some("key.json")).map_err(|e| e.to_string()).and_then(|_| {
        let written = private.join("key.json");
        std::fs::set_permissions(&written, std::fs::Permissions::from_mode(0o600)).and_then(|()| std::fs::hard_link(&written, path)).map_err(|e| e.to_string())
    });
    let _ = std::fs::remove_dir_all(&private);
    done.map_err(|e| format!("{}: {e}", path.display()))
}

/// The secret URI in a key file.
pub fn open_key_file(path: &Path, password: &str) -> Result<String, String> {
    let secret = eth_keystore::decrypt_key(path, password).map_err(|e| match e {
        eth_keystore::KeystoreError::MacMismatch => format!("{}: wrong password", path.display()),
        e => format!("{}: {e}", path.display()),
    })?;
    String::from_utf8(secret).map_err(|_| format!("{}: not a relay key file (its secret is not a secret URI)", path.display()))
}

/// The ICON key in an ICON keystore file (Web3 Secret Storage naming its `hx` address, as ICON's wallets and
/// goloop's `gochain ks gen` write it): the wallet that signs the relay's ICON transactions.
pub fn open_icon_key_file(path: &Path, password: &str) -> Result<icon_rpc::wallet::Wallet, String> {
    let secret = eth_keystore::decrypt_key(path, password).map_err(|e| match e {
        eth_keystore::KeystoreError::MacMismatch => format!("{}: wrong password", path.display()),
        e => format!("{}: {e}", path.display()),
    })?;
    let wallet = <[u8; 32]>::try_from(secret.as_slice())
        .ok()
        .and_then(|s| icon_rpc::wallet::Wallet::from_secret(&s))
        .ok_or_else(|| format!("{}: not an ICON key file (its secret is not a secp256k1 key)", path.display()))?;
    // The address the file names must be its key's: another's would pay from an account nobody meant.
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let named = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["address"].as_str().map(str::to_string));
    match named {
        Some(address) if address != wallet.address.to_string() => Err(format!("{}: names {address}, but its key is {}'s", path.display(), wallet.address)),
        _ => Ok(wallet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SignerConfig {
        SignerConfig { suri_env: Some("BTP_TEST_NO_SUCH_VAR".into()), ..Default::default() }
    }

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn a_missing_secret_says_where_to_put_one() {
        let e = args().signer().err().unwrap();
        assert!(e.contains("BTP_TEST_NO_SUCH_VAR") && e.contains("--suri-file"), "{e}");
    }

    #[test]
    fn secrets_come_from_a_file_or_a_keystore() {
        let dir = std::env::temp_dir().join(format!("btp-signer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("suri");
        std::fs::write(&file, "//Alice\n").unwrap();
        let signer = SignerConfig { suri_file: Some(file), ..args() }.signer().unwrap();
        assert_eq!(signer.account().to_string(), ALICE);

        let keystore = dir.join("keystore");
        std::fs::create_dir_all(&keystore).unwrap();
        std::fs::write(keystore.join(format!("61636373{}", hex::encode(signer.account().0))), "\"//Alice\"").unwrap();
        let from_keystore = SignerConfig { keystore: Some(keystore.clone()), account: Some(ALICE.into()), ..args() };
        assert_eq!(from_keystore.signer().unwrap().account(), signer.account());
        let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
        let missing = SignerConfig { keystore: Some(keystore), account: Some(bob.into()), ..args() };
        assert!(missing.signer().err().unwrap().contains("no key for"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_file_holds_the_secret_encrypted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("btp-key-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay-key.json");
        write_key_file(&path, "//Alice", "correct horse").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("Alice"), "the secret is not in the file in the clear");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(write_key_file(&path, "//Bob", "x").unwrap_err().contains("never overwritten"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "the first key is kept");
        assert!(write_key_file(&dir.join("other.json"), "not a uri at all!", "x").is_err(), "a bad secret writes nothing");
        assert!(!dir.join("other.json").exists());

        let password = dir.join("password");
        std::fs::write(&password, "correct horse\n").unwrap();
        let from_file = SignerConfig { key_file: Some(path.clone()), password_file: Some(password.clone()), ..Default::default() };
        assert_eq!(from_file.signer().unwrap().account().to_string(), ALICE);
        std::fs::write(&password, "wrong\n").unwrap();
        assert!(from_file.signer().err().unwrap().contains("wrong password"));
        let no_password = SignerConfig { key_file: Some(path.clone()), ..Default::default() };
        assert!(no_password.signer().err().unwrap().contains("--password-env"));
        let two = SignerConfig { key_file: Some(path), suri_file: Some(password), ..Default::default() };
        assert!(two.signer().err().unwrap().contains("name one signer"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_icon_keystore_opens_to_the_key_its_address_names() {
        let dir = std::env::temp_dir().join(format!("btp-icon-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = [7u8; 32];
        let address = icon_rpc::wallet::Wallet::from_secret(&secret).unwrap().address.to_string();
        eth_keystore::encrypt_key(&dir, &mut rand::thread_rng(), secret, "pw", Some("plain.json")).unwrap();
        assert_eq!(open_icon_key_file(&dir.join("plain.json"), "pw").unwrap().address.to_string(), address);
        assert!(open_icon_key_file(&dir.join("plain.json"), "no").unwrap_err().contains("wrong password"));
        // As ICON's wallets write it: the address beside the crypto.
        let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("plain.json")).unwrap()).unwrap();
        json["address"] = address.clone().into();
        json["coinType"] = "icx".into();
        std::fs::write(dir.join("icon.json"), json.to_string()).unwrap();
        assert_eq!(open_icon_key_file(&dir.join("icon.json"), "pw").unwrap().address.to_string(), address);
        json["address"] = "hx0000000000000000000000000000000000000001".into();
        std::fs::write(dir.join("other.json"), json.to_string()).unwrap();
        assert!(open_icon_key_file(&dir.join("other.json"), "pw").unwrap_err().contains("names hx0000000000000000000000000000000000000001"));
        // A relay key file holds a secret URI, not an ICON key.
        write_key_file(&dir.join("relay.json"), "//Alice", "pw").unwrap();
        assert!(open_icon_key_file(&dir.join("relay.json"), "pw").unwrap_err().contains("not an ICON key file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_command_line_chooses_the_signer_whole() {
        let configured = SignerConfig { key_file: Some("k.json".into()), password_env: Some("P".into()), ..Default::default() };
        assert_eq!(SignerConfig::default().or(configured.clone()), configured);
        let cli = SignerConfig { suri_file: Some("s".into()), ..Default::default() };
        assert_eq!(cli.clone().or(configured), cli, "not the file's key with the command line's secret");
        let stray = SignerConfig { password_env: Some("P".into()), ..Default::default() };
        assert!(stray.signer().err().unwrap().contains("without --key-file"), "a password for no key file is not ignored");
        let stray = SignerConfig { account: Some(ALICE.into()), ..Default::default() };
        assert!(stray.signer().err().unwrap().contains("without --keystore"));
    }
}
