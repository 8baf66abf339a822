//! Messages of the native-coin service (`svc = "nativecoin"`): the envelope `[type, bytes(data)]` carrying a
//! transfer request or a response.

use crate::{
    message::MessageError,
    rlp::{ListBuilder, Rlp},
};
use alloc::{string::String, vec::Vec};

/// The service name the native-coin BSH registers under.
pub const SERVICE: &str = "nativecoin";

const REQUEST_COIN_TRANSFER: u8 = 0;
const RESPONSE_HANDLE_SERVICE: u8 = 2;
const UNKNOWN_TYPE: u8 = 3;

/// Response code for success.
pub const RC_OK: u32 = 0;
/// Response code for failure.
pub const RC_ERR: u32 = 1;

/// An amount of one coin. On the wire: `[coin name, value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub coin_name: String,
    pub value: u128,
}

/// `[from, to, [[coin, value], …]]`: `from` is the sender as text on its own chain, `to` the account part of
/// the destination BTP address, values after fees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub from: String,
    pub to: String,
    pub assets: Vec<Asset>,
}

/// `[code, message]`: [`RC_OK`] or [`RC_ERR`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferResponse {
    pub code: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceMessage {
    TransferRequest(TransferRequest),
    Response(TransferResponse),
    /// The peer did not know the type of a message we sent.
    UnknownTypeResponse(TransferResponse),
}

impl ServiceMessage {
    pub fn encode(&self) -> Vec<u8> {
        let (ty, data) = match self {
            Self::TransferRequest(r) => {
                let mut assets = ListBuilder::new();
                for a in &r.assets {
                    assets.raw(&ListBuilder::new().str(&a.coin_name).uint(a.value).finish());
                }
                (REQUEST_COIN_TRANSFER, ListBuilder::new().str(&r.from).str(&r.to).raw(&assets.finish()).finish())
            }
            Self::Response(r) => (RESPONSE_HANDLE_SERVICE, encode_response(r)),
            Self::UnknownTypeResponse(r) => (UNKNOWN_TYPE, encode_response(r)),
        };
        ListBuilder::new().uint(ty.into()).bytes(&data).finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let [ty, data] = Rlp::new(bytes)?.fixed()?;
        let ty = ty.i128()?;
        let data = data.nested()?;
        match ty {
            t if t == i128::from(REQUEST_COIN_TRANSFER) => {
                let [from, to, assets] = data.fixed()?;
                let assets = assets
                    .items()?
                    .iter()
                    .map(|a| {
                        let [name, value] = a.fixed()?;
                        Ok(Asset { coin_name: name.string()?, value: value.u128()? })
                    })
                    .collect::<Result<_, MessageError>>()?;
                Ok(Self::TransferRequest(TransferRequest { from: from.string()?, to: to.string()?, assets }))
            }
            t if t == i128::from(RESPONSE_HANDLE_SERVICE) => Ok(Self::Response(decode_response(&data)?)),
            t if t == i128::from(UNKNOWN_TYPE) => Ok(Self::UnknownTypeResponse(decode_response(&data)?)),
            other => Err(MessageError::UnknownServiceType(other)),
        }
    }
}

fn encode_response(r: &TransferResponse) -> Vec<u8> {
    ListBuilder::new().uint(r.code.into()).str(&r.message).finish()
}

fn decode_response(data: &Rlp<'_>) -> Result<TransferResponse, MessageError> {
    let [code, message] = data.fixed()?;
    let message = if message.is_null() { String::new() } else { message.string()? };
    Ok(TransferResponse { code: code.u32()?, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_matches_the_spec_appendix() {
        let m = ServiceMessage::Response(TransferResponse { code: RC_OK, message: "Transfer Success".into() });
        assert_eq!(hex::encode(m.encode()), "d50293d200905472616e736665722053756363657373");
        assert_eq!(ServiceMessage::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn transfer_request_matches_the_spec_appendix() {
        let from = format!("hx{}03", "0".repeat(38));
        let to = format!("0x{}04", "0".repeat(38));
        let m = ServiceMessage::TransferRequest(TransferRequest {
            from: from.clone(),
            to: to.clone(),
            assets: vec![Asset { coin_name: "ICX".into(), value: 999 }],
        });
        let expected = format!("f86400b861f85faa{}aa{}c8c7834943588203e7", hex::encode(&from), hex::encode(&to));
        assert_eq!(hex::encode(m.encode()), expected);
        assert_eq!(ServiceMessage::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn unknown_type_and_bad_values() {
        let m = ListBuilder::new().int(1).bytes(&ListBuilder::new().finish()).finish();
        assert_eq!(ServiceMessage::decode(&m), Err(MessageError::UnknownServiceType(1)));
        let assets = ListBuilder::new().raw(&ListBuilder::new().str("ICX").int(-5).finish()).finish();
        let data = ListBuilder::new().str("hx").str("to").raw(&assets).finish();
        let m = ListBuilder::new().int(0).bytes(&data).finish();
        assert!(matches!(ServiceMessage::decode(&m), Err(MessageError::Rlp(crate::rlp::RlpError::NegativeInteger))));
    }
}
