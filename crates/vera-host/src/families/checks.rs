//! Contracts and named traps: `contract_fail(msg)` and `trap(kind, msg)`
//! record what the check that is about to execute `unreachable` means, so
//! the run reports it instead of the bare instruction.

use super::glue::imports;

imports! {
    fn contract_fail(cx, message: Str) -> () {
        cx.state().violation = Some(message);
        Ok(())
    }
    // An empty message is not read (a module may signal one without a memory).
    fn trap(cx, kind: i32, ptr: i32, len: i32) -> () {
        let message = if len == 0 { String::new() } else { cx.read_str(ptr, len)? };
        cx.state().trap_signal = Some((kind as u32, message));
        Ok(())
    }
}
