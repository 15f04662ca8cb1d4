//! `State<T>`: `state_{get,put,push,pop}_<T>` for any `T` the module uses.
//!
//! The cell type comes from the import's own signature (i64, i32 or f64),
//! so every `T` Vera emits, including mangled composite names, is served by
//! this one definition. Each `T` has a stack of cells: `push` enters a
//! nested handler with the default value, `pop` leaves it (never below
//! the outermost cell), as Vera 0.2.3 does.

use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker, Val, ValType};

use crate::state::HostState;

/// Deepest nesting of `State<T>` handlers: far beyond what the wasm stack
/// allows a real program, it stops a guest that pushes in a loop from
/// growing host memory without bound.
pub const MAX_NESTING: usize = 1 << 20;

pub fn define(linker: &mut Linker<HostState>, name: &str, ty: &FuncType) -> Result<bool> {
    let Some((op, cell)) = ["get", "put", "push", "pop"].iter().find_map(|op| {
        name.strip_prefix(&format!("state_{op}_"))
            .map(|cell| (*op, cell.to_owned()))
    }) else {
        return Ok(false);
    };
    let value_type = match op {
        "get" => ty.results().next(),
        "put" => ty.params().next(),
        _ => None,
    };
    let decode = move |v: &Val| -> u64 {
        match v {
            Val::I32(x) => *x as u32 as u64,
            Val::I64(x) => *x as u64,
            Val::F64(x) => *x,
            _ => 0,
        }
    };
    let encode = move |bits: u64, t: &ValType| -> Val {
        match t {
            ValType::I32 => Val::I32(bits as u32 as i32),
            ValType::F64 => Val::F64(bits),
            _ => Val::I64(bits as i64),
        }
    };
    linker.func_new(
        "vera",
        name,
        ty.clone(),
        move |mut c: Caller<'_, HostState>, params, results| {
            let stack = c.data_mut().state_cells.entry(cell.clone()).or_insert_with(|| vec![0]);
            match op {
                "get" => {
                    let t = value_type.clone().unwrap_or(ValType::I64);
                    results[0] = encode(*stack.last().unwrap_or(&0), &t);
                }
                "put" => {
                    if let (Some(top), Some(v)) = (stack.last_mut(), params.first()) {
                        *top = decode(v);
                    }
                }
                "push" if stack.len() >= MAX_NESTING => {
                    return Err(crate::trap::HostTrap::Limit(format!(
                        "limit exceeded: State<{cell}> handlers nested {MAX_NESTING} deep"
                    ))
                    .into())
                }
                "push" => stack.push(0),
                _ => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(true)
}
