//! goloop's RLP variant ("RLPn").
//!
//! Differences from Ethereum RLP that matter on the wire:
//! * null is the two bytes `F8 00` (a long-form list header of length 0); it is a third kind of item,
//!   distinct from the empty byte string `80` and the empty list `C0`;
//! * integers are the shortest two's-complement big-endian bytes, so 0 is the byte `00` and 128 is `00 80`;
//! * a byte string may hold a complete encoding ("bytes(X)"), which [`Rlp::nested`] opens.
//!
//! Decoding works on borrowed views: nothing is copied or recursed into until asked for, so hostile nesting
//! cannot exhaust the stack, and every access checks its bounds.

use alloc::{string::String, vec::Vec};
use core::fmt;

/// Why a byte sequence is not the RLPn item that was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RlpError {
    /// The input ended before the item did.
    UnexpectedEnd,
    /// Bytes follow a complete item where none may.
    TrailingBytes,
    /// A single byte below `0x80` was wrapped in a one-byte string header.
    NonCanonicalSingleByte,
    /// A length was written in long form although it fits the short form, or with leading zero bytes.
    NonCanonicalLength,
    /// A length does not fit the machine's address space.
    LengthOverflow,
    /// A byte string was expected; a list or null was found.
    ExpectedBytes,
    /// A list was expected; a byte string or null was found.
    ExpectedList,
    /// A list has the wrong number of items.
    ItemCount { expected: usize, found: usize },
    /// A byte string has the wrong length.
    ByteLength { expected: usize, found: usize },
    /// An integer does not fit the requested type.
    IntegerOverflow,
    /// A negative integer where only non-negative ones are valid.
    NegativeInteger,
    /// A string is not UTF-8.
    InvalidUtf8,
}

impl fmt::Display for RlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("input ends inside an item"),
            Self::TrailingBytes => f.write_str("trailing bytes after the item"),
            Self::NonCanonicalSingleByte => f.write_str("single byte below 0x80 wrapped in a string header"),
            Self::NonCanonicalLength => f.write_str("length not in its shortest form"),
            Self::LengthOverflow => f.write_str("length too large"),
            Self::ExpectedBytes => f.write_str("expected a byte string"),
            Self::ExpectedList => f.write_str("expected a list"),
            Self::ItemCount { expected, found } => write!(f, "expected {expected} list items, found {found}"),
            Self::ByteLength { expected, found } => write!(f, "expected {expected} bytes, found {found}"),
            Self::IntegerOverflow => f.write_str("integer out of range"),
            Self::NegativeInteger => f.write_str("negative integer"),
            Self::InvalidUtf8 => f.write_str("string is not UTF-8"),
        }
    }
}

pub type Result<T> = core::result::Result<T, RlpError>;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bytes,
    List,
    Null,
}

/// A decoded view of one RLPn item inside a borrowed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlp<'a> {
    kind: Kind,
    payload: &'a [u8],
    raw: &'a [u8],
}

fn read_length(bytes: &[u8]) -> Result<usize> {
    if bytes.first() == Some(&0) {
        return Err(RlpError::NonCanonicalLength);
    }
    if bytes.len() > core::mem::size_of::<usize>() {
        return Err(RlpError::LengthOverflow);
    }
    Ok(bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
}

/// The empty byte string.
impl Default for Rlp<'_> {
    fn default() -> Self {
        Rlp { kind: Kind::Bytes, payload: &[], raw: &[0x80] }
    }
}

impl<'a> Rlp<'a> {
    /// Decodes `input` as exactly one item.
    pub fn new(input: &'a [u8]) -> Result<Self> {
        let (item, rest) = Self::split(input)?;
        if !rest.is_empty() {
            return Err(RlpError::TrailingBytes);
        }
        Ok(item)
    }

    /// Splits the first item off `input`, returning it and what follows.
    pub fn split(input: &'a [u8]) -> Result<(Self, &'a [u8])> {
        let prefix = *input.first().ok_or(RlpError::UnexpectedEnd)?;
        // Arithmetic on the prefix stays within its match arm's range, so wrapping operations cannot wrap.
        let (kind, header_len, payload_len) = match prefix {
            0x00..=0x7f => (Kind::Bytes, 0, 1),
            0x80..=0xb7 => (Kind::Bytes, 1, usize::from(prefix.wrapping_sub(0x80))),
            0xb8..=0xbf => {
                let len_of_len = usize::from(prefix.wrapping_sub(0xb7));
                let len = read_length(input.get(1..=len_of_len).ok_or(RlpError::UnexpectedEnd)?)?;
                if len <= 55 {
                    return Err(RlpError::NonCanonicalLength);
                }
                (Kind::Bytes, len_of_len.wrapping_add(1), len)
            }
            0xc0..=0xf7 => (Kind::List, 1, usize::from(prefix.wrapping_sub(0xc0))),
            0xf8..=0xff => {
                if prefix == 0xf8 && input.get(1) == Some(&0) {
                    let raw = &input[..2];
                    return Ok((Rlp { kind: Kind::Null, payload: &raw[2..], raw }, &input[2..]));
                }
                let len_of_len = usize::from(prefix.wrapping_sub(0xf7));
                let len = read_length(input.get(1..=len_of_len).ok_or(RlpError::UnexpectedEnd)?)?;
                if len <= 55 {
                    return Err(RlpError::NonCanonicalLength);
                }
                (Kind::List, len_of_len.wrapping_add(1), len)
            }
        };
        let end = header_len.checked_add(payload_len).ok_or(RlpError::LengthOverflow)?;
        if end > input.len() {
            return Err(RlpError::UnexpectedEnd);
        }
        let payload = &input[header_len..end];
        if prefix == 0x81 && payload[0] < 0x80 {
            return Err(RlpError::NonCanonicalSingleByte);
        }
        Ok((Rlp { kind, payload, raw: &input[..end] }, &input[end..]))
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }

    /// The item's complete encoding, header included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The content of a byte string.
    pub fn bytes(&self) -> Result<&'a [u8]> {
        match self.kind {
            Kind::Bytes => Ok(self.payload),
            _ => Err(RlpError::ExpectedBytes),
        }
    }

    /// The content of a byte string, or `None` for null.
    pub fn nullable_bytes(&self) -> Result<Option<&'a [u8]>> {
        if self.is_null() {
            Ok(None)
        } else {
            self.bytes().map(Some)
        }
    }

    /// A byte string of exactly `N` bytes.
    pub fn array<const N: usize>(&self) -> Result<[u8; N]> {
        let b = self.bytes()?;
        b.try_into().map_err(|_| RlpError::ByteLength { expected: N, found: b.len() })
    }

    /// The item a byte string contains ("bytes(X)").
    pub fn nested(&self) -> Result<Rlp<'a>> {
        Rlp::new(self.bytes()?)
    }

    /// An iterator over a list's items.
    pub fn iter(&self) -> Result<ListIter<'a>> {
        match self.kind {
            Kind::List => Ok(ListIter { rest: self.payload }),
            _ => Err(RlpError::ExpectedList),
        }
    }

    /// A list's items.
    pub fn items(&self) -> Result<Vec<Rlp<'a>>> {
        self.iter()?.collect()
    }

    /// A list's items, or an empty vector for null (goloop writes a nil list as null).
    pub fn nullable_items(&self) -> Result<Vec<Rlp<'a>>> {
        self.nullable_iter()?.collect()
    }

    /// An iterator over a list's items, or over none for null: decoders map each item as it comes, so malformed
    /// input fails at its first bad item instead of after every item was collected.
    pub fn nullable_iter(&self) -> Result<ListIter<'a>> {
        if self.is_null() {
            Ok(ListIter { rest: &[] })
        } else {
            self.iter()
        }
    }

    /// A list of exactly `N` items.
    pub fn fixed<const N: usize>(&self) -> Result<[Rlp<'a>; N]> {
        let (head, mut rest) = self.at_least::<N>()?;
        match rest.next() {
            None => Ok(head),
            // Counting stops at the first item too many: a list of 30 000 items costs no more than one of N + 1.
            Some(_) => Err(RlpError::ItemCount { expected: N, found: N.saturating_add(1) }),
        }
    }

    /// The first `N` items and an iterator over the rest, which is not read until asked.
    pub fn at_least<const N: usize>(&self) -> Result<([Rlp<'a>; N], ListIter<'a>)> {
        let mut iter = self.iter()?;
        let mut head = [Rlp::default(); N];
        for (found, slot) in head.iter_mut().enumerate() {
            *slot = iter.next().ok_or(RlpError::ItemCount { expected: N, found })??;
        }
        Ok((head, iter))
    }

    pub fn str(&self) -> Result<&'a str> {
        core::str::from_utf8(self.bytes()?).map_err(|_| RlpError::InvalidUtf8)
    }

    pub fn string(&self) -> Result<String> {
        self.str().map(String::from)
    }

    /// A signed integer (see [`signed_from_bytes`]).
    pub fn i128(&self) -> Result<i128> {
        signed_from_bytes(self.bytes()?)
    }

    /// A non-negative integer (see [`unsigned_from_bytes`]).
    pub fn u128(&self) -> Result<u128> {
        unsigned_from_bytes(self.bytes()?)
    }

    pub fn u64(&self) -> Result<u64> {
        u64::try_from(self.u128()?).map_err(|_| RlpError::IntegerOverflow)
    }

    pub fn i64(&self) -> Result<i64> {
        i64::try_from(self.i128()?).map_err(|_| RlpError::IntegerOverflow)
    }

    pub fn u32(&self) -> Result<u32> {
        u32::try_from(self.u128()?).map_err(|_| RlpError::IntegerOverflow)
    }

    pub fn i32(&self) -> Result<i32> {
        i32::try_from(self.i128()?).map_err(|_| RlpError::IntegerOverflow)
    }
}

/// Reads a signed big-endian two's-complement integer as goloop does: the empty string is 0 and redundant
/// sign bytes are tolerated.
pub fn signed_from_bytes(b: &[u8]) -> Result<i128> {
    let Some(first) = b.first() else { return Ok(0) };
    let sign = if first & 0x80 != 0 { 0xff } else { 0x00 };
    let cut = b.len().saturating_sub(16);
    if b[..cut].iter().any(|x| *x != sign) {
        return Err(RlpError::IntegerOverflow);
    }
    let mut buf = [sign; 16];
    let tail = &b[cut..];
    let at = buf.len().checked_sub(tail.len()).ok_or(RlpError::IntegerOverflow)?;
    buf[at..].copy_from_slice(tail);
    let v = i128::from_be_bytes(buf);
    // A value taken from the last 16 bytes must still carry the sign of the whole encoding.
    if (v < 0) != (sign == 0xff) {
        return Err(RlpError::IntegerOverflow);
    }
    Ok(v)
}

/// Reads a non-negative integer as goloop writes unsigned quantities (a leading `00` when the top bit is set);
/// the empty string is 0.
pub fn unsigned_from_bytes(b: &[u8]) -> Result<u128> {
    if b.first().is_some_and(|f| f & 0x80 != 0) {
        return Err(RlpError::NegativeInteger);
    }
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    let digits = &b[start..];
    if digits.len() > 16 {
        return Err(RlpError::IntegerOverflow);
    }
    let mut buf = [0u8; 16];
    let at = buf.len().checked_sub(digits.len()).ok_or(RlpError::IntegerOverflow)?;
    buf[at..].copy_from_slice(digits);
    Ok(u128::from_be_bytes(buf))
}

/// Iterates the items of a list; yields an error (and then stops) at the first malformed item.
#[derive(Debug, Clone, Default)]
pub struct ListIter<'a> {
    rest: &'a [u8],
}

impl<'a> ListIter<'a> {
    /// Checks that the items not yet read are well-formed and returns their encodings, back to back.
    pub fn checked_rest(self) -> Result<&'a [u8]> {
        let rest = self.rest;
        for item in self {
            item?;
        }
        Ok(rest)
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Result<Rlp<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Rlp::split(self.rest) {
            Ok((item, rest)) => {
                self.rest = rest;
                Some(Ok(item))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// A byte-string or list header for a payload of `len` bytes, on the stack: (bytes, length).
fn header(short_base: u8, len: usize) -> ([u8; 9], usize) {
    let mut out = [0u8; 9];
    match u8::try_from(len) {
        // At most 55: the sum stays below the long-form prefixes.
        Ok(short) if short <= 55 => {
            out[0] = short_base.wrapping_add(short);
            (out, 1)
        }
        _ => {
            let be = len.to_be_bytes();
            let skip = be.iter().position(|b| *b != 0).unwrap_or(be.len().saturating_sub(1));
            let digits = &be[skip..];
            // At most 8 length bytes: 55 + 8 stays within the prefix range.
            let len_of_len = u8::try_from(digits.len()).unwrap_or(8);
            out[0] = short_base.wrapping_add(55).wrapping_add(len_of_len);
            out[1..=digits.len()].copy_from_slice(digits);
            (out, digits.len().wrapping_add(1))
        }
    }
}

/// Appends a byte-string or list header for a payload of `len` bytes.
fn write_header(out: &mut Vec<u8>, short_base: u8, len: usize) {
    let (bytes, n) = header(short_base, len);
    out.extend_from_slice(&bytes[..n]);
}

/// Appends `data` as a byte string.
pub fn write_bytes(out: &mut Vec<u8>, data: &[u8]) {
    if let [b] = data {
        if *b < 0x80 {
            out.push(*b);
            return;
        }
    }
    write_header(out, 0x80, data.len());
    out.extend_from_slice(data);
}

/// Appends the null item `F8 00`.
pub fn write_null(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xf8, 0x00]);
}

/// Appends a list whose items are already encoded in `payload`.
pub fn write_list(out: &mut Vec<u8>, payload: &[u8]) {
    write_header(out, 0xc0, payload.len());
    out.extend_from_slice(payload);
}

/// The encoding of one integer item, on the stack: encoders that run per vote or per proof node must not
/// allocate (a contract's bump allocator never frees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntItem {
    buf: [u8; 18],
    len: u8,
}

impl IntItem {
    /// Header byte then the content digits, which sit at the end of `digits`.
    fn from_digits(digits: &[u8]) -> Self {
        let mut buf = [0u8; 18];
        let len = match digits {
            [b] if *b < 0x80 => {
                buf[0] = *b;
                1
            }
            _ => {
                // At most 17 digits: the header is a short one.
                buf[0] = 0x80u8.wrapping_add(u8::try_from(digits.len()).unwrap_or(0));
                buf[1..=digits.len()].copy_from_slice(digits);
                digits.len().wrapping_add(1)
            }
        };
        Self { buf, len: u8::try_from(len).unwrap_or(0) }
    }

    /// A signed integer as goloop writes it: the shortest two's-complement bytes (0 → `00`).
    pub fn signed(v: i128) -> Self {
        let be = v.to_be_bytes();
        // A leading byte is redundant when it only repeats the sign of the next one; at least one byte stays.
        let start = be.windows(2).take_while(|w| (w[0] == 0x00 && w[1] & 0x80 == 0) || (w[0] == 0xff && w[1] & 0x80 != 0)).count();
        Self::from_digits(&be[start..])
    }

    /// A non-negative integer as goloop writes it: minimal, with a leading `00` when the top bit is set.
    pub fn unsigned(v: u128) -> Self {
        let mut be = [0u8; 17];
        be[1..].copy_from_slice(&v.to_be_bytes());
        let first = be[1..].iter().position(|b| *b != 0).unwrap_or(15).wrapping_add(1);
        let start = if be[first] & 0x80 != 0 { first.wrapping_sub(1) } else { first };
        Self::from_digits(&be[start..])
    }

    /// The complete item: header and content.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The content without its header.
    pub fn content(&self) -> &[u8] {
        match self.len {
            1 => &self.buf[..1],
            n => &self.buf[1..usize::from(n)],
        }
    }
}

/// The shortest two's-complement bytes of a signed integer (0 → `00`).
pub fn signed_bytes(v: i128) -> Vec<u8> {
    IntItem::signed(v).content().to_vec()
}

/// The bytes goloop writes for a non-negative integer: minimal, with a leading `00` when the top bit is set.
pub fn unsigned_bytes(v: u128) -> Vec<u8> {
    IntItem::unsigned(v).content().to_vec()
}

/// Appends a list header for a payload of `len` bytes.
pub fn write_list_header(out: &mut Vec<u8>, len: usize) {
    write_header(out, 0xc0, len);
}

/// Builds one list item by item.
#[derive(Debug, Default, Clone)]
pub struct ListBuilder {
    payload: Vec<u8>,
}

impl ListBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bytes(&mut self, data: &[u8]) -> &mut Self {
        write_bytes(&mut self.payload, data);
        self
    }

    pub fn nullable_bytes(&mut self, data: Option<&[u8]>) -> &mut Self {
        match data {
            Some(d) => write_bytes(&mut self.payload, d),
            None => write_null(&mut self.payload),
        }
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub fn int(&mut self, v: i128) -> &mut Self {
        self.raw(IntItem::signed(v).as_bytes())
    }

    pub fn uint(&mut self, v: u128) -> &mut Self {
        self.raw(IntItem::unsigned(v).as_bytes())
    }

    pub fn null(&mut self) -> &mut Self {
        write_null(&mut self.payload);
        self
    }

    /// Appends an item that is already encoded (a nested list, say).
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.payload.extend_from_slice(encoded);
        self
    }

    /// Appends a list whose items `build` appends, in place: no second buffer.
    pub fn list(&mut self, build: impl FnOnce(&mut Self)) -> &mut Self {
        let start = self.payload.len();
        build(self);
        let end = self.payload.len();
        let (bytes, n) = header(0xc0, end.saturating_sub(start));
        self.payload.extend_from_slice(&bytes[..n]);
        self.payload.copy_within(start..end, start.saturating_add(n));
        self.payload[start..start.saturating_add(n)].copy_from_slice(&bytes[..n]);
        self
    }

    /// The items appended so far, without the list header.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Empties the list, keeping its buffer.
    pub fn clear(&mut self) {
        self.payload.clear();
    }

    /// An empty list whose items will take about `len` bytes: built in one allocation (a contract's allocator
    /// never frees what a growing buffer leaves behind).
    pub fn with_capacity(len: usize) -> Self {
        Self { payload: Vec::with_capacity(len.saturating_add(9)) }
    }

    /// The encoding of the list, in the builder's own buffer: the header is put in front in place.
    pub fn into_list(mut self) -> Vec<u8> {
        let end = self.payload.len();
        let (bytes, n) = header(0xc0, end);
        self.payload.extend_from_slice(&bytes[..n]);
        self.payload.copy_within(0..end, n);
        self.payload[..n].copy_from_slice(&bytes[..n]);
        self.payload
    }

    /// The encoding of the list.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len().saturating_add(9));
        write_list(&mut out, &self.payload);
        out
    }
}

/// The encoding of a list of strings.
pub fn string_list<S: AsRef<str>>(items: &[S]) -> Vec<u8> {
    let mut l = ListBuilder::new();
    for s in items {
        l.str(s.as_ref());
    }
    l.finish()
}

/// The encoding of a single integer item.
pub fn encode_int(v: i128) -> Vec<u8> {
    IntItem::signed(v).as_bytes().to_vec()
}

/// The encoding of a single non-negative integer item.
pub fn encode_uint(v: u128) -> Vec<u8> {
    IntItem::unsigned(v).as_bytes().to_vec()
}

/// The encoding of a single byte string.
pub fn encode_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_bytes(&mut out, data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_built_in_place_is_the_finished_list() {
        for len in [0usize, 10, 55, 56, 300, 70_000] {
            let mut b = ListBuilder::with_capacity(len + 8);
            b.bytes(&vec![0x42; len]).uint(7);
            let finished = b.finish();
            let cap = b.payload.capacity();
            let built = b.into_list();
            assert_eq!(built, finished, "payload of {len} bytes");
            assert_eq!(built.capacity(), cap, "no second buffer for a payload of {len} bytes");
        }
    }
    use alloc::vec;

    fn hex(s: &str) -> Vec<u8> {
        ::hex::decode(s).unwrap()
    }

    #[test]
    fn integers_match_the_spec_appendix() {
        for (v, h) in [
            (0i128, "00"),
            (1, "01"),
            (127, "7f"),
            (128, "820080"),
            (255, "8200ff"),
            (256, "820100"),
            (-1, "81ff"),
            (-2, "81fe"),
            (-128, "8180"),
            (-129, "82ff7f"),
            (1_000_000_000_000_000_000, "880de0b6b3a7640000"),
        ] {
            assert_eq!(::hex::encode(encode_int(v)), h, "encode {v}");
            assert_eq!(Rlp::new(&hex(h)).unwrap().i128().unwrap(), v, "decode {h}");
            if v >= 0 {
                assert_eq!(::hex::encode(encode_uint(v as u128)), h, "encode unsigned {v}");
                assert_eq!(Rlp::new(&hex(h)).unwrap().u128().unwrap(), v as u128);
            }
        }
    }

    #[test]
    fn extreme_integers_round_trip() {
        for v in [i128::MIN, i128::MAX, i128::MIN + 1, -(1 << 64), 1 << 64] {
            assert_eq!(Rlp::new(&encode_int(v)).unwrap().i128().unwrap(), v);
        }
        let enc = encode_uint(u128::MAX);
        assert_eq!(enc.len(), 18, "u128::MAX needs a leading zero byte: 0x91 00 ff..");
        assert_eq!(Rlp::new(&enc).unwrap().u128().unwrap(), u128::MAX);
        assert_eq!(Rlp::new(&enc).unwrap().i128(), Err(RlpError::IntegerOverflow));
    }

    #[test]
    fn integer_errors_are_precise() {
        // goloop's reader takes the empty string as 0 (real vote lists re-serialised by other encoders have it).
        assert_eq!(Rlp::new(&hex("80")).unwrap().i128(), Ok(0));
        assert_eq!(Rlp::new(&hex("80")).unwrap().u64(), Ok(0));
        assert_eq!(Rlp::new(&hex("81ff")).unwrap().u128(), Err(RlpError::NegativeInteger));
        assert_eq!(Rlp::new(&hex("8201ff")).unwrap().u32().unwrap(), 0x1ff);
        assert_eq!(Rlp::new(&hex("850100000000")).unwrap().u32(), Err(RlpError::IntegerOverflow));
        let mut seventeen = vec![0x91, 0x01];
        seventeen.extend_from_slice(&[0; 16]);
        assert_eq!(Rlp::new(&seventeen).unwrap().i128(), Err(RlpError::IntegerOverflow));
        assert_eq!(Rlp::new(&seventeen).unwrap().u128(), Err(RlpError::IntegerOverflow));
        // Redundant sign extension is read as goloop reads it.
        assert_eq!(Rlp::new(&hex("830000ff")).unwrap().i128().unwrap(), 255);
        assert_eq!(Rlp::new(&hex("82ffff")).unwrap().i128().unwrap(), -1);
    }

    #[test]
    fn null_is_distinct_from_empty_bytes_and_empty_list() {
        let null_bytes = hex("f800");
        let null = Rlp::new(&null_bytes).unwrap();
        assert!(null.is_null());
        assert_eq!(null.nullable_bytes().unwrap(), None);
        assert_eq!(null.bytes(), Err(RlpError::ExpectedBytes));
        assert_eq!(null.items(), Err(RlpError::ExpectedList));
        assert!(null.nullable_items().unwrap().is_empty());
        assert_eq!(Rlp::new(&hex("80")).unwrap().nullable_bytes().unwrap(), Some(&[][..]));
        assert_eq!(Rlp::new(&hex("c0")).unwrap().items().unwrap(), vec![]);
        let mut out = Vec::new();
        write_null(&mut out);
        assert_eq!(out, hex("f800"));
    }

    #[test]
    fn strings_lists_and_nesting() {
        assert_eq!(encode_bytes(b""), hex("80"));
        assert_eq!(::hex::encode(ListBuilder::new().int(21).str("Unreachable").finish()), "cd158b556e726561636861626c65");
        let init = ListBuilder::new().raw(&hex("c0")).finish();
        assert_eq!(init, hex("c1c0"));
        let bmc = ListBuilder::new().str("Init").bytes(&init).finish();
        assert_eq!(::hex::encode(&bmc), "c884496e697482c1c0");
        let item = Rlp::new(&bmc).unwrap();
        let [ty, payload] = item.fixed().unwrap();
        assert_eq!(ty.str().unwrap(), "Init");
        let inner = payload.nested().unwrap();
        assert_eq!(inner.items().unwrap().len(), 1);
        assert_eq!(item.raw(), &bmc[..]);
    }

    #[test]
    fn long_forms_round_trip() {
        for len in [55usize, 56, 255, 256, 70_000] {
            let data = vec![0xabu8; len];
            let enc = encode_bytes(&data);
            assert_eq!(Rlp::new(&enc).unwrap().bytes().unwrap(), &data[..]);
            let list = ListBuilder::new().bytes(&data).finish();
            assert_eq!(Rlp::new(&list).unwrap().items().unwrap()[0].bytes().unwrap(), &data[..]);
        }
    }

    #[test]
    fn malformed_input_gets_precise_errors() {
        assert_eq!(Rlp::new(&[]), Err(RlpError::UnexpectedEnd));
        assert_eq!(Rlp::new(&hex("8105")), Err(RlpError::NonCanonicalSingleByte));
        assert_eq!(Rlp::new(&hex("b801ff")), Err(RlpError::NonCanonicalLength));
        assert_eq!(Rlp::new(&hex("b90038")), Err(RlpError::NonCanonicalLength));
        assert_eq!(Rlp::new(&hex("f801c0")), Err(RlpError::NonCanonicalLength));
        assert_eq!(Rlp::new(&hex("b800")), Err(RlpError::NonCanonicalLength));
        assert_eq!(Rlp::new(&hex("83aabb")), Err(RlpError::UnexpectedEnd));
        assert_eq!(Rlp::new(&hex("c3")), Err(RlpError::UnexpectedEnd));
        assert_eq!(Rlp::new(&hex("0102")), Err(RlpError::TrailingBytes));
        assert_eq!(Rlp::new(&hex("f800ff")), Err(RlpError::TrailingBytes));
        assert_eq!(Rlp::new(&hex("bfffffffffffffffff")), Err(RlpError::LengthOverflow));
        assert_eq!(Rlp::new(&hex("bf7fffffffffffffff")), Err(RlpError::UnexpectedEnd));
        assert_eq!(Rlp::new(&hex("c1c1")).unwrap().items(), Err(RlpError::UnexpectedEnd));
        assert_eq!(Rlp::new(&hex("c20102")).unwrap().fixed::<3>().err(), Some(RlpError::ItemCount { expected: 3, found: 2 }));
        assert_eq!(Rlp::new(&hex("82c3a9")).unwrap().str().unwrap(), "é");
        assert_eq!(Rlp::new(&hex("81ff")).unwrap().str(), Err(RlpError::InvalidUtf8));
        assert_eq!(Rlp::new(&hex("8101")), Err(RlpError::NonCanonicalSingleByte));
        assert_eq!(Rlp::new(&hex("820102")).unwrap().array::<3>(), Err(RlpError::ByteLength { expected: 3, found: 2 }));
    }

    #[test]
    fn nested_lists_are_built_in_place() {
        let mut inner = ListBuilder::new();
        inner.int(7).bytes(&[0xaa; 60]);
        let expected = ListBuilder::new().str("x").raw(&inner.finish()).int(1).finish();
        let mut l = ListBuilder::new();
        l.str("x").list(|l| {
            l.int(7).bytes(&[0xaa; 60]);
        });
        assert_eq!(l.int(1).finish(), expected);
        l.clear();
        assert_eq!(l.payload(), &[] as &[u8]);
    }

    #[test]
    fn at_least_splits_optional_tail() {
        let l = ListBuilder::new().int(1).int(2).int(3).finish();
        let r = Rlp::new(&l).unwrap();
        let ([a, b], rest) = r.at_least::<2>().unwrap();
        assert_eq!((a.i64().unwrap(), b.i64().unwrap(), rest.count()), (1, 2, 1));
        assert!(r.at_least::<4>().is_err());
    }

    #[test]
    fn fixed_arity_reads_stop_after_one_item_too_many() {
        let mut flat = ListBuilder::new();
        for _ in 0..30_000 {
            flat.int(1);
        }
        let flat = flat.finish();
        let r = Rlp::new(&flat).unwrap();
        assert_eq!(r.fixed::<3>().err(), Some(RlpError::ItemCount { expected: 3, found: 4 }));
        let (_, rest) = r.at_least::<2>().unwrap();
        assert_eq!(rest.count(), 29_998, "the tail is read only when asked");
    }
}
