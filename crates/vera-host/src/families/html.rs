//! `Html`'s imports over [`vera_families::html`].

use vera_families::html::*;
use vera_layout::values::{self, Payload, ERR, OK};

use super::glue::{imports, Cx, Pair, Ptr};
use crate::trap::HostTrap;

imports! {
    fn html_parse(cx, text: Str) -> Ptr {
        let parsed = parse(&text);
        super::check_deadline(cx.state())?;
        let tree = match parsed {
            Err(ParseError::TooDeep) => return Err(HostTrap::Refused(WRITE_RECURSION.to_owned()).into()),
            Err(ParseError::Err(e)) => Err(e),
            Ok(node) => Ok(node),
        };
        let out = cx.heap(|h| match tree {
            Ok(node) => {
                let p = write_node(h, &node)?;
                values::alloc_adt(h, OK, Payload::Word(p))
            }
            Err(e) => values::alloc_adt_with_str(h, ERR, e.as_bytes()),
        })?;
        Ok(Ptr(out))
    }
    fn html_to_string(cx, node: Ptr) -> Pair {
        rendered(&mut cx, node, to_html)
    }
    fn html_text(cx, node: Ptr) -> Pair {
        rendered(&mut cx, node, text_of)
    }
    fn html_query(cx, node: Ptr, selector: Str) -> Pair {
        let (p, n) = cx.heap(|h| {
            let mut budget = super::tree_budget(h);
            let node = read_node(h, node.0, &mut budget)?;
            let found = query(&node, &selector);
            values::alloc_array_with(h, found.len(), 4, |h, i| write_node(h, found[i]).map(u64::from))
        })?;
        Ok(Pair(p, n))
    }
}

/// The tree at `node` read and rendered by `render`, as a String.
fn rendered(cx: &mut Cx<'_, '_>, node: Ptr, render: fn(&Node) -> String) -> wasmtime::Result<Pair> {
    let (p, l) = cx.heap(|h| {
        let mut budget = super::tree_budget(h);
        let node = read_node(h, node.0, &mut budget)?;
        values::alloc_str(h, render(&node).as_bytes())
    })?;
    Ok(Pair(p, l))
}
