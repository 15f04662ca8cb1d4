//! The live guest, seen from inside an import.
//!
//! Exports are looked up once per instance ([`GuestExports::capture`], in
//! `exports`) and kept in the store's `HostState`; every import reaches
//! guest memory, `alloc` and the shadow stack through [`GuestHeap`]
//! (`heap`), never by name. How the host allocates there is split by job:
//! `bump` bump-allocates at `heap_ptr` as the guest's `alloc` would,
//! `growth` is the policy for growing memory around the guest's own, and
//! `module_maps` builds and reads the `Map<String, V>` values of a module
//! that keeps its own maps (Vera 0.2.4 and later) through its exports.

mod bump;
mod exports;
mod growth;
mod heap;
mod module_maps;

pub use exports::{GuestAlloc, GuestExports, RUNTIME_PREFIX};
pub use heap::GuestHeap;
pub use module_maps::ModuleMaps;
