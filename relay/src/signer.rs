//! Where the parachain signer's secret comes from: an environment variable, a file, or a Substrate keystore
//! directory — never the command line, where it would sit in the shell's history and in `ps`.

use btp_parachain::{AccountId32, Signer};
use clap::Args;
use std::{
    path::{Path, PathBuf},
    str::FromStr,
};

/// The parachain account that signs (one of these).
#[derive(Args, Debug, Clone)]
pub struct SignerArgs {
    /// Environment variable holding the signer's secret URI (a mnemonic, a hex seed, `//Alice` on a dev chain,
    /// each with optional `//derivation` and `///password`).
    #[arg(long, value_name = "VAR", default_value = "RELAY_SURI", conflicts_with_all = ["suri_file", "keystore"])]
    pub suri_env: String,
    /// File holding the signer's secret URI (its first line).
    #[arg(long, value_name = "PATH", conflicts_with = "keystore")]
    pub suri_file: Option<PathBuf>,
    /// Substrate keystore directory (files named by key type and public key, each holding the secret as a JSON
    /// string, as `subkey`/a node's `key insert` write them); use with --account.
    #[arg(long, value_name = "DIR", requires = "account")]
    pub keystore: Option<PathBuf>,
    /// The keystore account to sign with (SS58).
    #[arg(long, value_name = "SS58")]
    pub account: Option<String>,
    /// Environment variable holding the keystore key's password, if it has one.
    #[arg(long, value_name = "VAR")]
    pub keystore_password_env: Option<String>,
}

impl SignerArgs {
    pub fn signer(&self) -> Result<Signer, String> {
        if let Some(dir) = &self.keystore {
            return self.keystore_signer(dir);
        }
        let uri = match &self.suri_file {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("--suri-file {}: {e}", path.display()))?.lines().next().unwrap_or_default().trim().to_string()
            }
            None => std::env::var(&self.suri_env)
                .map_err(|_| format!("no signer: set {} to the signer's secret URI, or give --suri-file or --keystore with --account", self.suri_env))?,
        };
        Signer::from_uri(&uri)
    }

    fn keystore_signer(&self, dir: &Path) -> Result<Signer, String> {
        let account = self.account.as_deref().unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SignerArgs {
        SignerArgs { suri_env: "BTP_TEST_NO_SUCH_VAR".into(), suri_file: None, keystore: None, account: None, keystore_password_env: None }
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
        let signer = SignerArgs { suri_file: Some(file), ..args() }.signer().unwrap();
        assert_eq!(signer.account().to_string(), ALICE);

        let keystore = dir.join("keystore");
        std::fs::create_dir_all(&keystore).unwrap();
        std::fs::write(keystore.join(format!("61636373{}", hex::encode(signer.account().0))), "\"//Alice\"").unwrap();
        let from_keystore = SignerArgs { keystore: Some(keystore.clone()), account: Some(ALICE.into()), ..args() };
        assert_eq!(from_keystore.signer().unwrap().account(), signer.account());
        let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
        let missing = SignerArgs { keystore: Some(keystore), account: Some(bob.into()), ..args() };
        assert!(missing.signer().err().unwrap().contains("no key for"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
