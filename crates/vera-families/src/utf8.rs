//! Python's UTF-8 decoding errors: the text of the `UnicodeDecodeError`
//! `bytes.decode("utf-8")` raises, which `IO.read_file` returns as its
//! `Err`.

/// `None` for UTF-8; else `'utf-8' codec can't decode byte 0xe9 in
/// position 2: invalid continuation byte` as Python words it: the bad
/// sequence is the longest prefix of a well-formed one (Unicode's
/// "maximal subpart", which Python and Rust both follow), named by its
/// first byte, or by its range when it is longer than one byte.
pub fn decode_error(bytes: &[u8]) -> Option<String> {
    let at = vera_layout::values::first_invalid_utf8(bytes)?;
    let (len, reason) = match std::str::from_utf8(&bytes[at..]).err()?.error_len() {
        None => (bytes.len() - at, "unexpected end of data"),
        Some(1) if !is_start_byte(bytes[at]) => (1, "invalid start byte"),
        Some(n) => (n, "invalid continuation byte"),
    };
    Some(match len {
        1 => format!(
            "'utf-8' codec can't decode byte 0x{:02x} in position {at}: {reason}",
            bytes[at]
        ),
        _ => format!(
            "'utf-8' codec can't decode bytes in position {at}-{}: {reason}",
            at + len - 1
        ),
    })
}

/// Whether a well-formed sequence can begin with `b`.
fn is_start_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x7f | 0xc2..=0xf4)
}

#[cfg(test)]
mod tests {
    use super::decode_error;

    #[test]
    fn words_errors_as_python() {
        let said = |b: &[u8]| decode_error(b).unwrap().replace("'utf-8' codec can't decode ", "");
        assert_eq!(decode_error("é✓😀".as_bytes()), None);
        assert_eq!(
            said(b"[\"\xe2\x82\"]"),
            "bytes in position 2-3: invalid continuation byte"
        );
        assert_eq!(
            said(b"ab\xe0\x80"),
            "byte 0xe0 in position 2: invalid continuation byte"
        );
        assert_eq!(
            said(b"\xed\xa0\x80"),
            "byte 0xed in position 0: invalid continuation byte"
        );
        assert_eq!(
            said(b"\xf4\x90\x80\x80"),
            "byte 0xf4 in position 0: invalid continuation byte"
        );
        assert_eq!(said(b"\xf5"), "byte 0xf5 in position 0: invalid start byte");
        assert_eq!(said(b"x\xe2\x82"), "bytes in position 1-2: unexpected end of data");
        assert_eq!(said(b"x\xc3"), "byte 0xc3 in position 1: unexpected end of data");
        assert_eq!(said(b"\xf0\x9f\x98"), "bytes in position 0-2: unexpected end of data");
        assert_eq!(
            said(b"\xf0\x9f\x98x"),
            "bytes in position 0-2: invalid continuation byte"
        );
        assert_eq!(said(b"x\xa9"), "byte 0xa9 in position 1: invalid start byte");
        assert_eq!(said(b"\xc0\xaf"), "byte 0xc0 in position 0: invalid start byte");
    }
}
