//! `Decimal`'s imports: the run's handle table over [`vera_families::decimal`]'s values.

use std::cmp::Ordering;
use std::collections::HashMap;

use vera_families::decimal::*;
use vera_layout::values::{self, Payload, NONE, SOME};
use vera_layout::{mem, Heap};

use super::check_host_string;
use super::glue::{imports, Cx, Ptr, Text};
use wasmtime::Result;

use crate::state::HostState;
use crate::trap::HostTrap;

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
fn some_wrapped(cx: &mut Cx<'_, '_>, handle: u32) -> Result<Ptr> {
    let register = cx.state().exports.register_wrapper.clone();
    let ptr = cx.heap(|h| {
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
    Ok(Ptr(ptr))
}

fn none(cx: &mut Cx<'_, '_>) -> Result<Ptr> {
    cx.heap(|h| values::alloc_adt(h, NONE, Payload::Empty)).map(Ptr)
}

/// The value behind handle `h`, or the trap naming the import.
fn load(cx: &mut Cx<'_, '_>, h: i32) -> Result<Dec> {
    let import = cx.import();
    match table(cx.state()).values.get(&(h as u32)) {
        Some(d) => Ok(d.clone()),
        None => Err(HostTrap::Refused(format!("vera.{import}: {h} is not a live Decimal handle")).into()),
    }
}

/// Stores `d`, returning its handle as the guest holds it.
fn stored(cx: &mut Cx<'_, '_>, d: Dec) -> Result<i32> {
    Ok(store(cx.state(), d)? as i32)
}

fn binary(cx: &mut Cx<'_, '_>, a: i32, b: i32, op: fn(&Dec, &Dec, Ctx) -> DecResult) -> Result<i32> {
    let (x, y) = (load(cx, a)?, load(cx, b)?);
    let r = op(&x, &y, WIDE).map_err(trapped)?;
    stored(cx, r)
}

imports! {
    fn decimal_add(cx, a: i32, b: i32) -> i32 {
        binary(&mut cx, a, b, Dec::add)
    }
    fn decimal_sub(cx, a: i32, b: i32) -> i32 {
        binary(&mut cx, a, b, Dec::sub)
    }
    fn decimal_mul(cx, a: i32, b: i32) -> i32 {
        binary(&mut cx, a, b, Dec::mul)
    }
    fn decimal_from_int(cx, v: i64) -> i32 {
        stored(&mut cx, Dec::from_i64(v))
    }
    fn decimal_from_float(cx, v: f64) -> i32 {
        stored(&mut cx, Dec::from_f64(v))
    }
    // The text's length is checked against the limits before it is read.
    fn decimal_from_string(cx, ptr: i32, len: i32) -> Ptr {
        if len > 0 {
            let max = cx.state().host_limits.max_decimal_digits;
            check_host_string(cx.state(), "decimal_from_string input", len as usize)?;
            if len as usize > max {
                return Err(HostTrap::Limit(format!(
                    "limit exceeded: decimal_from_string input of {len} bytes is over --max-decimal-digits ({max})"
                ))
                .into());
            }
        }
        let text = cx.read_str(ptr, len)?;
        match Dec::parse(&text) {
            Some(d) => {
                let handle = store(cx.state(), d)?;
                some_wrapped(&mut cx, handle)
            }
            None => none(&mut cx),
        }
    }
    fn decimal_to_string(cx, h: i32) -> Text {
        Ok(Text(load(&mut cx, h)?.to_python_string()))
    }
    fn decimal_to_float(cx, h: i32) -> f64 {
        Ok(load(&mut cx, h)?.to_f64())
    }
    fn decimal_div(cx, a: i32, b: i32) -> Ptr {
        let (x, y) = (load(&mut cx, a)?, load(&mut cx, b)?);
        if y.is_zero() {
            return none(&mut cx);
        }
        let q = x.div(&y, WIDE).map_err(trapped)?;
        let handle = store(cx.state(), q)?;
        some_wrapped(&mut cx, handle)
    }
    fn decimal_neg(cx, h: i32) -> i32 {
        let r = load(&mut cx, h)?.neg(WIDE).map_err(trapped)?;
        stored(&mut cx, r)
    }
    fn decimal_abs(cx, h: i32) -> i32 {
        let r = load(&mut cx, h)?.abs(WIDE).map_err(trapped)?;
        stored(&mut cx, r)
    }
    fn decimal_round(cx, h: i32, places: i64) -> i32 {
        let r = load(&mut cx, h)?.round(places);
        stored(&mut cx, r)
    }
    fn decimal_compare(cx, a: i32, b: i32) -> Ptr {
        let (x, y) = (load(&mut cx, a)?, load(&mut cx, b)?);
        let tag = match x.compare(&y).map_err(trapped)? {
            Ordering::Less => 0,
            Ordering::Equal => 1,
            Ordering::Greater => 2,
        };
        cx.heap(|heap| values::alloc_adt(heap, tag, Payload::Empty)).map(Ptr)
    }
    fn decimal_eq(cx, a: i32, b: i32) -> bool {
        let (x, y) = (load(&mut cx, a)?, load(&mut cx, b)?);
        Ok(x.equals(&y))
    }
}
