//! Lookups that run inside the module (`vera_layout::inline`) answer
//! exactly as the host does: random version trees of Maps and Sets, built
//! through the host's imports, are queried by `map_get`, `map_contains` and
//! `set_contains` in a module rewritten to look up inline and in the same
//! module compiled as given (every lookup then a host call); the two
//! traces of answers, and the heaps they leave, must be equal. Old versions (which the inline path
//! leaves to the host), removed keys, every key pattern the hash groups,
//! NaNs and signed zeros are all in the mix.

mod common;

use common::*;
use proptest::prelude::*;
use vera_host::{LoadOptions, Program, RunOptions, Value};

/// Where the version pointers are kept (a table of i32s).
const VERSIONS: u32 = FORGE;
const MAX_VERSIONS: usize = 1000;

#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `Map<Int, Int>`
    IntMap,
    /// `Map<Float64, Bool>` (a `b` value)
    FloatMap,
    /// `Map<Bool/Byte/pointer, String>` (a `b` key, an `s` value)
    WordMap,
    /// `Set<Float64>`
    FloatSet,
    /// `Set<b>`
    WordSet,
}

impl Shape {
    fn set(self) -> bool {
        matches!(self, Shape::FloatSet | Shape::WordSet)
    }
    /// (key tag, value tag) as import names spell them.
    fn tags(self) -> (&'static str, &'static str) {
        match self {
            Shape::IntMap => ("i", "i"),
            Shape::FloatMap => ("f", "b"),
            Shape::WordMap => ("b", "s"),
            Shape::FloatSet => ("f", ""),
            Shape::WordSet => ("b", ""),
        }
    }
    fn wasm_type(tag: &str) -> &'static str {
        match tag {
            "i" => "i64",
            "f" => "f64",
            "s" => "i32 i32",
            _ => "i32",
        }
    }
    fn imports(self) -> String {
        let (k, v) = self.tags();
        let (kt, vt) = (Shape::wasm_type(k), Shape::wasm_type(v));
        if self.set() {
            format!(
                r#"
  (import "vera" "set_new" (func $new (result i32)))
  (import "vera" "set_add$e{k}" (func $insert (param i32 {kt}) (result i32)))
  (import "vera" "set_remove$e{k}" (func $remove (param i32 {kt}) (result i32)))
  (import "vera" "set_contains$e{k}" (func $contains (param i32 {kt}) (result i32)))"#
            )
        } else {
            format!(
                r#"
  (import "vera" "map_new" (func $new (result i32)))
  (import "vera" "map_insert$k{k}_v{v}" (func $insert (param i32 {kt} {vt}) (result i32)))
  (import "vera" "map_remove$k{k}" (func $remove (param i32 {kt}) (result i32)))
  (import "vera" "map_get$k{k}_v{v}" (func $get (param i32 {kt}) (result i32)))
  (import "vera" "map_contains$k{k}" (func $contains (param i32 {kt}) (result i32)))"#
            )
        }
    }
    /// The key numbered `n`, as a WAT expression: Int keys in consecutive,
    /// strided and extreme patterns, Float keys with NaNs of several
    /// payloads and both zeros, `b` keys small and pointer-like.
    fn key(self, n: u32) -> String {
        match self {
            Shape::IntMap => {
                let k: i64 = match n % 6 {
                    0 => n as i64,
                    1 => -(n as i64),
                    2 => (n as i64) * 8,
                    3 => (n as i64) << 20,
                    4 => i64::MIN + n as i64,
                    _ => i64::MAX - (n as i64) * 7,
                };
                format!("(i64.const {k})")
            }
            Shape::FloatMap | Shape::FloatSet => {
                let bits: u64 = match n % 7 {
                    0 => f64::NAN.to_bits(),
                    1 => f64::NAN.to_bits() | (n as u64 + 1),
                    2 => (-0.0f64).to_bits(),
                    3 => 0.0f64.to_bits(),
                    4 => f64::INFINITY.to_bits(),
                    _ => (n as f64 / 4.0).to_bits(),
                };
                format!("(f64.reinterpret_i64 (i64.const {}))", bits as i64)
            }
            Shape::WordMap | Shape::WordSet => {
                let k = if n.is_multiple_of(2) { n % 256 } else { 0x10004 + 8 * n };
                format!("(i32.const {k})")
            }
        }
    }
    fn value(self, n: u32) -> String {
        match self {
            Shape::IntMap => format!("(i64.const {})", (n as i64) * 1_000_003 - 5),
            Shape::FloatMap => format!("(i32.const {})", n % 2),
            // "abc", "ab" or "a".
            Shape::WordMap => format!("(i32.const {STR_ABC}) (i32.const {})", 1 + n % 3),
            Shape::FloatSet | Shape::WordSet => String::new(),
        }
    }
    /// Folds the `Option` at `$r` into `$acc`.
    fn fold_option(self) -> &'static str {
        match self {
            Shape::IntMap => "(i64.load offset=8 (local.get $r))",
            Shape::FloatMap => "(i64.extend_i32_u (i32.load offset=4 (local.get $r)))",
            _ => "(i64.extend_i32_u (i32.load offset=8 (local.get $r)))",
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert { version: usize, key: u32, value: u32 },
    Remove { version: usize, key: u32 },
    Get { version: usize, key: u32 },
    Contains { version: usize, key: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly the newest version (usize::MAX), sometimes an old one.
    let version = prop_oneof![4 => Just(usize::MAX), 1 => any::<usize>()];
    let key = 0u32..60;
    prop_oneof![
        6 => (version.clone(), key.clone(), any::<u32>()).prop_map(|(version, key, value)| Op::Insert { version, key, value }),
        2 => (version.clone(), key.clone()).prop_map(|(version, key)| Op::Remove { version, key }),
        4 => (version.clone(), key.clone()).prop_map(|(version, key)| Op::Get { version, key }),
        3 => (version, key).prop_map(|(version, key)| Op::Contains { version, key }),
    ]
}

/// The module: `main` plays `ops` and returns a hash of every answer.
fn program(shape: Shape, ops: &[Op]) -> String {
    let mut body = format!("(i32.store (i32.const {VERSIONS}) (call $new))\n");
    let mut versions = 1usize;
    let at = |version: usize, versions: usize| {
        let v = if version == usize::MAX {
            versions - 1
        } else {
            version % versions
        };
        format!("(i32.load (i32.const {}))", VERSIONS + 4 * v as u32)
    };
    for op in ops.iter().take(MAX_VERSIONS - 1) {
        match *op {
            Op::Insert { version, key, value } => {
                body += &format!(
                    "(i32.store (i32.const {}) (call $insert {} {} {}))\n",
                    VERSIONS + 4 * versions as u32,
                    at(version, versions),
                    shape.key(key),
                    shape.value(value)
                );
                versions += 1;
            }
            Op::Remove { version, key } => {
                body += &format!(
                    "(i32.store (i32.const {}) (call $remove {} {}))\n",
                    VERSIONS + 4 * versions as u32,
                    at(version, versions),
                    shape.key(key)
                );
                versions += 1;
            }
            Op::Get { version, key } if !shape.set() => {
                body += &format!(
                    "(local.set $r (call $get {} {}))
                     (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                       (if (result i64) (i32.load (local.get $r)) (then {}) (else (i64.const -7)))))\n",
                    at(version, versions),
                    shape.key(key),
                    shape.fold_option()
                );
            }
            Op::Get { version, key } | Op::Contains { version, key } => {
                body += &format!(
                    "(local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 3))
                       (i64.extend_i32_u (call $contains {} {}))))\n",
                    at(version, versions),
                    shape.key(key)
                );
            }
        }
    }
    // Then every byte of the heap, so what the lookups wrote (their
    // `Option`s) must be alike too, not only their answers.
    body += &format!(
        "(local.set $r (i32.const {HEAP}))
         (block $done (loop $bytes
           (br_if $done (i32.ge_u (local.get $r) (global.get $heap)))
           (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) (i64.load8_u (local.get $r))))
           (local.set $r (i32.add (local.get $r) (i32.const 1)))
           (br $bytes)))\n"
    );
    let funcs =
        format!("(func (export \"main\") (result i64) (local $acc i64) (local $r i32)\n{body}(local.get $acc))");
    module(&shape.imports(), &Image::default(), &funcs, None)
}

fn answers(wat: &str, as_is: bool) -> Value {
    let load = LoadOptions {
        as_is,
        ..LoadOptions::default()
    };
    let program = Program::load_with(wat.as_bytes(), &load).expect("the test module loads");
    let (mut options, _) = RunOptions::captured();
    options.function = Some("main".into());
    match program.run(options).outcome {
        Ok(value) => value,
        Err(failure) => panic!("the test module failed: {failure:?}"),
    }
}

fn same_answers(shape: Shape, ops: &[Op]) {
    let wat = program(shape, ops);
    assert_eq!(answers(&wat, false), answers(&wat, true), "{shape:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn int_maps_answer_alike(ops in prop::collection::vec(op(), 1..400)) {
        same_answers(Shape::IntMap, &ops);
    }

    #[test]
    fn float_maps_answer_alike(ops in prop::collection::vec(op(), 1..400)) {
        same_answers(Shape::FloatMap, &ops);
    }

    #[test]
    fn word_maps_answer_alike(ops in prop::collection::vec(op(), 1..400)) {
        same_answers(Shape::WordMap, &ops);
    }

    #[test]
    fn float_sets_answer_alike(ops in prop::collection::vec(op(), 1..400)) {
        same_answers(Shape::FloatSet, &ops);
    }

    #[test]
    fn word_sets_answer_alike(ops in prop::collection::vec(op(), 1..400)) {
        same_answers(Shape::WordSet, &ops);
    }
}

/// The answers do not just agree, they are right: a map of N consecutive
/// keys (so several buckets, grown from 8) finds each once and misses the
/// rest, inline and not.
#[test]
fn a_grown_map_finds_what_it_holds() {
    let ops: Vec<Op> = (0..300)
        .map(|key| Op::Insert {
            version: usize::MAX,
            key,
            value: key,
        })
        .chain((0..400).map(|key| Op::Contains {
            version: usize::MAX,
            key,
        }))
        .collect();
    let wat = program(Shape::IntMap, &ops).replace("(local.set $r (i32.const 65536))", "(return (local.get $acc))");
    // 300 hits then 100 misses, folded as acc * 3 + found.
    let want = (0..400).fold(0i64, |acc, k| acc.wrapping_mul(3).wrapping_add((k < 300) as i64));
    assert_eq!(answers(&wat, false), Value::Int(want));
    assert_eq!(answers(&wat, true), Value::Int(want));
}
