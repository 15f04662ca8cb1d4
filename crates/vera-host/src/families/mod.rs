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
#[cfg(feature = "db")]
pub mod db;
pub mod decimal;
#[cfg(feature = "net")]
pub mod future;
pub mod glue;
pub mod handles;
#[cfg(feature = "regex")]
pub mod html;
#[cfg(feature = "net")]
pub mod http;
#[cfg(feature = "net")]
pub mod inference;
pub mod io;
pub mod json;
#[cfg(feature = "regex")]
pub mod md;
pub mod numeric;
#[cfg(feature = "regex")]
pub mod regex;

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
    #[cfg(feature = "regex")]
    ("regex", regex::define),
    #[cfg(feature = "regex")]
    ("md", md::define),
    #[cfg(feature = "db")]
    ("db", db::define),
    #[cfg(feature = "regex")]
    ("html", html::define),
    #[cfg(feature = "net")]
    ("http", http::define),
    #[cfg(feature = "net")]
    ("future", future::define),
    #[cfg(feature = "net")]
    ("inference", inference::define),
];

/// The imports declared once through [`glue::imports!`], by family:
/// each one's name and signature, which `crates/vera-rt/tests/imports.rs`
/// checks against the reference hosts' import lists.
pub const DECLARED: &[(&str, &[glue::Declared])] = &[
    ("io", io::IMPORTS),
    ("checks", checks::IMPORTS),
    ("handles", handles::IMPORTS),
    ("numeric", numeric::IMPORTS),
    ("decimal", decimal::IMPORTS),
    #[cfg(feature = "regex")]
    ("regex", regex::IMPORTS),
    #[cfg(feature = "regex")]
    ("md", md::IMPORTS),
    #[cfg(feature = "regex")]
    ("html", html::IMPORTS),
    #[cfg(feature = "db")]
    ("db", db::IMPORTS),
    #[cfg(feature = "net")]
    ("http", http::IMPORTS),
    #[cfg(feature = "net")]
    ("future", future::IMPORTS),
    #[cfg(feature = "net")]
    ("inference", inference::IMPORTS),
];

/// The families behind cargo features of vera-host, by feature: every
/// import each provides. A build without a feature refuses a module that
/// imports one of its names at load, naming the feature ([`compiled_out`]).
pub const OPTIONAL: &[(&str, &[&str])] = &[
    ("db", &["db_query", "db_execute"]),
    (
        "net",
        &[
            "http_get",
            "http_post",
            "async_http_get",
            "async_http_post",
            "async_await",
            "inference_complete",
        ],
    ),
    (
        "regex",
        &[
            "regex_match",
            "regex_find",
            "regex_find_all",
            "regex_replace",
            "md_parse",
            "md_render",
            "md_has_heading",
            "md_has_code_block",
            "md_extract_code_blocks",
            "html_parse",
            "html_query",
            "html_text",
            "html_to_string",
        ],
    ),
];

/// Whether this build has cargo feature `feature` of vera-host.
pub fn feature_enabled(feature: &str) -> bool {
    (feature == "db" && cfg!(feature = "db"))
        || (feature == "net" && cfg!(feature = "net"))
        || (feature == "regex" && cfg!(feature = "regex"))
}

/// The feature import `name` needs, when this build left it out.
pub fn compiled_out(name: &str) -> Option<&'static str> {
    OPTIONAL
        .iter()
        .find(|(feature, names)| !feature_enabled(feature) && names.contains(&name))
        .map(|(feature, _)| *feature)
}

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
    vera_families::bounds::set_host_memory(caller.data().host_limits.host_memory());
    vera_families::bounds::set_parse_deadline(caller.data().deadline);
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

pub use vera_families::bounds::{Exceeded, Meter, TIME_LIMIT};

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
    HostTrap::Limit(vera_families::bounds::host_memory_message(what, len))
}

/// Refuses host work that would hold `len` bytes for `what` (a file read
/// whole, an HTTP body, a parsed tree) when that is over
/// `--max-host-memory`.
pub fn check_host_memory(state: &HostState, what: &str, len: usize) -> Result<()> {
    vera_families::bounds::set_host_memory(state.host_limits.host_memory());
    if len > state.host_limits.host_memory() {
        return Err(host_memory_error(what, len).into());
    }
    Ok(())
}

/// The budget of one guest tree read (Markdown, HTML): the guest's memory
/// size and `--max-host-memory`.
pub fn tree_budget(h: &mut GuestHeap<'_, '_>) -> vera_families::bounds::TreeBudget {
    use vera_layout::Heap;
    let limit = h.state().host_limits.host_memory();
    vera_families::bounds::TreeBudget::new(h.memory().len(), limit)
}

/// The run's [`Meter`]: `--max-host-memory` and `--timeout`.
pub fn meter(state: &HostState) -> Meter {
    Meter::new(state.host_limits.host_memory(), state.deadline)
}

impl From<vera_families::Stop> for HostTrap {
    fn from(stop: vera_families::Stop) -> HostTrap {
        match stop {
            vera_families::Stop::Refused(message) => HostTrap::Refused(message),
            vera_families::Stop::Limit(message) => HostTrap::Limit(message),
        }
    }
}
