//! `random_*` and the `math` imports (`log`, `sin`, ..., `atan2`).
//!
//! Math follows Python's `math` as Vera 0.2.3 wraps it: a domain error is
//! NaN, and the log family's pole (`log(0.0)`) is -inf. Python's `math`
//! raises on infinite input to sin/cos/tan and on a negative log argument,
//! which Vera maps to NaN; Rust's functions already return NaN there, and
//! -inf at the log pole as Vera does.

use rand::Rng;

use super::glue::imports;
use crate::trap::HostTrap;

imports! {
    fn log(cx, x: f64) -> f64 {
        Ok(x.ln())
    }
    fn log2(cx, x: f64) -> f64 {
        Ok(x.log2())
    }
    fn log10(cx, x: f64) -> f64 {
        Ok(x.log10())
    }
    fn sin(cx, x: f64) -> f64 {
        Ok(x.sin())
    }
    fn cos(cx, x: f64) -> f64 {
        Ok(x.cos())
    }
    fn tan(cx, x: f64) -> f64 {
        Ok(x.tan())
    }
    fn asin(cx, x: f64) -> f64 {
        Ok(x.asin())
    }
    fn acos(cx, x: f64) -> f64 {
        Ok(x.acos())
    }
    fn atan(cx, x: f64) -> f64 {
        Ok(x.atan())
    }
    fn atan2(cx, y: f64, x: f64) -> f64 {
        Ok(y.atan2(x))
    }
    // Vera 0.2.4+ modules (in-module Map/Set) draw their String-hash key
    // from this, one fresh random word per call, as Vera's host does.
    fn hash_key(cx) -> i64 {
        Ok(rand::rng().random::<i64>())
    }
    fn random_int(cx, low: i64, high: i64) -> i64 {
        if low > high {
            // Python's randint raises ValueError here.
            return Err(HostTrap::Refused(format!("empty range in randint({low}, {high})")).into());
        }
        Ok(rand::rng().random_range(low..=high))
    }
    fn random_float(cx) -> f64 {
        Ok(rand::rng().random::<f64>())
    }
    fn random_bool(cx) -> bool {
        Ok(rand::rng().random_bool(0.5))
    }
}
