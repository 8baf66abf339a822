//! ICON JSON-RPC v3 transactions: the serialization whose SHA3-256 is the transaction hash, signing, and the
//! node's signature check (recover the key, compare its address with `from`).

use crate::wallet::Wallet;
use base64::{engine::general_purpose::STANDARD, Engine};
use btp_primitives::IconAddress;
use icon_light_client::{
    crypto::{recover_address, HostSecp256k1},
    sha3_256, Hash,
};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    MissingField(&'static str),
    BadSignature,
    /// The signature is valid but made by another key than `from`'s.
    SignerMismatch,
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, '\\' | '{' | '}' | '[' | ']' | '.') {
            out.push('\\');
        }
        out.push(c);
    }
}

fn serialize_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("\\0"),
        Value::String(s) => escape(s, out),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "0x1" } else { "0x0" }),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                serialize_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            serialize_object(map, out);
            out.push('}');
        }
    }
}

/// Keys in byte order, `key.value` joined by `.`; `signature` and `txHash` are not part of what is signed.
fn serialize_object(map: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().filter(|k| *k != "signature" && *k != "txHash").collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        escape(k, out);
        out.push('.');
        serialize_value(&map[k], out);
    }
}

/// The text whose SHA3-256 is the transaction hash.
pub fn serialize(params: &Map<String, Value>) -> String {
    let mut out = String::from("icx_sendTransaction.");
    serialize_object(params, &mut out);
    out
}

pub fn hash(params: &Map<String, Value>) -> Hash {
    sha3_256(serialize(params).as_bytes())
}

/// Sets `from` to the key's address and `signature` to its signature of the transaction.
pub fn sign(params: &mut Map<String, Value>, key: &Wallet) {
    params.insert("from".into(), key.address.to_string().into());
    let signature = key.sign(&hash(params));
    params.insert("signature".into(), STANDARD.encode(signature).into());
}

/// A v3 transaction's `timestamp` for now: microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The step limit of the transactions [`build`] signs: far above what a relay message costs (a dry run tells).
pub const STEP_LIMIT: u128 = 0x100_0000;

/// A v3 transaction's fields but `from`, `stepLimit` and `signature`.
fn fields(nid: &str, to: &IconAddress, value: Option<u128>, call: Option<Value>, timestamp_us: u64) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert("version".into(), "0x3".into());
    params.insert("to".into(), to.to_string().into());
    params.insert("timestamp".into(), format!("{timestamp_us:#x}").into());
    params.insert("nid".into(), nid.into());
    if let Some(v) = value {
        params.insert("value".into(), format!("{v:#x}").into());
    }
    if let Some(call) = call {
        params.insert("dataType".into(), "call".into());
        params.insert("data".into(), call);
    }
    params
}

/// A signed v3 transaction from `signer` to `to` on network `nid` (e.g. `0x3`), with an optional ICX `value`
/// (in loop) and an optional SCORE call `{method, params}`: what an ICON wallet sends with `icx_sendTransaction`.
pub fn build(signer: &Wallet, nid: &str, to: &IconAddress, value: Option<u128>, call: Option<Value>, timestamp_us: u64) -> Value {
    let mut params = fields(nid, to, value, call, timestamp_us);
    params.insert("stepLimit".into(), format!("{STEP_LIMIT:#x}").into());
    sign(&mut params, signer);
    Value::Object(params)
}

/// The same transaction from `from`, unsigned and without a step limit: what goloop's `debug_estimateStep` runs.
pub fn unsigned(from: &IconAddress, nid: &str, to: &IconAddress, value: Option<u128>, call: Option<Value>, timestamp_us: u64) -> Value {
    let mut params = fields(nid, to, value, call, timestamp_us);
    params.insert("from".into(), from.to_string().into());
    Value::Object(params)
}

/// What the node checks: the signature recovers to the address in `from`. Returns the sender.
pub fn verify(params: &Map<String, Value>) -> Result<IconAddress, TxError> {
    let from = params.get("from").and_then(Value::as_str).ok_or(TxError::MissingField("from"))?;
    let from = IconAddress::parse(from).map_err(|_| TxError::MissingField("from"))?;
    let signature = params.get("signature").and_then(Value::as_str).ok_or(TxError::MissingField("signature"))?;
    let signature = STANDARD.decode(signature).map_err(|_| TxError::BadSignature)?;
    let signer = recover_address(&HostSecp256k1, &hash(params), &signature).ok_or(TxError::BadSignature)?;
    if signer == from {
        Ok(from)
    } else {
        Err(TxError::SignerMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialization_follows_goloop() {
        let params = json!({
            "version": "0x3", "from": "hx00", "to": "cx01", "stepLimit": "0x12345", "timestamp": "0x563a6cf330136",
            "nid": "0x1", "dataType": "call", "signature": "ignored",
            "data": {"method": "handleRelayMessage", "params": {"_prev": "btp://0x1.icon/cx02", "_msg": "-Qee_w=="}}
        });
        assert_eq!(
            serialize(params.as_object().unwrap()),
            "icx_sendTransaction.data.{method.handleRelayMessage.params.{_msg.-Qee_w==._prev.btp://0x1\\.icon/cx02}}.dataType.call.from.hx00.nid.0x1.stepLimit.0x12345.timestamp.0x563a6cf330136.to.cx01.version.0x3"
        );
        let nested = json!({"a": [null, "x[y]", {"b": "c"}]});
        assert_eq!(serialize(nested.as_object().unwrap()), "icx_sendTransaction.a.[\\0.x\\[y\\].{b.c}]");
    }

    fn wallet(n: u8) -> Wallet {
        Wallet::from_secret(&[n; 32]).unwrap()
    }

    #[test]
    fn signed_transactions_verify_and_tampering_does_not() {
        let key = wallet(7);
        let mut params = json!({"version": "0x3", "to": "hx0000000000000000000000000000000000000001", "value": "0x10", "nid": "0x3", "timestamp": "0x1"})
            .as_object()
            .unwrap()
            .clone();
        sign(&mut params, &key);
        assert_eq!(verify(&params), Ok(key.address));
        params.insert("value".into(), "0x11".into());
        assert_ne!(verify(&params), Ok(key.address));
        params.insert("from".into(), wallet(8).address.to_string().into());
        assert!(verify(&params).is_err());
    }
}
