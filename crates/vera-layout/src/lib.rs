//! Guest-memory layouts of Vera 0.2.3 modules, over a plain byte slice.
//!
//! This crate owns every byte-level fact about a Vera guest's linear memory
//! that the host must read or write: bounds-checked scalar access
//! ([`mem`]), the shadow-stack rooting protocol and the allocator contract
//! ([`heap`]), the 8-byte key/value fields of the collection tags `i`, `f`,
//! `s`, `b` ([`field`]), the ADT and array shapes the host builds
//! ([`values`]), and the Map/Set wrapper, bucket and version records
//! ([`collection`], specified byte for byte in `LAYOUT.md`), and the same
//! lookups compiled to WebAssembly for a module to run itself
//! ([`inline`]).
//!
//! It does not know wasmtime. Everything is generic over [`heap::Heap`], which
//! the host implements on a live instance and tests implement on a `Vec<u8>`
//! ([`test_heap::TestHeap`], which can also collect on every allocation and
//! poison what it frees, to catch an unrooted pointer at once).

pub mod collection;
pub mod error;
pub mod field;
pub mod heap;
pub mod import;
pub mod inline;
pub mod mem;
pub mod test_heap;
pub mod values;

pub use collection::StringMaps;
pub use error::{GuestError, GuestErrorKind, GuestResult};
pub use field::{Field, Tag};
pub use heap::Heap;
