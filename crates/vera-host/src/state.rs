//! Everything the host keeps per run: I/O endpoints, the trap channels, the
//! `State<T>` cells, Decimal handles and statistics. Map/Set contents are
//! never here: they live in guest memory only.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use crate::guest::GuestExports;

/// Where program output goes.
pub type Sink = Box<dyn Write + Send>;

/// Per-run host state, the `T` of the wasmtime `Store`.
pub struct HostState {
    pub exports: GuestExports,
    pub stdout: Sink,
    pub stderr: Sink,
    pub stdin: Box<dyn BufRead + Send>,
    /// What `IO.args` returns.
    pub args: Vec<String>,
    /// `None`: the process environment.
    pub env: Option<HashMap<String, String>>,
    pub stdout_ends_newline: Option<bool>,
    pub stderr_ends_newline: Option<bool>,
    /// The last `contract_fail` message.
    pub violation: Option<String>,
    /// The last `trap(kind, message)` signal.
    pub trap_signal: Option<(u32, String)>,
    /// `State<T>` cells by import suffix: a stack of raw values.
    pub state_cells: HashMap<String, Vec<u64>>,
    /// Pointers an import holds across calls into the guest
    /// ([`vera_layout::Heap::with_roots`]); empty between imports.
    pub held_roots: Vec<u32>,
    /// Host allocations bump `heap_ptr` when they fit (see
    /// `GuestHeap::alloc_without_collecting`); off, every one calls `alloc`.
    pub bump_allocate: bool,
    pub stats: Stats,
    pub limits: wasmtime::StoreLimits,
    /// Bounds on the host's own allocations.
    pub host_limits: crate::HostLimits,
    /// Set while the host is inside a call of the guest's `alloc` (or
    /// `register_wrapper`): an import that touches guest memory then
    /// refuses (re-entry would change the collection the outer import is
    /// in the middle of).
    pub in_alloc: bool,
    /// The memory size (bytes) of a `memory.grow` that `limits` refused.
    pub memory_denied: Option<usize>,
    /// Module offsets where the module's collector traps on a full mark
    /// worklist (see `Program::collector`).
    pub worklist_overflow_sites: std::sync::Arc<Vec<std::ops::Range<usize>>>,
    /// The module's bytes as compiled: a trap's module offset names the
    /// instruction that trapped (see `trap::classify`).
    pub wasm: std::sync::Arc<[u8]>,
    /// When `--timeout` ends the run: host work that waits or computes
    /// (sleep, HTTP, parsers) is bounded by it, as guest code is by the
    /// epoch deadline.
    pub deadline: Option<std::time::Instant>,
    /// Extension slots for families that keep per-run data (Decimal
    /// handles, regex cache...).
    pub extensions: anymap::Extensions,
}

/// Counters reported by `--stats`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Map and Set imports called (lookups the module answers itself, see
    /// `vera_layout::inline`, are not).
    pub map_ops: u64,
    pub set_ops: u64,
    /// Host allocations made by bumping `heap_ptr`.
    pub bump_allocs: u64,
    /// Host allocations that called the module's `alloc`.
    pub guest_allocs: u64,
    /// Times the guest grew memory inside a host allocation (its collector
    /// could not free enough), each followed by the host's headroom grow.
    pub guest_grows: u64,
    pub live_handles_peak: u64,
    pub live_handles_end: u64,
    /// Text `json_parse` read and `json_stringify` wrote, and the time each
    /// took (the whole import).
    pub json_parse: Throughput,
    pub json_stringify: Throughput,
}

/// Calls of one import, the bytes of text they handled and their time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Throughput {
    pub calls: u64,
    pub bytes: u64,
    pub time: std::time::Duration,
}

impl Throughput {
    /// Counts one call that handled `bytes` since `start`.
    pub fn add(&mut self, bytes: usize, start: std::time::Instant) {
        self.calls += 1;
        self.bytes += bytes as u64;
        self.time += start.elapsed();
    }

    /// `N calls, B bytes in T ms (R MiB/s)`.
    pub fn describe(&self) -> String {
        let ms = self.time.as_secs_f64() * 1e3;
        let rate = self.bytes as f64 / (1 << 20) as f64 / self.time.as_secs_f64().max(1e-9);
        format!(
            "{} calls, {} bytes in {ms:.3} ms ({rate:.1} MiB/s)",
            self.calls, self.bytes
        )
    }
}

impl HostState {
    pub fn new(stdout: Sink, stderr: Sink, stdin: Box<dyn BufRead + Send>) -> HostState {
        HostState {
            exports: GuestExports {
                memory: None,
                alloc: None,
                gc_sp: None,
                gc_stack_limit: None,
                heap_ptr: None,
                register_wrapper: None,
                module_maps: None,
            },
            stdout,
            stderr,
            stdin,
            args: Vec::new(),
            env: None,
            stdout_ends_newline: None,
            stderr_ends_newline: None,
            violation: None,
            trap_signal: None,
            state_cells: HashMap::new(),
            held_roots: Vec::new(),
            bump_allocate: true,
            stats: Stats::default(),
            limits: wasmtime::StoreLimitsBuilder::new().build(),
            host_limits: crate::HostLimits::default(),
            in_alloc: false,
            memory_denied: None,
            worklist_overflow_sites: Default::default(),
            wasm: std::sync::Arc::from(&[][..]),
            deadline: None,
            extensions: anymap::Extensions::default(),
        }
    }

    pub fn write_stdout(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(&last) = bytes.last() {
            self.stdout_ends_newline = Some(last == b'\n');
        }
        self.stdout.write_all(bytes)?;
        self.stdout.flush()
    }

    pub fn write_stderr(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(&last) = bytes.last() {
            self.stderr_ends_newline = Some(last == b'\n');
        }
        self.stderr.write_all(bytes)?;
        self.stderr.flush()
    }

    pub fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }
}

/// `limits`, remembering a refused memory growth so the run can say which
/// limit stopped it.
impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.memory_denied = Some(desired);
        }
        Ok(allowed)
    }
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
    fn instances(&self) -> usize {
        self.limits.instances()
    }
    fn tables(&self) -> usize {
        self.limits.tables()
    }
    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// A typed map of per-family data, so a family can keep its own state
/// without this module knowing its type.
pub mod anymap {
    use std::any::{Any, TypeId};
    use std::collections::HashMap;

    #[derive(Default)]
    pub struct Extensions(HashMap<TypeId, Box<dyn Any + Send>>);

    impl Extensions {
        pub fn get_or_default<T: Any + Send + Default>(&mut self) -> &mut T {
            self.0
                .entry(TypeId::of::<T>())
                .or_insert_with(|| Box::new(T::default()))
                .downcast_mut()
                .expect("extension stored under its own TypeId")
        }
        pub fn get<T: Any + Send>(&self) -> Option<&T> {
            self.0.get(&TypeId::of::<T>()).and_then(|b| b.downcast_ref())
        }
        pub fn insert<T: Any + Send>(&mut self, value: T) {
            self.0.insert(TypeId::of::<T>(), Box::new(value));
        }
    }
}
