//! Contracts and named traps: `contract_fail(msg)` and `trap(kind, msg)`
//! record what the check that is about to execute `unreachable` means, so
//! the run reports it instead of the bare instruction.

use vera_layout::values;
use vera_layout::Heap;
use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use super::with_heap;
use crate::state::HostState;

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    match name {
        "contract_fail" => linker.func_wrap(
            "vera",
            name,
            |mut c: Caller<'_, HostState>, ptr: i32, len: i32| -> Result<()> {
                let message = with_heap(&mut c, "contract_fail", |h| {
                    values::read_string(h.memory(), ptr as u32, len as u32)
                })?;
                c.data_mut().violation = Some(message);
                Ok(())
            },
        )?,
        "trap" => linker.func_wrap(
            "vera",
            name,
            |mut c: Caller<'_, HostState>, kind: i32, ptr: i32, len: i32| -> Result<()> {
                let message = if len == 0 {
                    String::new()
                } else {
                    with_heap(&mut c, "trap", |h| {
                        values::read_string(h.memory(), ptr as u32, len as u32)
                    })?
                };
                c.data_mut().trap_signal = Some((kind as u32, message));
                Ok(())
            },
        )?,
        _ => return Ok(false),
    };
    Ok(true)
}
