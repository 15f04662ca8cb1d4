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
    // `{:e}` gives the shortest round-trip digits: "1.2345e-7".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
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
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{esign}{:02}", exp.abs())
    }
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
    }
}
