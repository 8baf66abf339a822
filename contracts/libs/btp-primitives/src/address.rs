//! BTP addresses (`btp://<network>/<account>`), network addresses (`<id>.<type>`) and ICON addresses.

use alloc::{
    format,
    string::{String, ToString},
};
use core::{fmt, str::FromStr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// The text does not start with `btp://`.
    NotBtp,
    /// The network part is not `<id>.<type>` of URL-safe characters.
    InvalidNetwork,
    /// The account part is empty or not URL-safe (it may hold neither `/` nor `.`).
    InvalidAccount,
    /// An ICON address is not `hx`/`cx` followed by 40 hex digits.
    InvalidIconAddress,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotBtp => "not a btp:// address",
            Self::InvalidNetwork => "network must be <id>.<type>",
            Self::InvalidAccount => "account must be non-empty and URL-safe",
            Self::InvalidIconAddress => "ICON address must be hx or cx followed by 40 hex digits",
        })
    }
}

fn url_safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'~')
}

/// Checks a network address `<id>.<type>` such as `0x1.icon` or `0x501.pra`.
pub fn validate_network(net: &str) -> Result<(), AddressError> {
    match net.split_once('.') {
        Some((id, ty)) if url_safe(id) && url_safe(ty) => Ok(()),
        _ => Err(AddressError::InvalidNetwork),
    }
}

/// A network address in its canonical spelling (a hex id in lower case): what networks are compared and stored as.
pub fn canonical_network(net: &str) -> Result<String, AddressError> {
    validate_network(net)?;
    let (id, ty) = net.split_once('.').ok_or(AddressError::InvalidNetwork)?;
    Ok(format!("{}.{ty}", canonical(id)))
}

/// The account text this project's parachain contracts use in BTP addresses: `0x` and lowercase hex.
pub fn hex_account(account: &[u8]) -> String {
    let mut text = String::with_capacity(account.len().saturating_mul(2).saturating_add(2));
    text.push_str("0x");
    for b in account {
        text.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        text.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Hex spellings (`0x…`, `hx…`, `cx…` followed by hex digits) of an account or a network id name a number, not a
/// text: `cx…AB` and `cx…ab` are one ICON contract. This is the one spelling, lower case; anything else is kept as
/// written.
fn canonical(part: &str) -> String {
    let bytes = part.as_bytes();
    let hex_form =
        bytes.len() > 2 && matches!(bytes[..2].to_ascii_lowercase().as_slice(), b"0x" | b"hx" | b"cx") && bytes[2..].iter().all(u8::is_ascii_hexdigit);
    if hex_form {
        part.to_ascii_lowercase()
    } else {
        part.to_string()
    }
}

/// `btp://<network>/<account>`. It keeps the text as written, which is what travels on the wire (a BMC
/// compares a message's `dst` with its own address as a string, and EVM BMCs write checksummed hex), and is
/// compared, ordered and hashed by its canonical spelling ([`BtpAddress::canonical`]), so that two spellings of
/// one contract are one address: one link, one sequence.
#[derive(Debug, Clone)]
pub struct BtpAddress {
    text: String,
    key: String,
    /// Length of the network part, which follows the scheme.
    net_len: usize,
}

impl PartialEq for BtpAddress {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for BtpAddress {}

impl PartialOrd for BtpAddress {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BtpAddress {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl core::hash::Hash for BtpAddress {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}

const SCHEME: &str = "btp://";

impl BtpAddress {
    pub fn new(net: &str, account: &str) -> Result<Self, AddressError> {
        validate_network(net)?;
        if !url_safe(account) {
            return Err(AddressError::InvalidAccount);
        }
        Ok(Self { text: format!("{SCHEME}{net}/{account}"), key: format!("{SCHEME}{}/{}", canonical_network(net)?, canonical(account)), net_len: net.len() })
    }

    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let rest = text.strip_prefix(SCHEME).ok_or(AddressError::NotBtp)?;
        let (net, account) = rest.split_once('/').ok_or(AddressError::InvalidAccount)?;
        Self::new(net, account)
    }

    /// The network address in its canonical spelling, e.g. `0x1.icon`.
    pub fn network(&self) -> &str {
        &self.key[SCHEME.len()..][..self.net_len]
    }

    /// The account identifier as written, e.g. `cx7a0c…`.
    pub fn account(&self) -> &str {
        &self.text[SCHEME.len()..][self.net_len..][1..]
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The one spelling of this address (hex forms in lower case): what a BMC keys its links by.
    pub fn canonical(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for BtpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for BtpAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A 21-byte ICON address: a type byte (0 = account `hx…`, 1 = contract `cx…`) and a 20-byte id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IconAddress(pub [u8; 21]);

impl IconAddress {
    pub fn account(id: [u8; 20]) -> Self {
        Self::with_type(0, id)
    }

    pub fn contract(id: [u8; 20]) -> Self {
        Self::with_type(1, id)
    }

    fn with_type(ty: u8, id: [u8; 20]) -> Self {
        let mut b = [0u8; 21];
        b[0] = ty;
        b[1..].copy_from_slice(&id);
        Self(b)
    }

    /// From the 21 bytes of the wire form; the type byte must be 0 or 1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddressError> {
        let b: [u8; 21] = bytes.try_into().map_err(|_| AddressError::InvalidIconAddress)?;
        if b[0] > 1 {
            return Err(AddressError::InvalidIconAddress);
        }
        Ok(Self(b))
    }

    pub fn is_contract(&self) -> bool {
        self.0[0] == 1
    }

    pub fn id(&self) -> &[u8] {
        &self.0[1..]
    }

    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let ty = match text.get(..2) {
            Some("hx") => 0,
            Some("cx") => 1,
            _ => return Err(AddressError::InvalidIconAddress),
        };
        let digits = text[2..].as_bytes();
        if digits.len() != 40 {
            return Err(AddressError::InvalidIconAddress);
        }
        let mut id = [0u8; 20];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            id[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Ok(Self::with_type(ty, id))
    }
}

fn hex_value(c: u8) -> Result<u8, AddressError> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok()).ok_or(AddressError::InvalidIconAddress)
}

impl fmt::Display for IconAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_contract() { "cx" } else { "hx" })?;
        self.id().iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for IconAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<IconAddress> for String {
    fn from(a: IconAddress) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btp_address_parts() {
        let a = BtpAddress::parse("btp://0x3.icon/cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a").unwrap();
        assert_eq!(a.network(), "0x3.icon");
        assert_eq!(a.account(), "cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a");
        assert_eq!(a.to_string(), "btp://0x3.icon/cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a");
        let b = BtpAddress::new("0X8.pra", "0xF0e46847c8bFD122C4b5EEE1D4494FF7C5FC5104").unwrap();
        assert_eq!(b.as_str(), "btp://0X8.pra/0xF0e46847c8bFD122C4b5EEE1D4494FF7C5FC5104", "the wire keeps what was written");
        assert_eq!(b.canonical(), "btp://0x8.pra/0xf0e46847c8bfd122c4b5eee1d4494ff7c5fc5104");
        assert_eq!(b.network(), "0x8.pra");
        assert_eq!(canonical_network("0X8.pra"), Ok("0x8.pra".into()));
        assert_eq!(canonical_network("pra"), Err(AddressError::InvalidNetwork));
        assert_eq!(b.account(), "0xF0e46847c8bFD122C4b5EEE1D4494FF7C5FC5104");
        let icon = |account: &str| BtpAddress::parse(&format!("btp://0x3.icon/{account}")).unwrap();
        assert_eq!(icon("CX7A0C2DD9751E592AC4FBD6C70BD5EC574EBF198A"), icon("cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a"), "one contract");
        assert_ne!(icon("Alice"), icon("alice"), "a name is no number");
        assert_ne!(icon("0xZZ"), icon("0xzz"));
        assert_eq!("btp://westend.relay/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".parse::<BtpAddress>().unwrap().network(), "westend.relay");
    }

    #[test]
    fn btp_address_rejects() {
        assert_eq!(BtpAddress::parse("http://0x1.icon/cx00"), Err(AddressError::NotBtp));
        assert_eq!(BtpAddress::parse("btp://0x1.icon"), Err(AddressError::InvalidAccount));
        assert_eq!(BtpAddress::parse("btp://0x1.icon/"), Err(AddressError::InvalidAccount));
        assert_eq!(BtpAddress::parse("btp://0x1.icon/a/b"), Err(AddressError::InvalidAccount));
        assert_eq!(BtpAddress::parse("btp://0x1.icon/a.b"), Err(AddressError::InvalidAccount));
        assert_eq!(BtpAddress::parse("btp://0x1icon/cx00"), Err(AddressError::InvalidNetwork));
        assert_eq!(BtpAddress::parse("btp://.icon/cx00"), Err(AddressError::InvalidNetwork));
        assert_eq!(BtpAddress::parse("btp://0x1./cx00"), Err(AddressError::InvalidNetwork));
        assert_eq!(BtpAddress::parse("btp://0x1.ic.on/cx00"), Err(AddressError::InvalidNetwork));
        assert_eq!(BtpAddress::parse("btp:///cx00"), Err(AddressError::InvalidNetwork));
    }

    #[test]
    fn hex_accounts() {
        assert_eq!(hex_account(&[0x00, 0xab, 0x7f]), "0x00ab7f");
        assert_eq!(hex_account(&[]), "0x");
    }

    #[test]
    fn icon_address_round_trip() {
        let text = "hxb6b5791be0b5ef67063b3c10b840fb81514db2fd";
        let a = IconAddress::parse(text).unwrap();
        assert!(!a.is_contract());
        assert_eq!(a.to_string(), text);
        assert_eq!(IconAddress::from_bytes(&a.0).unwrap(), a);
        let c = IconAddress::parse("cx7A0C2DD9751E592AC4FBD6C70BD5EC574EBF198A").unwrap();
        assert!(c.is_contract());
        assert_eq!(c.to_string(), "cx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a");
        for bad in [
            "",
            "hx",
            "ax7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198a",
            "hx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198",
            "hx7a0c2dd9751e592ac4fbd6c70bd5ec574ebf198g",
            "hxé0c2dd9751e592ac4fbd6c70bd5ec574ebf198",
        ] {
            assert_eq!(IconAddress::parse(bad), Err(AddressError::InvalidIconAddress), "{bad}");
        }
        assert_eq!(IconAddress::from_bytes(&[2; 21]), Err(AddressError::InvalidIconAddress));
        assert_eq!(IconAddress::from_bytes(&[0; 20]), Err(AddressError::InvalidIconAddress));
    }
}
