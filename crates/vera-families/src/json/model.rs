//! The parser `json_parse` had before it scanned bytes (over a `Vec<char>`,
//! into a host tree, duplicates merged as it went): the model the byte
//! scanner is checked against, answer for answer, on generated text
//! (`tests::agrees_with_the_char_model`).

use std::collections::HashMap;

use crate::bounds::{Exceeded, Meter};

use super::scan::{push_code_point, Fail};
use super::{first_violation, non_finite_parse_message, JStr, JVal, Parsed};

const MAX_DEPTH: usize = super::MAX_DEPTH;

/// Appends `cp` as the old decoder did, noting the first lone surrogate.
fn push(s: &mut JStr, cp: u32) {
    if char::from_u32(cp).is_none() {
        s.lone.get_or_insert(cp);
    }
    push_code_point(&mut s.bytes, cp);
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
                push(&mut out, ch as u32);
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
                push(&mut out, decoded as u32);
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
            push(&mut out, cp);
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

/// Number::toString as json_stringify wrote it before (through `{:e}`).
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
