//! `Json`'s imports: `json_parse` and `json_stringify` over [`vera_families::json`].

use vera_families::json::*;
use vera_layout::values::{self, Payload, ERR, OK};
use vera_layout::Heap;

use super::{check_host_string, with_heap};
use std::time::Instant;

use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::state::HostState;
use crate::trap::HostTrap;

type C<'a> = Caller<'a, HostState>;

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    match name {
        "json_parse" => linker.func_wrap("vera", name, |mut c: C<'_>, p: i32, l: i32| -> Result<i32> {
            let start = Instant::now();
            if l > 0 {
                check_host_string(c.data(), "json_parse input", l as usize)?;
            }
            let text = with_heap(&mut c, "json_parse", |h| {
                values::read_string(h.memory(), p as u32, l as u32)
            })?;
            let parsed = parse_document(&text, super::meter(c.data()))
                .map_err(|e| HostTrap::from(e.stop("json_parse's tree")))?;
            let ptr = match parsed {
                Parsed::Ok(doc) => with_heap(&mut c, "json_parse", |h| {
                    let json = build_document(h, &doc)?;
                    values::alloc_adt(h, OK, Payload::Word(json))
                })?,
                Parsed::Err(msg) => with_heap(&mut c, "json_parse", |h| {
                    values::alloc_adt_with_str(h, ERR, msg.as_bytes())
                })?,
                Parsed::Trap(msg) => return Err(HostTrap::Refused(msg).into()),
            };
            c.data_mut().stats.json_parse.add(text.len(), start);
            Ok(ptr as i32)
        })?,
        "json_stringify" => linker.func_wrap("vera", name, |mut c: C<'_>, ptr: i32| -> Result<(i32, i32)> {
            let start = Instant::now();
            let max = c.data().host_limits.max_host_string;
            let text = with_heap(&mut c, "json_stringify", |h| {
                match stringify_document(h, ptr as u32, max) {
                    Ok(text) => Ok(Ok(text)),
                    Err(StringifyError::Guest(e)) => Err(e),
                    Err(StringifyError::Refused(msg)) => Ok(Err(HostTrap::Refused(msg))),
                    Err(StringifyError::TooLong) => Ok(Err(HostTrap::Limit(format!(
                        "limit exceeded: json_stringify output is over --max-host-string ({max} bytes)"
                    )))),
                }
            })??;
            let (p, l) = with_heap(&mut c, "json_stringify", |h| values::alloc_str(h, &text))?;
            c.data_mut().stats.json_stringify.add(text.len(), start);
            Ok((p as i32, l as i32))
        })?,
        _ => return Ok(false),
    };
    Ok(true)
}
