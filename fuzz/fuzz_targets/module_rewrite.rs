//! Random modules through the load-time rewrites (`vera_rewrite`: vera-rt's
//! collections in place of a module's own, the overflow-safe collector mark
//! phase, the size-class allocator, then the Map/Set call sites with the
//! in-module lookups): each must return (rewritten, nothing to do, or an
//! error), never panic, and a valid module must stay valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_host::families;
use wasmparser::{Validator, WasmFeatures};

fn valid(wasm: &[u8]) -> bool {
    Validator::new_with_features(WasmFeatures::all()).validate_all(wasm).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let _ = vera_rewrite::collector::worklist_overflow_sites(data);
    if let Ok(Some(safe)) = vera_rewrite::collector::make_overflow_safe(data) {
        if valid(data) {
            assert!(valid(&safe.wasm), "a valid module's collector was rewritten into an invalid module");
        }
    }
    if let Ok(Some(classed)) = vera_rewrite::allocator::size_classes(data) {
        if valid(data) {
            assert!(valid(&classed.wasm), "a valid module's alloc was rewritten into an invalid module");
        }
    }
    // Every collection function accepted: the most the rewrite replaces.
    if let Ok(Some(hosted)) = vera_rewrite::collections::host_collections(data, |_, _| true) {
        if valid(data) {
            assert!(valid(&hosted.wasm), "a valid module's collections were rewritten into an invalid module");
        }
    }
    let rewritten = vera_rewrite::thread_pointer(
        data,
        "heap_ptr",
        |module, name| module == "vera" && families::threads_heap_pointer(name),
        families::collections::inline_lookup,
    );
    if let Ok(Some(threaded)) = rewritten {
        if valid(data) {
            assert!(valid(&threaded.wasm), "a valid module was rewritten into an invalid one");
        }
    }
});
