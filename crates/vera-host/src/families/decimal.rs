//! `Decimal`'s imports: the run's handle table over [`vera_families::decimal`]'s values.

use std::cmp::Ordering;
use std::collections::HashMap;

use vera_families::decimal::*;
use vera_layout::values::{self, Payload, NONE, SOME};
use vera_layout::{mem, Heap};

use super::{check_host_string, with_heap};
use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::state::HostState;
use crate::trap::HostTrap;

type C<'a> = Caller<'a, HostState>;

/// The wrapper kind a Decimal's wrapper is registered with
/// (`register_wrapper`, `host_decref_handle`).
pub const KIND_DECIMAL: i32 = 3;

/// The live Decimal values of a run, by handle.
#[derive(Default)]
pub struct DecimalTable {
    values: HashMap<u32, Dec>,
    next: u32,
}

fn table(state: &mut HostState) -> &mut DecimalTable {
    state.extensions.get_or_default::<DecimalTable>()
}

/// Stores `d` and returns its handle (31 bits, as the wrapper needs).
fn store(state: &mut HostState, d: Dec) -> Result<u32> {
    let t = table(state);
    t.next = t.next.max(1);
    if t.next >= 0x8000_0000 {
        return Err(HostTrap::Limit("Decimal handles exhausted (2^31 allocated)".to_owned()).into());
    }
    let max = state.host_limits.max_handles;
    let t = table(state);
    if t.values.len() >= max {
        return Err(HostTrap::Limit(format!("limit exceeded: {max} live Decimal handles (--max-handles)")).into());
    }
    let h = t.next;
    t.next += 1;
    t.values.insert(h, d);
    let live = t.values.len() as u64;
    let stats = &mut state.stats;
    stats.live_handles_end = live;
    stats.live_handles_peak = stats.live_handles_peak.max(live);
    Ok(h)
}

fn load(state: &mut HostState, import: &str, h: i32) -> Result<Dec> {
    match table(state).values.get(&(h as u32)) {
        Some(d) => Ok(d.clone()),
        None => Err(HostTrap::Refused(format!("vera.{import}: {h} is not a live Decimal handle")).into()),
    }
}

/// `host_decref_handle(3, h)`: the guest collector freed the wrapper.
pub fn release(state: &mut HostState, handle: u32) {
    let t = table(state);
    t.values.remove(&handle);
    let live = t.values.len() as u64;
    state.stats.live_handles_end = live;
}

fn trapped(signal: Signal) -> wasmtime::Error {
    HostTrap::Refused(signal.message()).into()
}

/// Allocates and registers the wrapper of `handle` and returns
/// `Some(wrapper)`, as `_wrap_handle` + `_alloc_option_some_i32` do.
fn some_wrapped(c: &mut C<'_>, import: &str, handle: u32) -> Result<i32> {
    let register = c.data().exports.register_wrapper.clone();
    let ptr = with_heap(c, import, |h| {
        let w = h.alloc(12)?;
        let memory = h.memory_mut();
        mem::write_u32(memory, w, DECIMAL_TAG)?;
        mem::write_u32(memory, w + 4, handle | 0x8000_0000)?;
        mem::write_u32(memory, w + 8, 0)?;
        h.with_roots(&[w], |h| {
            if let Some(register) = register {
                // `register_wrapper` collects when its table is full.
                h.collecting(|h| {
                    h.call_guest(|caller| register.call(caller, (w as i32, KIND_DECIMAL, handle as i32)))
                })?;
            }
            values::alloc_adt(h, SOME, Payload::Word(w))
        })
    })?;
    Ok(ptr as i32)
}

fn none(c: &mut C<'_>, import: &str) -> Result<i32> {
    Ok(with_heap(c, import, |h| values::alloc_adt(h, NONE, Payload::Empty))? as i32)
}

type Binary = fn(&Dec, &Dec, Ctx) -> DecResult;

fn binary(name: &str) -> Option<Binary> {
    Some(match name {
        "decimal_add" => Dec::add,
        "decimal_sub" => Dec::sub,
        "decimal_mul" => Dec::mul,
        _ => return None,
    })
}

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    if let Some(op) = binary(name) {
        let import = name.to_owned();
        linker.func_wrap("vera", name, move |mut c: C<'_>, a: i32, b: i32| -> Result<i32> {
            let (x, y) = (load(c.data_mut(), &import, a)?, load(c.data_mut(), &import, b)?);
            let r = op(&x, &y, WIDE).map_err(trapped)?;
            Ok(store(c.data_mut(), r)? as i32)
        })?;
        return Ok(true);
    }
    match name {
        "decimal_from_int" => linker.func_wrap("vera", name, |mut c: C<'_>, v: i64| -> Result<i32> {
            Ok(store(c.data_mut(), Dec::from_i64(v))? as i32)
        })?,
        "decimal_from_float" => linker.func_wrap("vera", name, |mut c: C<'_>, v: f64| -> Result<i32> {
            Ok(store(c.data_mut(), Dec::from_f64(v))? as i32)
        })?,
        "decimal_from_string" => linker.func_wrap("vera", name, |mut c: C<'_>, p: i32, l: i32| -> Result<i32> {
            const NAME: &str = "decimal_from_string";
            if l > 0 {
                let max = c.data().host_limits.max_decimal_digits;
                check_host_string(c.data(), "decimal_from_string input", l as usize)?;
                if l as usize > max {
                    return Err(HostTrap::Limit(format!(
                        "limit exceeded: decimal_from_string input of {l} bytes is over --max-decimal-digits ({max})"
                    ))
                    .into());
                }
            }
            let text = with_heap(&mut c, NAME, |h| values::read_string(h.memory(), p as u32, l as u32))?;
            match Dec::parse(&text) {
                Some(d) => {
                    let handle = store(c.data_mut(), d)?;
                    some_wrapped(&mut c, NAME, handle)
                }
                None => none(&mut c, NAME),
            }
        })?,
        "decimal_to_string" => linker.func_wrap("vera", name, |mut c: C<'_>, h: i32| -> Result<(i32, i32)> {
            let text = load(c.data_mut(), "decimal_to_string", h)?.to_python_string();
            let (p, l) = with_heap(&mut c, "decimal_to_string", |heap| {
                values::alloc_str(heap, text.as_bytes())
            })?;
            Ok((p as i32, l as i32))
        })?,
        "decimal_to_float" => linker.func_wrap("vera", name, |mut c: C<'_>, h: i32| -> Result<f64> {
            Ok(load(c.data_mut(), "decimal_to_float", h)?.to_f64())
        })?,
        "decimal_div" => linker.func_wrap("vera", name, |mut c: C<'_>, a: i32, b: i32| -> Result<i32> {
            const NAME: &str = "decimal_div";
            let (x, y) = (load(c.data_mut(), NAME, a)?, load(c.data_mut(), NAME, b)?);
            if y.is_zero() {
                return none(&mut c, NAME);
            }
            let q = x.div(&y, WIDE).map_err(trapped)?;
            let handle = store(c.data_mut(), q)?;
            some_wrapped(&mut c, NAME, handle)
        })?,
        "decimal_neg" => linker.func_wrap("vera", name, |mut c: C<'_>, h: i32| -> Result<i32> {
            let r = load(c.data_mut(), "decimal_neg", h)?.neg(WIDE).map_err(trapped)?;
            Ok(store(c.data_mut(), r)? as i32)
        })?,
        "decimal_abs" => linker.func_wrap("vera", name, |mut c: C<'_>, h: i32| -> Result<i32> {
            let r = load(c.data_mut(), "decimal_abs", h)?.abs(WIDE).map_err(trapped)?;
            Ok(store(c.data_mut(), r)? as i32)
        })?,
        "decimal_round" => linker.func_wrap("vera", name, |mut c: C<'_>, h: i32, places: i64| -> Result<i32> {
            let r = load(c.data_mut(), "decimal_round", h)?.round(places);
            Ok(store(c.data_mut(), r)? as i32)
        })?,
        "decimal_compare" => linker.func_wrap("vera", name, |mut c: C<'_>, a: i32, b: i32| -> Result<i32> {
            const NAME: &str = "decimal_compare";
            let (x, y) = (load(c.data_mut(), NAME, a)?, load(c.data_mut(), NAME, b)?);
            let tag = match x.compare(&y).map_err(trapped)? {
                Ordering::Less => 0,
                Ordering::Equal => 1,
                Ordering::Greater => 2,
            };
            Ok(with_heap(&mut c, NAME, |heap| values::alloc_adt(heap, tag, Payload::Empty))? as i32)
        })?,
        "decimal_eq" => linker.func_wrap("vera", name, |mut c: C<'_>, a: i32, b: i32| -> Result<i32> {
            let (x, y) = (
                load(c.data_mut(), "decimal_eq", a)?,
                load(c.data_mut(), "decimal_eq", b)?,
            );
            Ok(x.equals(&y) as i32)
        })?,
        _ => return Ok(false),
    };
    Ok(true)
}
