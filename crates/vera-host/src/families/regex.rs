//! `Regex`'s imports over [`vera_families::regex`]: `regex_match`, `regex_find`, `regex_find_all`, `regex_replace`.

use vera_families::regex::*;
use vera_layout::values;
use vera_layout::Heap;

use super::with_heap;
use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::state::HostState;
use crate::trap::HostTrap;

type C<'a> = Caller<'a, HostState>;

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    let Some(op) = Op::of(name) else {
        return Ok(false);
    };
    if op == Op::Replace {
        linker.func_wrap(
            "vera",
            name,
            move |mut c: C<'_>, ip: i32, il: i32, pp: i32, pl: i32, rp: i32, rl: i32| -> Result<i32> {
                let (input, pattern, repl) = with_heap(&mut c, op.name(), |h| {
                    let m = h.memory();
                    Ok((
                        values::read_string(m, ip as u32, il as u32)?,
                        values::read_string(m, pp as u32, pl as u32)?,
                        values::read_string(m, rp as u32, rl as u32)?,
                    ))
                })?;
                let meter = super::meter(c.data());
                let result = answer(op, &input, &pattern, &repl, meter).map_err(HostTrap::from)?;
                with_heap(&mut c, op.name(), |h| alloc_answer(h, result)).map(|p| p as i32)
            },
        )?;
    } else {
        linker.func_wrap(
            "vera",
            name,
            move |mut c: C<'_>, ip: i32, il: i32, pp: i32, pl: i32| -> Result<i32> {
                let (input, pattern) = with_heap(&mut c, op.name(), |h| {
                    Ok((
                        values::read_string(h.memory(), ip as u32, il as u32)?,
                        values::read_string(h.memory(), pp as u32, pl as u32)?,
                    ))
                })?;
                let meter = super::meter(c.data());
                let result = answer(op, &input, &pattern, "", meter).map_err(HostTrap::from)?;
                with_heap(&mut c, op.name(), |h| alloc_answer(h, result)).map(|p| p as i32)
            },
        )?;
    }
    Ok(true)
}
