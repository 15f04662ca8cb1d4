//! What a load ([`LoadOptions`]) and a run ([`RunOptions`]) take, and the
//! bounds on the host's own work for a guest ([`HostLimits`]).

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use crate::capture::{Captured, SharedBuf};
use crate::{source, state};

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
