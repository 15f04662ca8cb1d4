//! Shared by the benches: loads `bench/programs/*.wasm` and runs one call.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vera_host::{LoadOptions, Program, RunOptions};

pub fn programs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/programs")
}

/// Loads `bench/programs/FILE` (compiled once, outside any measurement),
/// rewritten as vera-rt loads it by default.
pub fn load(file: &str) -> Program {
    load_with(file, &LoadOptions::default())
}

/// [`load`] as compiled (`--as-is`): the module's own allocator, and a
/// 0.2.5 build's own hash trie, as `vera run` runs it.
#[allow(dead_code)] // not every bench compares with the module as compiled
pub fn load_as_is(file: &str) -> Program {
    load_with(
        file,
        &LoadOptions {
            as_is: true,
            ..LoadOptions::default()
        },
    )
}

fn load_with(file: &str, options: &LoadOptions) -> Program {
    let path = programs_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run bench/build.sh)", path.display()));
    Program::load_with(&bytes, options).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Instantiates `program` and calls `main(args)`; returns the time the
/// call took (instantiation included, compilation not) and its result.
pub fn run(program: &Program, args: &[String]) -> (Duration, String) {
    let (mut options, _captured) = RunOptions::captured();
    options.args = args.to_vec();
    let start = Instant::now();
    let report = program.run(options);
    let took = start.elapsed();
    match report.outcome {
        Ok(value) => (took, value.display().unwrap_or_default()),
        Err(failure) => panic!("benchmark program failed: {failure:?}"),
    }
}
