//! Values printed the way `vera run` 0.2.3 prints them: Python's `repr`
//! for Float64, decimal integers, Bool as its raw i32.

/// Python's `repr(float)`: the shortest digits that round-trip, in
/// positional notation for exponents -4..16 and scientific (`1e+16`,
/// `1e-05`) outside, always with a `.0` or fraction when positional.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let shortest = shortest_digits(x.abs());
    let digits = std::str::from_utf8(shortest.digits()).unwrap_or("0");
    let exp = shortest.point as i32 - 1;
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp >= n - 1 {
            format!("{digits}{}.0", "0".repeat((exp - n + 1) as usize))
        } else if exp >= 0 {
            let (int, frac) = digits.split_at(exp as usize + 1);
            format!("{int}.{frac}")
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let mantissa = if digits.len() == 1 {
            digits.to_owned()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{esign}{:02}", exp.abs())
    }
}

/// The shortest decimal digits of a double, and where its point goes.
pub struct Digits {
    bytes: [u8; 24],
    len: usize,
    /// `n` with `x = 0.d1d2…dk × 10^n`.
    pub point: i64,
}

impl Digits {
    /// `d1 … dk`: no leading or trailing zeros.
    pub fn digits(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The shortest digits that read back as the positive, finite `x` and,
/// of those, the closest to it, an exact tie going to the even digit: what
/// Python's `repr` and ECMAScript's Number::toString both write. (Rust's
/// own `{}` and `{:e}` round such a tie up: 185754766567089.125 prints as
/// `...089.13` there, `...089.12` in Python and JavaScript.) Read off
/// ryu's text (`1.5e300`, `0.001`, `123.0`, `1e-7`).
pub fn shortest_digits(x: f64) -> Digits {
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(x).as_bytes();
    let mut out = Digits {
        bytes: [0; 24],
        len: 0,
        point: 0,
    };
    // The mantissa: digits before the point (leading zeros included),
    // leading zeros (before or after it), the digits from the first
    // non-zero one.
    let (mut integer_digits, mut leading_zeros, mut after_point) = (0i64, 0i64, false);
    let mut i = 0;
    while i < text.len() && text[i] != b'e' {
        match text[i] {
            b'.' => after_point = true,
            c => {
                integer_digits += !after_point as i64;
                if out.len == 0 && c == b'0' {
                    leading_zeros += 1;
                } else if out.len < out.bytes.len() {
                    out.bytes[out.len] = c;
                    out.len += 1;
                }
            }
        }
        i += 1;
    }
    let (mut exp, mut negative) = (0i64, false);
    for &c in text.get(i + 1..).unwrap_or_default() {
        match c {
            b'-' => negative = true,
            c => exp = exp * 10 + (c - b'0') as i64,
        }
    }
    out.point = integer_digits - leading_zeros + if negative { -exp } else { exp };
    while out.len > 1 && out.bytes[out.len - 1] == b'0' {
        out.len -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::python_float_repr as r;

    #[test]
    fn matches_python_repr() {
        assert_eq!(r(2.0), "2.0");
        assert_eq!(r(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(r(1e300), "1e+300");
        assert_eq!(r(1e16), "1e+16");
        assert_eq!(r(1e15), "1000000000000000.0");
        assert_eq!(r(123456789012345.6), "123456789012345.6");
        assert_eq!(r(0.0001), "0.0001");
        assert_eq!(r(0.00001), "1e-05");
        assert_eq!(r(-1.5e-7), "-1.5e-07");
        assert_eq!(r(0.1), "0.1");
        assert_eq!(r(-0.0), "-0.0");
        assert_eq!(r(f64::NAN), "nan");
        assert_eq!(r(f64::NEG_INFINITY), "-inf");
        assert_eq!(r(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(r(5e-324), "5e-324");
        assert_eq!(r(12.5), "12.5");
        // An exact tie between two shortest texts goes to the even digit.
        // 185754766567089.125 exactly.
        assert_eq!(r(f64::from_bits(4820292154189207076)), "185754766567089.12");
        assert_eq!(r(1e22), "1e+22");
        assert_eq!(r(123456.0), "123456.0");
    }
}
