//! Random modules through the load-time rewrites (`vera_rewrite`: the
//! overflow-safe collector mark phase, then the Map/Set call sites with the
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
