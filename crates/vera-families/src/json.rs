//! `Json`: `json_parse` and `json_stringify`, as Vera 0.2.3 does them.
//!
//! `json_parse` is Python's `json.loads` (the C scanner) followed by Vera's
//! accept-domain gates: the same error messages and positions (in code
//! points, `Expecting value: line 1 column 2 (char 1)`), integers without
//! fraction or exponent converted like `float(int)` (so `-0` is `+0.0`),
//! duplicate keys keeping the first key's place and the last value, the
//! JavaScript constants refused after a successful parse, then overflowing
//! numbers and lone surrogates refused in document order. The parser is
//! hand-written for those messages; nesting deeper than [`MAX_DEPTH`]
//! traps with Python's RecursionError text. The result is built straight
//! into guest memory: every JObject's `Map<String, Json>` comes from
//! `Heap::build_string_map` (a bucket built by `collection::from_entries`,
//! or, for a Vera 0.2.4+ module that keeps its own maps, the module's
//! `map_from_arrays$ks_vb`), everything built so far stays reachable from
//! a rooted block while more is allocated.
//!
//! `json_stringify` walks the guest tree (JObject maps in insertion order)
//! and writes Vera's canonical form: compact separators, numbers as
//! ECMAScript's Number::toString, strings escaped as
//! `json.dumps(ensure_ascii=False)`. A non-finite number traps with Vera's
//! sentence.
//!
//! Json ADT tags: JNull 0, JBool 1 (i32 @+4), JNumber 2 (f64 @+8),
//! JString 3 (ptr, len @+4), JArray 4 (ptr, len @+4; 4-byte cells),
//! JObject 5 (Map wrapper @+4).

use std::collections::HashMap;

use vera_layout::values::{self, Payload};
use vera_layout::{mem, Field, GuestError, GuestResult, Heap, Tag};

use crate::bounds::{Exceeded, Meter};

const JNULL: u32 = 0;
const JBOOL: u32 = 1;
const JNUMBER: u32 = 2;
const JSTRING: u32 = 3;
const JARRAY: u32 = 4;
const JOBJECT: u32 = 5;

/// Deepest container nesting accepted by parse and stringify (Python's
/// recursion limit stops Vera 0.2.3 a little below 1000).
pub const MAX_DEPTH: usize = 1000;

/// A decoded string: WTF-8 bytes (a lone surrogate keeps its own 3-byte
/// encoding, so keys compare as Python's do) and the first lone surrogate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JStr {
    bytes: Vec<u8>,
    lone: Option<u32>,
}

impl JStr {
    /// The text, a lone surrogate as U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn push(&mut self, cp: u32) {
        match char::from_u32(cp) {
            Some(ch) => {
                let mut buf = [0; 4];
                self.bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            None => {
                self.lone.get_or_insert(cp);
                self.bytes.extend_from_slice(&[
                    0xE0 | (cp >> 12) as u8,
                    0x80 | ((cp >> 6) & 0x3F) as u8,
                    0x80 | (cp & 0x3F) as u8,
                ]);
            }
        }
    }
}

/// A parsed document before it crosses into guest memory.
#[derive(Clone, Debug, PartialEq)]
pub enum JVal {
    Null,
    Bool(bool),
    Num(f64),
    Str(JStr),
    Arr(Vec<JVal>),
    Obj(Vec<(JStr, JVal)>),
}

/// What `json_parse` answers.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Ok(JVal),
    /// `Err(message)` for the program.
    Err(String),
    /// The run ends (Python raised something `json_parse` does not catch).
    Trap(String),
}

enum Fail {
    /// A `JSONDecodeError(msg, doc, pos)`.
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

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn hex4(s: &[char]) -> Option<u32> {
    s.iter().try_fold(0u32, |acc, c| Some(acc << 4 | c.to_digit(16)?))
}

struct Parser<'a> {
    s: &'a [char],
    /// The first of `NaN`, `Infinity`, `-Infinity` met (Python's
    /// `parse_constant` hook records it and the parse goes on).
    constant: Option<&'static str>,
    /// The tree's host memory (its `JVal`s, twice over for the vectors'
    /// spare capacity, and its strings' bytes) and the time taken.
    meter: Meter,
}

type Scan<T> = std::result::Result<(T, usize), Fail>;

impl Parser<'_> {
    fn skip_ws(&self, mut idx: usize) -> usize {
        while idx < self.s.len() && is_ws(self.s[idx]) {
            idx += 1;
        }
        idx
    }

    fn at(&self, idx: usize, word: &str) -> bool {
        word.chars().enumerate().all(|(i, c)| self.s.get(idx + i) == Some(&c))
    }

    /// `scan_once`: a value at `idx`; "Expecting value" where none starts.
    fn value(&mut self, idx: usize, depth: usize) -> Scan<JVal> {
        let len = self.s.len();
        let Some(&c) = self.s.get(idx) else {
            return Err(Fail::Syntax("Expecting value", idx));
        };
        let constant = |p: &mut Self, name: &'static str| {
            p.constant.get_or_insert(name);
            Ok((JVal::Num(0.0), idx + name.chars().count()))
        };
        match c {
            '"' => {
                let (s, i) = self.string(idx + 1)?;
                self.meter.charge(s.bytes.len())?;
                return Ok((JVal::Str(s), i));
            }
            '{' => {
                if depth >= MAX_DEPTH {
                    return Err(Fail::Depth("object"));
                }
                return self.object(idx + 1, depth + 1);
            }
            '[' => {
                if depth >= MAX_DEPTH {
                    return Err(Fail::Depth("array"));
                }
                return self.array(idx + 1, depth + 1);
            }
            'n' if idx + 3 < len && self.at(idx, "null") => return Ok((JVal::Null, idx + 4)),
            't' if idx + 3 < len && self.at(idx, "true") => return Ok((JVal::Bool(true), idx + 4)),
            'f' if idx + 4 < len && self.at(idx, "false") => return Ok((JVal::Bool(false), idx + 5)),
            'N' if idx + 2 < len && self.at(idx, "NaN") => return constant(self, "NaN"),
            'I' if idx + 7 < len && self.at(idx, "Infinity") => return constant(self, "Infinity"),
            '-' if idx + 8 < len && self.at(idx, "-Infinity") => return constant(self, "-Infinity"),
            _ => {}
        }
        self.number(idx)
    }

    /// `_match_number_unicode`, then `float(text)` or `float(int(text))`.
    fn number(&self, start: usize) -> Scan<JVal> {
        let s = self.s;
        let end = s.len() - 1;
        let digit = |i: usize| s.get(i).is_some_and(char::is_ascii_digit);
        let stop = Err(Fail::Syntax("Expecting value", start));
        let mut idx = start;
        if s[idx] == '-' {
            idx += 1;
            if idx > end {
                return stop;
            }
        }
        if ('1'..='9').contains(&s[idx]) {
            idx += 1;
            while idx <= end && digit(idx) {
                idx += 1;
            }
        } else if s[idx] == '0' {
            idx += 1;
        } else {
            return stop;
        }
        let int_digits = idx - start - (s[start] == '-') as usize;
        let mut is_float = false;
        if idx < end && s[idx] == '.' && digit(idx + 1) {
            is_float = true;
            idx += 2;
            while idx <= end && digit(idx) {
                idx += 1;
            }
        }
        if idx < end && (s[idx] == 'e' || s[idx] == 'E') {
            let e_start = idx;
            idx += 1;
            if idx < end && (s[idx] == '-' || s[idx] == '+') {
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
        let text: String = s[start..idx].iter().collect();
        let negative = s[start] == '-';
        let value = if !is_float && int_digits > 4300 {
            // Python's int() refuses these; every one is past the f64 range.
            if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        } else {
            let v: f64 = text.parse().unwrap_or(f64::NAN);
            // float(int(...)) has no negative zero.
            if !is_float && v == 0.0 {
                0.0
            } else {
                v
            }
        };
        Ok((JVal::Num(value), idx))
    }

    /// `scanstring`: the string whose opening quote is at `end - 1`.
    fn string(&self, mut end: usize) -> Scan<JStr> {
        let s = self.s;
        let len = s.len();
        let begin = end - 1;
        let mut out = JStr::default();
        loop {
            let mut next = end;
            while next < len {
                let d = s[next];
                if d == '"' || d == '\\' {
                    break;
                }
                if d <= '\u{1f}' {
                    return Err(Fail::Syntax("Invalid control character at", next));
                }
                next += 1;
            }
            for &ch in &s[end..next] {
                out.push(ch as u32);
            }
            if next == len {
                return Err(Fail::Syntax("Unterminated string starting at", begin));
            }
            if s[next] == '"' {
                return Ok((out, next + 1));
            }
            next += 1;
            if next == len {
                return Err(Fail::Syntax("Unterminated string starting at", begin));
            }
            let c = s[next];
            if c != 'u' {
                end = next + 1;
                let decoded = match c {
                    '"' | '\\' | '/' => c,
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    _ => return Err(Fail::Syntax("Invalid \\escape", end - 2)),
                };
                out.push(decoded as u32);
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
            if (0xD800..=0xDBFF).contains(&cp) && end + 6 < len && s[end] == '\\' && s[end + 1] == 'u' {
                let Some(low) = hex4(&s[end + 2..end + 6]) else {
                    return Err(Fail::Syntax("Invalid \\uXXXX escape", end + 1));
                };
                if (0xDC00..=0xDFFF).contains(&low) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    end += 6;
                }
            }
            out.push(cp);
        }
    }

    fn object(&mut self, idx: usize, depth: usize) -> Scan<JVal> {
        let s = self.s;
        let mut idx = self.skip_ws(idx);
        let mut pairs: Vec<(JStr, JVal)> = Vec::new();
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        if s.get(idx) != Some(&'}') {
            loop {
                if s.get(idx) != Some(&'"') {
                    return Err(Fail::Syntax("Expecting property name enclosed in double quotes", idx));
                }
                let (key, next) = self.string(idx + 1)?;
                self.meter
                    .charge(2 * key.bytes.len() + 2 * std::mem::size_of::<(JStr, JVal)>())?;
                idx = self.skip_ws(next);
                if s.get(idx) != Some(&':') {
                    return Err(Fail::Syntax("Expecting ':' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
                let (val, next) = self.value(idx, depth)?;
                match index.get(&key.bytes) {
                    Some(&at) => pairs[at].1 = val,
                    None => {
                        index.insert(key.bytes.clone(), pairs.len());
                        pairs.push((key, val));
                    }
                }
                idx = self.skip_ws(next);
                if s.get(idx) == Some(&'}') {
                    break;
                }
                if s.get(idx) != Some(&',') {
                    return Err(Fail::Syntax("Expecting ',' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
            }
        }
        Ok((JVal::Obj(pairs), idx + 1))
    }

    fn array(&mut self, idx: usize, depth: usize) -> Scan<JVal> {
        let s = self.s;
        let mut idx = self.skip_ws(idx);
        let mut items = Vec::new();
        if s.get(idx) != Some(&']') {
            loop {
                let (val, next) = self.value(idx, depth)?;
                self.meter.charge(2 * std::mem::size_of::<JVal>())?;
                items.push(val);
                idx = self.skip_ws(next);
                if s.get(idx) == Some(&']') {
                    break;
                }
                if s.get(idx) != Some(&',') {
                    return Err(Fail::Syntax("Expecting ',' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
            }
        }
        Ok((JVal::Arr(items), idx + 1))
    }
}

/// `JSONDecodeError`'s text: `msg: line L column C (char P)`.
fn decode_error(s: &[char], msg: &str, pos: usize) -> String {
    let before = &s[..pos.min(s.len())];
    let line = before.iter().filter(|&&c| c == '\n').count() + 1;
    let col = match before.iter().rposition(|&c| c == '\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{msg}: line {line} column {col} (char {pos})")
}

fn non_finite_parse_message(name: &str) -> String {
    format!(
        "json_parse: {name} is not valid JSON — RFC 8259 has no NaN or Infinity.  json_parse accepts RFC 8259 \
         text only, not the JavaScript constants: quote the value as a string, or write null."
    )
}

fn lone_surrogate_message(cp: u32) -> String {
    format!(
        "json_parse: \\u{cp:04X} decodes to a lone surrogate, which is not a Unicode scalar value — a Vera \
         string is a sequence of scalar values, so this text has no representable decoding.  Write the \
         character as a matched high-then-low surrogate escape pair, or remove the escape."
    )
}

fn non_finite_number_message(name: &str) -> String {
    format!(
        "json_parse: a number in the text overflows to {name}, which JSON cannot represent — RFC 8259 §6 lets \
         an implementation set limits on the range of numbers it accepts, and Vera's accepted range is the \
         finite Float64 values.  Keep the magnitude at or below 1.7976931348623157e308, or carry the value as \
         a string."
    )
}

/// `first_domain_violation`: the first lone surrogate or non-finite
/// number in document order (an object's key before its value).
fn first_violation(v: &JVal) -> Option<String> {
    match v {
        JVal::Str(s) => s.lone.map(lone_surrogate_message),
        JVal::Num(x) if x.is_infinite() => Some(non_finite_number_message(if *x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })),
        JVal::Arr(items) => items.iter().find_map(first_violation),
        JVal::Obj(pairs) => pairs
            .iter()
            .find_map(|(k, v)| k.lone.map(lone_surrogate_message).or_else(|| first_violation(v))),
        _ => None,
    }
}

/// `json_parse`'s decision for `text`, before anything is allocated.
pub fn parse(text: &str) -> Parsed {
    match parse_within(text, Meter::unbounded()) {
        Ok(parsed) => parsed,
        Err(_) => unreachable!("an unbounded meter never runs out"),
    }
}

/// [`parse`] within `meter`'s bounds.
pub fn parse_within(text: &str, mut meter: Meter) -> std::result::Result<Parsed, Exceeded> {
    meter.charge(text.len().saturating_mul(std::mem::size_of::<char>()))?;
    let chars: Vec<char> = text.chars().collect();
    if chars.first() == Some(&'\u{feff}') {
        return Ok(Parsed::Err(decode_error(
            &chars,
            "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            0,
        )));
    }
    let mut p = Parser {
        s: &chars,
        constant: None,
        meter,
    };
    let start = p.skip_ws(0);
    let scanned = p.value(start, 0).and_then(|(v, end)| {
        let end = p.skip_ws(end);
        if end != chars.len() {
            return Err(Fail::Syntax("Extra data", end));
        }
        Ok(v)
    });
    Ok(match scanned {
        Err(Fail::Bound(e)) => return Err(e),
        Err(Fail::Syntax(msg, pos)) => Parsed::Err(decode_error(&chars, msg, pos)),
        Err(Fail::Depth(what)) => Parsed::Trap(format!(
            "maximum recursion depth exceeded while decoding a JSON {what} from a unicode string"
        )),
        Ok(_) if p.constant.is_some() => Parsed::Err(non_finite_parse_message(p.constant.unwrap_or("NaN"))),
        Ok(v) => match first_violation(&v) {
            Some(msg) => Parsed::Err(msg),
            None => Parsed::Ok(v),
        },
    })
}

/// Builds `v` in guest memory; the result is not rooted. Children are
/// kept alive by a rooted block that holds their pointers.
fn write(h: &mut impl Heap, v: &JVal) -> GuestResult<u32> {
    match v {
        JVal::Null => values::alloc_block(h, 8, JNULL, &[], &[]),
        JVal::Bool(b) => values::alloc_block(h, 8, JBOOL, &[(4, *b as u32)], &[]),
        JVal::Num(x) => values::alloc_adt(h, JNUMBER, Payload::Wide(x.to_bits())),
        JVal::Str(s) => values::alloc_adt_with_str(h, JSTRING, &s.bytes),
        JVal::Arr(items) => {
            let (backing, n) = values::alloc_array_with(h, items.len(), 4, |h, i| write(h, &items[i]).map(u64::from))?;
            values::alloc_adt(h, JARRAY, Payload::Str(backing, n))
        }
        JVal::Obj(pairs) => {
            // Key and value pointers of every entry, in one block the
            // collector traces word by word while the bucket is built.
            let mut entries = Vec::with_capacity(pairs.len());
            let (scratch, _) = values::alloc_array_with(h, pairs.len(), 8, |h, i| {
                let (key, val) = &pairs[i];
                let (kp, kl) = values::alloc_str(h, &key.bytes)?;
                let vp = h.with_roots(&[kp], |h| write(h, val))?;
                entries.push((Field::str(kp, kl), Field::word(vp)));
                Ok(kp as u64 | (vp as u64) << 32)
            })?;
            h.with_roots(&[scratch], |h| {
                let map = h.build_string_map(Tag::Word, &entries)?;
                values::alloc_adt(h, JOBJECT, Payload::Word(map))
            })
        }
    }
}

/// Builds a parsed document in guest memory, as `json_parse` does inside
/// its `Ok`; the result is not rooted.
pub fn build(h: &mut impl Heap, v: &JVal) -> GuestResult<u32> {
    write(h, v)
}

/// `json_stringify` of the tree at `ptr` with output limit `max` (bytes).
pub fn stringify_document(h: &mut impl Heap, ptr: u32, max: usize) -> std::result::Result<String, StringifyError> {
    let mut out = Output {
        text: String::new(),
        max,
    };
    emit_rooted(h, ptr, &mut out)?;
    Ok(out.text)
}

/// [`stringify_document`] with every failure as text: `Err` is the trap
/// message.
pub fn stringify(h: &mut impl Heap, ptr: u32, max: usize) -> std::result::Result<String, String> {
    match stringify_document(h, ptr, max) {
        Ok(text) => Ok(text),
        Err(StringifyError::Guest(e)) => Err(e.to_string()),
        Err(StringifyError::Refused(msg)) => Err(msg),
        Err(StringifyError::TooLong) => Err("output too long".to_owned()),
    }
}

/// Why `json_stringify` could not produce text.
pub enum StringifyError {
    Guest(GuestError),
    Refused(String),
    /// The text grew past `--max-host-string`.
    TooLong,
}

/// `json_stringify`'s text so far and its length limit. Every node adds
/// at least one byte, so the limit also bounds the walk of a tree that
/// shares (or cycles through) its nodes.
struct Output {
    text: String,
    max: usize,
}

impl Output {
    fn push(&mut self, c: char) {
        self.text.push(c);
    }
    fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }
}

impl From<GuestError> for StringifyError {
    fn from(e: GuestError) -> Self {
        StringifyError::Guest(e)
    }
}

/// ECMAScript Number::toString for a finite double; `Err(name)` for a
/// non-finite one.
pub fn format_number(v: f64) -> std::result::Result<String, &'static str> {
    if v.is_nan() {
        return Err("NaN");
    }
    if v.is_infinite() {
        return Err(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if v == 0.0 {
        return Ok("0".to_owned());
    }
    if v < 0.0 {
        return format_number(-v).map(|s| format!("-{s}"));
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    Ok(if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let m = if k == 1 {
            digits.clone()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        format!("{m}e{}{}", if e >= 0 { '+' } else { '-' }, e.abs())
    })
}

/// `json.dumps(s, ensure_ascii=False)`.
pub fn quote(s: &str, out: &mut String) {
    quote_as(s, out, false);
}

/// `json.dumps(s)`, with `ensure_ascii`: every character outside printable
/// ASCII as `\uXXXX` (UTF-16 code units).
pub fn quote_ascii(s: &str, out: &mut String) {
    quote_as(s, out, true);
}

fn quote_as(s: &str, out: &mut String, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < '\u{20}' || (ensure_ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// [`emit`] of a whole tree, its root held meanwhile (a module that keeps
/// its own maps allocates while they are read, and every node is reachable
/// from the root).
fn emit_rooted(h: &mut impl Heap, ptr: u32, out: &mut Output) -> std::result::Result<(), StringifyError> {
    h.with_roots(&[ptr], |h| Ok(emit(h, ptr, out, 0)))?
}

fn emit(h: &mut impl Heap, ptr: u32, out: &mut Output, depth: usize) -> std::result::Result<(), StringifyError> {
    if out.text.len() > out.max {
        return Err(StringifyError::TooLong);
    }
    if depth > MAX_DEPTH {
        return Err(StringifyError::Refused(
            "maximum recursion depth exceeded while calling a Python object".to_owned(),
        ));
    }
    let memory = h.memory();
    match mem::read_u32(memory, ptr)? {
        JNULL => out.push_str("null"),
        JBOOL => out.push_str(if mem::read_u32(memory, mem::offset(ptr, 4)?)? != 0 {
            "true"
        } else {
            "false"
        }),
        JNUMBER => match format_number(mem::read_f64(memory, mem::offset(ptr, 8)?)?) {
            Ok(text) => out.push_str(&text),
            Err(name) => {
                return Err(StringifyError::Refused(format!(
                    "json_stringify: {name} is not representable in JSON — RFC 8259 has no NaN or Infinity.  \
                     Guard with float_is_nan / float_is_infinite before serialising."
                )))
            }
        },
        JSTRING => {
            let p = mem::read_u32(memory, mem::offset(ptr, 4)?)?;
            let l = mem::read_u32(memory, mem::offset(ptr, 8)?)?;
            quote(&values::read_string(memory, p, l)?, &mut out.text);
        }
        JARRAY => {
            let p = mem::read_u32(memory, mem::offset(ptr, 4)?)?;
            let l = mem::read_u32(memory, mem::offset(ptr, 8)?)?;
            if l > 0 {
                mem::bytes(memory, p, l as usize * 4)?;
            }
            out.push('[');
            for i in 0..l {
                if i > 0 {
                    out.push(',');
                }
                let item = mem::read_u32(h.memory(), p + 4 * i)?;
                emit(h, item, out, depth + 1)?;
            }
            out.push(']');
        }
        JOBJECT => {
            let w = mem::read_u32(memory, mem::offset(ptr, 4)?)?;
            let entries = h.string_map_entries(Tag::Word, w)?;
            out.push('{');
            for (i, (key, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key = String::from_utf8_lossy(vera_layout::field::str_bytes(h.memory(), key)?).into_owned();
                quote(&key, &mut out.text);
                out.push(':');
                emit(h, val.lo(), out, depth + 1)?;
            }
            out.push('}');
        }
        // read_json warns and reads an unknown tag as None.
        _ => out.push_str("null"),
    }
    if out.text.len() > out.max {
        return Err(StringifyError::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text) {
            Parsed::Err(m) => m,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn numbers_print_as_ecmascript() {
        for (v, out) in [
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (0.00001, "0.00001"),
            (-0.0, "0"),
            (123456789.125, "123456789.125"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (-1.25e-10, "-1.25e-10"),
            (123456789012345680000.0, "123456789012345680000"),
            (1.0 / 3.0, "0.3333333333333333"),
        ] {
            assert_eq!(format_number(v).unwrap(), out, "{v}");
        }
        assert_eq!(format_number(f64::NEG_INFINITY), Err("-Infinity"));
        assert_eq!(format_number(f64::NAN), Err("NaN"));
    }

    #[test]
    fn strings_escape_as_json_dumps() {
        let mut out = String::new();
        quote("a\u{0}\u{1b}\"\\/\r\n\t\u{8}\u{c}\u{7f}\u{2028}é", &mut out);
        assert_eq!(out, "\"a\\u0000\\u001b\\\"\\\\/\\r\\n\\t\\b\\f\u{7f}\u{2028}é\"");
    }

    #[test]
    fn errors_match_python_json() {
        assert_eq!(err(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("{\"a\": 1"), "Expecting ',' delimiter: line 1 column 8 (char 7)");
        assert_eq!(err("{\"a"), "Unterminated string starting at: line 1 column 2 (char 1)");
        assert_eq!(err("true  \n false"), "Extra data: line 2 column 2 (char 8)");
        assert_eq!(err("\"\\u00\""), "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
        assert_eq!(err("[\"\u{1F600}\", x]"), "Expecting value: line 1 column 7 (char 6)");
        assert_eq!(err("1e"), "Extra data: line 1 column 2 (char 1)");
        assert_eq!(
            err("\u{feff}[1]"),
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"
        );
        assert!(err("[1e400, NaN]").starts_with("json_parse: NaN is not valid JSON"));
        assert!(err("-1e400").contains("overflows to -Infinity"));
        assert!(err("\"\\ud83d x\"").starts_with("json_parse: \\uD83D decodes"));
    }

    #[test]
    fn values_follow_python() {
        assert_eq!(parse("-0"), Parsed::Ok(JVal::Num(0.0)));
        let Parsed::Ok(JVal::Num(z)) = parse("-0.0") else {
            panic!()
        };
        assert!(z.is_sign_negative());
        let Parsed::Ok(JVal::Obj(pairs)) = parse("{\"a\": 1, \"b\": 2, \"a\": 3}") else {
            panic!()
        };
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].1, JVal::Num(3.0));
        // An overwritten value is never checked.
        assert!(matches!(parse("{\"a\": 1e400, \"a\": 1}"), Parsed::Ok(_)));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(parse(&deep), Parsed::Trap(_)));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(matches!(parse(&ok), Parsed::Ok(_)));
    }
}
