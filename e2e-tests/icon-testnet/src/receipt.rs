//! Transaction receipts (v2: event logs in their own Merkle list) and event logs, as goloop encodes them.

use crate::mpt::MerkleList;
use btp_primitives::{
    rlp::{ListBuilder, Rlp, RlpError},
    IconAddress,
};
use icon_light_client::Hash;

/// An event log: `[address, [indexed…], [data…]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    pub address: IconAddress,
    pub indexed: Vec<Vec<u8>>,
    pub data: Vec<Vec<u8>>,
}

impl EventLog {
    pub fn encode(&self) -> Vec<u8> {
        let list = |items: &[Vec<u8>]| {
            let mut l = ListBuilder::new();
            items.iter().for_each(|i| {
                l.bytes(i);
            });
            l.finish()
        };
        ListBuilder::new().bytes(&self.address.0).raw(&list(&self.indexed)).raw(&list(&self.data)).finish()
    }

    /// The event ICON's BMC emits for a BTP message: `Message(str _next, int _seq, bytes _msg)`, two indexed.
    pub fn bmc_message(bmc: IconAddress, next: &str, seq: i128, msg: Vec<u8>) -> Self {
        Self {
            address: bmc,
            indexed: vec![icon_light_client::receipt::MESSAGE_EVENT.to_vec(), next.as_bytes().to_vec(), btp_primitives::rlp::signed_bytes(seq)],
            data: vec![msg],
        }
    }
}

/// A version-2 receipt (9 fields; the logs themselves are proven through `event_logs_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub status: i64,
    pub to: IconAddress,
    pub cumulative_step_used: u128,
    pub step_used: u128,
    pub step_price: u128,
    pub logs_bloom: Vec<u8>,
    pub score_address: Option<IconAddress>,
    pub event_logs: Vec<EventLog>,
}

impl Receipt {
    /// A successful call of `to` that emitted `event_logs`.
    pub fn success(to: IconAddress, event_logs: Vec<EventLog>) -> Self {
        Self {
            status: 0,
            to,
            cumulative_step_used: 100_000,
            step_used: 100_000,
            step_price: 12_500_000_000,
            logs_bloom: Vec::new(),
            score_address: None,
            event_logs,
        }
    }

    pub fn event_list(&self) -> MerkleList {
        let logs: Vec<Vec<u8>> = self.event_logs.iter().map(EventLog::encode).collect();
        MerkleList::new(&logs)
    }

    pub fn encode(&self) -> Vec<u8> {
        Self::encode_fields(
            self.status,
            &self.to,
            [self.cumulative_step_used, self.step_used, self.step_price],
            &self.logs_bloom,
            self.score_address.as_ref(),
            self.event_list().root(),
        )
    }

    fn encode_fields(status: i64, to: &IconAddress, steps: [u128; 3], bloom: &[u8], score: Option<&IconAddress>, logs_root: Option<Hash>) -> Vec<u8> {
        let mut l = ListBuilder::new();
        l.int(status.into()).bytes(&to.0);
        steps.iter().for_each(|s| {
            l.uint(*s);
        });
        l.bytes(bloom).null().nullable_bytes(score.map(|a| &a.0[..])).nullable_bytes(logs_root.as_ref().map(|h| &h[..]));
        l.finish()
    }

    /// Re-encodes a real receipt from its decoded fields (the event logs are not in it, only their root).
    pub fn reencode(bytes: &[u8]) -> Result<Vec<u8>, RlpError> {
        let [status, to, cumulative, step, price, bloom, logs, score, logs_root] = Rlp::new(bytes)?.fixed()?;
        if !logs.is_null() {
            return Err(RlpError::ExpectedBytes);
        }
        let address = |item: &Rlp<'_>| item.array::<21>().map(IconAddress);
        Ok(Self::encode_fields(
            status.i64()?,
            &address(&to)?,
            [cumulative.u128()?, step.u128()?, price.u128()?],
            bloom.bytes()?,
            if score.is_null() { None } else { Some(address(&score)?) }.as_ref(),
            logs_root.nullable_bytes()?.map(|b| b.try_into().map_err(|_| RlpError::ByteLength { expected: 32, found: b.len() })).transpose()?,
        ))
    }
}
