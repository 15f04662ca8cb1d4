//! `Markdown`'s imports over [`vera_families::md`].

use vera_families::md::*;
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
        "md_parse" => linker.func_wrap("vera", name, |mut c: C<'_>, ptr: i32, len: i32| -> Result<i32> {
            let text = with_heap(&mut c, "md_parse", |h| {
                values::read_string(h.memory(), ptr as u32, len as u32)
            })?;
            let parsed = parse_markdown(&text);
            super::check_deadline(c.data())?;
            let out = match parsed {
                Err(TooDeep) => with_heap(&mut c, "md_parse", |h| {
                    values::alloc_adt_with_str(h, ERR, PARSE_RECURSION.as_bytes())
                })?,
                Ok(doc) => {
                    if write_frames(&doc) > MAX_WRITE_FRAMES {
                        return Err(HostTrap::Refused(WRITE_RECURSION.to_owned()).into());
                    }
                    with_heap(&mut c, "md_parse", |h| {
                        let block = write_block(h, &doc)?;
                        values::alloc_adt(h, OK, Payload::Word(block))
                    })?
                }
            };
            Ok(out as i32)
        })?,
        "md_render" => linker.func_wrap("vera", name, |mut c: C<'_>, ptr: i32| -> Result<(i32, i32)> {
            let (p, l) = with_heap(&mut c, "md_render", |h| {
                let mut budget = super::tree_budget(h);
                let block = read_block(h.memory(), ptr as u32, &mut budget)?;
                values::alloc_str(h, render_markdown(&block).as_bytes())
            })?;
            Ok((p as i32, l as i32))
        })?,
        "md_has_heading" => linker.func_wrap("vera", name, |mut c: C<'_>, ptr: i32, level: i64| -> Result<i32> {
            let block = with_heap(&mut c, "md_has_heading", |h| {
                let mut budget = super::tree_budget(h);
                read_block(h.memory(), ptr as u32, &mut budget)
            })?;
            Ok(has_heading(&block, level) as i32)
        })?,
        "md_has_code_block" => linker.func_wrap(
            "vera",
            name,
            |mut c: C<'_>, ptr: i32, lp: i32, ll: i32| -> Result<i32> {
                let (block, lang) = with_heap(&mut c, "md_has_code_block", |h| {
                    let mut budget = super::tree_budget(h);
                    Ok((
                        read_block(h.memory(), ptr as u32, &mut budget)?,
                        values::read_string(h.memory(), lp as u32, ll as u32)?,
                    ))
                })?;
                Ok(has_code_block(&block, &lang) as i32)
            },
        )?,
        "md_extract_code_blocks" => linker.func_wrap(
            "vera",
            name,
            |mut c: C<'_>, ptr: i32, lp: i32, ll: i32| -> Result<(i32, i32)> {
                let (p, n) = with_heap(&mut c, "md_extract_code_blocks", |h| {
                    let mut budget = super::tree_budget(h);
                    let block = read_block(h.memory(), ptr as u32, &mut budget)?;
                    let lang = values::read_string(h.memory(), lp as u32, ll as u32)?;
                    let mut found = Vec::new();
                    collect_code(&block, &lang, &mut found);
                    values::alloc_string_array(h, &found)
                })?;
                Ok((p as i32, n as i32))
            },
        )?,
        _ => return Ok(false),
    };
    Ok(true)
}
