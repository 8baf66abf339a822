//! Checks one ICON verification vector (see `data/README.md`) against the light client.
//!
//! Every `expect` field is compared; fields that only document (`provenance`, `note`, `source_error`) are the
//! only ones passed over, and any other unknown field, kind or input makes the vector fail.

use base64::Engine;
use btp_primitives::{rlp::Rlp, BtpMessage, IconAddress};
use icon_light_client::{
    crypto::{recover_address, HostSecp256k1},
    header::BlockHeader,
    mpt,
    mta::Mta,
    receipt::{event_logs_hash, EventLog},
    sha3_256,
    validators::ValidatorSet,
    verifier::{network_id, verify_block_update, Outcome, Recorder, Verifier},
    votes::{CommitVotes, PartSetId, VoteChecker, VoteMessage},
    BmvError, ErrorCode,
};
use serde_json::{Map, Value};

type Check<T> = Result<T, String>;

/// Relays write base64url with padding; some recorded values lack it.
const URL_SAFE_ANY_PADDING: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

const DOCUMENTARY: &[&str] = &["provenance", "note", "source_error"];

/// Expected fields, marked off as they are compared; whatever is left unread fails the vector.
struct Expect<'a> {
    fields: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

impl<'a> Expect<'a> {
    fn new(v: &'a Value) -> Check<Self> {
        Ok(Self { fields: v.as_object().ok_or("expect is not an object")?, read: vec!["result"] })
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.read.push(key);
        self.fields.get(key)
    }

    fn eq(&mut self, key: &'static str, actual: Value) -> Check<()> {
        match self.get(key) {
            None => Ok(()),
            Some(expected) if *expected == actual => Ok(()),
            Some(expected) => Err(format!("{key}: expected {expected}, got {actual}")),
        }
    }

    /// Like `eq` for an object, of which the expected one names the fields it checks.
    fn fields(&mut self, key: &'static str, actual: &Value) -> Check<()> {
        let Some(expected) = self.get(key) else { return Ok(()) };
        let fields = expected.as_object().ok_or_else(|| format!("{key} is not an object"))?;
        match fields.iter().find(|(field, value)| actual.get(field.as_str()) != Some(value)) {
            None => Ok(()),
            Some(_) => Err(format!("{key}: expected {expected}, got {actual}")),
        }
    }

    /// Like `eq` for a list of objects, where each expected object names the fields it checks.
    fn subset(&mut self, key: &'static str, actual: &Value) -> Check<()> {
        let Some(expected) = self.get(key) else { return Ok(()) };
        let (Some(expected), Some(actual)) = (expected.as_array(), actual.as_array()) else {
            return Err(format!("{key} is not a list"));
        };
        if expected.len() != actual.len() {
            return Err(format!("{key}: expected {} items, got {}", expected.len(), actual.len()));
        }
        for (e, a) in expected.iter().zip(actual) {
            let fields = e.as_object().ok_or_else(|| format!("{key} holds a non-object"))?;
            for (field, value) in fields {
                if a.get(field) != Some(value) {
                    return Err(format!("{key}: expected {e}, got {a}"));
                }
            }
        }
        Ok(())
    }

    fn finish(&self) -> Check<()> {
        for key in self.fields.keys() {
            if !self.read.contains(&key.as_str()) && !DOCUMENTARY.contains(&key.as_str()) {
                return Err(format!("unread expect field {key:?}"));
            }
        }
        Ok(())
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Check<&'a str> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("missing string {key:?}"))
}

fn hex_of(v: &Value, key: &str) -> Check<Vec<u8>> {
    hex::decode(str_of(v, key)?).map_err(|e| format!("{key} is not hex: {e}"))
}

fn u64_of(v: &Value, key: &str) -> Check<u64> {
    v.get(key).and_then(Value::as_u64).ok_or_else(|| format!("missing integer {key:?}"))
}

fn hashes(v: &Value, key: &str) -> Check<Vec<Vec<u8>>> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing list {key:?}"))?
        .iter()
        .map(|h| h.as_str().and_then(|s| hex::decode(s).ok()).ok_or_else(|| format!("{key} holds a non-hex item")))
        .collect()
}

fn hash_json(h: Option<[u8; 32]>) -> Value {
    h.map(|h| Value::from(hex::encode(h))).unwrap_or(Value::Null)
}

fn addresses_json(a: &[IconAddress]) -> Value {
    a.iter().map(|a| Value::from(a.to_string())).collect()
}

/// Compares a rejection with `error` and `error_alternatives`.
fn expect_error(expect: &mut Expect<'_>, actual: Result<(), BmvError>) -> Check<()> {
    let error = expect.get("error").and_then(Value::as_str).ok_or("reject vector without error")?;
    let mut allowed = vec![error];
    if let Some(alts) = expect.get("error_alternatives").and_then(Value::as_array) {
        allowed.extend(alts.iter().filter_map(Value::as_str));
    }
    match actual {
        Ok(()) => Err(format!("accepted, expected {error}")),
        Err(e) if allowed.contains(&e.code.name()) => Ok(()),
        Err(e) => Err(format!("rejected with {e}, expected {}", allowed.join(" or "))),
    }
}

fn btp_message_json(bytes: &[u8], with_payload: bool) -> Check<Value> {
    let m = BtpMessage::decode(bytes).map_err(|e| format!("BTP message: {e}"))?;
    let mut o = serde_json::json!({"src": m.src.as_str(), "dst": m.dst.as_str(), "svc": m.svc, "sn": m.sn as i64});
    if with_payload {
        o["payload"] = Value::from(hex::encode(&m.payload));
    }
    Ok(o)
}

/// Compares a list of decoded BTP messages; each expected object names the fields it checks.
fn expect_decoded_messages(expect: &mut Expect<'_>, messages: &[&[u8]]) -> Check<()> {
    let Some(expected) = expect.get("decoded_btp_messages") else { return Ok(()) };
    let expected = expected.as_array().ok_or("decoded_btp_messages is not a list")?;
    if expected.len() != messages.len() {
        return Err(format!("decoded_btp_messages: expected {}, got {}", expected.len(), messages.len()));
    }
    for (e, m) in expected.iter().zip(messages) {
        let with_payload = e.get("payload").is_some();
        let actual = btp_message_json(m, with_payload)?;
        if *e != actual {
            return Err(format!("decoded_btp_messages: expected {e}, got {actual}"));
        }
    }
    Ok(())
}

/// The verifier in a vector's `state` (accumulator `height` is before `pre_add`, whose leaves are then added).
pub fn verifier_from_state(vector: &Value) -> Check<Verifier> {
    let state = vector.get("state").ok_or("missing state")?;
    let validators = ValidatorSet::decode(&hex_of(state, "validators")?, &HostSecp256k1).map_err(|e| format!("state validators: {e}"))?;
    let m = state.get("mta").ok_or("missing state.mta")?;
    let mut mta = Mta::new(
        u64_of(m, "offset")?,
        u64_of(m, "root_size")? as u32,
        u64_of(m, "cache_size")? as u32,
        m.get("allow_newer_witness").and_then(Value::as_bool).unwrap_or(false),
    );
    // `height` is the accumulator before `pre_add`, which is then added on top.
    if mta.height() != u64_of(m, "height")? {
        return Err(format!("state.mta.height {} is not the offset {}", u64_of(m, "height")?, mta.height()));
    }
    if m.get("pre_add").is_some() {
        for leaf in hashes(m, "pre_add")? {
            mta.add(leaf.try_into().map_err(|_| "pre_add hash is not 32 bytes")?).map_err(|e| e.to_string())?;
        }
    }
    let last_block_hash = match state.get("last_block_hash") {
        None => None,
        Some(_) => Some(hex_of(state, "last_block_hash")?.try_into().map_err(|_| "last_block_hash is not 32 bytes")?),
    };
    // The field may carry a remark after the address ("0x995745.icon (per test; not in the data)").
    let network = str_of(vector, "network")?.split_whitespace().next().ok_or("empty network")?;
    Ok(Verifier { network: network.into(), validators, mta, last_block_hash, last_height: 0 })
}

fn relay_step(verifier: &mut Verifier, input: &Value, expect_value: &Value) -> Check<()> {
    let msg = hex_of(input, "relay_message")?;
    if input.get("relay_message_b64").is_some() {
        let b64 = URL_SAFE_ANY_PADDING.decode(str_of(input, "relay_message_b64")?).map_err(|e| e.to_string())?;
        if b64 != msg {
            return Err("relay_message_b64 is not the relay message".into());
        }
    }
    let seq = u64_of(input, "seq")?;
    let mut recorder = Recorder::default();
    let result = verifier.handle_relay_message_with(str_of(input, "bmc")?, str_of(input, "prev")?, seq.into(), &msg, &HostSecp256k1, &mut recorder);
    let mut expect = Expect::new(expect_value)?;
    match str_of(expect_value, "result")? {
        "reject" => expect_error(&mut expect, result.map(|_| ()))?,
        "accept" => {
            let Outcome { messages, proven_block, .. } = result.map_err(|e| format!("rejected: {e}"))?;
            let blocks: Value = recorder
                .blocks
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "height": b.block.height,
                        "hash": hex::encode(b.block.id),
                        "signers": addresses_json(&b.signers),
                        "validators_changed": b.block.new_validators.is_some(),
                    })
                })
                .collect();
            expect.subset("block_updates", &blocks)?;
            let proof = proven_block.map_or(Value::Null, |(height, id)| serde_json::json!({"height": height, "hash": hex::encode(id)}));
            expect.fields("block_proof", &proof)?;
            expect.eq("btp_messages", messages.iter().map(|m| Value::from(hex::encode(m))).collect())?;
            expect_decoded_messages(&mut expect, &messages)?;
            expect.eq("mta_height", verifier.mta.height().into())?;
            expect.eq("validators_hash", hex::encode(verifier.validators.hash()).into())?;
        }
        other => return Err(format!("unknown result {other:?}")),
    }
    expect.finish()
}

/// Checks one vector.
pub fn check(vector: &Value) -> Check<()> {
    let kind = str_of(vector, "kind")?;
    if kind == "relay_sequence" {
        let mut verifier = verifier_from_state(vector)?;
        let steps = vector.get("steps").and_then(Value::as_array).ok_or("missing steps")?;
        for (i, step) in steps.iter().enumerate() {
            relay_step(&mut verifier, step.get("input").ok_or("step without input")?, step.get("expect").ok_or("step without expect")?)
                .map_err(|e| format!("step {i}: {e}"))?;
        }
        return Ok(());
    }
    let input = vector.get("input").ok_or("missing input")?;
    let expect_value = vector.get("expect").ok_or("missing expect")?;
    let accept = match str_of(expect_value, "result")? {
        "accept" => true,
        "reject" => false,
        other => return Err(format!("unknown result {other:?}")),
    };
    let mut expect = Expect::new(expect_value)?;
    match kind {
        "relay_message" => return relay_step(&mut verifier_from_state(vector)?, input, expect_value),
        "header" => {
            let bytes = hex_of(input, "header")?;
            let h = BlockHeader::decode(&bytes).map_err(|e| e.to_string())?;
            expect.eq("height", h.height.into())?;
            expect.eq("hash", hash_json(Some(h.id)))?;
            expect.eq("prev_hash", hash_json(h.prev_id))?;
            expect.eq("next_validators_hash", hash_json(h.next_validators_hash))?;
            // The vectors write a header without a receipt root (null in the RLP) as "".
            let receipt_root = h.result.normal_receipt_hash.map(hex::encode).unwrap_or_default();
            expect.eq("receipt_hash", receipt_root.into())?;
        }
        "block_update" => {
            let header_bytes = hex_of(input, "header")?;
            let votes = hex_of(input, "votes")?;
            let result = BlockHeader::decode(&header_bytes).and_then(|header| {
                let mut signers = Vec::new();
                block_update_signers(vector, &header, &votes, &mut signers)?;
                Ok((header, signers))
            });
            if let (Some(json), Ok((header, _))) = (input.get("header_json"), &result) {
                check_header_json(header, json)?;
            }
            if accept {
                let (h, signers) = result.map_err(|e| format!("rejected: {e}"))?;
                expect.eq("height", h.height.into())?;
                expect.eq("hash", hash_json(Some(h.id)))?;
                expect.eq("next_validators_hash", hash_json(h.next_validators_hash))?;
                expect.eq("receipt_hash", h.result.normal_receipt_hash.map(hex::encode).unwrap_or_default().into())?;
                expect.eq("signers", addresses_json(&signers))?;
            } else {
                expect_error(&mut expect, result.map(|_| ()))?;
            }
        }
        "votes" => {
            let votes_bytes = hex_of(input, "votes")?;
            let wrapped = URL_SAFE_ANY_PADDING.decode(str_of(input, "votes_b64")?).map_err(|e| e.to_string())?;
            if Rlp::new(&wrapped).and_then(|r| r.bytes().map(<[u8]>::to_vec)).ok() != Some(votes_bytes.clone()) {
                return Err("votes_b64 is not bytes(votes)".into());
            }
            let v = CommitVotes::decode(&votes_bytes).map_err(|e| e.to_string())?;
            expect.eq("round", v.round.into())?;
            expect.eq("part_set_id", serde_json::json!([v.part_set_id.count, v.part_set_id.hash.map(hex::encode)]))?;
            let items: Value = v
                .items()
                .map(|i| i.map(|i| serde_json::json!([i.timestamp, hex::encode(i.signature)])))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            expect.eq("items", items)?;
        }
        "vote_message" => {
            let psid = input.get("part_set_id").and_then(Value::as_array).ok_or("missing part_set_id")?;
            let part_set_hash = hex::decode(psid.get(1).and_then(Value::as_str).ok_or("part_set_id hash")?).map_err(|e| e.to_string())?;
            let part_set_id = PartSetId { count: psid.first().and_then(Value::as_u64).ok_or("part_set_id count")?, hash: Some(&part_set_hash) };
            let block_id: [u8; 32] = hex_of(input, "block_hash")?.try_into().map_err(|_| "block_hash is not 32 bytes")?;
            let round = i32::try_from(u64_of(input, "round")?).map_err(|_| "round is not an int32")?;
            let height = i64::try_from(u64_of(input, "height")?).map_err(|_| "height is not an int64")?;
            let timestamp = i64::try_from(u64_of(input, "timestamp")?).map_err(|_| "timestamp is not an int64")?;
            let mut message = VoteMessage::default();
            message.start(height, round, &block_id, &part_set_id);
            let message = message.with_timestamp(timestamp).to_vec();
            let digest = sha3_256(&message);
            expect.eq("vote_message", hex::encode(&message).into())?;
            expect.eq("hash", hex::encode(digest).into())?;
            let signer = recover_address(&HostSecp256k1, &digest, &hex_of(input, "signature")?).ok_or("signature does not recover")?;
            expect.eq("address", signer.to_string().into())?;
        }
        "validators" => {
            let set = ValidatorSet::decode(&hex_of(input, "validators")?, &HostSecp256k1).map_err(|e| e.to_string())?;
            expect.eq("hash", hex::encode(set.hash()).into())?;
            expect.eq("addresses", addresses_json(set.addresses()))?;
        }
        "signature" => {
            let digest: [u8; 32] = hex_of(input, "msg_hash")?.try_into().map_err(|_| "msg_hash is not 32 bytes")?;
            let signer = recover_address(&HostSecp256k1, &digest, &hex_of(input, "signature")?).ok_or("signature does not recover")?;
            expect.eq("address", signer.to_string().into())?;
        }
        "mpt_proof" => {
            let root: [u8; 32] = hex_of(input, "root")?.try_into().map_err(|_| "root is not 32 bytes")?;
            let proofs = hashes(input, "proofs")?;
            let result = mpt::prove(&root, &hex_of(input, "key")?, proofs.iter().map(|n| Ok(&n[..])));
            if accept {
                expect.eq("value", hex::encode(result.map_err(|e| format!("rejected: {e}"))?).into())?;
            } else {
                expect_error(&mut expect, result.map(|_| ()))?;
            }
        }
        "receipt_proof" => {
            let root: [u8; 32] = hex_of(input, "receipt_hash")?.try_into().map_err(|_| "receipt_hash is not 32 bytes")?;
            let proofs = hashes(input, "proofs")?;
            let receipt = mpt::prove(&root, mpt::list_key(u64_of(input, "index")?).as_bytes(), proofs.iter().map(|n| Ok(&n[..]))).map_err(|e| e.to_string())?;
            let logs_root = event_logs_hash(receipt).map_err(|e| e.to_string())?;
            expect.eq("event_logs_hash", hex::encode(logs_root).into())?;
            let mut events = Vec::new();
            for ep in input.get("event_proofs").and_then(Value::as_array).ok_or("missing event_proofs")? {
                let proofs = hashes(ep, "proofs")?;
                let log_bytes =
                    mpt::prove(&logs_root, mpt::list_key(u64_of(ep, "index")?).as_bytes(), proofs.iter().map(|n| Ok(&n[..]))).map_err(|e| e.to_string())?;
                let log = EventLog::decode(log_bytes).map_err(|e| e.to_string())?;
                let indexed = log.indexed().map(|i| i.map(hex::encode)).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
                let mut event = serde_json::json!({"address": log.address.to_string(), "indexed": indexed});
                if let Some(m) = log.message().map_err(|e| e.to_string())? {
                    event["btp_message"] = btp_message_json(m.msg, false)?;
                }
                events.push(event);
            }
            expect.eq("events", events.into())?;
        }
        "btp_message" => {
            let m = btp_message_json(&hex_of(input, "btp_message")?, true)?;
            for key in ["src", "dst", "svc", "sn", "payload"] {
                expect.eq(key, m[key].clone())?;
            }
        }
        other => return Err(format!("unknown kind {other:?}")),
    }
    expect.finish()
}

/// The signers of a block update vector's votes. With `state.validators` the votes are checked as the BMV
/// checks them (membership, duplicates, quorum; with `state.check_next_validators_hash` the set must also be the
/// one the header names); without a set nothing can be checked for membership, so every vote is only
/// recovered.
fn block_update_signers(vector: &Value, header: &BlockHeader<'_>, votes: &[u8], signers: &mut Vec<IconAddress>) -> Result<(), BmvError> {
    const UNREADABLE: BmvError = BmvError::new(ErrorCode::Unknown, "state.validators is not a hex RLP list");
    let nid = vector.get("network").and_then(Value::as_str).and_then(network_id);
    let Some(state) = vector.get("state").filter(|s| s.get("validators").is_some()) else {
        let votes = CommitVotes::decode(votes)?;
        let mut message = VoteMessage::default();
        message.start(header.height, votes.round, &header.id, &votes.part_set_id);
        for item in votes.items() {
            let item = item?;
            let digest = sha3_256(message.with_timestamp(item.timestamp));
            signers.push(recover_address(&HostSecp256k1, &digest, item.signature).ok_or(BmvError::new(ErrorCode::InvalidVotes, "signature does not recover"))?);
        }
        return Ok(());
    };
    let list = hex_of(state, "validators").map_err(|_| UNREADABLE)?;
    let mut validators = ValidatorSet::decode(&list, &HostSecp256k1)?;
    if state.get("check_next_validators_hash").and_then(Value::as_bool) == Some(true) && header.next_validators_hash.as_ref() != Some(validators.hash()) {
        return Err(BmvError::new(ErrorCode::InvalidBlockUpdate, "the validator set is not the one the header names"));
    }
    let mut checker = VoteChecker::new(&HostSecp256k1, nid);
    verify_block_update(header, Some(votes), &mut validators, &mut checker, |s| signers.push(*s)).map(|_| ())
}

/// The goloop JSON form of a header (Go's `[]byte` as standard base64) must name the same fields.
fn check_header_json(h: &BlockHeader, json: &Value) -> Check<()> {
    let b64 = |key: &str| -> Check<Option<Vec<u8>>> {
        match json.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => base64::engine::general_purpose::STANDARD
                .decode(v.as_str().ok_or_else(|| format!("header_json.{key} is not a string"))?)
                .map(Some)
                .map_err(|e| format!("header_json.{key}: {e}")),
        }
    };
    let same = |key: &str, actual: Option<Vec<u8>>| -> Check<()> {
        if b64(key)? == actual {
            Ok(())
        } else {
            Err(format!("header_json.{key} differs from the header"))
        }
    };
    if json.get("Version").and_then(Value::as_i64) != Some(h.version.into())
        || json.get("Height").and_then(Value::as_i64) != Some(h.height)
        || json.get("Timestamp").and_then(Value::as_i64) != Some(h.timestamp)
    {
        return Err("header_json version, height or timestamp differs from the header".into());
    }
    same("Proposer", h.proposer.map(|p| p.to_vec()))?;
    same("PrevID", h.prev_id.map(|x| x.to_vec()))?;
    same("VotesHash", h.votes_hash.map(|x| x.to_vec()))?;
    same("NextValidatorsHash", h.next_validators_hash.map(|x| x.to_vec()))?;
    same("NormalTransactionsHash", h.normal_transactions_hash.map(|x| x.to_vec()))?;
    same("LogsBloom", Some(h.logs_bloom.to_vec()))?;
    let result = b64("Result")?.ok_or("header_json.Result missing")?;
    let receipt_root = Rlp::new(&result).and_then(|r| r.at_least::<3>()).ok().and_then(|([_, _, normal], _)| normal.bytes().ok().map(<[u8]>::to_vec));
    if receipt_root != h.result.normal_receipt_hash.map(|x| x.to_vec()) {
        return Err("header_json.Result names another receipt root".into());
    }
    for key in json.as_object().ok_or("header_json is not an object")?.keys() {
        if !["Version", "Height", "Timestamp", "Proposer", "PrevID", "VotesHash", "NextValidatorsHash", "NormalTransactionsHash", "LogsBloom", "Result"]
            .contains(&key.as_str())
        {
            return Err(format!("unread header_json field {key:?}"));
        }
    }
    Ok(())
}
