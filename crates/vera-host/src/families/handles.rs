//! `host_decref_handle` and `attach_bucket_to_wrapper`: the collector's
//! destructor hook for registered wrappers (Decimal and fused-async futures in 0.2.3) and the
//! no-op that Decimal wrapping still calls. Map/Set wrappers are never
//! registered: their buckets are plain guest blocks.

use super::glue::imports;
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

imports! {
    fn host_decref_handle(cx, kind: i32, handle: i32) -> () {
        if let Some((_, release)) = RELEASES.iter().find(|(k, _)| *k == kind) {
            release(cx.state(), handle as u32);
        }
        Ok(())
    }
    fn attach_bucket_to_wrapper(cx, _wrapper: i32, _kind: i32, _handle: i32) -> () {
        Ok(())
    }
}
