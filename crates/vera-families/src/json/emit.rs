//! `json_stringify`: the guest tree as Vera's canonical text, written
//! straight into one byte buffer (strings copied in runs between the bytes
//! that need escapes, numbers formatted without allocating).

use std::io::Write as _;

use vera_layout::collection::StringMaps;
use vera_layout::{mem, GuestError, Tag};

use super::{JARRAY, JBOOL, JNULL, JNUMBER, JOBJECT, JSTRING, MAX_DEPTH};

/// `json_stringify` of the tree at `ptr` with output limit `max` (bytes):
/// UTF-8 text (only whole characters are written: guest text is read as
/// UTF-8 with replacement).
pub fn stringify_document(h: &mut impl StringMaps, ptr: u32, max: usize) -> Result<Vec<u8>, StringifyError> {
    let mut out = Output { text: Vec::new(), max };
    h.with_roots(&[ptr], |h| Ok(emit(h, ptr, &mut out, 0)))??;
    Ok(out.text)
}

/// [`stringify_document`] with every failure as text: `Err` is the trap
/// message.
pub fn stringify(h: &mut impl StringMaps, ptr: u32, max: usize) -> Result<String, String> {
    match stringify_document(h, ptr, max) {
        Ok(text) => Ok(String::from_utf8_lossy(&text).into_owned()),
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

impl From<GuestError> for StringifyError {
    fn from(e: GuestError) -> Self {
        StringifyError::Guest(e)
    }
}

/// `json_stringify`'s text so far and its length limit. Every node adds
/// at least one byte, so the limit also bounds the walk of a tree that
/// shares (or cycles through) its nodes.
struct Output {
    text: Vec<u8>,
    max: usize,
}

/// ECMAScript Number::toString for a finite double; `Err(name)` for a
/// non-finite one.
pub fn format_number(v: f64) -> Result<String, &'static str> {
    let mut out = Vec::new();
    write_number(&mut out, v)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn write_number(out: &mut Vec<u8>, v: f64) -> Result<(), &'static str> {
    if v.is_nan() {
        return Err("NaN");
    }
    if v.is_infinite() {
        return Err(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if v == 0.0 {
        out.push(b'0');
        return Ok(());
    }
    if v < 0.0 {
        out.push(b'-');
    }
    let v = v.abs();
    // Integers below 2^53 print as their digits (no exponent below 1e21).
    if v.fract() == 0.0 && v < 9007199254740992.0 {
        write_digits(out, v as u64);
        return Ok(());
    }
    let shortest = crate::format::shortest_digits(v);
    let (digits, n) = (shortest.digits(), shortest.point);
    let k = digits.len() as i64;
    if k <= n && n <= 21 {
        out.extend_from_slice(digits);
        out.resize(out.len() + (n - k) as usize, b'0');
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-n) as usize, b'0');
        out.extend_from_slice(digits);
    } else {
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = n - 1;
        out.extend_from_slice(if e >= 0 { b"e+" } else { b"e-" });
        write_digits(out, e.unsigned_abs());
    }
    Ok(())
}

/// The decimal digits of `n`.
fn write_digits(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// `json.dumps(s, ensure_ascii=False)`.
pub fn quote(s: &str, out: &mut String) {
    let mut bytes = Vec::with_capacity(s.len() + 2);
    write_quoted_utf8(&mut bytes, s.as_bytes());
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// `json.dumps(s)`, with `ensure_ascii`: every character outside printable
/// ASCII as `\uXXXX` (UTF-16 code units).
pub fn quote_ascii(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            ' '..='~' if c != '"' && c != '\\' => out.push(c),
            _ => {
                let mut bytes = Vec::new();
                write_escape(&mut bytes, c);
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    out.push('"');
}

/// One character as `json.dumps` escapes it.
fn write_escape(out: &mut Vec<u8>, c: char) {
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\u{8}' => out.extend_from_slice(b"\\b"),
        '\u{c}' => out.extend_from_slice(b"\\f"),
        _ => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
}

/// UTF-8 `bytes` quoted: only `"`, `\` and control characters are
/// escaped, so the runs between them are copied whole.
fn write_quoted_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut from = 0;
    loop {
        let stop = super::scan::string_stop(bytes, from);
        out.extend_from_slice(&bytes[from..stop]);
        if stop == bytes.len() {
            break;
        }
        write_escape(out, bytes[stop] as char);
        from = stop + 1;
    }
    out.push(b'"');
}

/// Guest text quoted: read as UTF-8, invalid sequences as U+FFFD (as Vera
/// reads a guest String). ASCII needs no decoding.
fn write_quoted_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_ascii() {
        write_quoted_utf8(out, bytes);
    } else {
        write_quoted_utf8(out, vera_layout::values::guest_text(bytes).as_bytes());
    }
}

fn too_long(out: &Output) -> Result<(), StringifyError> {
    match out.text.len() > out.max {
        true => Err(StringifyError::TooLong),
        false => Ok(()),
    }
}

fn emit(h: &mut impl StringMaps, ptr: u32, out: &mut Output, depth: usize) -> Result<(), StringifyError> {
    too_long(out)?;
    if depth > MAX_DEPTH {
        return Err(StringifyError::Refused(
            "maximum recursion depth exceeded while calling a Python object".to_owned(),
        ));
    }
    let memory = h.memory();
    let word = |at: u64| -> Result<u32, GuestError> { mem::read_u32(memory, mem::offset(ptr, at)?) };
    match word(0)? {
        JNULL => out.text.extend_from_slice(b"null"),
        JBOOL => out
            .text
            .extend_from_slice(if word(4)? != 0 { b"true" } else { b"false" }),
        JNUMBER => {
            let value = mem::read_f64(memory, mem::offset(ptr, 8)?)?;
            if let Err(name) = write_number(&mut out.text, value) {
                return Err(StringifyError::Refused(format!(
                    "json_stringify: {name} is not representable in JSON — RFC 8259 has no NaN or Infinity.  \
                     Guard with float_is_nan / float_is_infinite before serialising."
                )));
            }
        }
        JSTRING => {
            let bytes = vera_layout::values::str_bytes(memory, word(4)?, word(8)?)?;
            write_quoted_bytes(&mut out.text, bytes);
        }
        JARRAY => {
            let (p, l) = (word(4)?, word(8)?);
            if l > 0 {
                mem::bytes(memory, p, l as usize * 4)?;
            }
            out.text.push(b'[');
            for i in 0..l {
                if i > 0 {
                    out.text.push(b',');
                }
                let item = mem::read_u32(h.memory(), p + 4 * i)?;
                emit(h, item, out, depth + 1)?;
            }
            out.text.push(b']');
        }
        JOBJECT => {
            let w = word(4)?;
            let entries = h.string_map_entries(Tag::Word, w)?;
            out.text.push(b'{');
            for (i, (key, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.text.push(b',');
                }
                let key = vera_layout::field::str_bytes(h.memory(), key)?;
                write_quoted_bytes(&mut out.text, key);
                out.text.push(b':');
                emit(h, val.lo(), out, depth + 1)?;
            }
            out.text.push(b'}');
        }
        // read_json warns and reads an unknown tag as None.
        _ => out.text.extend_from_slice(b"null"),
    }
    too_long(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            (-42.0, "-42"),
            (9007199254740992.0, "9007199254740992"),
            (-9007199254740993.0, "-9007199254740992"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-0.5, "-0.5"),
            (0.001, "0.001"),
            (1e-6, "0.000001"),
            (1.5e-6, "0.0000015"),
            (1.5e-7, "1.5e-7"),
            (123.0e18, "123000000000000000000"),
            (1.25e21, "1.25e+21"),
            (4.35, "4.35"),
            (2.5e-300, "2.5e-300"),
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
        let mut ascii = String::new();
        quote_ascii("a\"é\u{1F600}\n", &mut ascii);
        assert_eq!(ascii, "\"a\\\"\\u00e9\\ud83d\\ude00\\n\"");
    }
}
