//! The `"vera"` import families, one module each.
//!
//! A module's imports are linked by name: [`define`] offers each import to
//! every family's `define`, which returns `true` when it provided it. Names
//! with type tags (`map_insert$ks_vi`, `state_get_Int`) are decoded by
//! their family, so each per-tag variant comes from one definition.

use vera_layout::GuestResult;
use wasmtime::Result;
use wasmtime::{Caller, FuncType, Linker};

use crate::guest::GuestHeap;
use crate::state::HostState;
use crate::trap::HostTrap;

pub mod checks;
pub mod collections;
pub mod db;
pub mod decimal;
pub mod future;
pub mod handles;
pub mod html;
pub mod http;
pub mod inference;
pub mod io;
pub mod json;
pub mod md;
pub mod numeric;
pub mod regex;
pub mod regex_classes;
pub mod state;

/// A family's linker hook: define `name` (with the module's declared type
/// `ty`) if this family provides it.
pub type Definer = fn(&mut Linker<HostState>, &str, &FuncType) -> Result<bool>;

/// Every family, in the order names are offered.
pub const FAMILIES: &[(&str, Definer)] = &[
    ("io", io::define),
    ("checks", checks::define),
    ("state", state::define),
    ("collections", collections::define),
    ("handles", handles::define),
    ("numeric", numeric::define),
    ("decimal", decimal::define),
    ("json", json::define),
    ("regex", regex::define),
    ("md", md::define),
    ("db", db::define),
    ("html", html::define),
    ("http", http::define),
    ("future", future::define),
    ("inference", inference::define),
];

/// Whether import `name` is one whose call sites vera-rt rewrites to pass
/// `heap_ptr` in and out (see `vera_rewrite`): the Map/Set operations,
/// called once or more per element of a collection.
pub fn threads_heap_pointer(name: &str) -> bool {
    collections::Import::parse(name).is_some()
}

/// Defines import `name`; `false` when no family provides it. `threaded`:
/// the module was rewritten to pass this import `heap_ptr`.
pub fn define(linker: &mut Linker<HostState>, name: &str, ty: &FuncType, threaded: bool) -> Result<bool> {
    if threaded {
        return collections::define_threaded(linker, name, ty);
    }
    for (_, definer) in FAMILIES {
        if definer(linker, name, ty)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs `body` on the guest heap behind `caller`, turning a guest-memory
/// error into a trap that names `import`.
pub fn with_heap<R>(
    caller: &mut Caller<'_, HostState>,
    import: &str,
    body: impl FnOnce(&mut GuestHeap<'_, '_>) -> GuestResult<R>,
) -> Result<R> {
    refuse_reentry(caller, import)?;
    check_deadline(caller.data())?;
    HOST_MEMORY.set(caller.data().host_limits.host_memory());
    set_parse_deadline(caller.data().deadline);
    let memory = exported_memory(caller, import)?;
    let mut heap = GuestHeap::new(caller, memory, None);
    body(&mut heap).map_err(|e| guest_error(import, e).into())
}

/// [`with_heap`] for an import whose call site passed `heap_ptr`; returns
/// the value the call site is to store back.
pub fn with_threaded_heap<R>(
    caller: &mut Caller<'_, HostState>,
    import: &str,
    heap_ptr: u32,
    body: impl FnOnce(&mut GuestHeap<'_, '_>) -> GuestResult<R>,
) -> Result<(R, u32)> {
    refuse_reentry(caller, import)?;
    let memory = exported_memory(caller, import)?;
    let mut heap = GuestHeap::new(caller, memory, Some(heap_ptr));
    let result = body(&mut heap).map_err(|e| guest_error(import, e))?;
    Ok((result, heap.finish()))
}

/// The module's memory; a module without one cannot pass the host a
/// pointer at all. The exports are captured once instantiation returns,
/// so an import called from the module's start function looks the memory
/// up through its caller.
fn exported_memory(caller: &mut Caller<'_, HostState>, import: &str) -> Result<wasmtime::Memory> {
    if let Some(memory) = caller.data().exports.memory {
        return Ok(memory);
    }
    let memory = ["memory", "vera.memory"]
        .into_iter()
        .find_map(|name| caller.get_export(name).and_then(wasmtime::Extern::into_memory));
    memory.ok_or_else(|| guest_error(import, vera_layout::GuestError::host("the module exports no `memory`")).into())
}

/// What `--timeout` reports when it ends host work: the words of the
/// epoch interrupt that ends guest code.
pub const TIME_LIMIT: &str = "time limit exceeded (--timeout)";

/// The trap for a deadline that passed in host work.
pub fn time_limit_error() -> wasmtime::Error {
    HostTrap::Limit(TIME_LIMIT.to_owned()).into()
}

/// Whether `--timeout`'s deadline has passed.
pub fn deadline_passed(state: &HostState) -> bool {
    state.deadline.is_some_and(|d| std::time::Instant::now() >= d)
}

/// Traps when the deadline has passed: every import that touches guest
/// memory checks on entry, so host work that overran (a parse, a fetch)
/// is reported before its result is built.
pub fn check_deadline(state: &HostState) -> Result<()> {
    if deadline_passed(state) {
        return Err(time_limit_error());
    }
    Ok(())
}

/// Time left before the deadline (`None`: no `--timeout`).
pub fn time_left(state: &HostState) -> Option<std::time::Duration> {
    state
        .deadline
        .map(|d| d.saturating_duration_since(std::time::Instant::now()))
}

fn guest_error(import: &str, source: vera_layout::GuestError) -> HostTrap {
    HostTrap::Guest {
        import: import.to_owned(),
        source,
    }
}

/// `alloc` may signal its own trap (`vera.trap`) or print; anything that
/// allocates or updates guest memory from inside it is refused.
fn refuse_reentry(caller: &Caller<'_, HostState>, import: &str) -> Result<()> {
    const READ_ONLY: &[&str] = &["trap", "contract_fail", "print", "stderr"];
    if caller.data().in_alloc && !READ_ONLY.contains(&import) {
        return Err(HostTrap::Refused(format!(
            "vera.{import}: the guest re-entered vera-rt from inside `alloc`"
        ))
        .into());
    }
    Ok(())
}

/// Refuses a string of `len` bytes that `what` would parse or build when it
/// is over `--max-host-string`.
pub fn check_host_string(state: &HostState, what: &str, len: usize) -> Result<()> {
    let max = state.host_limits.max_host_string;
    if len > max {
        return Err(HostTrap::Limit(format!(
            "limit exceeded: {what} of {len} bytes is over --max-host-string ({max} bytes)"
        ))
        .into());
    }
    Ok(())
}

/// The error for host work that would hold `len` bytes (`what`) past
/// `--max-host-memory`.
pub fn host_memory_error(what: &str, len: usize) -> HostTrap {
    let max = HOST_MEMORY.get();
    HostTrap::Limit(format!(
        "limit exceeded: {what} of {len} bytes is over --max-host-memory ({max} bytes)"
    ))
}

/// Refuses host work that would hold `len` bytes for `what` (a file read
/// whole, an HTTP body, a parsed tree) when that is over
/// `--max-host-memory`.
pub fn check_host_memory(state: &HostState, what: &str, len: usize) -> Result<()> {
    HOST_MEMORY.set(state.host_limits.host_memory());
    if len > HOST_MEMORY.get() {
        return Err(host_memory_error(what, len).into());
    }
    Ok(())
}

/// Host work of one import, metered: the bytes it holds, against
/// `--max-host-memory`, and the time it takes, against `--timeout`, read
/// every [`Meter::EVERY`] steps so the clock costs nothing per step. A
/// parser or matcher charges what it allocates and ticks once per step
/// of its loop, and stops when either runs out.
#[derive(Clone, Debug)]
pub struct Meter {
    bytes_left: usize,
    limit: usize,
    deadline: Option<std::time::Instant>,
    ticks: u32,
}

/// Which bound a [`Meter`] ran out of.
#[derive(Clone, Debug, PartialEq)]
pub enum Exceeded {
    /// This many bytes would be held.
    Memory(usize),
    Time,
}

impl Exceeded {
    /// The trap for `what` (e.g. "json_parse's tree") running out.
    pub fn trap(&self, what: &str) -> HostTrap {
        match self {
            Exceeded::Memory(n) => host_memory_error(what, *n),
            Exceeded::Time => HostTrap::Limit(TIME_LIMIT.to_owned()),
        }
    }
}

impl Meter {
    pub const EVERY: u32 = 4096;

    /// The run's bounds.
    pub fn of(state: &HostState) -> Meter {
        let limit = state.host_limits.host_memory();
        HOST_MEMORY.set(limit);
        Meter {
            bytes_left: limit,
            limit,
            deadline: state.deadline,
            ticks: 0,
        }
    }

    /// No bounds (host work not done for a guest, tests).
    pub fn unbounded() -> Meter {
        Meter {
            bytes_left: usize::MAX,
            limit: usize::MAX,
            deadline: None,
            ticks: 0,
        }
    }

    /// Counts `bytes` more held.
    pub fn charge(&mut self, bytes: usize) -> std::result::Result<(), Exceeded> {
        match self.bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.bytes_left = left;
                self.tick()
            }
            None => Err(Exceeded::Memory(self.limit - self.bytes_left + bytes)),
        }
    }

    /// Reads the clock now: for loops whose every step can be long (one
    /// regex search scans up to the whole subject).
    pub fn check_time(&self) -> std::result::Result<(), Exceeded> {
        match self.deadline {
            Some(d) if std::time::Instant::now() >= d => Err(Exceeded::Time),
            _ => Ok(()),
        }
    }

    /// One step of work; the deadline is read every [`Meter::EVERY`].
    pub fn tick(&mut self) -> std::result::Result<(), Exceeded> {
        self.ticks += 1;
        if self.ticks >= Meter::EVERY {
            self.ticks = 0;
            if self.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Err(Exceeded::Time);
            }
        }
        Ok(())
    }
}

thread_local! {
    static TREE_NODES_LEFT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    /// Text bytes a tree read may still copy.
    static TREE_BYTES_LEFT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    /// The run's `--max-host-memory`, set on every import's entry: the tree
    /// readers see guest memory only, not the `HostState`.
    static HOST_MEMORY: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

thread_local! {
    /// `--timeout`'s deadline for the Markdown and HTML parsers, set on
    /// every import's entry (they read only text), and their steps since
    /// the clock was last read.
    static PARSE_DEADLINE: std::cell::Cell<(Option<std::time::Instant>, u32)> =
        const { std::cell::Cell::new((None, 0)) };
}

/// Sets the deadline [`parse_step_out_of_time`] reads.
pub(crate) fn set_parse_deadline(deadline: Option<std::time::Instant>) {
    PARSE_DEADLINE.set((deadline, 0));
}

/// One step of a host parser: whether `--timeout`'s deadline has passed
/// (the clock is read every [`Meter::EVERY`] steps). A parser that sees
/// `true` gives up; the import then reports the deadline
/// ([`check_deadline`]) instead of its result.
pub fn parse_step_out_of_time() -> bool {
    let (deadline, steps) = PARSE_DEADLINE.get();
    let Some(deadline) = deadline else {
        return false;
    };
    if steps + 1 < Meter::EVERY {
        PARSE_DEADLINE.set((Some(deadline), steps + 1));
        return false;
    }
    PARSE_DEADLINE.set((Some(deadline), 0));
    std::time::Instant::now() >= deadline
}

/// Reads a String of a guest tree (Markdown, HTML) into the host, counting
/// its bytes twice, for the tree's copy and the rendered text that holds
/// it again: nodes sharing one large Text would otherwise make the host
/// copy it once per reference (500 cells of one 900 KB text reached 1.3 GB
/// with 2 MB of guest memory). Past `--max-host-memory` the read traps.
pub fn read_tree_string(m: &[u8], ptr: u32, len: u32, what: &str) -> vera_layout::GuestResult<String> {
    let left = TREE_BYTES_LEFT.get();
    let held = 2 * len as usize;
    if held > left {
        let total = HOST_MEMORY.get() - left + held;
        return Err(vera_layout::GuestError::host(host_memory_error(what, total)));
    }
    TREE_BYTES_LEFT.set(left - held);
    vera_layout::values::read_string(m, ptr, len)
}

/// Counts one node of a guest tree read into the host (Markdown, HTML);
/// `depth == 0` starts a new read. A tree whose nodes are each stored once
/// has at most one node per 4 bytes of memory, so `false` (more visits
/// than that) means the guest shares nodes: a DAG whose expansion would be
/// exponential in host memory and time.
pub fn visit_tree_node(memory_len: usize, depth: u32) -> bool {
    TREE_NODES_LEFT.with(|left| {
        if depth == 0 {
            left.set(memory_len / 4 + 1);
            TREE_BYTES_LEFT.set(HOST_MEMORY.get());
        }
        let n = left.get();
        left.set(n.saturating_sub(1));
        n > 0
    })
}
