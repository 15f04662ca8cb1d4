//! `Markdown`'s imports over [`vera_families::md`].

use vera_families::md::*;
use vera_layout::values::{self, Payload, ERR, OK};
use vera_layout::Heap;

use super::glue::{imports, Pair, Ptr};
use crate::trap::HostTrap;

imports! {
    fn md_parse(cx, text: Str) -> Ptr {
        let parsed = parse_markdown(&text);
        super::check_deadline(cx.state())?;
        let out = match parsed {
            Err(TooDeep) => cx.heap(|h| values::alloc_adt_with_str(h, ERR, PARSE_RECURSION.as_bytes()))?,
            Ok(doc) => {
                if write_frames(&doc) > MAX_WRITE_FRAMES {
                    return Err(HostTrap::Refused(WRITE_RECURSION.to_owned()).into());
                }
                cx.heap(|h| {
                    let block = write_block(h, &doc)?;
                    values::alloc_adt(h, OK, Payload::Word(block))
                })?
            }
        };
        Ok(Ptr(out))
    }
    fn md_render(cx, doc: Ptr) -> Pair {
        let (p, l) = cx.heap(|h| {
            let mut budget = super::tree_budget(h);
            let block = read_block(h.memory(), doc.0, &mut budget)?;
            values::alloc_str(h, render_markdown(&block).as_bytes())
        })?;
        Ok(Pair(p, l))
    }
    fn md_has_heading(cx, doc: Ptr, level: i64) -> bool {
        let block = cx.heap(|h| {
            let mut budget = super::tree_budget(h);
            read_block(h.memory(), doc.0, &mut budget)
        })?;
        Ok(has_heading(&block, level))
    }
    fn md_has_code_block(cx, doc: Ptr, language: Str) -> bool {
        let block = cx.heap(|h| {
            let mut budget = super::tree_budget(h);
            read_block(h.memory(), doc.0, &mut budget)
        })?;
        Ok(has_code_block(&block, &language))
    }
    fn md_extract_code_blocks(cx, doc: Ptr, language: Str) -> Pair {
        let (p, n) = cx.heap(|h| {
            let mut budget = super::tree_budget(h);
            let block = read_block(h.memory(), doc.0, &mut budget)?;
            let mut found = Vec::new();
            collect_code(&block, &language, &mut found);
            values::alloc_string_array(h, &found)
        })?;
        Ok(Pair(p, n))
    }
}
