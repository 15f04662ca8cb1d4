//! `Html`'s imports over [`vera_families::html`].

use vera_families::html::*;
use vera_layout::values::{self, Payload, ERR, OK};
use vera_layout::Heap;

use super::with_heap;
use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::state::HostState;
use crate::trap::HostTrap;

type C<'a> = Caller<'a, HostState>;

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    match name {
        "html_parse" => linker.func_wrap("vera", name, |mut c: C<'_>, ptr: i32, len: i32| -> Result<i32> {
            let text = with_heap(&mut c, "html_parse", |h| {
                values::read_string(h.memory(), ptr as u32, len as u32)
            })?;
            let parsed = parse(&text);
            super::check_deadline(c.data())?;
            let tree = match parsed {
                Err(ParseError::TooDeep) => return Err(HostTrap::Refused(WRITE_RECURSION.to_owned()).into()),
                Err(ParseError::Err(e)) => Err(e),
                Ok(node) => Ok(node),
            };
            let out = with_heap(&mut c, "html_parse", |h| match tree {
                Ok(node) => {
                    let p = write_node(h, &node)?;
                    values::alloc_adt(h, OK, Payload::Word(p))
                }
                Err(e) => values::alloc_adt_with_str(h, ERR, e.as_bytes()),
            })?;
            Ok(out as i32)
        })?,
        "html_to_string" | "html_text" => {
            let import = name.to_owned();
            linker.func_wrap("vera", name, move |mut c: C<'_>, ptr: i32| -> Result<(i32, i32)> {
                let (p, l) = with_heap(&mut c, &import, |h| {
                    let mut budget = super::tree_budget(h);
                    let node = read_node(h, ptr as u32, &mut budget)?;
                    let text = if import == "html_text" {
                        text_of(&node)
                    } else {
                        to_html(&node)
                    };
                    values::alloc_str(h, text.as_bytes())
                })?;
                Ok((p as i32, l as i32))
            })?
        }
        "html_query" => linker.func_wrap(
            "vera",
            name,
            |mut c: C<'_>, ptr: i32, sp: i32, sl: i32| -> Result<(i32, i32)> {
                let (p, n) = with_heap(&mut c, "html_query", |h| {
                    let mut budget = super::tree_budget(h);
                    let node = read_node(h, ptr as u32, &mut budget)?;
                    let selector = values::read_string(h.memory(), sp as u32, sl as u32)?;
                    let found = query(&node, &selector);
                    values::alloc_array_with(h, found.len(), 4, |h, i| write_node(h, found[i]).map(u64::from))
                })?;
                Ok((p as i32, n as i32))
            },
        )?,
        _ => return Ok(false),
    };
    Ok(true)
}
