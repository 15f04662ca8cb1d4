//! `Decimal`: the `decimal_*` imports and the handle table behind them.
//!
//! Vera 0.2.3 keeps Decimal values on the host (Python's `decimal`) and
//! hands the guest raw handles: every import takes handles (the guest
//! unwraps its wrapper, `handle | 0x80000000` at +4, before the call) and
//! Decimal-returning imports return a raw handle that the guest wraps and
//! registers itself. The two that return `Option<Decimal>`
//! (`decimal_from_string`, `decimal_div`) build the wrapper host-side
//! (tag `0xFEEDC003`, tagged handle, 0) and register it with the module's
//! `register_wrapper(ptr, 3, handle)`. The collector's
//! `host_decref_handle(3, handle)` frees the entry ([`release`]).
//!
//! The arithmetic ([`Dec`]) reproduces Python's `decimal` as Vera uses it:
//! 28 significant digits, ROUND_HALF_EVEN; add/sub/mul/div in a context
//! whose exponent range is widened to ±999999999999999999; neg/abs re-round
//! to 28 digits in that same range (Vera 0.2.3 uses the default range there
//! and overflows, see `fixtures/decimal_wide_exponent.correction.json`);
//! `decimal_round` quantizes in the default context (Emax 999999) and
//! returns the value unchanged where Python raises; construction is exact;
//! `str()` formatting (`1E+3`, `0E+5`, `-0.00`). Signals Python traps
//! (InvalidOperation, Overflow) end the run with Python's message.

use std::cmp::Ordering;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};

/// Tag word of a Decimal wrapper block.
pub const DECIMAL_TAG: u32 = 0xFEED_C003;

/// A Python `decimal` exception that the context traps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    InvalidOperation,
    Overflow,
}

impl Signal {
    /// What Vera prints after `Error: ` when the signal escapes.
    pub fn message(self) -> String {
        let name = match self {
            Signal::InvalidOperation => "InvalidOperation",
            Signal::Overflow => "Overflow",
        };
        format!("[<class 'decimal.{name}'>]")
    }
}

pub type DecResult = std::result::Result<Dec, Signal>;

/// A Python `decimal.Decimal` value: sign, coefficient, exponent, or a
/// special. NaN is always quiet and unsigned (Vera can only make it from
/// `float('nan')`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dec {
    Finite { neg: bool, coef: BigUint, exp: i64 },
    Inf { neg: bool },
    NaN,
}

/// An arithmetic context: precision 28, ROUND_HALF_EVEN, clamp 0.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub prec: i64,
    pub emax: i64,
    pub emin: i64,
}

impl Ctx {
    fn etiny(self) -> i64 {
        self.emin - self.prec + 1
    }
    fn etop(self) -> i64 {
        self.emax - self.prec + 1
    }
}

/// Python's default context.
pub const DEFAULT: Ctx = Ctx {
    prec: 28,
    emax: 999_999,
    emin: -999_999,
};

/// Vera's `_DECIMAL_WIDE_CTX`: `MAX_EMAX` / `MIN_EMIN`.
pub const WIDE: Ctx = Ctx {
    prec: 28,
    emax: 999_999_999_999_999_999,
    emin: -999_999_999_999_999_999,
};

fn pow10(n: u64) -> BigUint {
    BigUint::from(10u32).pow(n as u32)
}

/// Number of decimal digits of `c` (1 for zero).
fn ndigits(c: &BigUint) -> i64 {
    if let Some(v) = c.to_u64() {
        let mut n = 1;
        let mut v = v / 10;
        while v > 0 {
            n += 1;
            v /= 10;
        }
        return n;
    }
    let bits = c.bits();
    // digits(2^(bits-1)); the true count is this or one more.
    let est = ((bits - 1) as f64 * std::f64::consts::LOG10_2).floor() as u64 + 1;
    if *c >= pow10(est) {
        est as i64 + 1
    } else {
        est as i64
    }
}

/// `c / 10^n` rounded half-even.
fn div_pow10_half_even(c: &BigUint, n: i64) -> BigUint {
    if n <= 0 {
        return c.clone();
    }
    if n > ndigits(c) {
        return BigUint::zero();
    }
    let p = pow10(n as u64);
    let (q, r) = c.div_rem(&p);
    let twice: BigUint = r * 2u32;
    match twice.cmp(&p) {
        Ordering::Less => q,
        Ordering::Greater => q + 1u32,
        Ordering::Equal if q.is_odd() => q + 1u32,
        Ordering::Equal => q,
    }
}

fn finite(neg: bool, coef: BigUint, exp: i64) -> Dec {
    Dec::Finite { neg, coef, exp }
}

impl Dec {
    pub fn from_i64(v: i64) -> Dec {
        finite(v < 0, BigUint::from(v.unsigned_abs()), 0)
    }

    /// `Decimal(str(v))`: the exact value of Python's repr of the float.
    pub fn from_f64(v: f64) -> Dec {
        if v.is_nan() {
            return Dec::NaN;
        }
        if v.is_infinite() {
            return Dec::Inf { neg: v < 0.0 };
        }
        let neg = v.is_sign_negative();
        if v == 0.0 {
            return finite(neg, BigUint::zero(), -1);
        }
        // Shortest round-trip digits, as repr uses them.
        let shortest = crate::format::shortest_digits(v.abs());
        let x10 = shortest.point - 1;
        let len = shortest.digits().len() as i64;
        let d: BigUint = std::str::from_utf8(shortest.digits())
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_default();
        if !(-4..16).contains(&x10) {
            // repr switches to exponent notation: `1e-05`, `1.5e+16`.
            return finite(neg, d, x10 - (len - 1));
        }
        let decpt = x10 + 1;
        if decpt >= len {
            // Integral: repr writes `100.0`.
            let coef = d * pow10((decpt - len) as u64) * 10u32;
            finite(neg, coef, -1)
        } else {
            finite(neg, d, decpt - len)
        }
    }

    /// Vera's `decimal_from_string`: the spec grammar after stripping
    /// ASCII whitespace, exponent token at most 999999 in magnitude, then
    /// the exact value.
    pub fn parse(text: &str) -> Option<Dec> {
        let s = text.trim_matches(|c| matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' '));
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &s[int_start..i];
        let mut frac_part = "";
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &s[start..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let mut eneg = false;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                eneg = b[i] == b'-';
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let tok = s[start..i].trim_start_matches('0');
            if start == i {
                return None;
            }
            if tok.len() > 7 {
                return None;
            }
            let v: i64 = if tok.is_empty() { 0 } else { tok.parse().ok()? };
            if v > 999_999 {
                return None;
            }
            exp = if eneg { -v } else { v };
        }
        if i != b.len() {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let coef: BigUint = digits.parse().ok()?;
        Some(finite(neg, coef, exp - frac_part.len() as i64))
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Dec::Finite { coef, .. } if coef.is_zero())
    }

    /// Python's `str(Decimal)`.
    pub fn to_python_string(&self) -> String {
        let (neg, coef, exp) = match self {
            Dec::NaN => return "NaN".to_owned(),
            Dec::Inf { neg } => return if *neg { "-Infinity" } else { "Infinity" }.to_owned(),
            Dec::Finite { neg, coef, exp } => (*neg, coef, *exp),
        };
        let digits = coef.to_string();
        let len = digits.len() as i64;
        let leftdigits = exp + len;
        let dotplace = if exp <= 0 && leftdigits > -6 { leftdigits } else { 1 };
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        if dotplace <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-dotplace) as usize));
            out.push_str(&digits);
        } else if dotplace >= len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (dotplace - len) as usize));
        } else {
            out.push_str(&digits[..dotplace as usize]);
            out.push('.');
            out.push_str(&digits[dotplace as usize..]);
        }
        if leftdigits != dotplace {
            out.push_str(&format!("E{:+}", leftdigits - dotplace));
        }
        out
    }

    /// Python's `float(Decimal)`: the nearest double to the value.
    pub fn to_f64(&self) -> f64 {
        match self {
            Dec::NaN => f64::NAN,
            Dec::Inf { neg: true } => f64::NEG_INFINITY,
            Dec::Inf { neg: false } => f64::INFINITY,
            Dec::Finite { neg, coef, exp } => {
                let text = format!("{}{}e{}", if *neg { "-" } else { "" }, coef, exp);
                text.parse().unwrap_or(f64::NAN)
            }
        }
    }

    /// `_fix`: rounds to the context's precision and checks its range.
    fn fix(neg: bool, coef: BigUint, exp: i64, ctx: Ctx) -> DecResult {
        if coef.is_zero() {
            return Ok(finite(neg, coef, exp.clamp(ctx.etiny(), ctx.emax)));
        }
        let len = ndigits(&coef);
        let mut exp_min = len + exp - ctx.prec;
        if exp_min > ctx.etop() {
            return Err(Signal::Overflow);
        }
        exp_min = exp_min.max(ctx.etiny());
        if exp >= exp_min {
            return Ok(finite(neg, coef, exp));
        }
        let mut c = div_pow10_half_even(&coef, exp_min - exp);
        let mut e = exp_min;
        if ndigits(&c) > ctx.prec {
            c /= 10u32;
            e += 1;
        }
        if e > ctx.etop() {
            return Err(Signal::Overflow);
        }
        Ok(finite(neg, c, e))
    }

    /// `_rescale(exp, ROUND_HALF_EVEN)` of a finite value.
    fn rescale(neg: bool, coef: &BigUint, exp: i64, to: i64) -> (bool, BigUint, i64) {
        if coef.is_zero() {
            return (neg, BigUint::zero(), to);
        }
        if exp >= to {
            return (neg, coef * pow10((exp - to) as u64), to);
        }
        (neg, div_pow10_half_even(coef, to - exp), to)
    }

    pub fn add(&self, other: &Dec, ctx: Ctx) -> DecResult {
        let (a, b) = match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) => return Ok(Dec::NaN),
            (Dec::Inf { neg: x }, Dec::Inf { neg: y }) if x != y => return Err(Signal::InvalidOperation),
            (Dec::Inf { neg }, _) | (_, Dec::Inf { neg }) => return Ok(Dec::Inf { neg: *neg }),
            (
                Dec::Finite {
                    neg: sa,
                    coef: ca,
                    exp: ea,
                },
                Dec::Finite {
                    neg: sb,
                    coef: cb,
                    exp: eb,
                },
            ) => ((*sa, ca, *ea), (*sb, cb, *eb)),
        };
        let exp = a.2.min(b.2);
        if a.1.is_zero() && b.1.is_zero() {
            return Dec::fix(a.0 && b.0, BigUint::zero(), exp, ctx);
        }
        if a.1.is_zero() || b.1.is_zero() {
            let x = if a.1.is_zero() { b } else { a };
            let to = exp.max(x.2 - ctx.prec - 1);
            let (n, c, e) = Dec::rescale(x.0, x.1, x.2, to);
            return Dec::fix(n, c, e, ctx);
        }
        // _normalize: a far smaller operand only matters as a sticky digit.
        let (mut hi, mut lo) = if a.2 < b.2 {
            ((b.0, b.1.clone(), b.2), (a.0, a.1.clone(), a.2))
        } else {
            ((a.0, a.1.clone(), a.2), (b.0, b.1.clone(), b.2))
        };
        let hi_len = ndigits(&hi.1);
        let lo_len = ndigits(&lo.1);
        let floor = hi.2 + (-1i64).min(hi_len - ctx.prec - 2);
        if lo_len + lo.2 - 1 < floor {
            lo.1 = BigUint::from(1u32);
            lo.2 = floor;
        }
        hi.1 *= pow10((hi.2 - lo.2) as u64);
        hi.2 = lo.2;
        let (neg, coef) = if hi.0 == lo.0 {
            (hi.0, hi.1 + lo.1)
        } else {
            match hi.1.cmp(&lo.1) {
                Ordering::Equal => return Dec::fix(false, BigUint::zero(), exp, ctx),
                Ordering::Greater => (hi.0, hi.1 - lo.1),
                Ordering::Less => (lo.0, lo.1 - hi.1),
            }
        };
        Dec::fix(neg, coef, hi.2, ctx)
    }

    pub fn negated(&self) -> Dec {
        match self {
            Dec::NaN => Dec::NaN,
            Dec::Inf { neg } => Dec::Inf { neg: !neg },
            Dec::Finite { neg, coef, exp } => finite(!neg, coef.clone(), *exp),
        }
    }

    pub fn sub(&self, other: &Dec, ctx: Ctx) -> DecResult {
        self.add(&other.negated(), ctx)
    }

    pub fn mul(&self, other: &Dec, ctx: Ctx) -> DecResult {
        match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) => Ok(Dec::NaN),
            (Dec::Inf { neg: x }, y) | (y, Dec::Inf { neg: x }) => {
                if y.is_zero() {
                    return Err(Signal::InvalidOperation);
                }
                let yneg = match y {
                    Dec::Inf { neg } | Dec::Finite { neg, .. } => *neg,
                    Dec::NaN => false,
                };
                Ok(Dec::Inf { neg: x ^ yneg })
            }
            (
                Dec::Finite {
                    neg: sa,
                    coef: ca,
                    exp: ea,
                },
                Dec::Finite {
                    neg: sb,
                    coef: cb,
                    exp: eb,
                },
            ) => Dec::fix(sa ^ sb, ca * cb, ea + eb, ctx),
        }
    }

    /// `a / b` for a nonzero divisor (Vera checks `b == 0` first).
    pub fn div(&self, other: &Dec, ctx: Ctx) -> DecResult {
        let sign = |d: &Dec| match d {
            Dec::Inf { neg } | Dec::Finite { neg, .. } => *neg,
            Dec::NaN => false,
        };
        let neg = sign(self) ^ sign(other);
        match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) => Ok(Dec::NaN),
            (Dec::Inf { .. }, Dec::Inf { .. }) => Err(Signal::InvalidOperation),
            (Dec::Inf { .. }, _) => Ok(Dec::Inf { neg }),
            (_, Dec::Inf { .. }) => Ok(finite(neg, BigUint::zero(), ctx.etiny())),
            (Dec::Finite { coef: ca, exp: ea, .. }, Dec::Finite { coef: cb, exp: eb, .. }) => {
                if cb.is_zero() {
                    return Err(Signal::InvalidOperation);
                }
                if ca.is_zero() {
                    return Dec::fix(neg, BigUint::zero(), ea - eb, ctx);
                }
                let shift = ndigits(cb) - ndigits(ca) + ctx.prec + 1;
                let mut exp = ea - eb - shift;
                let (mut coef, rem) = if shift >= 0 {
                    (ca * pow10(shift as u64)).div_rem(cb)
                } else {
                    ca.div_rem(&(cb * pow10((-shift) as u64)))
                };
                if !rem.is_zero() {
                    if (&coef % 5u32).is_zero() {
                        coef += 1u32;
                    }
                } else {
                    let ideal = ea - eb;
                    while exp < ideal && (&coef % 10u32).is_zero() {
                        coef /= 10u32;
                        exp += 1;
                    }
                }
                Dec::fix(neg, coef, exp, ctx)
            }
        }
    }

    /// Unary minus (`-x`): a zero becomes positive, then `_fix`.
    pub fn neg(&self, ctx: Ctx) -> DecResult {
        match self {
            Dec::Finite { coef, exp, .. } if coef.is_zero() => Dec::fix(false, coef.clone(), *exp, ctx),
            Dec::Finite { neg, coef, exp } => Dec::fix(!neg, coef.clone(), *exp, ctx),
            other => Ok(other.negated()),
        }
    }

    /// `abs(x)`.
    pub fn abs(&self, ctx: Ctx) -> DecResult {
        match self {
            Dec::Finite { coef, exp, .. } => Dec::fix(false, coef.clone(), *exp, ctx),
            Dec::Inf { .. } => Ok(Dec::Inf { neg: false }),
            Dec::NaN => Ok(Dec::NaN),
        }
    }

    /// `_cmp` of two non-NaN values.
    fn cmp_values(&self, other: &Dec) -> Ordering {
        let inf = |d: &Dec| match d {
            Dec::Inf { neg: true } => -1,
            Dec::Inf { neg: false } => 1,
            _ => 0,
        };
        if inf(self) != 0 || inf(other) != 0 {
            return inf(self).cmp(&inf(other));
        }
        let (
            Dec::Finite {
                neg: sa,
                coef: ca,
                exp: ea,
            },
            Dec::Finite {
                neg: sb,
                coef: cb,
                exp: eb,
            },
        ) = (self, other)
        else {
            return Ordering::Equal;
        };
        let signed = |neg: bool, o: Ordering| if neg { o.reverse() } else { o };
        match (ca.is_zero(), cb.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return signed(*sb, Ordering::Less),
            (false, true) => return signed(*sa, Ordering::Greater),
            _ => {}
        }
        if sa != sb {
            return if *sa { Ordering::Less } else { Ordering::Greater };
        }
        let (adj_a, adj_b) = (ndigits(ca) + ea - 1, ndigits(cb) + eb - 1);
        let magnitude = if adj_a != adj_b {
            adj_a.cmp(&adj_b)
        } else if ea >= eb {
            (ca * pow10((ea - eb) as u64)).cmp(cb)
        } else {
            ca.cmp(&(cb * pow10((eb - ea) as u64)))
        };
        signed(*sa, magnitude)
    }

    /// `a < b` / `a == b` / `a > b` as Vera's `decimal_compare` asks them:
    /// ordering a NaN is an InvalidOperation.
    pub fn compare(&self, other: &Dec) -> std::result::Result<Ordering, Signal> {
        if matches!(self, Dec::NaN) || matches!(other, Dec::NaN) {
            return Err(Signal::InvalidOperation);
        }
        Ok(self.cmp_values(other))
    }

    /// `a == b`: numeric equality, false for NaN.
    pub fn equals(&self, other: &Dec) -> bool {
        !matches!(self, Dec::NaN) && !matches!(other, Dec::NaN) && self.cmp_values(other) == Ordering::Equal
    }

    /// Vera's `decimal_round`: `d.quantize(Decimal(10) ** -places)` in the
    /// default context, or `d` unchanged where that raises.
    pub fn round(&self, places: i64) -> Dec {
        let Dec::Finite { neg, coef, exp } = self else {
            // NaN quantizes to NaN; an infinity raises and stays.
            return self.clone();
        };
        let ctx = DEFAULT;
        // The exponent of `Decimal(10) ** -places`: 10^-k is exactly 1E-k
        // (underflowing to 0E-Etiny past Etiny); 10^k is an integer with
        // exponent 0 until it needs more than 28 digits, then rounded
        // (1.000...E+k); past Emax it overflows.
        let target = if places >= 0 {
            (-(places as i128)).max(ctx.etiny() as i128) as i64
        } else {
            let k = places.unsigned_abs();
            if k > ctx.emax as u64 {
                return self.clone();
            }
            (k as i64 - (ctx.prec - 1)).max(0)
        };
        if !(ctx.etiny() <= target && target <= ctx.emax) {
            return self.clone();
        }
        if coef.is_zero() {
            return finite(*neg, BigUint::zero(), target);
        }
        let adjusted = ndigits(coef) + exp - 1;
        if adjusted > ctx.emax || adjusted - target + 1 > ctx.prec {
            return self.clone();
        }
        let (n, c, e) = Dec::rescale(*neg, coef, *exp, target);
        let len = ndigits(&c);
        if (!c.is_zero() && len + e - 1 > ctx.emax) || len > ctx.prec {
            return self.clone();
        }
        finite(n, c, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap_or_else(|| panic!("parse {s}"))
    }

    fn s(x: DecResult) -> String {
        x.unwrap().to_python_string()
    }

    #[test]
    fn str_follows_python() {
        for (input, out) in [
            ("1.10", "1.10"),
            ("1e3", "1E+3"),
            ("0.0000001", "1E-7"),
            ("0.000001", "0.000001"),
            ("0e5", "0E+5"),
            ("0e-5", "0.00000"),
            ("-0.00", "-0.00"),
            ("123.456e2", "12345.6"),
            ("00012.3400", "12.3400"),
            ("1e-999999", "1E-999999"),
            (".5", "0.5"),
            ("5.", "5"),
        ] {
            assert_eq!(d(input).to_python_string(), out, "{input}");
        }
        for bad in ["", "1e", "e5", "1_000", "NaN", "1e1000000", "\u{a0}42", "--1", "1 2"] {
            assert!(Dec::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn floats_take_their_repr() {
        for (v, out) in [
            (0.1, "0.1"),
            (100.0, "100.0"),
            (-0.0, "-0.0"),
            (1e-7, "1E-7"),
            (1e16, "1E+16"),
            (123456.789, "123456.789"),
            (1.0 / 3.0, "0.3333333333333333"),
            (0.0001, "0.0001"),
            (1.5e16, "1.5E+16"),
        ] {
            assert_eq!(Dec::from_f64(v).to_python_string(), out, "{v}");
        }
    }

    #[test]
    fn arithmetic_rounds_half_even_to_28_digits() {
        assert_eq!(s(d("1.50").add(&d("-1.5"), WIDE)), "0.00");
        assert_eq!(
            s(d("9999999999999999999999999999").add(&d("0.5"), WIDE)),
            "1.000000000000000000000000000E+28"
        );
        assert_eq!(
            s(d("1000000000000000000000000001").add(&d("0.5"), WIDE)),
            "1000000000000000000000000002"
        );
        assert_eq!(s(d("1").sub(&d("1e-28"), WIDE)), "0.9999999999999999999999999999");
        assert_eq!(s(d("1e999999").mul(&d("1e10"), WIDE)), "1E+1000009");
        let big = d("1e999999").mul(&d("1e10"), WIDE).unwrap();
        assert_eq!(s(big.sub(&d("1"), WIDE)), "1.000000000000000000000000000E+1000009");
        assert_eq!(s(d("-3").mul(&d("0.0"), WIDE)), "-0.0");
        assert_eq!(s(d("6.0").div(&d("2.00"), WIDE)), "3");
        assert_eq!(s(d("2").div(&d("3"), WIDE)), "0.6666666666666666666666666667");
        assert_eq!(s(d("1e-30").div(&d("3"), WIDE)), "3.333333333333333333333333333E-31");
        assert_eq!(s(d("-0").neg(WIDE)), "0");
        assert_eq!(s(finite(true, BigUint::from(3u32), -1_999_998).abs(WIDE)), "3E-1999998");
    }

    #[test]
    fn round_quantizes_or_keeps_the_value() {
        for (x, places, out) in [
            ("2.5", 0, "2"),
            ("-0.5", 0, "-0"),
            ("9.995", 2, "10.00"),
            ("1234.5", -2, "1234"),
            ("1.5", 30, "1.5"),
            ("1.5", 25, "1.5000000000000000000000000"),
            ("1234567890123456789012345678.5", 0, "1234567890123456789012345678"),
            ("1E+30", 0, "1E+30"),
            ("0.1", 1_000_000, "0.1"),
            ("0.1", -1_000_000, "0.1"),
            ("-0.0001", 2, "-0.00"),
        ] {
            assert_eq!(d(x).round(places).to_python_string(), out, "round({x}, {places})");
        }
    }

    #[test]
    fn comparing_nan_is_invalid() {
        assert_eq!(Dec::NaN.compare(&d("1")), Err(Signal::InvalidOperation));
        assert!(!Dec::NaN.equals(&Dec::NaN));
        assert_eq!(d("-0.00").compare(&d("0E+5")), Ok(Ordering::Equal));
        assert_eq!(d("1e999999").compare(&d("1e999998")), Ok(Ordering::Greater));
        assert_eq!(d("-1").compare(&d("-2")), Ok(Ordering::Greater));
    }
}
