//! Running a loaded [`Program`]: choosing the function as `vera run` does,
//! instantiating with the run's options and limits, calling it with its
//! parsed arguments and reporting the value, exit or trap ([`Report`]),
//! with the figures of `--stats` ([`RunStats`]).

use std::time::{Duration, Instant};

use wasmtime::{Store, Val, ValType};

use crate::args::{parse_args, Call};
use crate::load::{Collections, Collector, Program};
use crate::options::{HostLimits, RunOptions};
use crate::state::{HostState, Stats};
use crate::timer::Timer;
use crate::trap::{self, Failure};
use crate::value::{result_value, Value};
use crate::{families, guest, source};

impl Program {
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
