//! Loading a module: text or binary, the load-time rewrites
//! (`vera_rewrite::prepare`: vera-rt's collections, the overflow-safe mark
//! phase, the size-class allocator; then threading `heap_ptr` through the
//! Map/Set imports), falling back to the module as given when a rewrite
//! does not compile, the engine's configuration, and what the loaded
//! [`Program`] exports. Linking is [`crate::link`]'s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Result;
use wasmtime::{Config, Engine, ExternType, Linker, Module};

use crate::options::LoadOptions;
use crate::state::HostState;
use crate::{families, guest};

/// A compiled Vera module, ready to run any number of times.
pub struct Program {
    pub(crate) engine: Engine,
    pub(crate) module: Module,
    pub(crate) linker: Linker<HostState>,
    /// Time spent compiling the module.
    pub compile_time: Duration,
    /// Which mark phase the module's collector runs.
    pub collector: Collector,
    /// Whose Map/Set code the module runs.
    pub collections: Collections,
    /// Module offset ranges where a full mark worklist traps (none once
    /// the collector is overflow-safe).
    pub(crate) worklist_overflow_sites: Arc<Vec<std::ops::Range<usize>>>,
    /// The module as compiled, for naming a trapping instruction.
    pub(crate) wasm: Arc<[u8]>,
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
        let linker = crate::link::link(&engine, &module, &threaded_imports)?;
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
}
