//! `random_*` and the `math` imports (`log`, `sin`, ..., `atan2`).
//!
//! Math follows Python's `math` as Vera 0.2.3 wraps it: a domain error is
//! NaN, and the log family's pole (`log(0.0)`) is -inf.

use rand::Rng;
use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::state::HostState;
use crate::trap::HostTrap;

type C<'a> = Caller<'a, HostState>;

/// Python's `math` raises on infinite input to sin/cos/tan and on a
/// negative log argument, which Vera maps to NaN; Rust's functions already
/// return NaN there, and -inf at the log pole as Vera does.
fn unary(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "log" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        _ => return None,
    })
}

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    if let Some(f) = unary(name) {
        linker.func_wrap("vera", name, move |_: C<'_>, x: f64| f(x))?;
        return Ok(true);
    }
    match name {
        // Vera 0.2.4+ modules (in-module Map/Set) draw their String-hash key
        // from this, one fresh random word per call, as Vera's host does.
        "hash_key" => linker.func_wrap("vera", name, |_: C<'_>| rand::rng().random::<i64>())?,
        "atan2" => linker.func_wrap("vera", name, |_: C<'_>, y: f64, x: f64| y.atan2(x))?,
        "random_int" => linker.func_wrap("vera", name, |_: C<'_>, low: i64, high: i64| -> Result<i64> {
            if low > high {
                // Python's randint raises ValueError here.
                return Err(HostTrap::Refused(format!("empty range in randint({low}, {high})")).into());
            }
            Ok(rand::rng().random_range(low..=high))
        })?,
        "random_float" => linker.func_wrap("vera", name, |_: C<'_>| -> f64 { rand::rng().random::<f64>() })?,
        "random_bool" => linker.func_wrap("vera", name, |_: C<'_>| -> i32 { rand::rng().random_bool(0.5) as i32 })?,
        _ => return Ok(false),
    };
    Ok(true)
}
