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

pub mod families;
pub mod guest;
pub mod source;
pub mod state;
pub mod trap;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{format_err as anyhow, Result};
use wasmtime::{Config, Engine, ExternType, Linker, Module, Store, Val, ValType};

pub use state::{HostState, Stats};
pub use trap::Failure;

/// What a called function returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No result (Unit).
    Unit,
    /// Int or Nat.
    Int(i64),
    Float(f64),
    /// A single i32: Bool, Byte, or a heap pointer.
    Word(i32),
    /// A `(ptr, len)` pair, read as a String.
    Str(String),
}

impl Value {
    /// The line `vera run` prints for this value, if any.
    pub fn display(&self) -> Option<String> {
        match self {
            Value::Unit => None,
            Value::Int(v) => Some(v.to_string()),
            Value::Float(v) => Some(vera_families::format::python_float_repr(*v)),
            Value::Word(v) => Some(v.to_string()),
            Value::Str(s) => Some(s.clone()),
        }
    }
}

/// A compiled Vera module, ready to run any number of times.
pub struct Program {
    engine: Engine,
    module: Module,
    linker: Linker<HostState>,
    /// Time spent compiling the module.
    pub compile_time: Duration,
    /// Which mark phase the module's collector runs.
    pub collector: Collector,
    /// Whose Map/Set code the module runs.
    pub collections: Collections,
    /// Module offset ranges where a full mark worklist traps (none once
    /// the collector is overflow-safe).
    worklist_overflow_sites: Arc<Vec<std::ops::Range<usize>>>,
    /// The module as compiled, for naming a trapping instruction.
    wasm: Arc<[u8]>,
}

/// Whose `Map`/`Set` code a loaded module runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Collections {
    /// What it was compiled with: vera-rt's buckets behind the imports of
    /// a Vera 0.2.3 build, a 0.2.4+ build's own hash trie under `--as-is`
    /// or where it could not be replaced.
    #[default]
    AsCompiled,
    /// A Vera 0.2.4+ build whose own hash trie was replaced by vera-rt's
    /// buckets (`vera_rewrite::collections`).
    InPlaceOfTheModules,
}

impl std::fmt::Display for Collections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Collections::AsCompiled => {
                "as compiled (a 0.2.3 build's imports: vera-rt's buckets; a 0.2.4+ build: its own hash trie)"
            }
            Collections::InPlaceOfTheModules => "vera-rt's buckets, in place of the module's own hash trie",
        })
    }
}

/// The garbage collector a loaded module runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Collector {
    /// Vera 0.2.3's mark phase was replaced by vera-rt's overflow-safe one
    /// (`vera_rewrite::collector`).
    pub overflow_safe_mark: bool,
    /// Vera's `alloc` (0.2.3's, and 0.2.5's, which is the same) was replaced
    /// by vera-rt's size-class allocator
    /// (`vera_rewrite::allocator`).
    pub size_class_alloc: bool,
}

impl std::fmt::Display for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = [
            (self.overflow_safe_mark, "overflow-safe mark phase"),
            (self.size_class_alloc, "size-class allocator"),
        ]
        .into_iter()
        .filter_map(|(on, part)| on.then_some(part))
        .collect();
        if parts.is_empty() {
            // Vera 0.2.5's (already overflow-safe), 0.2.3's under `--as-is`,
            // or one not recognised.
            f.write_str("the module's own, as compiled")
        } else {
            write!(f, "the module's own, with vera-rt's {}", parts.join(" and "))
        }
    }
}

/// `wasm` with the runtime rewrites a load applies by default (see
/// [`LoadOptions::as_is`]: vera-rt's collections, the overflow-safe mark
/// phase, the size-class allocator), for a runtime that loads it elsewhere
/// (a page made by `vera-rt bundle`); `wasm` itself when none applies.
pub fn prepared(wasm: Vec<u8>) -> Vec<u8> {
    vera_rewrite::prepare(&wasm).map_or(wasm, |p| p.wasm)
}

/// Why a module cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid WebAssembly module: {0}")]
    Invalid(String),
    #[error("the module imports {} function(s) vera-rt does not provide: {}", .0.len(), .0.join(", "))]
    MissingImports(Vec<String>),
    #[error("{0}")]
    Link(String),
}

fn engine(options: &LoadOptions) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_exceptions(true);
    config.wasm_tail_call(true);
    config.epoch_interruption(options.timeouts);
    if options.compile_cache {
        // A cache that cannot be set up (no home directory...) just means
        // compiling every time.
        config.cache(wasmtime::Cache::new(wasmtime::CacheConfig::new()).ok());
    }
    // For `perf record`: names the JIT-compiled guest functions in /tmp/perf-PID.map.
    if std::env::var_os("VERA_RT_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config)
}

impl Program {
    /// Compiles `bytes` (binary or text format) and links its imports.
    pub fn load(bytes: &[u8]) -> Result<Program, LoadError> {
        Program::load_with(bytes, &LoadOptions::default())
    }

    /// [`Program::load`] with options that must be fixed at compile time.
    pub fn load_with(bytes: &[u8], options: &LoadOptions) -> Result<Program, LoadError> {
        let looks_like_text = std::str::from_utf8(bytes).is_ok_and(|t| {
            let t = t.trim_start();
            t.starts_with('(') || t.starts_with(";;")
        });
        if !bytes.starts_with(b"\0asm") && !looks_like_text {
            return Err(LoadError::Invalid(
                "it does not start with the \\0asm magic number (nor is it WebAssembly text)".into(),
            ));
        }
        let engine = engine(options).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let start = Instant::now();
        let invalid = |e: &dyn std::fmt::Display| {
            let text = format!("{e:#}");
            LoadError::Invalid(text.lines().next().unwrap_or("").to_owned())
        };
        let binary = if looks_like_text {
            std::borrow::Cow::Owned(wat::parse_bytes(bytes).map_err(|e| invalid(&e))?.into_owned())
        } else {
            std::borrow::Cow::Borrowed(bytes)
        };
        // vera-rt's collections in place of a 0.2.4+ module's own, the
        // overflow-safe mark phase, the size-class allocator. A module none
        // applies to (or a malformed one) is compiled as it is; the engine
        // reports what is wrong with it.
        let prepared = if options.as_is {
            None
        } else {
            vera_rewrite::prepare(&binary)
        };
        let collections = match &prepared {
            Some(p) if p.host_collections => Collections::InPlaceOfTheModules,
            _ => Collections::AsCompiled,
        };
        let collector = prepared.as_ref().map_or_else(Collector::default, |p| Collector {
            overflow_safe_mark: p.overflow_safe_mark,
            size_class_alloc: p.size_classes,
        });
        let collected = prepared.map(|p| p.wasm);
        let threaded = if options.as_is {
            None
        } else {
            // 0.2.4+ exports the runtime's globals with the `vera.` prefix.
            let base = collected.as_deref().unwrap_or(&binary);
            ["heap_ptr", "vera.heap_ptr"].into_iter().find_map(|pointer| {
                vera_rewrite::thread_pointer(
                    base,
                    pointer,
                    |module, name| module == "vera" && families::threads_heap_pointer(name),
                    families::collections::inline_lookup,
                )
                .ok()
                .flatten()
            })
        };
        let (rewritten, threaded_imports) = match threaded {
            Some(t) => (Some(t.wasm), t.imports.into_iter().map(|(_, name)| name).collect()),
            None => (collected, Vec::new()),
        };
        // Where a collector that can still overflow would trap, so the
        // trap can be told apart from any other `unreachable`.
        let sites = |wasm: &[u8]| vera_rewrite::collector::worklist_overflow_sites(wasm).unwrap_or_default();
        // Should the rewritten module not compile (a module the rewrite
        // does not expect), the module as given still runs.
        let compiled = rewritten.and_then(|wasm| Some((Module::new(&engine, &wasm).ok()?, wasm)));
        let (module, threaded_imports, collector, collections, worklist_overflow_sites, wasm): (
            Module,
            Vec<String>,
            _,
            _,
            _,
            Arc<[u8]>,
        ) = match compiled {
            Some((module, wasm)) if collector.overflow_safe_mark => (
                module,
                threaded_imports,
                collector,
                collections,
                Vec::new(),
                wasm.into(),
            ),
            Some((module, wasm)) => {
                let sites = sites(&wasm);
                (module, threaded_imports, collector, collections, sites, wasm.into())
            }
            None => (
                Module::new(&engine, &*binary).map_err(|e| invalid(&e))?,
                Vec::new(),
                Collector::default(),
                Collections::AsCompiled,
                sites(&binary),
                binary.as_ref().into(),
            ),
        };
        let compile_time = start.elapsed();
        let mut linker = Linker::new(&engine);
        let mut missing = Vec::new();
        for import in module.imports() {
            let name = format!("{}.{}", import.module(), import.name());
            let ExternType::Func(ty) = import.ty() else {
                missing.push(format!("{name} (not a function)"));
                continue;
            };
            if import.module() != "vera" {
                missing.push(name);
                continue;
            }
            let threaded = threaded_imports.iter().any(|n| n == import.name());
            match families::define(&mut linker, import.name(), &ty, threaded) {
                Ok(true) => {}
                Ok(false) => match families::compiled_out(import.name()) {
                    Some(feature) => missing.push(format!("{name} (vera-host built without its `{feature}` feature)")),
                    None => missing.push(name),
                },
                Err(e) => return Err(LoadError::Link(format!("{e:#}"))),
            }
        }
        if !missing.is_empty() {
            return Err(LoadError::MissingImports(missing));
        }
        Ok(Program {
            engine,
            module,
            linker,
            compile_time,
            collector,
            collections,
            worklist_overflow_sites: Arc::new(worklist_overflow_sites),
            wasm,
        })
    }

    /// The functions a user can call: exported functions other than the
    /// runtime's own (`alloc`, `register_wrapper`..., or any `vera.`-prefixed
    /// export or map helper of a Vera 0.2.4+ module), in export order.
    pub fn entry_points(&self) -> Vec<String> {
        self.module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| e.name().to_owned())
            .filter(|n| {
                // `$` is in no Vera function's name, only in the map
                // helpers (`map_from_arrays$ks_vb`...) Vera 0.2.4+ exports.
                !matches!(n.as_str(), "alloc" | "register_wrapper" | "gc_collect")
                    && !n.starts_with(guest::RUNTIME_PREFIX)
                    && !n.contains('$')
            })
            .collect()
    }

    /// Whether Vera 0.2.4 or later built the module (its runtime exports
    /// carry the `vera.` prefix): which version's texts apply.
    pub fn built_by_v025(&self) -> bool {
        self.module
            .exports()
            .any(|e| e.name().starts_with(guest::RUNTIME_PREFIX))
    }

    /// Picks the function to call: `wanted`, else `main`, else the only or
    /// first public function (with the note `vera run` prints). Returns
    /// the name, the note and whether it was picked for want of a `main`.
    /// With the source, a private function or an empty module is refused
    /// in `vera run`'s words.
    fn select(
        &self,
        wanted: Option<&str>,
        source: Option<&source::SourceInfo>,
    ) -> Result<(String, Option<String>, bool), String> {
        let entries = self.entry_points();
        let available = if entries.is_empty() {
            "(none)".to_owned()
        } else {
            entries.join(", ")
        };
        if entries.is_empty() {
            if let Some(source) = source {
                return Err(no_exports_message(source));
            }
        }
        match wanted {
            Some(name) if entries.iter().any(|e| e == name) => Ok((name.to_owned(), None, false)),
            Some(name) if source.and_then(|s| s.function(name)).is_some_and(|f| !f.public) => Err(format!(
                "Function '{name}' is declared private and cannot be called directly.\n\
                 \nTo make it callable, change its declaration to:\n\
                 \n  public fn {name}"
            )),
            Some(name) => Err(format!(
                "Function '{name}' not found in exports. Available: {available}"
            )),
            None if entries.iter().any(|e| e == "main") => Ok(("main".to_owned(), None, false)),
            None => match entries.first() {
                Some(first) => Ok((
                    first.clone(),
                    Some(format!("Note: no 'main' declared — running public function '{first}'.")),
                    true,
                )),
                None => Err("No exported functions to call".to_owned()),
            },
        }
    }

    /// Instantiates the module and calls the selected function.
    pub fn run(&self, options: RunOptions) -> Report {
        let mut state = HostState::new(options.stdout, options.stderr, options.stdin);
        state.args = options.args.clone();
        state.env = options.env;
        state.bump_allocate = options.bump_allocate;
        state.host_limits = options.limits.clone();
        state.host_limits.max_host_memory = Some(options.limits.max_host_memory.unwrap_or_else(|| {
            options.max_memory.map_or(HostLimits::DEFAULT_MAX_HOST_MEMORY, |m| {
                m.min(HostLimits::DEFAULT_MAX_HOST_MEMORY)
            })
        }));
        state.worklist_overflow_sites = self.worklist_overflow_sites.clone();
        state.wasm = self.wasm.clone();
        let mut limits = wasmtime::StoreLimitsBuilder::new();
        if let Some(max) = options.max_memory {
            limits = limits.memory_size(max);
        }
        state.limits = limits.build();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        let mut report = Report {
            outcome: Err(Failure::Trap {
                kind: "usage".into(),
                message: String::new(),
                frames: vec![],
            }),
            note: None,
            function: None,
            stats: RunStats {
                compile_time: self.compile_time,
                collector: self.collector,
                collections: self.collections,
                ..RunStats::default()
            },
            stdout_ends_newline: None,
            stderr_ends_newline: None,
        };
        let usage = |message: String| Failure::Trap {
            kind: "usage".into(),
            message,
            frames: vec![],
        };
        let source = options.source.as_deref();
        let (name, note, auto_selected) = match self.select(options.function.as_deref(), source) {
            Ok(found) => found,
            Err(message) => {
                report.outcome = Err(usage(message));
                return report;
            }
        };
        report.note = note;
        report.function = Some(name.clone());
        let _timer = options.timeout.map(|limit| {
            store.set_epoch_deadline(1);
            store.data_mut().deadline = Some(Instant::now() + limit);
            Timer::start(self.engine.clone(), limit)
        });
        let instance = match self.linker.instantiate(&mut store, &self.module) {
            Ok(i) => i,
            Err(e) => {
                report.outcome = Err(trap::classify(&e, store.data()));
                return report;
            }
        };
        let exports = guest::GuestExports::capture(&mut store, &instance);
        store.data_mut().exports = exports;
        let func = instance
            .get_func(&mut store, &name)
            .expect("selected from the module's exports");
        let ty = func.ty(&store);
        let call = Call {
            name: &name,
            wasm: &ty.params().collect::<Vec<_>>(),
            declared: source.and_then(|s| s.function(&name)),
            source_known: source.is_some(),
            auto_selected,
            exports: &self.entry_points(),
        };
        let raw = options.args_given.then_some(&options.args[..]);
        let params = match parse_args(&mut store, &call, raw) {
            Ok(p) => p,
            Err(message) => {
                report.outcome = Err(usage(message));
                return report;
            }
        };
        let mut results: Vec<Val> = ty.results().map(|t| zero(&t)).collect();
        let start = Instant::now();
        let called = func.call(&mut store, &params, &mut results);
        #[cfg(feature = "net")]
        families::future::shutdown(store.data_mut());
        report.stats.run_time = start.elapsed();
        report.outcome = match called {
            // The deadline passed in host work after the guest's last check.
            Ok(()) if families::deadline_passed(store.data()) => {
                Err(trap::classify(&families::time_limit_error(), store.data()))
            }
            Ok(()) => result_value(&mut store, &results, call.declared.map(|f| f.returns_string), &name),
            Err(e) => Err(trap::classify(&e, store.data())),
        };
        if let (Err(Failure::Trap { message, .. }), Some(size)) = (&mut report.outcome, store.data().memory_denied) {
            let max = options.max_memory.map_or(String::new(), |m| format!(" ({m} bytes)"));
            message.push_str(&format!(
                " [limit exceeded: growing linear memory to {size} bytes was refused by --max-memory{max}]"
            ));
        }
        let data = store.data();
        report.stdout_ends_newline = data.stdout_ends_newline;
        report.stderr_ends_newline = data.stderr_ends_newline;
        report.stats.host = data.stats.clone();
        if let Some(heap_ptr) = data.exports.heap_ptr {
            report.stats.peak_heap = heap_ptr.get(&mut store).i32().unwrap_or(0) as u32 as u64;
        }
        if let Some(memory) = store.data().exports.memory {
            report.stats.memory_bytes = memory.data_size(&store) as u64;
        }
        report
    }
}

/// Options fixed when a module is compiled.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Compile with epoch checks so [`RunOptions::timeout`] can interrupt.
    pub timeouts: bool,
    /// Keep compiled code in wasmtime's on-disk cache (its default
    /// directory, as the `wasmtime` CLI does), so running the same module
    /// again skips compilation.
    pub compile_cache: bool,
    /// Compile the module exactly as given. By default the call sites of
    /// the Map/Set imports are rewritten to pass the guest's `heap_ptr` in
    /// and out (see `vera_rewrite`), which spares each call two global
    /// accesses through wasmtime's API, and lookups go to functions added
    /// to the module that answer most of them there
    /// (`vera_layout::inline`), the mark phase of a Vera 0.2.3
    /// collector is replaced by one that cannot overflow its worklist
    /// (`vera_rewrite::collector`), and Vera's `alloc` by one with size
    /// classes (`vera_rewrite::allocator`).
    pub as_is: bool,
}

/// How to run a function.
pub struct RunOptions {
    /// The function to call (default: `main`, else the first export).
    pub function: Option<String>,
    /// The function's arguments as text, parsed by its parameter types;
    /// also what `IO.args` returns.
    pub args: Vec<String>,
    /// Whether arguments were given (`vera run`'s `--`, even with none
    /// after it). Without, a function that takes parameters is refused as
    /// `vera run` refuses it, naming the exports and how to call one.
    pub args_given: bool,
    /// The program's source, when known: the called function's parameter
    /// types (so `@Nat` and `@Byte` arguments are range-checked and a
    /// String argument may look like a number) and whether it returns a
    /// String. Without it, the module's wasm signature decides.
    pub source: Option<Arc<source::SourceInfo>>,
    pub stdout: state::Sink,
    pub stderr: state::Sink,
    pub stdin: Box<dyn BufRead + Send>,
    /// `IO.get_env`'s environment (`None`: the process's).
    pub env: Option<HashMap<String, String>>,
    /// Largest linear memory, in bytes.
    pub max_memory: Option<usize>,
    /// Wall-clock limit (needs [`LoadOptions::timeouts`]).
    pub timeout: Option<Duration>,
    /// Let the host bump-allocate its blocks (the default). Off, every
    /// host allocation calls the module's `alloc`, so a module built to
    /// collect on every allocation (`VERA_EAGER_GC=1`) checks the host's
    /// rooting at each one. (Lookups the module answers itself, see
    /// `LoadOptions::as_is`, bump their `Option` either way: they hold no
    /// pointer across an allocation.)
    pub bump_allocate: bool,
    /// Bounds on what the host itself allocates for the guest.
    pub limits: HostLimits,
}

/// Bounds on the host's own work for a guest, so a hostile module cannot
/// make vera-rt allocate without limit or run unboundedly inside an
/// import (where `--timeout` cannot interrupt it). Exceeding one traps
/// with `limit exceeded: ...` naming the limit's flag.
#[derive(Clone, Debug)]
pub struct HostLimits {
    /// Longest string the host parses (`json_parse`, `decimal_from_string`)
    /// or builds (`json_stringify`), in bytes (`--max-host-string`).
    pub max_host_string: usize,
    /// Most digits of a Decimal the host parses from text: the exact
    /// big-integer conversion is quadratic (`--max-decimal-digits`).
    pub max_decimal_digits: usize,
    /// Most live Decimal handles at once (`--max-handles`).
    pub max_handles: usize,
    /// Most bytes the host holds for one import's work: text copied out of
    /// a guest tree, a file read whole, an HTTP body, a parsed JSON tree,
    /// a regex's matches (`--max-host-memory`). `None`: the run's
    /// `max_memory`, at most [`HostLimits::DEFAULT_MAX_HOST_MEMORY`].
    pub max_host_memory: Option<usize>,
}

impl HostLimits {
    /// 64 MiB.
    pub const DEFAULT_MAX_HOST_STRING: usize = 64 << 20;
    /// 100 000 digits (a few milliseconds to convert).
    pub const DEFAULT_MAX_DECIMAL_DIGITS: usize = 100_000;
    /// 2^24 handles (about 1.5 GiB of host memory at most).
    pub const DEFAULT_MAX_HANDLES: usize = 1 << 24;
    /// 512 MiB: the guest's `alloc` keeps its heap below 2 GiB, and what
    /// the host holds for a call is often copied there too, so the
    /// process stays under 1 GiB for one call's result.
    pub const DEFAULT_MAX_HOST_MEMORY: usize = 512 << 20;

    /// `--max-host-memory` in bytes, once [`Program::run`] resolved it.
    pub fn host_memory(&self) -> usize {
        self.max_host_memory.unwrap_or(HostLimits::DEFAULT_MAX_HOST_MEMORY)
    }
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            max_host_string: HostLimits::DEFAULT_MAX_HOST_STRING,
            max_decimal_digits: HostLimits::DEFAULT_MAX_DECIMAL_DIGITS,
            max_handles: HostLimits::DEFAULT_MAX_HANDLES,
            max_host_memory: None,
        }
    }
}

impl RunOptions {
    /// Streams to the process's stdout/stderr and reads its stdin.
    pub fn inherit() -> RunOptions {
        RunOptions {
            function: None,
            args: Vec::new(),
            args_given: true,
            source: None,
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
            stdin: Box::new(std::io::BufReader::new(std::io::stdin())),
            env: None,
            max_memory: None,
            timeout: None,
            bump_allocate: true,
            limits: HostLimits::default(),
        }
    }

    /// Captures stdout and stderr in memory and reads an empty stdin.
    pub fn captured() -> (RunOptions, Captured) {
        let captured = Captured::default();
        let options = RunOptions {
            stdout: Box::new(SharedBuf(captured.stdout.clone())),
            stderr: Box::new(SharedBuf(captured.stderr.clone())),
            stdin: Box::new(std::io::empty()),
            ..RunOptions::inherit()
        };
        (options, captured)
    }
}

/// Output captured by [`RunOptions::captured`].
#[derive(Clone, Default)]
pub struct Captured {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The result of [`Program::run`].
pub struct Report {
    /// The value returned, or why the run stopped.
    pub outcome: Result<Value, Failure>,
    /// A note for stderr (which function was picked).
    pub note: Option<String>,
    /// The function called (or that was to be called).
    pub function: Option<String>,
    pub stats: RunStats,
    /// Whether the last byte written to stdout was `\n` (`None`: nothing
    /// written).
    pub stdout_ends_newline: Option<bool>,
    pub stderr_ends_newline: Option<bool>,
}

/// Figures for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    pub compile_time: Duration,
    pub run_time: Duration,
    /// High-water mark of the guest heap (`heap_ptr`), in bytes.
    pub peak_heap: u64,
    /// Linear memory size at the end, in bytes.
    pub memory_bytes: u64,
    pub host: Stats,
    /// The mark phase the module's collector ran.
    pub collector: Collector,
    /// Whose Map/Set code it ran.
    pub collections: Collections,
}

struct Timer {
    done: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Timer {
    fn start(engine: Engine, limit: Duration) -> Timer {
        let done = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = done.clone();
        std::thread::spawn(move || {
            let (lock, cvar) = &*flag;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, _) = cvar
                .wait_timeout_while(guard, limit, |d| !*d)
                .unwrap_or_else(|p| p.into_inner());
            if !*guard {
                engine.increment_epoch();
            }
        });
        Timer { done }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.done;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
    }
}

fn zero(t: &ValType) -> Val {
    match t {
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        ValType::V128 => Val::V128(0u128.into()),
        ValType::Ref(r) => Val::null_ref(r.heap_type()),
        _ => Val::I32(0),
    }
}

/// The function being called, for parsing its arguments.
struct Call<'a> {
    name: &'a str,
    wasm: &'a [ValType],
    /// Its declaration, when the source is known.
    declared: Option<&'a source::SourceFn>,
    /// Whether there is a source at all (it may lack the function).
    source_known: bool,
    /// Picked for want of a `main`.
    auto_selected: bool,
    exports: &'a [String],
}

/// `vera run`'s refusal of a module with no entry point, listing the
/// source's functions.
fn no_exports_message(source: &source::SourceInfo) -> String {
    let lines: Vec<String> = source
        .functions
        .iter()
        .filter(|f| f.top_level)
        .map(|f| format!("  {} fn {}", if f.public { "public" } else { "private" }, f.name))
        .collect();
    let mut message = "No exported functions to call.\n".to_owned();
    if !lines.is_empty() {
        message.push_str("\nDeclared functions:\n");
        message.push_str(&lines.join("\n"));
        message.push('\n');
    }
    message.push_str(
        "\nOnly public functions are exported as WASM entry points.\
         \nTo make a function callable, declare it as public:\n\
         \n  public fn main(-> @Int)\
         \n    requires(true)\
         \n    ensures(true)\
         \n    effects(pure)\
         \n  {\n    0\n  }\
         \n\nAlternatively, use 'vera check' or 'vera verify' to validate without running.",
    );
    message
}

/// How the text arguments are read: `vera run`'s rules. With the source,
/// by the declared parameters: their number must match; an `@Int` or
/// `@Nat` is Python's `int()` within the type's range, a `@Float64`
/// Python's `float()`, a `@Bool` `true`/`yes`/`1`, `false`/`no`/`0` or an
/// integer, a `@Byte` that or an integer in 0..=255, a `@String` any text.
/// Without it, by the wasm signature: i64 as an `@Int`, f64 as a float, and
/// an i32 pair taken as a String wherever the number of arguments calls for
/// one (so `42` is a String when the function takes just one). `raw` is
/// `None` when no arguments were given at all (no `--`).
fn parse_args(store: &mut Store<HostState>, call: &Call, raw: Option<&[String]>) -> Result<Vec<Val>, String> {
    let Some(raw) = raw else {
        if call.wasm.is_empty() {
            return Ok(Vec::new());
        }
        return Err(parameters_message(call, 0));
    };
    if let Some(other) = call
        .wasm
        .iter()
        .find(|t| !matches!(t, ValType::I32 | ValType::I64 | ValType::F64))
    {
        return Err(format!(
            "Function '{}' takes a parameter of type {other}, which no Vera type lowers to",
            call.name
        ));
    }
    let plan: Vec<Param> = match call.declared {
        Some(f) => {
            if raw.len() != f.params.len() {
                return Err(arity_message(call.name, f.params.len(), raw.len(), ""));
            }
            f.params.clone()
        }
        None => wasm_plan(call.wasm, raw).ok_or_else(|| {
            let (least, most) = wasm_arity(call.wasm);
            let expected = if least == most {
                most.to_string()
            } else {
                format!("{least} to {most}")
            };
            format!(
                "Function '{}' expects {expected} argument{} but {} {} provided. (Read from the module's \
                 WebAssembly signature, where a String or Array parameter is two i32s: {}.)",
                call.name,
                if most == 1 { "" } else { "s" },
                raw.len(),
                if raw.len() == 1 { "was" } else { "were" },
                if call.source_known {
                    "the source beside the module does not declare it"
                } else {
                    "no source was found beside the module"
                }
            )
        })?,
    };
    let mut out = Vec::new();
    for (text, param) in raw.iter().zip(&plan) {
        let repr = vera_families::pyrepr::python_repr_str(text);
        let invalid = |e: String| {
            format!(
                "Argument {repr} is not valid for parameter type '{}': {e}",
                param.wasm_name()
            )
        };
        let int_error = || invalid(format!("invalid literal for int() with base 10: {repr}"));
        let out_of_range = |range: (&str, &str, i128, i128)| {
            format!(
                "Argument {repr} is out of range for parameter type {}: {} holds {} .. {}.",
                range.0, range.1, range.2, range.3
            )
        };
        let in_range = |value: Option<i128>, range: (&str, &str, i128, i128)| match value {
            Some(v) if (range.2..=range.3).contains(&v) => Ok(v),
            _ => Err(out_of_range(range)),
        };
        match param {
            Param::Int | Param::Nat => {
                let value = python_int(text).ok_or_else(int_error)?;
                let range = if *param == Param::Nat { NAT_RANGE } else { INT_RANGE };
                out.push(Val::I64(in_range(value, range)? as i64));
            }
            Param::Float => {
                let value = parse_python_float(text)
                    .ok_or_else(|| invalid(format!("could not convert string to float: {repr}")))?;
                out.push(Val::F64(value.to_bits()));
            }
            Param::Byte | Param::Word => {
                let value = match text.to_lowercase().as_str() {
                    "true" | "yes" | "1" => 1,
                    "false" | "no" | "0" => 0,
                    _ => {
                        let value = python_int(text).ok_or_else(int_error)?;
                        if *param == Param::Byte {
                            in_range(value, BYTE_RANGE)?
                        } else {
                            // What a host hands an i32 slot: the low 32 bits.
                            value.unwrap_or(0) as i32 as i128
                        }
                    }
                };
                out.push(Val::I32(value as i32));
            }
            Param::Pair => {
                let (p, l) = alloc_arg_string(store, text).map_err(|e| format!("{e:#}"))?;
                out.push(Val::I32(p as i32));
                out.push(Val::I32(l as i32));
            }
        }
    }
    if out.len() != call.wasm.len() {
        return Err(parameters_message(call, out.len()));
    }
    Ok(out)
}

use source::Param;

const INT_RANGE: (&str, &str, i128, i128) = ("@Int", "an @Int", i64::MIN as i128, i64::MAX as i128);
const NAT_RANGE: (&str, &str, i128, i128) = ("@Nat", "a @Nat", 0, i64::MAX as i128);
const BYTE_RANGE: (&str, &str, i128, i128) = ("@Byte", "a @Byte", 0, 255);

/// Which wasm parameters the arguments fill, read from the signature
/// alone: an i64 an `@Int`, an f64 a float, an i32 one word, or an i32
/// pair one String. Where an i32 pair may be either, the text decides
/// first (a word when it reads as one), then the number of arguments.
fn wasm_plan(wasm: &[ValType], raw: &[String]) -> Option<Vec<Param>> {
    fn go(
        wasm: &[ValType],
        raw: &[String],
        w: usize,
        r: usize,
        failed: &mut std::collections::HashSet<(usize, usize)>,
        plan: &mut Vec<Param>,
    ) -> bool {
        if w == wasm.len() || r == raw.len() {
            return w == wasm.len() && r == raw.len();
        }
        if failed.contains(&(w, r)) {
            return false;
        }
        let mut options = Vec::new();
        match wasm[w] {
            ValType::I64 => options.push((Param::Int, 1)),
            ValType::F64 => options.push((Param::Float, 1)),
            ValType::I32 => {
                let pair = matches!(wasm.get(w + 1), Some(ValType::I32));
                let word = parse_word(&raw[r]).is_some();
                if pair && !word {
                    options.push((Param::Pair, 2));
                }
                options.push((Param::Word, 1));
                if pair && word {
                    options.push((Param::Pair, 2));
                }
            }
            _ => {}
        }
        for (param, width) in options {
            plan.push(param);
            if go(wasm, raw, w + width, r + 1, failed, plan) {
                return true;
            }
            plan.pop();
        }
        failed.insert((w, r));
        false
    }
    let mut plan = Vec::new();
    go(wasm, raw, 0, 0, &mut std::collections::HashSet::new(), &mut plan).then_some(plan)
}

/// The fewest and most arguments a wasm signature can take (each run of
/// i32s holding as many String pairs as fit).
fn wasm_arity(wasm: &[ValType]) -> (usize, usize) {
    let mut least = 0;
    let mut run = 0;
    for t in wasm.iter().chain([&ValType::I64]) {
        if matches!(t, ValType::I32) {
            run += 1;
        } else {
            least += run - run / 2;
            run = 0;
        }
    }
    let i32s = wasm.iter().filter(|t| matches!(t, ValType::I32)).count();
    (least + wasm.len() - i32s, wasm.len())
}

/// A Bool or Byte argument: `true`/`yes`/`1`, `false`/`no`/`0`, or an integer.
fn parse_word(text: &str) -> Option<i32> {
    match text.to_lowercase().as_str() {
        "true" | "yes" | "1" => Some(1),
        "false" | "no" | "0" => Some(0),
        _ => python_int(text).flatten().and_then(|v| i32::try_from(v).ok()),
    }
}

/// Python's `int(text)`: surrounding whitespace, a sign, decimal digits
/// with single underscores between them. `Some(None)`: an integer too
/// large for an i128 (out of every parameter type's range).
fn python_int(text: &str) -> Option<Option<i128>> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return None;
    }
    Some(t.replace('_', "").parse::<i128>().ok())
}

/// `vera run`'s count of arguments against declared parameters.
fn arity_message(name: &str, n: usize, m: usize, note: &str) -> String {
    format!(
        "Function '{name}' expects {n} argument{} but {m} {} provided.{note}",
        if n == 1 { "" } else { "s" },
        if m == 1 { "was" } else { "were" }
    )
}

/// `vera run`'s count of values against the wasm parameters, when none
/// were given (or the source disagrees with the module): which exports
/// there are and how to call one.
fn parameters_message(call: &Call, given: usize) -> String {
    let expected = call.wasm.len();
    let mut message = format!(
        "Function '{}' expects {expected} parameter{} but {given} {} provided.",
        call.name,
        if expected == 1 { "" } else { "s" },
        if given == 1 { "was" } else { "were" }
    );
    if call.auto_selected {
        message.push_str(&format!(
            "\n\nNo 'main' function found. '{}' was selected as the first export.",
            call.name
        ));
    }
    message.push_str(&format!(
        "\n\nAvailable exports: {}\n\nTo call a specific function with arguments:\n\n  vera-rt run <file> --fn {} -- <args>",
        call.exports.join(", "),
        call.name
    ));
    message
}

/// Python's `float(text)`.
fn parse_python_float(text: &str) -> Option<f64> {
    let t = text.trim().to_lowercase();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(&t);
    let negative = t.starts_with('-');
    let special = match unsigned {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(v) = special {
        return Some(if negative { -v } else { v });
    }
    // Underscores only between digits; then the digits, point and
    // exponent Rust reads as Python does.
    let chars: Vec<char> = unsigned.chars().collect();
    for (k, c) in chars.iter().enumerate() {
        if *c == '_' {
            let digit = |i: Option<&char>| i.is_some_and(|c| c.is_ascii_digit());
            if k == 0 || !digit(chars.get(k - 1)) || !digit(chars.get(k + 1)) {
                return None;
            }
        } else if !(c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')) {
            return None;
        }
    }
    t.replace('_', "").parse().ok()
}

fn alloc_arg_string(store: &mut Store<HostState>, text: &str) -> Result<(u32, u32)> {
    let exports = store.data().exports.clone();
    let (Some(memory), Some(alloc)) = (exports.memory, exports.alloc) else {
        return Err(anyhow!(
            "Cannot allocate String argument: module has no 'memory' or 'alloc' export"
        ));
    };
    if text.is_empty() {
        return Ok((0, 0));
    }
    let ptr = alloc.call(&mut *store, text.len() as i32)? as u32;
    memory.write(&mut *store, ptr as usize, text.as_bytes())?;
    Ok((ptr, text.len() as u32))
}

/// The value `name` returned. `returns_string`: whether the declaration
/// says the function returns a String (`None`: no source; a pair that
/// reads as text is taken for one); an Array's pair is its pointer, as
/// `vera run` shows. A result no Vera type compiles to (a v128, a
/// reference, several values) is refused by its type alone, as its
/// contents may be a host address.
fn result_value(
    store: &mut Store<HostState>,
    results: &[Val],
    returns_string: Option<bool>,
    name: &str,
) -> Result<Value, Failure> {
    Ok(match results {
        [Val::I32(p), Val::I32(_)] if returns_string == Some(false) => Value::Word(*p),
        [] => Value::Unit,
        [Val::I64(v)] => Value::Int(*v),
        [Val::F64(bits)] => Value::Float(f64::from_bits(*bits)),
        [Val::I32(v)] => Value::Word(*v),
        [Val::I32(p), Val::I32(l)] => {
            let text = store
                .data()
                .exports
                .memory
                .and_then(|m| vera_layout::values::read_string(m.data(&*store), *p as u32, *l as u32).ok());
            match text {
                Some(t) => Value::Str(t),
                None => Value::Word(*p),
            }
        }
        other => {
            let types: Vec<&str> = other
                .iter()
                .map(|v| match v {
                    Val::I32(_) => "i32",
                    Val::I64(_) => "i64",
                    Val::F32(_) => "f32",
                    Val::F64(_) => "f64",
                    Val::V128(_) => "v128",
                    Val::FuncRef(_) => "funcref",
                    Val::ExternRef(_) => "externref",
                    Val::AnyRef(_) => "anyref",
                    Val::ExnRef(_) => "exnref",
                    _ => "a reference",
                })
                .collect();
            return Err(Failure::Trap {
                kind: "host_error".into(),
                message: format!(
                    "`{name}` returned ({}), which is no Vera type: vera-rt shows an Int, Nat, Float64, Bool, Byte, \
                     String or Unit result",
                    types.join(", ")
                ),
                frames: vec![],
            });
        }
    })
}

#[cfg(test)]
mod argument_tests {
    use super::{parse_python_float, python_int};

    /// Python's own answers (`float(s)`, `int(s)`), ASCII digits only.
    #[test]
    fn numbers_read_as_python_reads_them() {
        let cases: &[(&str, Option<f64>, Option<i128>)] = &[
            ("1.5", Some(1.5), None),
            (" 2 ", Some(2.0), Some(2)),
            ("1_0.5", Some(10.5), None),
            ("1__0", None, None),
            (".5", Some(0.5), None),
            ("5.", Some(5.0), None),
            ("1e5", Some(1e5), None),
            ("1E-3", Some(0.001), None),
            ("+inf", Some(f64::INFINITY), None),
            ("-Infinity", Some(f64::NEG_INFINITY), None),
            ("1e", None, None),
            ("e5", None, None),
            ("_1", None, None),
            ("1_", None, None),
            ("0x10", None, None),
            ("1.5.5", None, None),
            ("", None, None),
            (" ", None, None),
            ("1 0", None, None),
            ("+.5e+2", Some(50.0), None),
            ("-0_7", Some(-7.0), Some(-7)),
        ];
        for (text, float, int) in cases {
            assert_eq!(parse_python_float(text), *float, "float({text:?})");
            assert_eq!(python_int(text).map(|v| v.unwrap()), *int, "int({text:?})");
        }
        assert!(parse_python_float("NaN").unwrap().is_nan());
        assert_eq!(python_int("99999999999999999999999999999999999999999"), Some(None));
    }
}
