//! Trap kinds and how a failed run is described, as Vera 0.2.3 does it.
//!
//! A run can stop early for four reasons: the program called `exit`, a
//! check signalled a contract violation or a named trap (`contract_fail`,
//! `trap(kind, msg)`) before its `unreachable`, the engine trapped on its
//! own (division by zero, stack exhaustion...), or a host import refused
//! (a forged pointer, a corrupt bucket). [`classify`] turns each into the
//! one line `vera run` prints after `Error: `.

use vera_layout::{GuestError, GuestErrorKind};
use wasmtime::{Trap, WasmBacktrace};

use crate::state::HostState;

/// Vera 0.2.3's trap kinds: (name, code passed to `vera.trap`, description).
pub const TRAP_KINDS: &[(&str, u32, &str)] = &[
    ("overflow", 1, "Integer overflow"),
    ("nat_guard", 2, "Negative value bound into a @Nat slot"),
    ("nat_underflow", 4, "@Nat subtraction would be negative"),
    ("assertion_failed", 5, "Assertion failed"),
    ("index_out_of_bounds", 6, "Array index out of bounds"),
    ("string_index_out_of_bounds", 7, "String index out of bounds"),
    ("float_conversion", 8, "Float64 value outside the @Int range"),
    ("heap_exhausted", 9, "Heap exhausted"),
    ("contract_violation", 0, "Contract violation"),
    ("divide_by_zero", 0, "Integer division by zero"),
    ("out_of_bounds", 0, "Out-of-bounds memory access"),
    ("stack_exhausted", 0, "WASM call stack exhausted"),
    ("unreachable", 0, "Reached `unreachable` WASM instruction"),
    ("uncaught_exception", 10, "Uncaught exception"),
    // The cause text of 0.2.3's `trap_registry.py`: what a bare
    // `unreachable` at a worklist-overflow site of the collector means.
    (
        "gc_worklist_overflow",
        0,
        "The collector's mark worklist overflowed: more heap objects were waiting to be marked at one \
         time than its 16 384 entries hold (`GC_WORKLIST_SIZE` in `vera/codegen/assembly.py`), which one \
         very wide live structure \u{2014} an array or map holding more heap values than that \u{2014} can \
         reach.  Split the structure, or hold fewer heap values in it at once.",
    ),
    ("host_error", 0, "Host binding error"),
    ("unknown", 0, "Unclassified trap"),
];

fn description(kind: &str) -> &'static str {
    TRAP_KINDS
        .iter()
        .find(|k| k.0 == kind)
        .map_or("Unclassified trap", |k| k.2)
}

fn kind_for_code(code: u32) -> Option<&'static (&'static str, u32, &'static str)> {
    TRAP_KINDS.iter().find(|k| k.1 == code && code != 0)
}

/// Why a host import stopped the guest.
#[derive(Debug, thiserror::Error)]
pub enum HostTrap {
    /// `IO.exit(code)`.
    #[error("exit({0})")]
    Exit(i64),
    /// Guest memory was not what the import needed.
    #[error("vera.{import}: {source}")]
    Guest { import: String, source: GuestError },
    /// The import refused, with a message for the user.
    #[error("{0}")]
    Refused(String),
    /// A resource limit of vera-rt was exceeded.
    #[error("{0}")]
    Limit(String),
}

/// How a run that did not return ended.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The program called `exit(code)`.
    Exit(i64),
    /// A trap: its kind, the line after `Error: `, and the guest functions
    /// on the stack (innermost first) when the module names them.
    Trap {
        kind: String,
        message: String,
        frames: Vec<String>,
    },
}

/// The kind of an engine trap, when Vera names it.
fn native_kind(code: Trap) -> Option<&'static str> {
    Some(match code {
        Trap::IntegerDivisionByZero => "divide_by_zero",
        Trap::IntegerOverflow => "overflow",
        Trap::BadConversionToInteger => "float_conversion",
        Trap::MemoryOutOfBounds => "out_of_bounds",
        Trap::StackOverflow => "stack_exhausted",
        Trap::UnreachableCodeReached => "unreachable",
        _ => return None,
    })
}

/// The guest's collector trapped on a full mark worklist inside a call
/// the host made (its `alloc`).
#[derive(Debug, thiserror::Error)]
#[error("the collector's mark worklist overflowed")]
pub struct WorklistOverflow;

/// Whether `err` is a trap at one of the collector's worklist-overflow
/// sites (module offsets, see `vera_rewrite::collector`).
pub fn worklist_overflowed(err: &wasmtime::Error, sites: &[std::ops::Range<usize>]) -> bool {
    !sites.is_empty()
        && err
            .downcast_ref::<WasmBacktrace>()
            .and_then(|bt| bt.frames().first())
            .and_then(|frame| frame.module_offset())
            .is_some_and(|offset| sites.iter().any(|site| site.contains(&offset)))
}

/// Whether the innermost frame of `err` trapped on a float-to-integer
/// truncation (`i32/i64.trunc_f32/f64_s/u`): wasmtime calls a finite value
/// past the target range "integer overflow", as it does `INT_MIN / -1`, and
/// only the instruction tells them apart (Vera's `native_trap_kind`).
fn trapped_on_truncation(err: &wasmtime::Error, wasm: &[u8]) -> bool {
    err.downcast_ref::<WasmBacktrace>()
        .and_then(|bt| bt.frames().first())
        .and_then(|frame| frame.module_offset())
        .and_then(|offset| wasm.get(offset))
        .is_some_and(|op| matches!(op, 0xA8..=0xAB | 0xAE..=0xB1))
}

/// Classifies the error a guest call returned.
pub fn classify(err: &wasmtime::Error, state: &HostState) -> Failure {
    let frames: Vec<String> = err
        .downcast_ref::<WasmBacktrace>()
        .map(|bt| {
            bt.frames()
                .iter()
                .filter_map(|f| f.func_name().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let trap = |kind: &str, message: String| Failure::Trap {
        kind: kind.to_owned(),
        message,
        frames: frames.clone(),
    };
    let mut host = err.downcast_ref::<HostTrap>();
    // An import called from inside `alloc` stopped the run: its reason,
    // not the outer import's, is the run's.
    while let Some(HostTrap::Guest { source, .. }) = host {
        let GuestErrorKind::Host(inner) = source.kind() else {
            break;
        };
        match inner.0.downcast_ref::<HostTrap>() {
            Some(nested) => host = Some(nested),
            None => break,
        }
    }
    // A family core's stop, reached through guest memory it was reading.
    let stopped = match host {
        Some(HostTrap::Guest { source, .. }) => match source.kind() {
            GuestErrorKind::Host(inner) => inner
                .0
                .downcast_ref::<vera_families::Stop>()
                .cloned()
                .map(HostTrap::from),
            _ => None,
        },
        _ => None,
    };
    if stopped.is_some() {
        host = stopped.as_ref();
    }
    if let Some(host) = host {
        match host {
            HostTrap::Exit(code) => return Failure::Exit(*code),
            // A host binding's refusal, like the Python exception `vera
            // run` reports for it: the message alone, no guest frames.
            HostTrap::Refused(message) => {
                return Failure::Trap {
                    kind: "host_error".into(),
                    message: message.clone(),
                    frames: Vec::new(),
                }
            }
            HostTrap::Limit(message) => return trap("limit", message.clone()),
            HostTrap::Guest { import, source } => match source.kind() {
                GuestErrorKind::Host(inner) if inner.0.downcast_ref::<WorklistOverflow>().is_some() => {
                    let kind = "gc_worklist_overflow";
                    return trap(kind, description(kind).to_owned());
                }
                GuestErrorKind::Host(inner) => {
                    // A trap inside the guest's `alloc` (heap exhausted, a
                    // collector limit) reached through a host import.
                    if let Some(code) = inner.0.downcast_ref::<Trap>() {
                        if matches!(code, Trap::Interrupt | Trap::OutOfFuel) {
                            return trap("limit", "time limit exceeded (--timeout)".to_owned());
                        }
                        if state.violation.is_none() && state.trap_signal.is_none() {
                            if let Some(kind) = native_kind(*code) {
                                return trap(kind, description(kind).to_owned());
                            }
                        }
                    }
                }
                kind => {
                    let kind = match kind {
                        GuestErrorKind::OutOfBounds { .. } => "out_of_bounds",
                        _ => "host_error",
                    };
                    return trap(kind, format!("{} (vera.{import}: {source})", description(kind)));
                }
            },
        }
    }
    if let Some(message) = &state.violation {
        return trap("contract_violation", message.clone());
    }
    if let Some((code, message)) = &state.trap_signal {
        if let Some((name, _, desc)) = kind_for_code(*code) {
            let text = if message.is_empty() {
                (*desc).to_owned()
            } else {
                message.clone()
            };
            return trap(name, text);
        }
    }
    let code = err
        .downcast_ref::<Trap>()
        .copied()
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<Trap>().copied()));
    let kind = match code {
        Some(Trap::Interrupt) | Some(Trap::OutOfFuel) => {
            return trap("limit", "time limit exceeded (--timeout)".to_owned());
        }
        Some(Trap::UnreachableCodeReached) if worklist_overflowed(err, &state.worklist_overflow_sites) => {
            "gc_worklist_overflow"
        }
        Some(Trap::IntegerOverflow) if trapped_on_truncation(err, &state.wasm) => "float_conversion",
        Some(code) if native_kind(code).is_some() => native_kind(code).unwrap_or("unknown"),
        _ if err.chain().any(|e| {
            // wasmtime says "thrown Wasm exception".
            let text = e.to_string().to_lowercase();
            text.contains("thrown wasm exception") || text.contains("uncaught exception")
        }) =>
        {
            "uncaught_exception"
        }
        _ => return trap("unknown", format!("{err:#}")),
    };
    trap(kind, description(kind).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_name_their_kind() {
        assert_eq!(kind_for_code(9).unwrap().2, "Heap exhausted");
        assert!(kind_for_code(0).is_none());
        assert!(kind_for_code(3).is_none());
    }
}
