//! The parse: `json.loads`' scanner over the document's UTF-8 bytes, into a
//! [`Document`] of nodes in post-order (a container after its contents), so
//! that the build writes every block once, children first.
//!
//! Positions are byte offsets while scanning; an error converts its offset
//! to Python's code-point position ([`decode_error`]) only when it happens.
//! Every structural byte JSON has is ASCII, and a multi-byte character is
//! never mistaken for one, so the scanner takes each decision Python's
//! takes on the same text.

use vera_layout::heap::block_bytes;
use vera_layout::values::Payload;

use crate::bounds::{Exceeded, Meter};

use super::{Parsed, MAX_DEPTH};

/// One node of a parsed document, in post-order: a container follows its
/// contents; an object's contents are its entries' keys, each followed by
/// its value's nodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Node {
    Null,
    True,
    False,
    Num(f64),
    Str(Span),
    /// An object's key; its value's nodes follow.
    Key(Span),
    /// An array of this many values (the nodes before it).
    Arr(u32),
    /// An object of this many entries (duplicates included, in order).
    Obj(u32),
}

/// A decoded string: `len` bytes at `at` of the document's text, or of its
/// arena when the string had escapes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Span {
    at: u32,
    len: u32,
    decoded: bool,
}

impl Span {
    pub(super) fn len(self) -> u32 {
        self.len
    }
}

/// A parsed document, before it crosses into guest memory.
pub struct Document<'t> {
    text: &'t [u8],
    /// The strings that had escapes, decoded (WTF-8: a lone surrogate is
    /// its own 3-byte sequence, so keys compare as Python's do).
    arena: Vec<u8>,
    pub(super) nodes: Vec<Node>,
    /// The most build-stack words in use at once (a value takes one, a key
    /// two).
    pub(super) max_pending: usize,
    /// Guest bytes (headers included) the build allocates at most.
    pub(super) guest_bytes: u64,
}

impl Document<'_> {
    pub(super) fn bytes(&self, span: Span) -> &[u8] {
        let source = if span.decoded { &self.arena[..] } else { self.text };
        &source[span.at as usize..(span.at + span.len) as usize]
    }
}

/// Why a scan stopped.
pub(super) enum Fail {
    /// A `JSONDecodeError(msg, doc, pos)`, `pos` in bytes.
    Syntax(&'static str, usize),
    /// RecursionError, naming the container being decoded.
    Depth(&'static str),
    /// The parse ran past `--max-host-memory` or `--timeout`.
    Bound(Exceeded),
}

impl From<Exceeded> for Fail {
    fn from(e: Exceeded) -> Fail {
        Fail::Bound(e)
    }
}

type Scan<T> = std::result::Result<T, Fail>;

/// Nodes between two charges of the meter (the meter reads the clock
/// every [`Meter::EVERY`] charges).
const NODE_BATCH: usize = 256;

/// Guest bytes of each node's ADT block, as `build` allocates them.
const CONSTANT_BLOCK: u64 = block_bytes(super::CONSTANT_SIZE);
const JNUMBER_BLOCK: u64 = block_bytes(Payload::Wide(0).adt_size());
const JSTRING_BLOCK: u64 = block_bytes(Payload::Str(0, 0).adt_size());
const JARRAY_BLOCK: u64 = block_bytes(Payload::Str(0, 0).adt_size());
const JOBJECT_BLOCK: u64 = block_bytes(Payload::Word(0).adt_size());

/// Guest bytes of a string's own block (none for `""`).
const fn string_block(len: u32) -> u64 {
    if len == 0 {
        0
    } else {
        block_bytes(len)
    }
}

/// `s[i..i + 8]` as a little-endian word.
#[inline(always)]
fn word_at(s: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is below `n` (exact for the
/// lowest such byte, which is all a search needs).
#[inline(always)]
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * n as u64) & !w & HIGHS
}

#[inline(always)]
fn bytes_equal(w: u64, b: u8) -> u64 {
    bytes_below(w ^ (ONES * b as u64), 1)
}

/// The first index from `i` of a byte a JSON string cannot hold as it is:
/// `"`, `\` or a control character; `s.len()` if none.
#[inline]
pub(super) fn string_stop(s: &[u8], mut i: usize) -> usize {
    while i + 8 <= s.len() {
        let w = word_at(s, i);
        let hits = bytes_equal(w, b'"') | bytes_equal(w, b'\\') | bytes_below(w, 0x20);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && !matches!(s[i], b'"' | b'\\' | 0..=0x1f) {
        i += 1;
    }
    i
}

/// Exact powers of ten (every one below 2^53 times a power of two).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A float literal (without its sign; digits, an optional fraction and
/// exponent, as the scanner matched it) read the fast way where that is
/// exact: at most 15 significant digits and a power of ten up to 22, so
/// that the digits and the power are both exact doubles and one correctly
/// rounded multiplication or division gives the correctly rounded value
/// (Clinger's fast path). `None` for the rest, which the full reader takes.
fn fast_float(literal: &[u8], negative: bool) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut scale: i32 = 0;
    let mut i = 0;
    let mut in_fraction = false;
    while i < literal.len() {
        match literal[i] {
            d @ b'0'..=b'9' => {
                if mantissa != 0 || d != b'0' {
                    digits += 1;
                }
                mantissa = mantissa.wrapping_mul(10).wrapping_add((d - b'0') as u64);
                if in_fraction {
                    scale -= 1;
                }
            }
            b'.' => in_fraction = true,
            _ => break,
        }
        i += 1;
    }
    if digits > 15 {
        return None;
    }
    if i < literal.len() {
        // The exponent: `e`, a sign, digits (the scanner checked there is one).
        let rest = &literal[i + 1..];
        let (minus, exp_digits) = match rest.first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        if exp_digits.len() > 4 {
            return None;
        }
        let exp = exp_digits.iter().fold(0i32, |acc, &d| acc * 10 + (d - b'0') as i32);
        scale += if minus { -exp } else { exp };
    }
    let m = mantissa as f64;
    let magnitude = match scale {
        0 => m,
        1..=22 => m * POW10[scale as usize],
        -22..=-1 => m / POW10[(-scale) as usize],
        _ if mantissa == 0 => 0.0,
        _ => return None,
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn hex4(s: &[u8]) -> Option<u32> {
    s.iter()
        .try_fold(0u32, |acc, &c| Some(acc << 4 | (c as char).to_digit(16)?))
}

/// Appends code point `cp` as WTF-8 (a surrogate as its own 3 bytes).
pub(super) fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    match char::from_u32(cp) {
        Some(ch) => {
            let mut buf = [0; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        None => out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
    }
}

/// The first lone surrogate in WTF-8 `bytes` (valid UTF-8 has none).
pub(super) fn lone_surrogate(bytes: &[u8]) -> Option<u32> {
    let at = bytes.windows(2).position(|pair| pair[0] == 0xED && pair[1] >= 0xA0)?;
    let tail = bytes.get(at + 2).copied().unwrap_or(0x80);
    Some(0xD000 | ((bytes[at + 1] as u32 & 0x3F) << 6) | (tail as u32 & 0x3F))
}

struct Scanner<'t> {
    s: &'t [u8],
    arena: Vec<u8>,
    nodes: Vec<Node>,
    /// The first of `NaN`, `Infinity`, `-Infinity` met (Python's
    /// `parse_constant` hook records it and the parse goes on).
    constant: Option<&'static str>,
    /// A lone surrogate was decoded or a number overflowed: the document
    /// is refused unless an overwritten duplicate key held them all.
    out_of_domain: bool,
    pending: usize,
    max_pending: usize,
    guest_bytes: u64,
    meter: Meter,
    uncharged_nodes: usize,
}

impl Scanner<'_> {
    #[inline(always)]
    fn skip_ws(&self, mut idx: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(idx) {
            idx += 1;
        }
        idx
    }

    #[inline]
    fn emit(&mut self, node: Node, guest_bytes: u64) -> Scan<()> {
        self.nodes.push(node);
        self.guest_bytes += guest_bytes;
        self.uncharged_nodes += 1;
        if self.uncharged_nodes == NODE_BATCH {
            self.uncharged_nodes = 0;
            // The node vector's spare capacity too.
            self.meter.charge(2 * NODE_BATCH * std::mem::size_of::<Node>())?;
        }
        Ok(())
    }

    /// A value that takes `words` build-stack words.
    #[inline]
    fn push_pending(&mut self, words: usize) {
        self.pending += words;
        self.max_pending = self.max_pending.max(self.pending);
    }

    /// `scan_once`: the value at `idx`; "Expecting value" where none
    /// starts. Returns the index after it.
    fn value(&mut self, idx: usize, depth: usize) -> Scan<usize> {
        let s = self.s;
        let Some(&c) = s.get(idx) else {
            return Err(Fail::Syntax("Expecting value", idx));
        };
        let rest = &s[idx..];
        let (node, end) = match c {
            b'"' => {
                let (span, end) = self.string(idx + 1)?;
                self.push_pending(1);
                self.emit(Node::Str(span), string_block(span.len) + JSTRING_BLOCK)?;
                return Ok(end);
            }
            b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(Fail::Depth("object"));
                }
                return self.object(idx + 1, depth + 1);
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(Fail::Depth("array"));
                }
                return self.array(idx + 1, depth + 1);
            }
            b'n' if rest.starts_with(b"null") => (Node::Null, idx + 4),
            b't' if rest.starts_with(b"true") => (Node::True, idx + 4),
            b'f' if rest.starts_with(b"false") => (Node::False, idx + 5),
            b'N' if rest.starts_with(b"NaN") => self.constant("NaN", idx),
            b'I' if rest.starts_with(b"Infinity") => self.constant("Infinity", idx),
            b'-' if rest.starts_with(b"-Infinity") => self.constant("-Infinity", idx),
            _ => {
                let (value, end) = self.number(idx)?;
                (Node::Num(value), end)
            }
        };
        self.push_pending(1);
        let bytes = if matches!(node, Node::Num(_)) {
            JNUMBER_BLOCK
        } else {
            CONSTANT_BLOCK
        };
        self.emit(node, bytes)?;
        Ok(end)
    }

    fn constant(&mut self, name: &'static str, idx: usize) -> (Node, usize) {
        self.constant.get_or_insert(name);
        (Node::Num(0.0), idx + name.len())
    }

    /// `_match_number_unicode`, then `float(text)` or `float(int(text))`.
    fn number(&mut self, start: usize) -> Scan<(f64, usize)> {
        let s = self.s;
        let end = s.len() - 1;
        let digit = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
        let stop = Err(Fail::Syntax("Expecting value", start));
        let negative = s[start] == b'-';
        let mut idx = start + negative as usize;
        if idx > end {
            return stop;
        }
        let int_start = idx;
        match s[idx] {
            b'1'..=b'9' => {
                idx += 1;
                while idx <= end && digit(idx) {
                    idx += 1;
                }
            }
            b'0' => idx += 1,
            _ => return stop,
        }
        let int_digits = idx - int_start;
        let mut is_float = false;
        if idx < end && s[idx] == b'.' && digit(idx + 1) {
            is_float = true;
            idx += 2;
            while idx <= end && digit(idx) {
                idx += 1;
            }
        }
        if idx < end && (s[idx] == b'e' || s[idx] == b'E') {
            let e_start = idx;
            idx += 1;
            if idx < end && (s[idx] == b'-' || s[idx] == b'+') {
                idx += 1;
            }
            while idx <= end && digit(idx) {
                idx += 1;
            }
            if digit(idx - 1) {
                is_float = true;
            } else {
                idx = e_start;
            }
        }
        let value = if is_float {
            fast_float(&s[int_start..idx], negative).unwrap_or_else(|| {
                // ASCII digits, signs, '.', 'e': always UTF-8, always a
                // float literal Rust reads as Python does (correctly
                // rounded).
                std::str::from_utf8(&s[start..idx])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(f64::NAN)
            })
        } else if int_digits <= 15 {
            // Exact in an f64; float(int(...)) has no negative zero.
            let magnitude = s[int_start..idx]
                .iter()
                .fold(0u64, |acc, &d| acc * 10 + (d - b'0') as u64) as f64;
            if negative && magnitude != 0.0 {
                -magnitude
            } else {
                magnitude
            }
        } else if int_digits > 4300 {
            // Past Python's int() digit limit, whose ValueError vera run
            // 0.2.3 passes on; every such integer is past the f64 range, so
            // the spec's overflow sentence it gets here is the one the
            // 4300-digit case gets (fixtures/json_bigint_limit.correction.json).
            if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        } else {
            std::str::from_utf8(&s[start..idx])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(f64::NAN)
        };
        if value.is_infinite() {
            self.out_of_domain = true;
        }
        Ok((value, idx))
    }

    /// `scanstring`: the string whose opening quote is at `begin - 1`.
    /// Returns its span and the index after its closing quote.
    fn string(&mut self, begin: usize) -> Scan<(Span, usize)> {
        let s = self.s;
        let len = s.len();
        let quote = begin - 1;
        let stop = string_stop(s, begin);
        if stop < len && s[stop] == b'"' {
            let span = Span {
                at: begin as u32,
                len: (stop - begin) as u32,
                decoded: false,
            };
            return Ok((span, stop + 1));
        }
        // Escapes (or an error): decode into the arena.
        let arena_start = self.arena.len();
        let mut end = begin;
        let mut next = stop;
        loop {
            if next == len {
                return Err(Fail::Syntax("Unterminated string starting at", quote));
            }
            if s[next] < 0x20 {
                return Err(Fail::Syntax("Invalid control character at", next));
            }
            self.arena.extend_from_slice(&s[end..next]);
            if s[next] == b'"' {
                let decoded = self.arena.len() - arena_start;
                self.meter.charge(decoded)?;
                let span = Span {
                    at: arena_start as u32,
                    len: decoded as u32,
                    decoded: true,
                };
                return Ok((span, next + 1));
            }
            // A backslash.
            next += 1;
            if next == len {
                return Err(Fail::Syntax("Unterminated string starting at", quote));
            }
            let c = s[next];
            if c != b'u' {
                end = next + 1;
                let decoded = match c {
                    b'"' | b'\\' | b'/' => c,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    _ => return Err(Fail::Syntax("Invalid \\escape", end - 2)),
                };
                self.arena.push(decoded);
                next = string_stop(s, end);
                continue;
            }
            next += 1;
            end = next + 4;
            if end >= len {
                return Err(Fail::Syntax("Invalid \\uXXXX escape", next - 1));
            }
            let Some(mut cp) = hex4(&s[next..end]) else {
                return Err(Fail::Syntax("Invalid \\uXXXX escape", end - 5));
            };
            if (0xD800..=0xDBFF).contains(&cp) && end + 6 < len && s[end] == b'\\' && s[end + 1] == b'u' {
                let Some(low) = hex4(&s[end + 2..end + 6]) else {
                    return Err(Fail::Syntax("Invalid \\uXXXX escape", end + 1));
                };
                if (0xDC00..=0xDFFF).contains(&low) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    end += 6;
                }
            }
            if (0xD800..=0xDFFF).contains(&cp) {
                self.out_of_domain = true;
            }
            push_code_point(&mut self.arena, cp);
            next = string_stop(s, end);
        }
    }

    fn object(&mut self, idx: usize, depth: usize) -> Scan<usize> {
        let s = self.s;
        let mut idx = self.skip_ws(idx);
        let mut count: u32 = 0;
        if s.get(idx) != Some(&b'}') {
            loop {
                if s.get(idx) != Some(&b'"') {
                    return Err(Fail::Syntax("Expecting property name enclosed in double quotes", idx));
                }
                let (key, next) = self.string(idx + 1)?;
                self.push_pending(2);
                self.emit(Node::Key(key), string_block(key.len))?;
                idx = self.skip_ws(next);
                if s.get(idx) != Some(&b':') {
                    return Err(Fail::Syntax("Expecting ':' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
                idx = self.value(idx, depth)?;
                count += 1;
                idx = self.skip_ws(idx);
                match s.get(idx) {
                    Some(b'}') => break,
                    Some(b',') => idx = self.skip_ws(idx + 1),
                    _ => return Err(Fail::Syntax("Expecting ',' delimiter", idx)),
                }
            }
        }
        self.pending -= 3 * count as usize;
        self.push_pending(1);
        let map = vera_layout::collection::built_map_bytes(count);
        self.emit(Node::Obj(count), map + JOBJECT_BLOCK)?;
        Ok(idx + 1)
    }

    fn array(&mut self, idx: usize, depth: usize) -> Scan<usize> {
        let s = self.s;
        let mut idx = self.skip_ws(idx);
        let mut count: u32 = 0;
        if s.get(idx) != Some(&b']') {
            loop {
                idx = self.value(idx, depth)?;
                count += 1;
                idx = self.skip_ws(idx);
                match s.get(idx) {
                    Some(b']') => break,
                    Some(b',') => idx = self.skip_ws(idx + 1),
                    _ => return Err(Fail::Syntax("Expecting ',' delimiter", idx)),
                }
            }
        }
        self.pending -= count as usize;
        self.push_pending(1);
        let backing = if count == 0 { 0 } else { block_bytes(4 * count) };
        self.emit(Node::Arr(count), backing + JARRAY_BLOCK)?;
        Ok(idx + 1)
    }
}

/// `JSONDecodeError`'s text: `msg: line L column C (char P)`, with the
/// byte offset `at` counted in code points as Python counts.
fn decode_error(text: &str, msg: &str, at: usize) -> String {
    let before = &text.as_bytes()[..at.min(text.len())];
    let chars = |b: &[u8]| b.iter().filter(|&&c| (c as i8) >= -0x40).count();
    let pos = chars(before);
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let col = match before.iter().rposition(|&c| c == b'\n') {
        Some(nl) => chars(&before[nl..]),
        None => pos + 1,
    };
    format!("{msg}: line {line} column {col} (char {pos})")
}

/// `json_parse`'s decision for `text`, before anything is allocated, within
/// `meter`'s bounds.
pub fn parse_document(text: &str, mut meter: Meter) -> Result<Parsed<Document<'_>>, Exceeded> {
    meter.charge(text.len())?;
    let s = text.as_bytes();
    if s.starts_with("\u{feff}".as_bytes()) {
        return Ok(Parsed::Err(decode_error(
            text,
            "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            0,
        )));
    }
    let mut p = Scanner {
        s,
        arena: Vec::new(),
        nodes: Vec::with_capacity(s.len() / 8),
        constant: None,
        out_of_domain: false,
        pending: 0,
        max_pending: 0,
        guest_bytes: 0,
        meter,
        uncharged_nodes: 0,
    };
    let start = p.skip_ws(0);
    let scanned = p.value(start, 0).and_then(|end| {
        let end = p.skip_ws(end);
        if end != s.len() {
            return Err(Fail::Syntax("Extra data", end));
        }
        Ok(())
    });
    Ok(match scanned {
        Err(Fail::Bound(e)) => return Err(e),
        Err(Fail::Syntax(msg, at)) => Parsed::Err(decode_error(text, msg, at)),
        Err(Fail::Depth(what)) => Parsed::Trap(format!(
            "maximum recursion depth exceeded while decoding a JSON {what} from a unicode string"
        )),
        Ok(()) => match p.constant {
            Some(name) => Parsed::Err(super::non_finite_parse_message(name)),
            None => {
                let doc = Document {
                    text: s,
                    arena: p.arena,
                    nodes: p.nodes,
                    max_pending: p.max_pending,
                    guest_bytes: p.guest_bytes,
                };
                match p.out_of_domain {
                    // Python checks the decoded value, whose objects keep
                    // each key's last value only.
                    true => match super::first_violation(&doc.to_value()) {
                        Some(msg) => Parsed::Err(msg),
                        None => Parsed::Ok(doc),
                    },
                    false => Parsed::Ok(doc),
                }
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_stop_finds_the_first_special_byte() {
        let text = b"abcdefghijklmnop\"q";
        assert_eq!(string_stop(text, 0), 16);
        for special in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..20 {
                let mut s = vec![b'x'; 20];
                s.extend_from_slice("é✓".as_bytes());
                s[at] = special;
                assert_eq!(string_stop(&s, 0), at, "{special} at {at}");
            }
        }
        assert_eq!(string_stop("é✓ \u{7f}".as_bytes(), 0), 7);
    }

    #[test]
    fn fast_floats_are_the_correctly_rounded_ones() {
        for text in [
            "0.1",
            "1.5",
            "123.456",
            "5.5e-3",
            "549.904141",
            "1e22",
            "1e-22",
            "0.000001",
            "9.999999999999999",
            "123456789012345.6",
            "1.7976931348623157e308",
            "5e-324",
            "0.0",
            "0e5",
            "2.2250738585072014e-308",
            "4.35",
            "0.3",
            "1234567.891e-5",
            "12e+3",
            "7E2",
        ] {
            let full: f64 = text.parse().unwrap();
            if let Some(fast) = fast_float(text.as_bytes(), false) {
                assert_eq!(fast.to_bits(), full.to_bits(), "{text}");
            }
            if let Some(fast) = fast_float(text.as_bytes(), true) {
                assert_eq!(fast.to_bits(), (-full).to_bits(), "-{text}");
            }
        }
        assert!(fast_float(b"1.5", false).is_some());
        assert!(fast_float(b"1e400", false).is_none());
        assert!(fast_float(b"1.2345678901234567", false).is_none());
    }

    proptest::proptest! {
        #[test]
        fn fast_floats_agree_with_the_full_reader(int in 0u64..1_000_000_000, frac in "[0-9]{0,9}", e in -40i32..40) {
            let text = match frac.is_empty() {
                true => format!("{int}e{e}"),
                false => format!("{int}.{frac}e{e}"),
            };
            let full: f64 = text.parse().unwrap();
            if let Some(fast) = fast_float(text.as_bytes(), false) {
                proptest::prop_assert_eq!(fast.to_bits(), full.to_bits(), "{}", text);
            }
        }
    }

    #[test]
    fn lone_surrogates_are_found_in_wtf8() {
        let mut bytes = b"ab".to_vec();
        push_code_point(&mut bytes, 0xDC01);
        assert_eq!(lone_surrogate(&bytes), Some(0xDC01));
        assert_eq!(lone_surrogate("\u{FFFF}\u{D7FF}".as_bytes()), None);
    }
}
