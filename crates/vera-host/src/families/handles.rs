//! `host_decref_handle` and `attach_bucket_to_wrapper`: the collector's
//! destructor hook for registered wrappers (Decimal and fused-async futures in 0.2.3) and the
//! no-op that Decimal wrapping still calls. Map/Set wrappers are never
//! registered: their buckets are plain guest blocks.

use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::state::HostState;

/// Frees the host-side entry behind a handle whose wrapper died.
pub type Release = fn(&mut HostState, handle: u32);

/// The families that keep handle tables, by the wrapper kind they
/// register (`register_wrapper`) and `host_decref_handle` passes back.
const RELEASES: &[(i32, Release)] = &[
    (super::decimal::KIND_DECIMAL, super::decimal::release),
    #[cfg(feature = "net")]
    (super::future::KIND_FUTURE, super::future::release),
];

pub fn define(linker: &mut Linker<HostState>, name: &str, _ty: &FuncType) -> Result<bool> {
    match name {
        "host_decref_handle" => {
            linker.func_wrap("vera", name, |mut c: Caller<'_, HostState>, kind: i32, handle: i32| {
                if let Some((_, release)) = RELEASES.iter().find(|(k, _)| *k == kind) {
                    release(c.data_mut(), handle as u32);
                }
            })?
        }
        "attach_bucket_to_wrapper" => linker.func_wrap(
            "vera",
            name,
            |_: Caller<'_, HostState>, _w: i32, _kind: i32, _handle: i32| {},
        )?,
        _ => return Ok(false),
    };
    Ok(true)
}
