//! Runs WebAssembly modules compiled by Vera 0.2.3 on wasmtime.
//!
//! This crate owns the embedding: it compiles a module ([`Program`]), links
//! every `"vera"` import the module declares from the families in
//! [`families`] (one module per family; a module importing anything vera-rt
//! lacks is refused at load, naming each missing import), calls a function
//! with arguments parsed like `vera run` does, and reports the value, the
//! exit code or the trap ([`Report`]). Guest-memory layouts are not here:
//! they are `vera_layout`'s. The CLI is a thin layer over this API.
//!
//! ```
//! use vera_host::{Program, RunOptions, Value};
//!
//! // A module like the ones Vera emits: `main` prints through vera.print.
//! let wasm = wat::parse_str(r#"
//!   (module
//!     (import "vera" "print" (func $print (param i32 i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 16) "hello\n")
//!     (func (export "main") (result i64)
//!       (call $print (i32.const 16) (i32.const 6))
//!       (i64.const 42)))
//! "#).unwrap();
//! let program = Program::load(&wasm).unwrap();
//! let (options, output) = RunOptions::captured();
//! let report = program.run(options);
//! assert_eq!(report.outcome.unwrap(), Value::Int(42));
//! assert_eq!(output.stdout(), "hello\n");
//! ```
//!
//! Modules by job: `load` compiles and rewrites a module (falling back
//! to the module as given), `link` provides its imports, `run`
//! instantiates it and calls a function, `options` holds what a load and
//! a run take (and the host's limits), `args` reads `vera run`-style
//! arguments, `value` reads the result, `capture` keeps output in
//! memory, `timer` ends a run at `--timeout`. Beneath them, [`guest`] is
//! the live guest (its exports, its heap as the families see it),
//! [`families`] the imports, [`source`] the program's declarations,
//! [`state`] the store's data and [`trap`] how a run's end is told.

mod args;
mod capture;
pub mod families;
pub mod guest;
mod link;
mod load;
mod options;
mod run;
pub mod source;
pub mod state;
mod timer;
pub mod trap;
mod value;

pub use capture::Captured;
pub use load::{prepared, Collections, Collector, LoadError, Program};
pub use options::{HostLimits, LoadOptions, RunOptions};
pub use run::{Report, RunStats};
pub use state::{HostState, Stats};
pub use trap::Failure;
pub use value::Value;
