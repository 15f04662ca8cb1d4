//! The called function's arguments, read from text by `vera run`'s rules
//! (Python's `int()` and `float()`, Bool words, range checks by declared
//! type, a String allocated in the guest), with `vera run`'s messages.

use wasmtime::{format_err as anyhow, Result};
use wasmtime::{Store, Val, ValType};

use crate::source::{self, Param};
use crate::state::HostState;

/// The function being called, for parsing its arguments.
pub(crate) struct Call<'a> {
    pub(crate) name: &'a str,
    pub(crate) wasm: &'a [ValType],
    /// Its declaration, when the source is known.
    pub(crate) declared: Option<&'a source::SourceFn>,
    /// Whether there is a source at all (it may lack the function).
    pub(crate) source_known: bool,
    /// Picked for want of a `main`.
    pub(crate) auto_selected: bool,
    pub(crate) exports: &'a [String],
}

/// How the text arguments are read: `vera run`'s rules. With the source,
/// by the declared parameters: their number must match; an `@Int` or
/// `@Nat` is Python's `int()` within the type's range, a `@Float64`
/// Python's `float()`, a `@Bool` `true`/`yes`/`1`, `false`/`no`/`0` or an
/// integer, a `@Byte` that or an integer in 0..=255, a `@String` any text.
/// Without it, by the wasm signature: i64 as an `@Int`, f64 as a float, and
/// an i32 pair taken as a String wherever the number of arguments calls for
/// one (so `42` is a String when the function takes just one). `raw` is
/// `None` when no arguments were given at all (no `--`).
pub(crate) fn parse_args(
    store: &mut Store<HostState>,
    call: &Call,
    raw: Option<&[String]>,
) -> Result<Vec<Val>, String> {
    let Some(raw) = raw else {
        if call.wasm.is_empty() {
            return Ok(Vec::new());
        }
        return Err(parameters_message(call, 0));
    };
    if let Some(other) = call
        .wasm
        .iter()
        .find(|t| !matches!(t, ValType::I32 | ValType::I64 | ValType::F64))
    {
        return Err(format!(
            "Function '{}' takes a parameter of type {other}, which no Vera type lowers to",
            call.name
        ));
    }
    let plan: Vec<Param> = match call.declared {
        Some(f) => {
            if raw.len() != f.params.len() {
                return Err(arity_message(call.name, f.params.len(), raw.len(), ""));
            }
            f.params.clone()
        }
        None => wasm_plan(call.wasm, raw).ok_or_else(|| {
            let (least, most) = wasm_arity(call.wasm);
            let expected = if least == most {
                most.to_string()
            } else {
                format!("{least} to {most}")
            };
            format!(
                "Function '{}' expects {expected} argument{} but {} {} provided. (Read from the module's \
                 WebAssembly signature, where a String or Array parameter is two i32s: {}.)",
                call.name,
                if most == 1 { "" } else { "s" },
                raw.len(),
                if raw.len() == 1 { "was" } else { "were" },
                if call.source_known {
                    "the source beside the module does not declare it"
                } else {
                    "no source was found beside the module"
                }
            )
        })?,
    };
    let mut out = Vec::new();
    for (text, param) in raw.iter().zip(&plan) {
        let repr = vera_families::pyrepr::python_repr_str(text);
        let invalid = |e: String| {
            format!(
                "Argument {repr} is not valid for parameter type '{}': {e}",
                param.wasm_name()
            )
        };
        let int_error = || invalid(format!("invalid literal for int() with base 10: {repr}"));
        let out_of_range = |range: (&str, &str, i128, i128)| {
            format!(
                "Argument {repr} is out of range for parameter type {}: {} holds {} .. {}.",
                range.0, range.1, range.2, range.3
            )
        };
        let in_range = |value: Option<i128>, range: (&str, &str, i128, i128)| match value {
            Some(v) if (range.2..=range.3).contains(&v) => Ok(v),
            _ => Err(out_of_range(range)),
        };
        match param {
            Param::Int | Param::Nat => {
                let value = python_int(text).ok_or_else(int_error)?;
                let range = if *param == Param::Nat { NAT_RANGE } else { INT_RANGE };
                out.push(Val::I64(in_range(value, range)? as i64));
            }
            Param::Float => {
                let value = parse_python_float(text)
                    .ok_or_else(|| invalid(format!("could not convert string to float: {repr}")))?;
                out.push(Val::F64(value.to_bits()));
            }
            Param::Byte | Param::Word => {
                let value = match text.to_lowercase().as_str() {
                    "true" | "yes" | "1" => 1,
                    "false" | "no" | "0" => 0,
                    _ => {
                        let value = python_int(text).ok_or_else(int_error)?;
                        if *param == Param::Byte {
                            in_range(value, BYTE_RANGE)?
                        } else {
                            // What a host hands an i32 slot: the low 32 bits.
                            value.unwrap_or(0) as i32 as i128
                        }
                    }
                };
                out.push(Val::I32(value as i32));
            }
            Param::Pair => {
                let (p, l) = alloc_arg_string(store, text).map_err(|e| format!("{e:#}"))?;
                out.push(Val::I32(p as i32));
                out.push(Val::I32(l as i32));
            }
        }
    }
    if out.len() != call.wasm.len() {
        return Err(parameters_message(call, out.len()));
    }
    Ok(out)
}

const INT_RANGE: (&str, &str, i128, i128) = ("@Int", "an @Int", i64::MIN as i128, i64::MAX as i128);
const NAT_RANGE: (&str, &str, i128, i128) = ("@Nat", "a @Nat", 0, i64::MAX as i128);
const BYTE_RANGE: (&str, &str, i128, i128) = ("@Byte", "a @Byte", 0, 255);

/// Which wasm parameters the arguments fill, read from the signature
/// alone: an i64 an `@Int`, an f64 a float, an i32 one word, or an i32
/// pair one String. Where an i32 pair may be either, the text decides
/// first (a word when it reads as one), then the number of arguments.
fn wasm_plan(wasm: &[ValType], raw: &[String]) -> Option<Vec<Param>> {
    fn go(
        wasm: &[ValType],
        raw: &[String],
        w: usize,
        r: usize,
        failed: &mut std::collections::HashSet<(usize, usize)>,
        plan: &mut Vec<Param>,
    ) -> bool {
        if w == wasm.len() || r == raw.len() {
            return w == wasm.len() && r == raw.len();
        }
        if failed.contains(&(w, r)) {
            return false;
        }
        let mut options = Vec::new();
        match wasm[w] {
            ValType::I64 => options.push((Param::Int, 1)),
            ValType::F64 => options.push((Param::Float, 1)),
            ValType::I32 => {
                let pair = matches!(wasm.get(w + 1), Some(ValType::I32));
                let word = parse_word(&raw[r]).is_some();
                if pair && !word {
                    options.push((Param::Pair, 2));
                }
                options.push((Param::Word, 1));
                if pair && word {
                    options.push((Param::Pair, 2));
                }
            }
            _ => {}
        }
        for (param, width) in options {
            plan.push(param);
            if go(wasm, raw, w + width, r + 1, failed, plan) {
                return true;
            }
            plan.pop();
        }
        failed.insert((w, r));
        false
    }
    let mut plan = Vec::new();
    go(wasm, raw, 0, 0, &mut std::collections::HashSet::new(), &mut plan).then_some(plan)
}

/// The fewest and most arguments a wasm signature can take (each run of
/// i32s holding as many String pairs as fit).
fn wasm_arity(wasm: &[ValType]) -> (usize, usize) {
    let mut least = 0;
    let mut run = 0;
    for t in wasm.iter().chain([&ValType::I64]) {
        if matches!(t, ValType::I32) {
            run += 1;
        } else {
            least += run - run / 2;
            run = 0;
        }
    }
    let i32s = wasm.iter().filter(|t| matches!(t, ValType::I32)).count();
    (least + wasm.len() - i32s, wasm.len())
}

/// A Bool or Byte argument: `true`/`yes`/`1`, `false`/`no`/`0`, or an integer.
fn parse_word(text: &str) -> Option<i32> {
    match text.to_lowercase().as_str() {
        "true" | "yes" | "1" => Some(1),
        "false" | "no" | "0" => Some(0),
        _ => python_int(text).flatten().and_then(|v| i32::try_from(v).ok()),
    }
}

/// Python's `int(text)`: surrounding whitespace, a sign, decimal digits
/// with single underscores between them. `Some(None)`: an integer too
/// large for an i128 (out of every parameter type's range).
fn python_int(text: &str) -> Option<Option<i128>> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return None;
    }
    Some(t.replace('_', "").parse::<i128>().ok())
}

/// `vera run`'s count of arguments against declared parameters.
fn arity_message(name: &str, n: usize, m: usize, note: &str) -> String {
    format!(
        "Function '{name}' expects {n} argument{} but {m} {} provided.{note}",
        if n == 1 { "" } else { "s" },
        if m == 1 { "was" } else { "were" }
    )
}

/// `vera run`'s count of values against the wasm parameters, when none
/// were given (or the source disagrees with the module): which exports
/// there are and how to call one.
fn parameters_message(call: &Call, given: usize) -> String {
    let expected = call.wasm.len();
    let mut message = format!(
        "Function '{}' expects {expected} parameter{} but {given} {} provided.",
        call.name,
        if expected == 1 { "" } else { "s" },
        if given == 1 { "was" } else { "were" }
    );
    if call.auto_selected {
        message.push_str(&format!(
            "\n\nNo 'main' function found. '{}' was selected as the first export.",
            call.name
        ));
    }
    message.push_str(&format!(
        "\n\nAvailable exports: {}\n\nTo call a specific function with arguments:\n\n  vera-rt run <file> --fn {} -- <args>",
        call.exports.join(", "),
        call.name
    ));
    message
}

/// Python's `float(text)`.
fn parse_python_float(text: &str) -> Option<f64> {
    let t = text.trim().to_lowercase();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(&t);
    let negative = t.starts_with('-');
    let special = match unsigned {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(v) = special {
        return Some(if negative { -v } else { v });
    }
    // Underscores only between digits; then the digits, point and
    // exponent Rust reads as Python does.
    let chars: Vec<char> = unsigned.chars().collect();
    for (k, c) in chars.iter().enumerate() {
        if *c == '_' {
            let digit = |i: Option<&char>| i.is_some_and(|c| c.is_ascii_digit());
            if k == 0 || !digit(chars.get(k - 1)) || !digit(chars.get(k + 1)) {
                return None;
            }
        } else if !(c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')) {
            return None;
        }
    }
    t.replace('_', "").parse().ok()
}

fn alloc_arg_string(store: &mut Store<HostState>, text: &str) -> Result<(u32, u32)> {
    let exports = store.data().exports.clone();
    let (Some(memory), Some(alloc)) = (exports.memory, exports.alloc) else {
        return Err(anyhow!(
            "Cannot allocate String argument: module has no 'memory' or 'alloc' export"
        ));
    };
    if text.is_empty() {
        return Ok((0, 0));
    }
    let ptr = alloc.call(&mut *store, text.len() as i32)? as u32;
    memory.write(&mut *store, ptr as usize, text.as_bytes())?;
    Ok((ptr, text.len() as u32))
}

#[cfg(test)]
mod argument_tests {
    use super::{parse_python_float, python_int};

    /// Python's own answers (`float(s)`, `int(s)`), ASCII digits only.
    #[test]
    fn numbers_read_as_python_reads_them() {
        let cases: &[(&str, Option<f64>, Option<i128>)] = &[
            ("1.5", Some(1.5), None),
            (" 2 ", Some(2.0), Some(2)),
            ("1_0.5", Some(10.5), None),
            ("1__0", None, None),
            (".5", Some(0.5), None),
            ("5.", Some(5.0), None),
            ("1e5", Some(1e5), None),
            ("1E-3", Some(0.001), None),
            ("+inf", Some(f64::INFINITY), None),
            ("-Infinity", Some(f64::NEG_INFINITY), None),
            ("1e", None, None),
            ("e5", None, None),
            ("_1", None, None),
            ("1_", None, None),
            ("0x10", None, None),
            ("1.5.5", None, None),
            ("", None, None),
            (" ", None, None),
            ("1 0", None, None),
            ("+.5e+2", Some(50.0), None),
            ("-0_7", Some(-7.0), Some(-7)),
        ];
        for (text, float, int) in cases {
            assert_eq!(parse_python_float(text), *float, "float({text:?})");
            assert_eq!(python_int(text).map(|v| v.unwrap()), *int, "int({text:?})");
        }
        assert!(parse_python_float("NaN").unwrap().is_nan());
        assert_eq!(python_int("99999999999999999999999999999999999999999"), Some(None));
    }
}
