//! `Regex`'s imports over [`vera_families::regex`]: `regex_match`, `regex_find`, `regex_find_all`, `regex_replace`.

use vera_families::regex::*;

use super::glue::{imports, Ptr};
use crate::trap::HostTrap;

imports! {
    fn regex_match(cx, input: Str, pattern: Str) -> Ptr {
        matched(&mut cx, Op::Match, &input, &pattern, "")
    }
    fn regex_find(cx, input: Str, pattern: Str) -> Ptr {
        matched(&mut cx, Op::Find, &input, &pattern, "")
    }
    fn regex_find_all(cx, input: Str, pattern: Str) -> Ptr {
        matched(&mut cx, Op::FindAll, &input, &pattern, "")
    }
    fn regex_replace(cx, input: Str, pattern: Str, replacement: Str) -> Ptr {
        matched(&mut cx, Op::Replace, &input, &pattern, &replacement)
    }
}

/// Python's answer to `op`, as the `Result` the guest reads.
fn matched(cx: &mut super::glue::Cx<'_, '_>, op: Op, input: &str, pattern: &str, repl: &str) -> wasmtime::Result<Ptr> {
    let result = answer(op, input, pattern, repl, cx.meter()).map_err(HostTrap::from)?;
    cx.heap(|h| alloc_answer(h, result)).map(Ptr)
}
