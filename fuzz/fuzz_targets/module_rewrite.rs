//! Random modules through the load-time rewrite (`vera_rewrite` with the
//! in-module lookups): it must return (rewritten, nothing to do, or an
//! error), never panic, and a valid module must stay valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_host::families;
use wasmparser::{Validator, WasmFeatures};

fn valid(wasm: &[u8]) -> bool {
    Validator::new_with_features(WasmFeatures::all()).validate_all(wasm).is_ok()
}

fuzz_target!(|data: &[u8]| {
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
