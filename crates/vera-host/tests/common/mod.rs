//! Shared harness of the hostile-guest tests: a WAT prelude that behaves
//! like a Vera 0.2.3 guest (memory, bump `alloc`, shadow stack), forged
//! memory images as data segments, and a runner that reports the outcome of
//! one call and fails the test if any panic happened on the way.

#![allow(dead_code)]

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;
use std::time::Duration;

use vera_host::{Failure, LoadOptions, Program, RunOptions, Value};

/// Bytes of the hostile guests' linear memory (2 pages) at start.
pub const MEMORY: u32 = 2 * 65536;
/// `"abc"`.
pub const STR_ABC: u32 = 0x7000;
/// Two bytes that are not UTF-8 (`ff fe`).
pub const STR_BAD_UTF8: u32 = 0x7010;
/// Where forged structures go.
pub const FORGE: u32 = 0x8000;
/// Shadow stack `[SP_BASE, SP_LIMIT)`.
pub const SP_BASE: u32 = 1024;
pub const SP_LIMIT: u32 = 2048;
/// First heap block header.
pub const HEAP: u32 = 0x10000;

thread_local! {
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

/// Counts every panic on this thread, on top of the default report. A
/// panic inside a host import is caught by wasmtime at the wasm boundary
/// and resumed when the call returns to the embedder, so it reaches
/// `catch_unwind` in [`run`]; the hook also sees panics that something
/// swallowed.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            default(info);
        }));
    });
}

/// How one call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Value(Value),
    /// `Error: {message}`, exit 1 in the CLI.
    Trap {
        kind: String,
        message: String,
    },
    Exit(i64),
    /// The module did not load: the CLI prints `Error: {file}: {message}`.
    Load(String),
}

impl Outcome {
    pub fn message(&self) -> String {
        match self {
            Outcome::Trap { message, .. } => message.clone(),
            Outcome::Load(m) => m.clone(),
            other => format!("{other:?}"),
        }
    }
}

/// Options for [`run_with`].
#[derive(Clone, Default)]
pub struct Opts {
    pub timeout: Option<Duration>,
    pub max_memory: Option<usize>,
    pub limits: Option<vera_host::HostLimits>,
    /// Let the host bump `heap_ptr` itself. Off by default here, so every
    /// host allocation reaches the (hostile) `alloc` export.
    pub bump_allocate: bool,
    /// Compile the module as given, without passing `heap_ptr` through the
    /// Map/Set call sites (`LoadOptions::as_is`).
    pub as_is: bool,
}

pub fn run(wat: &str, func: &str) -> Outcome {
    run_with(wat, func, &Opts::default())
}

/// Loads `wat` and calls `func`; panics (failing the test) if vera-rt
/// panicked anywhere.
pub fn run_with(wat: &str, func: &str, opts: &Opts) -> Outcome {
    guarded(func, wat, || {
        let load = LoadOptions {
            timeouts: opts.timeout.is_some(),
            as_is: opts.as_is,
            ..LoadOptions::default()
        };
        let program = match Program::load_with(wat.as_bytes(), &load) {
            Ok(p) => p,
            Err(e) => return Outcome::Load(e.to_string()),
        };
        call(&program, func, opts)
    })
}

/// Calls `func` of an already loaded program, as [`run_with`].
pub fn run_loaded(program: &Program, func: &str, wat: &str) -> Outcome {
    guarded(func, wat, || call(program, func, &Opts::default()))
}

fn call(program: &Program, func: &str, opts: &Opts) -> Outcome {
    let (mut options, _captured) = RunOptions::captured();
    options.function = Some(func.to_owned());
    options.timeout = opts.timeout;
    options.max_memory = opts.max_memory;
    options.bump_allocate = opts.bump_allocate;
    if let Some(limits) = &opts.limits {
        options.limits = limits.clone();
    }
    match program.run(options).outcome {
        Ok(v) => Outcome::Value(v),
        Err(Failure::Exit(c)) => Outcome::Exit(c),
        Err(Failure::Trap { kind, message, .. }) => Outcome::Trap { kind, message },
    }
}

fn guarded(func: &str, wat: &str, body: impl FnOnce() -> Outcome) -> Outcome {
    install_hook();
    let before = PANICS.with(Cell::get);
    let result = catch_unwind(AssertUnwindSafe(body));
    let after = PANICS.with(Cell::get);
    match result {
        Ok(outcome) if after == before => outcome,
        Ok(outcome) => panic!("a panic was swallowed while running {func}: {outcome:?}\n{wat}"),
        Err(_) => panic!("vera-rt panicked running {func}\n{wat}"),
    }
}

/// Asserts a trap whose message contains every one of `parts`.
#[track_caller]
pub fn assert_trap(outcome: &Outcome, parts: &[&str], context: &str) {
    let Outcome::Trap { message, .. } = outcome else {
        panic!("{context}: expected a trap containing {parts:?}, got {outcome:?}");
    };
    for part in parts {
        assert!(
            message.contains(part),
            "{context}: trap message {message:?} lacks {part:?}"
        );
    }
}

/// The guest's allocator in the prelude: a bump allocator with Vera's
/// 4-byte header `(size << 1)`, growing memory when it runs out. The
/// global `$mode` turns it hostile (see [`AllocMode`]).
pub const ALLOC: &str = r#"
  (global $heap (export "heap_ptr") (mut i32) (i32.const 0x10000))
  (global $mode (mut i32) (i32.const 0))
  (global $sp (export "gc_sp") (mut i32) (i32.const 1024))
  (global (export "gc_stack_limit") i32 (i32.const 2048))
  (global $target (mut i32) (i32.const 0))
  (func $good_alloc (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.add (global.get $heap) (i32.const 4)))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.lt_s
              (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
              (i32.const 0))
          (then unreachable))))
    (i32.store (global.get $heap) (i32.shl (local.get $n) (i32.const 1)))
    (global.set $heap (local.get $end))
    (local.get $p))
"#;

/// What the prelude's `alloc` does once `$mode` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocMode {
    Good = 0,
    Zero = 1,
    OutOfBounds = 2,
    MinusOne = 3,
    StraddlesEnd = 4,
    Traps = 5,
    Loops = 6,
    GrowsEachCall = 7,
    SamePointer = 8,
    Misaligned = 9,
    Reenters = 10,
    SmashesShadowStack = 11,
    PoisonsHeap = 12,
    Huge = 13,
}

impl AllocMode {
    pub const ALL: [AllocMode; 14] = [
        AllocMode::Good,
        AllocMode::Zero,
        AllocMode::OutOfBounds,
        AllocMode::MinusOne,
        AllocMode::StraddlesEnd,
        AllocMode::Traps,
        AllocMode::Loops,
        AllocMode::GrowsEachCall,
        AllocMode::SamePointer,
        AllocMode::Misaligned,
        AllocMode::Reenters,
        AllocMode::SmashesShadowStack,
        AllocMode::PoisonsHeap,
        AllocMode::Huge,
    ];
}

/// The `alloc` export: dispatches on `$mode`. `reenter` is a call that
/// re-enters the host from inside `alloc` (mode 10), once.
pub fn alloc_export(reenter: &str) -> String {
    format!(
        r#"
  (global $reentered (mut i32) (i32.const 0))
  (func $alloc (export "alloc") (param $n i32) (result i32)
    (local $p i32)
    (block $default
      (block $m13 (block $m12 (block $m11 (block $m10 (block $m9 (block $m8 (block $m7 (block $m6
      (block $m5 (block $m4 (block $m3 (block $m2 (block $m1
        (br_table $default $m1 $m2 $m3 $m4 $m5 $m6 $m7 $m8 $m9 $m10 $m11 $m12 $m13 $default (global.get $mode)))
        (return (i32.const 0)))
        (return (i32.const 0x7ffffff0)))
        (return (i32.const -1)))
        (return (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))))
        unreachable)
        (loop $forever (br $forever)))
        (drop (memory.grow (i32.const 4)))
        (br $default))
        (if (i32.eqz (global.get $target))
          (then (global.set $target (call $good_alloc (i32.const 4096)))))
        (return (global.get $target)))
        (return (i32.add (call $good_alloc (i32.add (local.get $n) (i32.const 8))) (i32.const 1))))
        (if (i32.eqz (global.get $reentered))
          (then (global.set $reentered (i32.const 1)) {reenter}))
        (br $default))
        (global.set $sp (i32.const -16))
        (br $default))
        (memory.fill (i32.const 0x10000) (i32.const 0xdb) (i32.sub (global.get $heap) (i32.const 0x10000)))
        (br $default))
        (if (i32.lt_s (memory.grow (i32.const 65535)) (i32.const 0)) (then unreachable))
        (br $default))
    (call $good_alloc (local.get $n)))
"#
    )
}

/// Renders `bytes` as a WAT string literal.
pub fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A memory image: little-endian words and byte runs at fixed addresses.
#[derive(Default, Clone)]
pub struct Image {
    pub writes: Vec<(u32, Vec<u8>)>,
}

impl Image {
    pub fn words(&mut self, at: u32, words: &[u32]) -> &mut Self {
        let bytes = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.writes.push((at, bytes));
        self
    }
    pub fn bytes(&mut self, at: u32, bytes: &[u8]) -> &mut Self {
        self.writes.push((at, bytes.to_vec()));
        self
    }
    pub fn data(&self) -> String {
        self.writes
            .iter()
            .map(|(at, b)| format!("  (data (i32.const {at}) \"{}\")\n", wat_bytes(b)))
            .collect()
    }
}

/// A whole hostile module: imports, the prelude, `alloc` (unless `alloc`
/// is given, then that text replaces it), data and functions.
pub fn module(imports: &str, image: &Image, funcs: &str, alloc: Option<&str>) -> String {
    let alloc = match alloc {
        Some(text) => text.to_owned(),
        None => alloc_export(""),
    };
    format!(
        "(module\n{imports}\n  (memory (export \"memory\") 2)\n  (data (i32.const {STR_ABC}) \"abc\")\n  (data (i32.const {STR_BAD_UTF8}) \"\\ff\\fe\")\n{ALLOC}\n{alloc}\n{}\n{funcs})",
        image.data()
    )
}
