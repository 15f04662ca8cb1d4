//! vera-rt's pure crates as one WebAssembly module for `browser/runtime.mjs`
//! (`scripts/build-browser-core` builds it into `browser/vera-core.wasm`).
//!
//! The browser runtime loads Vera modules the way the CLI does
//! (`vera_rewrite::prepare`): a Vera 0.2.4+ build's own Map/Set code calls
//! the runtime's bucket imports instead, a Vera 0.2.3 build's collector is
//! made overflow-safe, and Vera's `alloc` gets size classes; the same Rust
//! code, not a JavaScript port of it. The interface is bytes in, bytes out, through
//! this module's own memory:
//!
//! ```text
//! ptr = vera_core_alloc(len)          // room for the module's bytes
//! n = vera_core_rewrite(ptr, len)     // 0: nothing to change, or malformed
//! vera_core_result_ptr()              // the rewritten module, n bytes
//! vera_core_result_flags()            // 1: overflow-safe mark phase, 2: size classes,
//!                                     // 4: vera-rt's collections in place of the module's
//! vera_core_free(ptr, len)
//!
//! n = vera_core_call(op, ptr, len)    // a host import computed here (families::Op):
//! vera_core_result_ptr()              // its answer, n bytes (families::call)
//! ```
//!
//! The imports of regex, Markdown, HTML, JSON and Decimal, `repr(float)`
//! and HTTP's URL rules and texts are computed here by the CLI's own code
//! (`vera_families`, [`families`]): runtime.mjs sends their arguments and
//! the guest trees they read in the [`wire`] encoding and builds the
//! answer in guest memory from the same encoding. Nothing here reads a
//! clock (`Instant::now` panics on wasm32-unknown-unknown): no deadline
//! is passed to the cores.

use std::cell::RefCell;

pub mod families;
pub mod wire;

thread_local! {
    static RESULT: RefCell<(Vec<u8>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Flags of [`vera_core_result_flags`].
pub const OVERFLOW_SAFE_MARK: u32 = 1;
pub const SIZE_CLASSES: u32 = 2;
pub const HOST_COLLECTIONS: u32 = 4;

/// Room for `len` bytes in this module's memory.
#[no_mangle]
pub extern "C" fn vera_core_alloc(len: usize) -> *mut u8 {
    let mut buffer = std::mem::ManuallyDrop::new(vec![0u8; len]);
    buffer.as_mut_ptr()
}

/// Frees what [`vera_core_alloc`] returned.
///
/// # Safety
/// `ptr` and `len` must be exactly a pointer [`vera_core_alloc`] returned
/// and the length it was given, not freed before.
#[no_mangle]
pub unsafe extern "C" fn vera_core_free(ptr: *mut u8, len: usize) {
    drop(unsafe { Vec::from_raw_parts(ptr, len, len) });
}

/// Rewrites the module in `ptr[..len]`; the length of the result, 0 when
/// nothing changed.
///
/// # Safety
/// `ptr[..len]` must be memory [`vera_core_alloc`] returned.
#[no_mangle]
pub unsafe extern "C" fn vera_core_rewrite(ptr: *const u8, len: usize) -> usize {
    let wasm = unsafe { std::slice::from_raw_parts(ptr, len) };
    let (bytes, flags) = vera_rewrite::prepare(wasm).map_or_else(Default::default, |p| {
        let flag = |on, flag| if on { flag } else { 0 };
        let flags = flag(p.host_collections, HOST_COLLECTIONS)
            | flag(p.overflow_safe_mark, OVERFLOW_SAFE_MARK)
            | flag(p.size_classes, SIZE_CLASSES);
        (p.wasm, flags)
    });
    RESULT.with(|r| {
        let n = bytes.len();
        *r.borrow_mut() = (bytes, flags);
        n
    })
}

/// Computes host import `op` ([`families::Op`]) on the arguments in
/// `ptr[..len]`; the length of the answer, read at [`vera_core_result_ptr`].
///
/// # Safety
/// `ptr[..len]` must be memory [`vera_core_alloc`] returned.
#[no_mangle]
pub unsafe extern "C" fn vera_core_call(op: u32, ptr: *const u8, len: usize) -> usize {
    let input = unsafe { std::slice::from_raw_parts(ptr, len) };
    let answer = families::call(op, input);
    RESULT.with(|r| {
        let n = answer.len();
        *r.borrow_mut() = (answer, 0);
        n
    })
}

/// The last result of [`vera_core_rewrite`] or [`vera_core_call`].
#[no_mangle]
pub extern "C" fn vera_core_result_ptr() -> *const u8 {
    RESULT.with(|r| r.borrow().0.as_ptr())
}

/// What the last [`vera_core_rewrite`] did ([`OVERFLOW_SAFE_MARK`],
/// [`SIZE_CLASSES`]).
#[no_mangle]
pub extern "C" fn vera_core_result_flags() -> u32 {
    RESULT.with(|r| r.borrow().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through_the_interface(wasm: &[u8]) -> (Vec<u8>, u32) {
        let at = vera_core_alloc(wasm.len());
        unsafe {
            std::slice::from_raw_parts_mut(at, wasm.len()).copy_from_slice(wasm);
            let n = vera_core_rewrite(at, wasm.len());
            vera_core_free(at, wasm.len());
            (
                std::slice::from_raw_parts(vera_core_result_ptr(), n).to_vec(),
                vera_core_result_flags(),
            )
        }
    }

    #[test]
    fn the_interface_returns_what_the_cli_loads() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for (name, flags) in [
            ("wide_map_string_keys.wasm", OVERFLOW_SAFE_MARK | SIZE_CLASSES),
            ("wide_map_string_keys.v025.wasm", HOST_COLLECTIONS | SIZE_CLASSES),
        ] {
            let wasm = std::fs::read(fixtures.join(name)).unwrap();
            let want = vera_rewrite::prepare(&wasm).unwrap();
            let (got, got_flags) = through_the_interface(&wasm);
            assert_eq!(got_flags, flags, "{name}");
            assert!(
                got == want.wasm,
                "{name}: {} bytes, the CLI loads {}",
                got.len(),
                want.wasm.len()
            );
        }
        // Not a module: nothing, and no flags.
        assert_eq!(through_the_interface(b"\0asm\x01\0\0\0\x01\xff"), (Vec::new(), 0));
    }
}
