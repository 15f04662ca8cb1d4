//! The load-time rewrite (`vera_rewrite`, with the in-module lookups of
//! `vera_layout::inline`) keeps every module valid. A rewritten module that
//! did not compile would quietly run as given (`Program::load_with` falls
//! back), so this checks the rewrite itself: every fixture and benchmark
//! module Vera 0.2.3 built is rewritten, validates, and has its lookups
//! replaced wherever it imports one.

use std::path::Path;

use vera_host::families;

fn modules() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = Vec::new();
    for dir in ["fixtures", "bench/programs"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // The 0.2.5 builds import no Map/Set operations.
            if name.ends_with(".wasm") && !name.contains(".v025.") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_rewritten_module_validates() {
    let mut config = wasmtime::Config::new();
    config.wasm_exceptions(true);
    config.wasm_tail_call(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let (mut rewritten, mut with_lookups) = (0, 0);
    for path in modules() {
        let wasm = std::fs::read(&path).unwrap();
        let threaded = vera_rewrite::thread_pointer(
            &wasm,
            "heap_ptr",
            |module, name| module == "vera" && families::threads_heap_pointer(name),
            families::collections::inline_lookup,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(threaded) = threaded else {
            continue;
        };
        if let Err(e) = wasmtime::Module::validate(&engine, &threaded.wasm) {
            panic!("{}: the rewritten module does not validate: {e:#}", path.display());
        }
        rewritten += 1;
        let lookups = threaded
            .imports
            .iter()
            .filter(|(_, name)| {
                let inline = name.starts_with("map_get$k") || name.contains("contains$");
                inline && !name.contains("$ks") && !name.contains("$es")
            })
            .count();
        assert_eq!(
            threaded.replaced.len(),
            lookups,
            "{}: {:?}",
            path.display(),
            threaded.replaced
        );
        with_lookups += (lookups > 0) as usize;
    }
    assert!(rewritten >= 90, "only {rewritten} modules were rewritten");
    assert!(with_lookups >= 30, "only {with_lookups} modules had lookups replaced");
}

/// Every module Vera 0.2.3 built with a collector (one that allocates) has
/// its mark phase replaced (a module whose rewrite did not compile would
/// run as given, unnoticed), and the result validates; no 0.2.5 build is
/// touched.
#[test]
fn every_0_2_3_collector_is_made_overflow_safe() {
    let engine = wasmtime::Engine::default();
    let mut replaced = 0;
    for path in modules() {
        let wasm = std::fs::read(&path).unwrap();
        if vera_rewrite::collector::worklist_overflow_sites(&wasm)
            .unwrap()
            .is_empty()
        {
            continue;
        }
        let safe = vera_rewrite::collector::make_overflow_safe(&wasm)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .unwrap_or_else(|| panic!("{}: the 0.2.3 collector was not recognised", path.display()));
        if let Err(e) = wasmtime::Module::validate(&engine, &safe.wasm) {
            panic!("{}: the rewritten module does not validate: {e:#}", path.display());
        }
        replaced += 1;
    }
    assert!(replaced >= 100, "only {replaced} modules");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for entry in std::fs::read_dir(root.join("fixtures")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains(".v025.") {
            let wasm = std::fs::read(&path).unwrap();
            assert!(
                vera_rewrite::collector::make_overflow_safe(&wasm).unwrap().is_none(),
                "{}",
                path.display()
            );
        }
    }
}
