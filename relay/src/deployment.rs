//! The deployment file: where the bridge's contracts are and how they were set up. `relay deploy` writes it (and
//! reads it back on a re-run); the relay reads it to know what it relays between.

use serde::{Deserialize, Serialize};
use std::{io, path::Path};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub parachain: Parachain,
    pub icon: Icon,
    /// Absent until the contracts exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contracts: Option<Contracts>,
    #[serde(default)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parachain {
    /// The node's WebSocket RPC.
    pub url: String,
    /// The parachain's BTP network name (`0x501.pra`).
    pub network: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Icon {
    /// ICON's JSON-RPC v3 endpoint.
    pub url: String,
    /// ICON's BTP network name (`0x1.icon`), from `bmc`.
    pub network: String,
    /// ICON's BMC as a BTP address: the link's peer.
    pub bmc: String,
    /// The BMV starts after this block: the first block update it takes is `height + 1`.
    pub height: u64,
    /// Block `height`'s hash (hex), the parent the first update must name.
    pub block_hash: String,
    /// The validators that sign block `height + 1` (RLP list of addresses, hex): block `height`'s next validators.
    pub validators: String,
}

/// The three contracts: SS58 addresses and code hashes (hex).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contracts {
    pub bmc: String,
    pub bmc_code_hash: String,
    pub bmv: String,
    pub bmv_code_hash: String,
    pub bsh: String,
    pub bsh_code_hash: String,
}

/// How the contracts are wired and configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Accounts that may relay on the ICON link (SS58).
    pub relays: Vec<String>,
    /// The parachain's own coin as the BSH names it, and its transfer fee.
    pub native_coin: String,
    pub native_fee_ratio: u32,
    #[serde(with = "amount")]
    pub native_fixed_fee: u128,
    /// Coins of other networks the BSH mints wrapped.
    pub coins: Vec<Coin>,
    /// Where the BMC gathers the services' fees (a BTP address), and every how many blocks.
    pub fee_aggregator: Option<String>,
    pub fee_gathering_term: u32,
    /// The BMV's accumulator: roots kept (0: all), recent block ids cached, witnesses from newer roots allowed.
    pub mta_root_size: u32,
    pub mta_cache_size: u32,
    pub allow_newer_witness: bool,
    /// Salt of the contracts' addresses (hex): another salt, another set of contracts.
    pub salt: String,
    /// Relay rotation on the ICON link (all zero: off, any relay may submit).
    pub rotation: Rotation,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            relays: Vec::new(),
            native_coin: "DOT".into(),
            native_fee_ratio: 10,
            native_fixed_fee: 0,
            coins: Vec::new(),
            fee_aggregator: None,
            fee_gathering_term: 0,
            mta_root_size: 0,
            mta_cache_size: 0,
            allow_newer_witness: false,
            salt: String::new(),
            rotation: Rotation::default(),
        }
    }
}

/// The BMC's relay rotation of a link: one relay's turn at a time, `max_aggregation` ICON blocks' worth of
/// parachain blocks each, a turn skipped when its relay is `delay_limit` parachain blocks late.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// This chain's (the parachain's) block interval, ms.
    pub block_interval_src: u64,
    /// ICON's block interval, ms.
    pub block_interval_dst: u64,
    /// ICON blocks per turn.
    pub max_aggregation: u64,
    /// Parachain blocks a relay may be late before its turn passes on; 0: never.
    pub delay_limit: u64,
}

impl std::str::FromStr for Rotation {
    type Err = String;

    /// `PARACHAIN_MS:ICON_MS:MAX_AGGREGATION:DELAY_LIMIT`, e.g. `12000:2000:10:3`; `0:0:0:0` turns rotation off.
    fn from_str(s: &str) -> Result<Self, String> {
        let numbers = s.split(':').map(|v| v.parse::<u64>().map_err(|_| format!("{s}: {v} is not a number"))).collect::<Result<Vec<u64>, String>>()?;
        let [block_interval_src, block_interval_dst, max_aggregation, delay_limit] = numbers[..] else {
            return Err(format!("{s}: rotation is PARACHAIN_MS:ICON_MS:MAX_AGGREGATION:DELAY_LIMIT"));
        };
        Ok(Self { block_interval_src, block_interval_dst, max_aggregation, delay_limit })
    }
}

/// A coin the BSH registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coin {
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
    /// Fee in 1/10,000 of the value, plus a fixed part in the coin's smallest unit.
    pub fee_ratio: u32,
    #[serde(with = "amount")]
    pub fixed_fee: u128,
    /// The networks whose locks back the wrapped coin.
    pub networks: Vec<String>,
}

impl std::str::FromStr for Coin {
    type Err = String;

    /// `NAME:SYMBOL:DECIMALS:FEE_RATIO:FIXED_FEE:NETWORK[,NETWORK…]`, e.g. `ICX:ICX:18:0:100000000000000000:0x1.icon`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [name, symbol, decimals, ratio, fixed, networks] = parts[..] else {
            return Err(format!("{s}: a coin is NAME:SYMBOL:DECIMALS:FEE_RATIO:FIXED_FEE:NETWORK[,NETWORK…]"));
        };
        let number = |what: &str, v: &str| format!("{s}: {what} {v} is not a number");
        Ok(Self {
            name: name.into(),
            symbol: symbol.into(),
            decimals: decimals.parse().map_err(|_| number("decimals", decimals))?,
            fee_ratio: ratio.parse().map_err(|_| number("fee ratio", ratio))?,
            fixed_fee: fixed.parse().map_err(|_| number("fixed fee", fixed))?,
            networks: networks.split(',').map(str::to_string).collect(),
        })
    }
}

/// Amounts as decimal strings: TOML's integers stop at 2^63, an 18-decimal coin's amounts do not.
mod amount {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

impl Deployment {
    /// The file at `path`, or `None` if there is none.
    pub fn read(path: &Path) -> Result<Option<Self>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the file whole or not at all (a temporary file renamed over it).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = toml::to_string_pretty(self).map_err(|e| format!("the deployment as TOML: {e}"))?;
        let temporary = path.with_extension("toml.tmp");
        std::fs::write(&temporary, format!("# Written by `relay deploy`; read by `relay`. See the README, \"Deploying\".\n{text}"))
            .and_then(|_| std::fs::rename(&temporary, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_parse_from_the_command_line() {
        let icx: Coin = "ICX:ICX:18:0:100000000000000000:0x1.icon".parse().unwrap();
        assert_eq!((icx.decimals, icx.fixed_fee, icx.networks), (18, 10u128.pow(17), vec!["0x1.icon".to_string()]));
        let two: Coin = "USDT:USDT:6:10:0:0x1.icon,0x38.bsc".parse().unwrap();
        assert_eq!(two.networks.len(), 2);
        assert!("ICX:ICX:18:0:0".parse::<Coin>().is_err(), "too few parts");
        assert!("ICX:ICX:eighteen:0:0:0x1.icon".parse::<Coin>().unwrap_err().contains("decimals"));
    }

    #[test]
    fn the_file_reads_back_what_was_written() {
        let dir = std::env::temp_dir().join(format!("btp-deployment-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deployment.toml");
        assert_eq!(Deployment::read(&path).unwrap(), None, "no file yet");
        let mut d = Deployment::default();
        d.parachain.url = "ws://127.0.0.1:9944".into();
        d.icon.height = 100;
        d.settings.coins.push("ICX:ICX:18:0:100000000000000000000:0x3.icon".parse().unwrap());
        d.settings.fee_aggregator = Some("btp://0x3.icon/hx0000000000000000000000000000000000000001".into());
        d.contracts = Some(Contracts { bmc: "5Grw".into(), ..Default::default() });
        d.write(&path).unwrap();
        assert_eq!(Deployment::read(&path).unwrap(), Some(d));
        std::fs::write(&path, "[parachain]\nurl = 7\n").unwrap();
        assert!(Deployment::read(&path).unwrap_err().contains("deployment.toml"), "a broken file is named");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
