//! Hostile guests: hand-written modules that call every Map/Set, JSON,
//! Decimal and string-reading import with forged arguments, lie about
//! sizes, exhaust the shadow stack, and return garbage from `alloc`. Each
//! case asserts its exact outcome (a trap naming what was wrong, or a
//! value) and that nothing panicked. `docs/HOSTILE.md` is generated from
//! these case lists (`table_is_current`).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::*;
use vera_host::families::collections::{Import, Op};
use vera_host::{HostLimits, LoadOptions, Program, Value};
use vera_layout::collection::{bucket_size, Kind, MAP_TAG, SET_TAG};
use vera_layout::{Field, Tag};
use wasmtime::ValType;

/// What a case must end in.
#[derive(Clone, Debug)]
enum Expect {
    /// Returns normally (any value).
    Ok,
    /// Returns this value.
    Value(Value),
    /// Traps; the message contains every part.
    Trap(Vec<String>),
    /// One outcome when the module's Map/Set calls are rewritten (its
    /// lookups then answered inside the module), another when it runs as
    /// given.
    ByMode { rewritten: Box<Expect>, as_is: Box<Expect> },
}

fn trap(parts: &[&str]) -> Expect {
    Expect::Trap(parts.iter().map(|s| s.to_string()).collect())
}

struct Case {
    /// Row of the table in docs/HOSTILE.md.
    class: &'static str,
    name: String,
    wat: std::rc::Rc<String>,
    func: String,
    opts: Opts,
    expect: Expect,
}

/// Builds and checks cases on a thread with the main thread's 8 MiB stack
/// (the CLI runs programs there; the test harness's threads have 2 MiB).
fn check_cases(cases: fn() -> Vec<Case>) {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || check(&cases()))
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// Runs every case twice: with the Map/Set call sites rewritten to pass
/// `heap_ptr` (the default) and with the module compiled as given.
fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for as_is in [false, true] {
        let mut programs: HashMap<*const String, Program> = HashMap::new();
        let load = LoadOptions {
            as_is,
            ..LoadOptions::default()
        };
        for case in cases {
            let outcome = if case.opts.timeout.is_some() || case.opts.max_memory.is_some() || case.opts.limits.is_some()
            {
                run_with(
                    &case.wat,
                    &case.func,
                    &Opts {
                        as_is,
                        ..case.opts.clone()
                    },
                )
            } else {
                let key = std::rc::Rc::as_ptr(&case.wat);
                if let std::collections::hash_map::Entry::Vacant(slot) = programs.entry(key) {
                    // A load error is reported by `run_with` below.
                    if let Ok(p) = Program::load_with(case.wat.as_bytes(), &load) {
                        slot.insert(p);
                    }
                }
                match programs.get(&key) {
                    Some(p) => run_loaded(p, &case.func, &case.wat),
                    None => run_with(
                        &case.wat,
                        &case.func,
                        &Opts {
                            as_is,
                            ..Opts::default()
                        },
                    ),
                }
            };
            let expect = match &case.expect {
                Expect::ByMode {
                    rewritten,
                    as_is: given,
                } => {
                    if as_is {
                        given
                    } else {
                        rewritten
                    }
                }
                expect => expect,
            };
            let ok = match (expect, &outcome) {
                (Expect::Ok, Outcome::Value(_)) => true,
                (Expect::Value(v), Outcome::Value(got)) => v == got,
                (Expect::Trap(parts), Outcome::Trap { message, .. }) => {
                    parts.iter().all(|p| message.contains(p.as_str()))
                }
                _ => false,
            };
            if !ok {
                let mode = if as_is { "as is" } else { "rewritten" };
                failures.push(format!(
                    "[{}] {} ({mode}): expected {:?}, got {:?}",
                    case.class, case.name, expect, outcome
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        2 * cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- Map/Set

fn wat_types(types: impl Iterator<Item = ValType>) -> String {
    types
        .map(|t| match t {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F64 => "f64",
            ValType::F32 => "f32",
            _ => "v128",
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The import declaration of `name` with the signature Vera 0.2.3 gives it.
fn import_decl(engine: &wasmtime::Engine, name: &str, id: &str) -> String {
    let ty = vera_host::families::collections::func_type(&Import::parse(name).expect("a Map/Set import"), engine);
    format!(
        "  (import \"vera\" \"{name}\" (func ${id} (param {}) (result {})))\n",
        wat_types(ty.params()),
        wat_types(ty.results())
    )
}

fn arg(tag: Tag) -> String {
    match tag {
        Tag::Int => "(i64.const 1)".into(),
        Tag::Float => "(f64.const 1)".into(),
        Tag::Str => format!("(i32.const {STR_ABC}) (i32.const 3)"),
        Tag::Word => "(i32.const 1)".into(),
    }
}

/// A call of import `id` on wrapper expression `w` with ordinary key/value
/// arguments, results dropped; `key`/`val` override the argument text.
fn call(import: Import, id: &str, w: &str, key: Option<&str>, val: Option<&str>) -> String {
    let k = |t: Tag| key.map_or_else(|| arg(t), str::to_owned);
    let v = |t: Tag| val.map_or_else(|| arg(t), str::to_owned);
    let (args, results) = match import.op {
        Op::New => (String::new(), 1),
        Op::Size => (w.to_owned(), 1),
        Op::Insert(kt, vt) if import.kind == Kind::Map => (format!("{w} {} {}", k(kt), v(vt)), 1),
        Op::Insert(kt, _) | Op::Get(kt, _) | Op::Contains(kt) | Op::Remove(kt) => (format!("{w} {}", k(kt)), 1),
        Op::Keys(_) | Op::Values(_) => (w.to_owned(), 2),
    };
    format!("(call ${id} {args}){}", " drop".repeat(results))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Size,
    Probe,
    Update,
    Enum,
}

fn class_of(op: Op) -> Option<Class> {
    Some(match op {
        Op::New => return None,
        Op::Size => Class::Size,
        Op::Get(..) | Op::Contains(_) => Class::Probe,
        Op::Insert(..) | Op::Remove(_) => Class::Update,
        Op::Keys(_) | Op::Values(_) => Class::Enum,
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Map => "Map",
        Kind::Set => "Set",
    }
}

fn names_of(kind: Kind) -> Vec<String> {
    Import::all_names()
        .into_iter()
        .filter(|n| Import::parse(n).is_some_and(|i| i.kind == kind))
        .collect()
}

/// A 40-byte version record: tag, state, link, op, slot, pos, key, val.
#[allow(clippy::too_many_arguments)]
fn version(img: &mut Image, at: u32, tag: u32, state: u32, link: u32, op: [u32; 3], key: u64, val: u64) {
    img.words(at - 4, &[40 << 1]);
    img.words(
        at,
        &[
            tag,
            state,
            link,
            op[0],
            op[1],
            op[2],
            key as u32,
            (key >> 32) as u32,
            val as u32,
            (val >> 32) as u32,
        ],
    );
}

/// A bucket block at `at`: header, capacity, count, slots
/// `(occupancy, key, val)`, `used`, and the index (`index(pos)` gives
/// each entry; `None` leaves it 0).
#[allow(clippy::too_many_arguments)]
fn bucket(
    img: &mut Image,
    at: u32,
    cap: u32,
    count: u32,
    used: u32,
    slots: &[(u32, u64, u64)],
    index: impl Fn(u32) -> Option<u32>,
    block: Option<u32>,
) {
    let size = block.unwrap_or(bucket_size(cap));
    img.words(at - 4, &[size << 1]);
    img.words(at, &[cap, count]);
    for (s, &(occ, key, val)) in slots.iter().enumerate() {
        img.words(
            at + 8 + 20 * s as u32,
            &[occ, key as u32, (key >> 32) as u32, val as u32, (val >> 32) as u32],
        );
    }
    img.words(at + 8 + 20 * cap, &[used]);
    let entries: Vec<u32> = (0..2 * cap).map(|p| index(p).unwrap_or(0)).collect();
    img.words(at + 12 + 20 * cap, &entries);
}

const W: u32 = FORGE;
const W2: u32 = FORGE + 0x40;
const B: u32 = FORGE + 0x100;

/// Index position of `key` (tag `i`) in a bucket of capacity `cap`.
fn pos_of(key: i64, cap: u32) -> u32 {
    vera_layout::field::hash(Tag::Int, &[], Field::int(key)).unwrap() & (2 * cap - 1)
}

/// One forged wrapper: the memory image for a collection of `tag` (the
/// other kind's tag is `other`), the wrapper pointer, and what each class
/// of operation must do with it.
struct Forgery {
    name: &'static str,
    build: fn(u32, u32) -> (Image, u32),
    expect: fn(Class, &'static str) -> Expect,
}

fn all(parts: &'static [&'static str]) -> impl Fn(Class, &'static str) -> Expect {
    move |_, _| trap(parts)
}

fn forgeries() -> Vec<Forgery> {
    fn same(parts: &[&str]) -> Expect {
        trap(parts)
    }
    let _ = all(&[]);
    vec![
        Forgery {
            name: "null wrapper pointer (0)",
            build: |_, _| (Image::default(), 0),
            expect: |_, k| same(&[&format!("is not a {k} (tag 0x00000000)")]),
        },
        Forgery {
            name: "wrapper pointer past the end of memory",
            build: |_, _| (Image::default(), 0xFFFF_FFF0),
            expect: |_, _| same(&["Out-of-bounds memory access", "40 byte(s) at offset 4294967280"]),
        },
        Forgery {
            name: "wrapper straddling the end of memory",
            build: |_, _| (Image::default(), MEMORY - 20),
            expect: |_, _| same(&["Out-of-bounds memory access", "40 byte(s) at offset 131052"]),
        },
        Forgery {
            name: "wrapper with a foreign tag",
            build: |_, _| {
                let mut img = Image::default();
                version(&mut img, W, 0x1234_5678, 0, 0, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, k| same(&[&format!("is not a {k} (tag 0x12345678)")]),
        },
        Forgery {
            name: "Map wrapper passed as Set and vice versa",
            build: |_, other| {
                let mut img = Image::default();
                version(&mut img, W, other, 0, 0, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, k| same(&[&format!("is not a {k} (tag 0xfeedc00")]),
        },
        Forgery {
            name: "Decimal wrapper passed as a collection",
            build: |_, _| {
                let mut img = Image::default();
                img.words(W - 4, &[12 << 1]).words(W, &[0xFEED_C003, 0x8000_0001, 0]);
                (img, W)
            },
            expect: |_, k| same(&[&format!("is not a {k} (tag 0xfeedc003)")]),
        },
        Forgery {
            name: "unknown version state",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 7, 0, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["corrupt Map/Set version", "unknown state 7"]),
        },
        Forgery {
            name: "bucket pointer past the end of memory",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, 0xFFFF_FF00, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["Out-of-bounds memory access", "at offset 4294967040"]),
        },
        Forgery {
            name: "bucket pointer 2 (header before address 0)",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, 2, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["corrupt bucket at 0x2", "capacity 0 is not a power of two"]),
        },
        Forgery {
            name: "bucket capacity not a power of two",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                img.words(B - 4, &[1000 << 1]).words(B, &[12, 0]);
                (img, W)
            },
            expect: |_, _| same(&["capacity 12 is not a power of two in [4, 2^26]"]),
        },
        Forgery {
            name: "bucket capacity 2^30 (over the maximum)",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                img.words(B - 4, &[1000 << 1]).words(B, &[1 << 30, 0]);
                (img, W)
            },
            expect: |_, _| same(&["capacity 1073741824 is not a power of two in [4, 2^26]"]),
        },
        Forgery {
            name: "bucket capacity 2^26, block beyond memory",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                img.words(B - 4, &[1000 << 1]).words(B, &[1 << 26, 0]);
                (img, W)
            },
            expect: |_, _| same(&["Out-of-bounds memory access", "1879048204 byte(s) at offset 33024"]),
        },
        Forgery {
            name: "bucket block smaller than its capacity needs",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 0, 0, &[], |_| None, Some(16));
                (img, W)
            },
            expect: |_, _| same(&["block of 16 bytes is smaller than capacity 8 needs (236)"]),
        },
        Forgery {
            name: "bucket count above used",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 5, 3, &[], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["count 5, used 3, capacity 8 disagree"]),
        },
        Forgery {
            name: "bucket used above capacity",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 0, 9, &[], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["count 0, used 9, capacity 8 disagree"]),
        },
        Forgery {
            name: "version linked to itself (cycle)",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["diff chain has a cycle"]),
        },
        Forgery {
            name: "two versions linked to each other (cycle)",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [0; 3], 0, 0);
                version(&mut img, W2, tag, 1, W, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["diff chain has a cycle"]),
        },
        Forgery {
            name: "version linked past the end of memory",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, 0xFFFF_FFFC, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["Out-of-bounds memory access", "at offset 4294967292"]),
        },
        Forgery {
            name: "version linked to the other kind's wrapper",
            build: |tag, other| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [0; 3], 0, 0);
                version(&mut img, W2, other, 0, 0, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, k| same(&[&format!("is not a {k}")]),
        },
        Forgery {
            name: "unknown diff op",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [9, 0, 0], 0, 0);
                version(&mut img, W2, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 0, 0, &[], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["unknown diff op 9"]),
        },
        Forgery {
            name: "diff undoing an append of a slot that is not last",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [1, 0, 0], 0, 0);
                version(&mut img, W2, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 2, 2, &[(1, 98, 0), (1, 99, 0)], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["cannot undo append of slot 0"]),
        },
        Forgery {
            name: "diff redoing an append at the wrong slot",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [2, 5, 0], 0, 0);
                version(&mut img, W2, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 0, 0, &[], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["cannot redo append of slot 5"]),
        },
        Forgery {
            name: "diff killing a dead slot",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [4, 0, 0], 0, 0);
                version(&mut img, W2, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 0, 1, &[(0, 99, 0)], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["slot 0 cannot become dead"]),
        },
        Forgery {
            name: "diff setting the value of a slot beyond used",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [5, 3, 0], 0, 0);
                version(&mut img, W2, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 0, 0, &[], |_| None, None);
                (img, W)
            },
            expect: |_, _| same(&["cannot set value of slot 3"]),
        },
        Forgery {
            name: "non-SAME diff against an empty root",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 1, W2, [3, 0, 0], 0, 0);
                version(&mut img, W2, tag, 0, 0, [0; 3], 0, 0);
                (img, W)
            },
            expect: |_, _| same(&["diff against an empty collection"]),
        },
        Forgery {
            name: "index entry naming a slot beyond used",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 1, 1, &[(1, 99, 7)], |_| Some(0x8000_0005), None);
                (img, W)
            },
            expect: |c, _| match c {
                Class::Size | Class::Enum => Expect::Ok,
                _ => same(&["names slot 5 beyond used 1"]),
            },
        },
        Forgery {
            name: "index with no free entry",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 1, 1, &[(1, 99, 7)], |_| Some(0x8000_0000), None);
                (img, W)
            },
            expect: |c, _| match c {
                Class::Size | Class::Enum => Expect::Ok,
                _ => same(&["index has no free entry"]),
            },
        },
        Forgery {
            name: "index entry without the live bit",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                bucket(&mut img, B, 8, 1, 1, &[(1, 99, 7)], |_| Some(5), None);
                (img, W)
            },
            expect: |c, _| match c {
                Class::Size | Class::Enum => Expect::Ok,
                _ => same(&["holds 0x5"]),
            },
        },
        Forgery {
            name: "count disagreeing with the live slots",
            build: |tag, _| {
                let mut img = Image::default();
                version(&mut img, W, tag, 0, B, [0; 3], 0, 0);
                let p = pos_of(99, 8);
                bucket(
                    &mut img,
                    B,
                    8,
                    2,
                    2,
                    &[(1, 99, 7), (0, 98, 0)],
                    |i| (i == p).then_some(0x8000_0000),
                    None,
                );
                (img, W)
            },
            expect: |c, _| match c {
                Class::Enum => same(&["count 2 but 1 live slots"]),
                _ => Expect::Ok,
            },
        },
        Forgery {
            name: "200 SAME diffs down to an empty root (valid)",
            build: |tag, _| {
                let mut img = Image::default();
                for i in 0..200u32 {
                    let at = FORGE + 0x100 + 0x30 * i;
                    let link = if i == 199 { 0 } else { at + 0x30 };
                    version(&mut img, at, tag, (i != 199) as u32, link, [0; 3], 0, 0);
                }
                (img, FORGE + 0x100)
            },
            expect: |_, _| Expect::Ok,
        },
    ]
}

fn collection_cases() -> Vec<Case> {
    let engine = wasmtime::Engine::default();
    let mut cases = Vec::new();
    for kind in [Kind::Map, Kind::Set] {
        let (tag, other) = match kind {
            Kind::Map => (MAP_TAG, SET_TAG),
            Kind::Set => (SET_TAG, MAP_TAG),
        };
        let names = names_of(kind);
        let imports: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| import_decl(&engine, n, &format!("i{i}")))
            .collect();
        for forgery in forgeries() {
            let (img, w) = (forgery.build)(tag, other);
            let mut funcs = String::new();
            let mut planned = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let import = Import::parse(name).unwrap();
                let Some(class) = class_of(import.op) else { continue };
                let body = call(import, &format!("i{i}"), &format!("(i32.const {w})"), None, None);
                funcs.push_str(&format!("  (func (export \"c{i}\") {body})\n"));
                planned.push((format!("c{i}"), name.clone(), (forgery.expect)(class, kind_name(kind))));
            }
            let wat = std::rc::Rc::new(module(&imports, &img, &funcs, None));
            for (func, name, expect) in planned {
                cases.push(Case {
                    class: "Map/Set: forged wrapper, bucket or version chain",
                    name: format!("{name} on {}", forgery.name),
                    wat: wat.clone(),
                    func,
                    opts: Opts::default(),
                    expect,
                });
            }
        }
    }
    cases
}

/// Forged `(ptr, len)` strings and what validating them must say.
fn forged_strings() -> Vec<(&'static str, String, Expect)> {
    vec![
        (
            "past the end of memory",
            format!("(i32.const {}) (i32.const 100)", MEMORY - 2),
            trap(&["Out-of-bounds memory access", "100 byte(s) at offset 131070"]),
        ),
        (
            "negative length",
            format!("(i32.const {STR_ABC}) (i32.const -1)"),
            trap(&["Host binding error", "invalid length -1 for String"]),
        ),
        (
            "pointer -1 (wraps)",
            "(i32.const -1) (i32.const 2)".into(),
            trap(&["Out-of-bounds memory access", "2 byte(s) at offset 4294967295"]),
        ),
        (
            "length i32::MAX",
            format!("(i32.const {STR_ABC}) (i32.const 0x7fffffff)"),
            trap(&["Out-of-bounds memory access", "2147483647 byte(s) at offset 28672"]),
        ),
        (
            "invalid UTF-8 (valid bounds)",
            format!("(i32.const {STR_BAD_UTF8}) (i32.const 2)"),
            Expect::Ok,
        ),
        (
            "empty with a junk pointer",
            "(i32.const -7) (i32.const 0)".into(),
            Expect::Ok,
        ),
    ]
}

fn string_field_cases() -> Vec<Case> {
    let engine = wasmtime::Engine::default();
    let mut cases = Vec::new();
    for kind in [Kind::Map, Kind::Set] {
        let names = names_of(kind);
        let new_name = if kind == Kind::Map { "map_new" } else { "set_new" };
        let new_id = names.iter().position(|n| n == new_name).unwrap();
        let imports: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| import_decl(&engine, n, &format!("i{i}")))
            .collect();
        let mut funcs = String::new();
        let mut planned = Vec::new();
        for (s, (sname, text, expect)) in forged_strings().into_iter().enumerate() {
            for (i, name) in names.iter().enumerate() {
                let import = Import::parse(name).unwrap();
                let w = format!("(call $i{new_id})");
                let key_is_str = match import.op {
                    Op::Insert(k, _) | Op::Get(k, _) | Op::Contains(k) | Op::Remove(k) => k == Tag::Str,
                    _ => false,
                };
                let val_is_str = kind == Kind::Map && matches!(import.op, Op::Insert(_, Tag::Str));
                if key_is_str {
                    let body = call(import, &format!("i{i}"), &w, Some(&text), None);
                    funcs.push_str(&format!("  (func (export \"k{s}_{i}\") {body})\n"));
                    planned.push((format!("k{s}_{i}"), format!("{name}: key {sname}"), expect.clone()));
                }
                if val_is_str {
                    let body = call(import, &format!("i{i}"), &w, None, Some(&text));
                    funcs.push_str(&format!("  (func (export \"v{s}_{i}\") {body})\n"));
                    planned.push((format!("v{s}_{i}"), format!("{name}: value {sname}"), expect.clone()));
                }
            }
        }
        let wat = std::rc::Rc::new(module(&imports, &Image::default(), &funcs, None));
        for (func, name, expect) in planned {
            cases.push(Case {
                class: "Map/Set: forged String key or value (ptr, len)",
                name,
                wat: wat.clone(),
                func,
                opts: Opts::default(),
                expect,
            });
        }
    }
    cases
}

// ------------------------------------------------------------------ alloc

/// What each `alloc` mode must do to an operation that allocates
/// (`allocates`) or not, given the operation's import name.
fn alloc_expect(mode: AllocMode, name: &str, allocates: bool) -> Expect {
    if !allocates {
        return Expect::Ok;
    }
    match mode {
        AllocMode::Good | AllocMode::GrowsEachCall | AllocMode::Misaligned => Expect::Ok,
        AllocMode::Zero | AllocMode::OutOfBounds | AllocMode::MinusOne | AllocMode::StraddlesEnd => {
            trap(&["Host binding error (vera.", "which is not a usable block"])
        }
        AllocMode::Traps => trap(&["Reached `unreachable` WASM instruction"]),
        AllocMode::Loops => trap(&["time limit exceeded (--timeout)"]),
        AllocMode::Reenters => trap(&["re-entered vera-rt from inside `alloc`"]),
        AllocMode::Huge => trap(&["Reached `unreachable` WASM instruction"]),
        AllocMode::SamePointer | AllocMode::SmashesShadowStack | AllocMode::PoisonsHeap => {
            match OBSERVED.iter().find(|(m, n, _)| *m == mode && *n == name) {
                Some((_, _, Some(parts))) => trap(parts),
                _ => Expect::Ok,
            }
        }
    }
}

/// Outcomes of the modes that hand the host overlapping or destroyed
/// blocks: whatever the corruption, the host reports it (or carries on
/// over guest memory only); none of it reaches the host's own state.
const OBSERVED: &[(AllocMode, &str, Option<&[&str]>)] = &[
    (
        AllocMode::PoisonsHeap,
        "map_insert$ki_vi",
        Some(&["corrupt bucket at 0x10064"]),
    ),
    (
        AllocMode::PoisonsHeap,
        "map_remove$ki",
        Some(&["corrupt bucket at 0x10064"]),
    ),
    (
        AllocMode::PoisonsHeap,
        "map_insert$ks_vs",
        Some(&["corrupt bucket at 0x10064"]),
    ),
    (
        AllocMode::PoisonsHeap,
        "set_remove$ei",
        Some(&["corrupt bucket at 0x10064"]),
    ),
    (
        AllocMode::PoisonsHeap,
        "set_add$ei",
        Some(&["corrupt bucket at 0x10064"]),
    ),
];

fn alloc_cases() -> Vec<Case> {
    let engine = wasmtime::Engine::default();
    let mut cases = Vec::new();
    let sets = [
        (
            Kind::Map,
            vec![
                "map_new",
                "map_size",
                "map_insert$ki_vi",
                "map_get$ki_vi",
                "map_contains$ki",
                "map_remove$ki",
                "map_keys$ki",
                "map_values$vi",
                "map_insert$ks_vs",
            ],
        ),
        (
            Kind::Set,
            vec![
                "set_new",
                "set_size",
                "set_add$ei",
                "set_contains$ei",
                "set_remove$ei",
                "set_to_array$ei",
            ],
        ),
    ];
    for (kind, names) in sets {
        let imports: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| import_decl(&engine, n, &format!("i{i}")))
            .collect();
        // $i2 is the Int insert/add: setup builds {1, 2} with the good
        // allocator, then the mode turns hostile and the case calls one
        // import on it.
        let reenter = "(global.set $w (call $i2 (global.get $w) (i64.const 9) (i64.const 9)))"
            .replace(if kind == Kind::Set { " (i64.const 9))" } else { "\u{0}" }, ")");
        let insert = |w: &str, k: i64| match kind {
            Kind::Map => format!("(call $i2 {w} (i64.const {k}) (i64.const {k}))"),
            Kind::Set => format!("(call $i2 {w} (i64.const {k}))"),
        };
        let setup = format!("(global.set $w {})", insert(&insert("(call $i0)", 1), 2));
        let mut funcs = String::from("  (global $w (mut i32) (i32.const 0))\n");
        let mut planned = Vec::new();
        for mode in AllocMode::ALL {
            for (i, name) in names.iter().enumerate() {
                let import = Import::parse(name).unwrap();
                let body = call(import, &format!("i{i}"), "(global.get $w)", None, None);
                funcs.push_str(&format!(
                    "  (func (export \"m{}_{i}\") {setup} (global.set $mode (i32.const {})) {body})\n",
                    mode as u32, mode as u32
                ));
                let allocates = !matches!(import.op, Op::Size | Op::Contains(_));
                // A lookup the module answers itself calls no `alloc`.
                let expect = match import.op {
                    Op::Get(..) => Expect::ByMode {
                        rewritten: Box::new(Expect::Ok),
                        as_is: Box::new(alloc_expect(mode, name, allocates)),
                    },
                    _ => alloc_expect(mode, name, allocates),
                };
                let opts = Opts {
                    timeout: (mode == AllocMode::Loops).then(|| Duration::from_millis(300)),
                    max_memory: (mode == AllocMode::Huge).then_some(64 << 20),
                    ..Opts::default()
                };
                planned.push((format!("m{}_{i}", mode as u32), *name, mode, opts, expect));
            }
        }
        let wat = std::rc::Rc::new(module(
            &imports,
            &Image::default(),
            &funcs,
            Some(&alloc_export(&reenter)),
        ));
        for (func, name, mode, opts, expect) in planned {
            cases.push(Case {
                class: "alloc returns garbage, traps, loops, grows, re-enters",
                name: format!("{name} with alloc {mode:?}"),
                wat: wat.clone(),
                func,
                opts,
                expect,
            });
        }
    }
    cases
}

#[test]
fn forged_collections_trap_cleanly() {
    check_cases(collection_cases);
}

#[test]
fn forged_string_fields_trap_cleanly() {
    check_cases(string_field_cases);
}

#[test]
fn hostile_alloc_is_reported() {
    check_cases(alloc_cases);
}

#[allow(dead_code)]
fn summary(cases: &[Case]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for c in cases {
        *out.entry(c.class).or_default() += 1;
    }
    out
}

#[allow(dead_code)]
fn limits() -> HostLimits {
    HostLimits::default()
}

// ------------------------------------------------------------------- JSON

const JSON_IMPORTS: &str = r#"
  (import "vera" "json_parse" (func $parse (param i32 i32) (result i32)))
  (import "vera" "json_stringify" (func $str (param i32) (result i32 i32)))
"#;

/// `json_parse(text)` then `json_stringify` of the result, or the error.
fn parse_then_stringify(text: &str) -> String {
    format!(
        "(result i32 i32) (local $r i32)
    (local.set $r (call $parse {text}))
    (if (result i32 i32) (i32.eqz (i32.load (local.get $r)))
      (then (call $str (i32.load offset=4 (local.get $r))))
      (else (i32.load offset=4 (local.get $r)) (i32.load offset=8 (local.get $r))))"
    )
}

fn json_cases() -> Vec<Case> {
    let mut img = Image::default();
    let j = |i: u32| FORGE + 0x40 * i;
    let nesting = "[".repeat(1001);
    let deep = FORGE + 0x2000;
    img.bytes(deep, nesting.as_bytes());
    let utf8 = FORGE + 0x1800;
    img.bytes(utf8, b"[\"\xff\xfe\"]");
    // Stringify forgeries: (name, pointer, expect).
    let mut trees: Vec<(&str, u32, Expect)> = vec![
        (
            "Json pointer past the end of memory",
            0xFFFF_FFF0,
            trap(&["Out-of-bounds memory access", "4 byte(s) at offset 4294967280"]),
        ),
        (
            "JString tag in the last word of memory",
            MEMORY - 4,
            trap(&["Out-of-bounds memory access", "4 byte(s) at offset 131072"]),
        ),
    ];
    img.words(MEMORY - 4, &[3]);
    img.words(j(0), &[77]);
    trees.push((
        "unknown Json tag (read as null)",
        j(0),
        Expect::Value(Value::Str("null".into())),
    ));
    img.words(j(1), &[3, MEMORY - 2, 100]);
    trees.push((
        "JString bytes past the end of memory",
        j(1),
        trap(&["Out-of-bounds memory access", "100 byte(s) at offset 131070"]),
    ));
    img.words(j(2), &[3, STR_ABC, u32::MAX]);
    trees.push((
        "JString with negative length",
        j(2),
        trap(&["invalid length -1 for String"]),
    ));
    img.words(j(3), &[3, STR_BAD_UTF8, 2]);
    trees.push((
        "JString with invalid UTF-8 (decoded lossily)",
        j(3),
        Expect::Value(Value::Str("\"\u{FFFD}\u{FFFD}\"".into())),
    ));
    img.words(j(4), &[4, MEMORY - 8, 4]);
    trees.push((
        "JArray cells past the end of memory",
        j(4),
        trap(&["Out-of-bounds memory access", "16 byte(s) at offset 131064"]),
    ));
    img.words(j(5), &[4, STR_ABC, 0x4000_0000]);
    trees.push((
        "JArray length 2^30",
        j(5),
        trap(&["Out-of-bounds memory access", "4294967296 byte(s) at offset 28672"]),
    ));
    img.words(j(6), &[4, STR_ABC, u32::MAX]);
    trees.push((
        "JArray with negative length",
        j(6),
        trap(&["Out-of-bounds memory access", "17179869180 byte(s) at offset 28672"]),
    ));
    img.words(j(7), &[4, j(7) + 12, 1, j(7)]);
    trees.push((
        "JArray containing itself",
        j(7),
        trap(&["maximum recursion depth exceeded while calling a Python object"]),
    ));
    img.words(j(8), &[4, j(8) + 12, 2, j(8), j(8)]);
    trees.push((
        "JArray containing itself twice (depth-first: the depth bound stops it)",
        j(8),
        trap(&["maximum recursion depth exceeded while calling a Python object"]),
    ));
    // 40 levels, each an array of two references to the level below:
    // 2^40 nulls from 1 KB of memory.
    let dag = FORGE + 0x1000;
    img.words(dag, &[0]);
    for level in 1..=40u32 {
        let at = dag + 0x20 * level;
        img.words(at, &[4, at + 12, 2, at - 0x20, at - 0x20]);
    }
    trees.push((
        "JArray DAG of 40 shared levels (2^40 nulls)",
        dag + 0x20 * 40,
        trap(&["limit exceeded", "json_stringify output", "--max-host-string"]),
    ));
    img.words(j(9), &[5, j(0)]);
    trees.push((
        "JObject whose map is not a Map",
        j(9),
        trap(&["is not a Map (tag 0x0000004d)"]),
    ));
    img.words(j(10), &[5, j(11)]);
    version(&mut img, j(11), SET_TAG, 0, 0, [0; 3], 0, 0);
    trees.push(("JObject holding a Set", j(10), trap(&["is not a Map (tag 0xfeedc002)"])));
    let b = FORGE + 0x3000;
    img.words(j(12), &[5, j(13)]);
    version(&mut img, j(13), MAP_TAG, 0, b, [0; 3], 0, 0);
    let null = j(0) + 0x20;
    img.words(null, &[0]);
    bucket(
        &mut img,
        b,
        8,
        1,
        1,
        &[(1, Field::str(MEMORY - 2, 100).0, null as u64)],
        |_| None,
        None,
    );
    trees.push((
        "JObject key bytes past the end of memory",
        j(12),
        trap(&["Out-of-bounds memory access", "100 byte(s) at offset 131070"]),
    ));
    let b2 = FORGE + 0x3400;
    img.words(j(14), &[5, j(15)]);
    version(&mut img, j(15), MAP_TAG, 0, b2, [0; 3], 0, 0);
    bucket(
        &mut img,
        b2,
        8,
        1,
        1,
        &[(1, Field::str(STR_BAD_UTF8, 2).0, null as u64)],
        |_| None,
        None,
    );
    trees.push((
        "JObject key with invalid UTF-8",
        j(14),
        Expect::Value(Value::Str("{\"\u{FFFD}\u{FFFD}\":null}".into())),
    ));
    let b3 = FORGE + 0x3800;
    img.words(j(16), &[5, j(17)]);
    version(&mut img, j(17), MAP_TAG, 0, b3, [0; 3], 0, 0);
    bucket(
        &mut img,
        b3,
        8,
        1,
        1,
        &[(1, Field::str(STR_ABC, 3).0, j(16) as u64)],
        |_| None,
        None,
    );
    trees.push((
        "JObject containing itself",
        j(16),
        trap(&["maximum recursion depth exceeded while calling a Python object"]),
    ));
    img.words(j(18), &[2, 0]).words(j(18) + 8, &[0, 0x7ff8_0000]);
    trees.push((
        "JNumber NaN",
        j(18),
        trap(&["json_stringify: NaN is not representable in JSON"]),
    ));
    img.words(MEMORY - 12, &[2, 0]);
    trees.push((
        "JNumber whose payload is past the end of memory",
        MEMORY - 12,
        trap(&["Out-of-bounds memory access", "8 byte(s) at offset 131068"]),
    ));
    img.words(j(19), &[1, 7]);
    trees.push(("JBool holding 7", j(19), Expect::Value(Value::Str("true".into()))));

    let mut funcs = String::new();
    let mut planned: Vec<(String, String, Expect, Opts)> = Vec::new();
    for (i, (name, ptr, expect)) in trees.into_iter().enumerate() {
        funcs.push_str(&format!(
            "  (func (export \"s{i}\") (result i32 i32) (call $str (i32.const {ptr})))\n"
        ));
        planned.push((
            format!("s{i}"),
            format!("json_stringify: {name}"),
            expect,
            Opts::default(),
        ));
    }
    let small = Opts {
        limits: Some(HostLimits {
            max_host_string: 1000,
            ..HostLimits::default()
        }),
        ..Opts::default()
    };
    let texts: Vec<(&str, String, Expect, Opts)> = vec![
        (
            "text past the end of memory",
            format!("(i32.const {}) (i32.const 100)", MEMORY - 2),
            trap(&["Out-of-bounds memory access", "100 byte(s) at offset 131070"]),
            Opts::default(),
        ),
        (
            "negative length",
            format!("(i32.const {STR_ABC}) (i32.const -1)"),
            trap(&["invalid length -1 for String"]),
            Opts::default(),
        ),
        (
            "pointer -1",
            "(i32.const -1) (i32.const 2)".into(),
            trap(&["Out-of-bounds memory access", "2 byte(s) at offset 4294967295"]),
            Opts::default(),
        ),
        (
            "length i32::MAX",
            format!("(i32.const {STR_ABC}) (i32.const 0x7fffffff)"),
            trap(&[
                "limit exceeded",
                "json_parse input of 2147483647 bytes",
                "--max-host-string",
            ]),
            Opts::default(),
        ),
        (
            "invalid UTF-8 in a string (decoded lossily)",
            format!("(i32.const {utf8}) (i32.const 6)"),
            Expect::Value(Value::Str("[\"\u{FFFD}\u{FFFD}\"]".into())),
            Opts::default(),
        ),
        (
            "1001 nested arrays",
            format!("(i32.const {deep}) (i32.const 1001)"),
            trap(&["maximum recursion depth exceeded while decoding a JSON array from a unicode string"]),
            Opts::default(),
        ),
        (
            "text longer than --max-host-string",
            format!("(i32.const {deep}) (i32.const 1001)"),
            trap(&["limit exceeded", "json_parse input of 1001 bytes", "--max-host-string"]),
            small.clone(),
        ),
    ];
    for (i, (name, text, expect, opts)) in texts.into_iter().enumerate() {
        funcs.push_str(&format!("  (func (export \"p{i}\") {})\n", parse_then_stringify(&text)));
        planned.push((format!("p{i}"), format!("json_parse: {name}"), expect, opts));
    }
    // A valid document whose text (401 bytes) fits the limit but whose
    // output does not: each `1e9` is written `1000000000`.
    let wide = format!("[{}]", vec!["1e9"; 100].join(","));
    let wide_at = FORGE + 0x4000;
    img.bytes(wide_at, wide.as_bytes());
    funcs.push_str(&format!(
        "  (func (export \"w\") {})\n",
        parse_then_stringify(&format!("(i32.const {wide_at}) (i32.const {})", wide.len()))
    ));
    planned.push((
        "w".into(),
        "json_stringify: output longer than --max-host-string".into(),
        trap(&["limit exceeded", "json_stringify output", "--max-host-string"]),
        Opts {
            limits: Some(HostLimits {
                max_host_string: 998,
                ..HostLimits::default()
            }),
            ..Opts::default()
        },
    ));
    // 5000 one-digit numbers: a 16-byte node each, charged twice for the
    // node vector's spare room, past 64 KiB in all.
    let numbers = format!("[{}]", vec!["1"; 5000].join(","));
    let numbers_at = FORGE + 0x8000;
    img.bytes(numbers_at, numbers.as_bytes());
    for (func, max_host_memory, expect) in [
        ("n1", 1 << 20, Expect::Ok),
        (
            "n2",
            1 << 16,
            trap(&[
                "limit exceeded: json_parse's tree of",
                "is over --max-host-memory (65536 bytes)",
            ]),
        ),
    ] {
        funcs.push_str(&format!(
            "  (func (export \"{func}\") {})\n",
            parse_then_stringify(&format!("(i32.const {numbers_at}) (i32.const {})", numbers.len()))
        ));
        planned.push((
            func.into(),
            format!("json_parse of 5000 numbers, --max-host-memory {max_host_memory} bytes"),
            expect,
            Opts {
                limits: Some(HostLimits {
                    max_host_memory: Some(max_host_memory),
                    ..HostLimits::default()
                }),
                ..Opts::default()
            },
        ));
    }
    let wat = std::rc::Rc::new(module(JSON_IMPORTS, &img, &funcs, None));
    planned
        .into_iter()
        .map(|(func, name, expect, opts)| Case {
            class: "JSON: forged Json trees, text and sizes",
            name,
            wat: wat.clone(),
            func,
            opts,
            expect,
        })
        .collect()
}

#[test]
fn hostile_json_is_refused() {
    check_cases(json_cases);
}

// ------------------------------------------------- module map exports

/// Modules that keep their own maps (as Vera 0.2.4+ does): JSON objects are
/// built through their `map_from_arrays$ks_vb` and read back through
/// `map_keys$ks` and `map_values$vb`. A map here is a 16-byte block holding
/// both arrays and their counts; the hostile variants lie or trap.
fn module_map_cases() -> Vec<Case> {
    let text = br#"{"a":1,"b":[true,{"c":"d"}],"e":{}}"#;
    let mut img = Image::default();
    img.bytes(FORGE, text);
    let main = format!(
        "(func (export \"main\") {})",
        parse_then_stringify(&format!("(i32.const {FORGE}) (i32.const {})", text.len()))
    );
    let build = |body: &str| {
        format!(
            "(func (export \"map_from_arrays$ks_vb\") (param $k i32) (param $kn i32) (param $v i32) (param $vn i32) (result i32)
               (local $m i32) {body})"
        )
    };
    let good_build = build(
        "(local.set $m (call $alloc (i32.const 16)))
         (i32.store (local.get $m) (local.get $k)) (i32.store offset=4 (local.get $m) (local.get $kn))
         (i32.store offset=8 (local.get $m) (local.get $v)) (i32.store offset=12 (local.get $m) (local.get $vn))
         (local.get $m)",
    );
    let keys = |body: &str| format!("(func (export \"map_keys$ks\") (param $m i32) (result i32 i32) {body})");
    let values = |body: &str| format!("(func (export \"map_values$vb\") (param $m i32) (result i32 i32) {body})");
    let good_keys = keys("(i32.load (local.get $m)) (i32.load offset=4 (local.get $m))");
    let good_values = values("(i32.load offset=8 (local.get $m)) (i32.load offset=12 (local.get $m))");
    let variants: Vec<(&str, String, Expect)> = vec![
        (
            "well-behaved exports: the document round-trips",
            [good_build.clone(), good_keys.clone(), good_values.clone()].concat(),
            Expect::Value(Value::Str(String::from_utf8(text.to_vec()).unwrap())),
        ),
        (
            "map_from_arrays$ks_vb of the wrong type",
            [
                "(func (export \"map_from_arrays$ks_vb\") (param i32) (result i32) (i32.const 0))".to_owned(),
                good_keys.clone(),
                good_values.clone(),
            ]
            .concat(),
            trap(&["vera.json_parse", "does not export `map_from_arrays$ks_vb`"]),
        ),
        (
            "map_from_arrays$ks_vb traps",
            [build("unreachable"), good_keys.clone(), good_values.clone()].concat(),
            trap(&["Reached `unreachable` WASM instruction"]),
        ),
        (
            "no map_keys$ks to read a map back",
            [good_build.clone(), good_values.clone()].concat(),
            trap(&["vera.json_stringify", "does not export `map_keys$ks`"]),
        ),
        (
            "map_keys$ks returns a negative count",
            [
                good_build.clone(),
                keys("(i32.const 0) (i32.const -1)"),
                good_values.clone(),
            ]
            .concat(),
            trap(&["vera.json_stringify", "invalid length -1"]),
        ),
        (
            "map_values$vb returns fewer values than keys",
            [
                good_build.clone(),
                good_keys.clone(),
                values("(i32.load offset=8 (local.get $m)) (i32.const 1)"),
            ]
            .concat(),
            trap(&["vera.json_stringify", "invalid length"]),
        ),
        (
            "map_keys$ks returns an array past the end of memory",
            [
                good_build.clone(),
                keys("(i32.const -16) (i32.load offset=4 (local.get $m))"),
                good_values,
            ]
            .concat(),
            trap(&["Out-of-bounds memory access"]),
        ),
        (
            "map_from_arrays$ks_vb returns a pointer past the end of memory",
            [
                build("(i32.const -8)"),
                good_keys,
                values("(i32.const 0) (i32.const 0)"),
            ]
            .concat(),
            trap(&["Out-of-bounds memory access"]),
        ),
    ];
    variants
        .into_iter()
        .map(|(name, exports, expect)| Case {
            class: "module map exports (Vera 0.2.4+)",
            name: name.to_owned(),
            wat: std::rc::Rc::new(module(JSON_IMPORTS, &img, &(exports + &main), None)),
            func: "main".into(),
            opts: Opts::default(),
            expect,
        })
        .collect()
}

#[test]
fn misbehaving_module_maps_are_reported() {
    check_cases(module_map_cases);
}

// ---------------------------------------------------------------- Decimal

const DECIMAL_IMPORTS: &str = r#"
  (import "vera" "decimal_add" (func $add (param i32 i32) (result i32)))
  (import "vera" "decimal_sub" (func $sub (param i32 i32) (result i32)))
  (import "vera" "decimal_mul" (func $mul (param i32 i32) (result i32)))
  (import "vera" "decimal_div" (func $div (param i32 i32) (result i32)))
  (import "vera" "decimal_compare" (func $compare (param i32 i32) (result i32)))
  (import "vera" "decimal_eq" (func $eq (param i32 i32) (result i32)))
  (import "vera" "decimal_neg" (func $neg (param i32) (result i32)))
  (import "vera" "decimal_abs" (func $abs (param i32) (result i32)))
  (import "vera" "decimal_to_string" (func $to_string (param i32) (result i32 i32)))
  (import "vera" "decimal_to_float" (func $to_float (param i32) (result f64)))
  (import "vera" "decimal_round" (func $round (param i32 i64) (result i32)))
  (import "vera" "decimal_from_int" (func $from_int (param i64) (result i32)))
  (import "vera" "decimal_from_string" (func $from_string (param i32 i32) (result i32)))
  (import "vera" "host_decref_handle" (func $decref (param i32 i32)))
  (func (export "register_wrapper") (param i32 i32 i32))
"#;

fn decimal_cases() -> Vec<Case> {
    let mut funcs = String::new();
    let mut planned: Vec<(String, String, Expect, Opts)> = Vec::new();
    // $h: a live handle; $dead: a handle released by the collector hook.
    let setup = "(local $h i32) (local $dead i32)
    (local.set $h (call $from_int (i64.const 7)))
    (local.set $dead (call $from_int (i64.const 8)))
    (call $decref (i32.const 3) (local.get $dead))";
    let forged = [
        ("handle 0", "(i32.const 0)", "0 is not a live Decimal handle"),
        ("handle -1", "(i32.const -1)", "-1 is not a live Decimal handle"),
        (
            "never-issued handle",
            "(i32.const 123456)",
            "123456 is not a live Decimal handle",
        ),
        ("released handle", "(local.get $dead)", "2 is not a live Decimal handle"),
    ];
    let binary = ["add", "sub", "mul", "div", "compare", "eq"];
    let unary = [
        ("neg", "", 1),
        ("abs", "", 1),
        ("to_string", "", 2),
        ("to_float", "", 1),
        ("round", " (i64.const 2)", 1),
    ];
    let mut n = 0;
    for (fname, h, msg) in forged {
        for op in binary {
            for (pos, args) in [
                ("first", format!("{h} (local.get $h)")),
                ("second", format!("(local.get $h) {h}")),
            ] {
                funcs.push_str(&format!(
                    "  (func (export \"d{n}\") {setup} (drop (call ${op} {args})))\n"
                ));
                planned.push((
                    format!("d{n}"),
                    format!("decimal_{op}: {fname} as {pos} operand"),
                    trap(&["Host binding error", &format!("vera.decimal_{op}: {msg}")][1..]),
                    Opts::default(),
                ));
                n += 1;
            }
        }
        for (op, extra, results) in unary {
            funcs.push_str(&format!(
                "  (func (export \"d{n}\") {setup} (call ${op} {h}{extra}){})\n",
                " drop".repeat(results)
            ));
            planned.push((
                format!("d{n}"),
                format!("decimal_{op}: {fname}"),
                trap(&[&format!("vera.decimal_{op}: {msg}")]),
                Opts::default(),
            ));
            n += 1;
        }
    }
    for (sname, text, expect) in forged_strings() {
        funcs.push_str(&format!(
            "  (func (export \"d{n}\") (drop (call $from_string {text})))\n"
        ));
        planned.push((
            format!("d{n}"),
            format!("decimal_from_string: {sname}"),
            if sname == "length i32::MAX" {
                trap(&[
                    "limit exceeded",
                    "decimal_from_string input of 2147483647 bytes",
                    "--max-host-string",
                ])
            } else {
                expect
            },
            Opts::default(),
        ));
        n += 1;
    }
    let mut img = Image::default();
    let digits = FORGE;
    img.bytes(digits, "9".repeat(2000).as_bytes());
    funcs.push_str(&format!(
        "  (func (export \"d{n}\") (drop (call $from_string (i32.const {digits}) (i32.const 2000))))\n"
    ));
    planned.push((
        format!("d{n}"),
        "decimal_from_string: text longer than --max-host-string".into(),
        trap(&[
            "limit exceeded",
            "decimal_from_string input of 2000 bytes",
            "--max-host-string",
        ]),
        Opts {
            limits: Some(HostLimits {
                max_host_string: 1000,
                ..HostLimits::default()
            }),
            ..Opts::default()
        },
    ));
    n += 1;
    for (name, body, limits, expect) in [
        (
            "decimal_from_string: more digits than --max-decimal-digits",
            format!("(drop (call $from_string (i32.const {digits}) (i32.const 2000)))"),
            HostLimits { max_decimal_digits: 1999, ..HostLimits::default() },
            trap(&["limit exceeded", "decimal_from_string input of 2000 bytes", "--max-decimal-digits (1999)"]),
        ),
        (
            "more live handles than --max-handles",
            "(drop (call $from_int (i64.const 1))) (drop (call $from_int (i64.const 2))) (drop (call $from_int (i64.const 3)))".into(),
            HostLimits { max_handles: 2, ..HostLimits::default() },
            trap(&["limit exceeded: 2 live Decimal handles (--max-handles)"]),
        ),
        (
            "released handles do not count against --max-handles",
            "(call $decref (i32.const 3) (call $from_int (i64.const 1))) (call $decref (i32.const 3) (call $from_int (i64.const 2))) (drop (call $from_int (i64.const 3)))".into(),
            HostLimits { max_handles: 2, ..HostLimits::default() },
            Expect::Ok,
        ),
    ] {
        funcs.push_str(&format!("  (func (export \"d{n}\") {body})\n"));
        planned.push((format!("d{n}"), name.into(), expect, Opts { limits: Some(limits), ..Opts::default() }));
        n += 1;
    }
    for (name, body) in [
        (
            "host_decref_handle of an unknown kind",
            "(call $decref (i32.const 99) (i32.const 1))",
        ),
        (
            "host_decref_handle of handle -1",
            "(call $decref (i32.const 3) (i32.const -1))",
        ),
        (
            "host_decref_handle twice",
            "(call $decref (i32.const 3) (i32.const 1)) (call $decref (i32.const 3) (i32.const 1))",
        ),
        (
            "decimal_round to i64::MIN places",
            "(drop (call $round (call $from_int (i64.const 5)) (i64.const 0x8000000000000000)))",
        ),
        (
            "decimal_round to i64::MAX places",
            "(drop (call $round (call $from_int (i64.const 5)) (i64.const 0x7fffffffffffffff)))",
        ),
    ] {
        funcs.push_str(&format!("  (func (export \"d{n}\") {body})\n"));
        planned.push((format!("d{n}"), name.into(), Expect::Ok, Opts::default()));
        n += 1;
    }
    let wat = std::rc::Rc::new(module(DECIMAL_IMPORTS, &img, &funcs, None));
    planned
        .into_iter()
        .map(|(func, name, expect, opts)| Case {
            class: "Decimal: forged handles and strings",
            name,
            wat: wat.clone(),
            func,
            opts,
            expect,
        })
        .collect()
}

#[test]
fn hostile_decimal_is_refused() {
    check_cases(decimal_cases);
}

// ------------------------------------------------------- strings (IO etc.)

fn io_string_cases() -> Vec<Case> {
    let imports = r#"
  (import "vera" "print" (func $print (param i32 i32)))
  (import "vera" "stderr" (func $stderr (param i32 i32)))
  (import "vera" "contract_fail" (func $contract_fail (param i32 i32)))
  (import "vera" "trap" (func $trap (param i32 i32 i32)))
  (import "vera" "get_env" (func $get_env (param i32 i32) (result i32)))
  (import "vera" "read_file" (func $read_file (param i32 i32) (result i32)))
  (import "vera" "write_file" (func $write_file (param i32 i32 i32 i32) (result i32)))
  (import "vera" "read_bytes" (func $read_bytes (param i32 i32) (result i32)))
  (import "vera" "write_bytes" (func $write_bytes (param i32 i32 i32 i32) (result i32)))
"#;
    let mut funcs = String::new();
    let mut planned = Vec::new();
    let mut n = 0;
    for (sname, text, expect) in forged_strings() {
        let harmless = matches!(expect, Expect::Ok);
        for (import, call) in [
            ("print", format!("(call $print {text})")),
            ("stderr", format!("(call $stderr {text})")),
            ("contract_fail", format!("(call $contract_fail {text})")),
            ("trap", format!("(call $trap (i32.const 5) {text})")),
            ("get_env", format!("(drop (call $get_env {text}))")),
            ("read_file", format!("(drop (call $read_file {text}))")),
            (
                "write_file",
                format!("(drop (call $write_file {text} (i32.const {STR_ABC}) (i32.const 3)))"),
            ),
            ("read_bytes", format!("(drop (call $read_bytes {text}))")),
            (
                "write_bytes",
                format!("(drop (call $write_bytes {text} (i32.const {STR_ABC}) (i32.const 3)))"),
            ),
            // The bytes forged, under a good path: refused before any file
            // is opened.
            (
                "write_bytes data",
                format!("(drop (call $write_bytes (i32.const {STR_ABC}) (i32.const 3) {text}))"),
            ),
        ] {
            if harmless && import.starts_with("write_") {
                // Would write a file named by the decoded text.
                continue;
            }
            funcs.push_str(&format!("  (func (export \"t{n}\") {call})\n"));
            let expect = match (&expect, import) {
                // `trap` with length 0 reads nothing.
                (_, "trap") if sname.starts_with("empty") => Expect::Ok,
                (e, _) => e.clone(),
            };
            planned.push((format!("t{n}"), format!("{import}: {sname}"), expect));
            n += 1;
        }
    }
    let wat = std::rc::Rc::new(module(imports, &Image::default(), &funcs, None));
    planned
        .into_iter()
        .map(|(func, name, expect)| Case {
            class: "IO and checks: forged String (ptr, len)",
            name,
            wat: wat.clone(),
            func,
            opts: Opts::default(),
            expect,
        })
        .collect()
}

#[test]
fn forged_io_strings_trap_cleanly() {
    check_cases(io_string_cases);
}

// ------------------------------------------- exports and the shadow stack

/// A module with the usual imports whose prelude is replaced piecewise.
fn bare(imports: &str, globals: &str, exports: &str, funcs: &str) -> String {
    format!("(module\n{imports}\n{globals}\n{exports}\n{funcs})")
}

fn export_cases() -> Vec<Case> {
    let map = r#"(import "vera" "map_new" (func $new (result i32)))
  (import "vera" "map_insert$ks_vs" (func $insert (param i32 i32 i32 i32 i32) (result i32)))"#;
    let good_globals = r#"(global $heap (export "heap_ptr") (mut i32) (i32.const 0x10000))
  (global $mode (mut i32) (i32.const 0))
  (global $sp (export "gc_sp") (mut i32) (i32.const 1024))
  (global (export "gc_stack_limit") i32 (i32.const 2048))
  (global $target (mut i32) (i32.const 0))"#;
    let good_alloc = ALLOC
        .lines()
        .skip_while(|l| !l.contains("func $good_alloc"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n  (func (export \"alloc\") (param i32) (result i32) (call $good_alloc (local.get 0)))";
    let insert = format!(
        "(func (export \"main\") (drop (call $insert (call $new) (i32.const {STR_ABC}) (i32.const 3) (i32.const {STR_ABC}) (i32.const 3))))"
    );
    let mem = "(memory (export \"memory\") 2) (data (i32.const 0x7000) \"abc\")";
    let mut cases: Vec<(&str, String, Expect)> = vec![
        (
            "no alloc export",
            bare(map, good_globals, mem, &insert),
            trap(&["vera.map_new: the module exports no `alloc`"]),
        ),
        (
            "alloc with the wrong signature",
            bare(
                map,
                good_globals,
                mem,
                &format!("{insert} (func (export \"alloc\") (param i64) (result i64) (i64.const 0))"),
            ),
            trap(&["vera.map_new: the module exports no `alloc`"]),
        ),
        (
            "no memory export",
            bare(map, good_globals, "(memory 2)", &format!("{insert} {good_alloc}")),
            trap(&["vera.map_new: the module exports no `memory`"]),
        ),
        (
            "`memory` exported as a global",
            bare(
                map,
                good_globals,
                "(memory 2) (global (export \"memory\") i32 (i32.const 0))",
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["vera.map_new: the module exports no `memory`"]),
        ),
        (
            "gc_sp immutable",
            bare(
                map,
                &good_globals.replace("(global $sp (export \"gc_sp\") (mut i32)", "(global $sp (export \"gc_sp\") i32"),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["vera.map_insert$ks_vs", "immutable"]),
        ),
        (
            "gc_sp an i64",
            bare(
                map,
                &good_globals.replace(
                    "(global $sp (export \"gc_sp\") (mut i32) (i32.const 1024))",
                    "(global $sp (export \"gc_sp\") (mut i64) (i64.const 1024))",
                ),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["`gc_sp` is not an i32 global"]),
        ),
        (
            "gc_sp already at gc_stack_limit",
            bare(
                map,
                &good_globals.replace("(i32.const 1024)", "(i32.const 2048)"),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["shadow stack overflow: gc_sp 0x800 + 4 exceeds gc_stack_limit 0x800"]),
        ),
        (
            "gc_sp past the end of memory, limit 2^32-1",
            bare(
                map,
                &good_globals
                    .replace("(i32.const 1024)", "(i32.const -256)")
                    .replace("(i32.const 2048)", "(i32.const -1)"),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["Out-of-bounds memory access", "at offset 4294967040"]),
        ),
        (
            "gc_sp = -16 (wraps past the limit)",
            bare(
                map,
                &good_globals.replace("(i32.const 1024)", "(i32.const -16)"),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["shadow stack overflow: gc_sp 0xfffffff0"]),
        ),
        (
            "one shadow-stack slot left for three roots",
            bare(
                map,
                &good_globals.replace("(i32.const 1024)", "(i32.const 2044)"),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            trap(&["shadow stack overflow: gc_sp 0x7fc"]),
        ),
        (
            "misaligned gc_sp",
            bare(
                map,
                &good_globals.replace("(i32.const 1024)", "(i32.const 1025)"),
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            Expect::Ok,
        ),
        (
            "no gc_sp / gc_stack_limit at all (nothing rooted)",
            bare(
                map,
                "(global $heap (mut i32) (i32.const 0x10000))",
                mem,
                &format!("{insert} {good_alloc}"),
            ),
            Expect::Ok,
        ),
        (
            "guest recursion exhausting the wasm stack",
            "(module (func $f (export \"main\") (call $f)))".into(),
            trap(&["WASM call stack exhausted"]),
        ),
        (
            "json_parse imported with the wrong signature",
            "(module (import \"vera\" \"json_parse\" (func (param i64) (result i32))) (func (export \"main\")))".into(),
            trap(&["incompatible import type for `vera::json_parse`"]),
        ),
        (
            "start function that traps",
            "(module (func $s unreachable) (start $s) (func (export \"main\")))".into(),
            trap(&["Reached `unreachable` WASM instruction"]),
        ),
        (
            "main returning an out-of-bounds String",
            "(module (memory (export \"memory\") 1) (func (export \"main\") (result i32 i32) (i32.const -8) (i32.const 100)))"
                .into(),
            Expect::Value(Value::Word(-8)),
        ),
        (
            "main taking an externref (not a Vera signature)",
            "(module (func (export \"main\") (param externref)))".into(),
            trap(&["Function 'main' takes a parameter of type (ref null extern), which no Vera type lowers to"]),
        ),
    ];
    cases.push((
        "State<Int> pushed in a loop",
        r#"(module (import "vera" "state_push_Int" (func $push))
             (func (export "main") (loop $l (call $push) (br $l))))"#
            .into(),
        trap(&["limit exceeded: State<Int> handlers nested 1048576 deep"]),
    ));
    let decimal = r#"(import "vera" "decimal_from_string" (func $ds (param i32 i32) (result i32)))"#;
    let ds_main = format!("(func (export \"main\") (drop (call $ds (i32.const {STR_ABC}) (i32.const 1))))");
    let mem1 = "(memory (export \"memory\") 2) (data (i32.const 0x7000) \"1\")";
    cases.push((
        "register_wrapper that traps",
        bare(
            decimal,
            good_globals,
            mem1,
            &format!("{ds_main} {good_alloc} (func (export \"register_wrapper\") (param i32 i32 i32) unreachable)"),
        ),
        trap(&["Reached `unreachable` WASM instruction"]),
    ));
    cases.push((
        "register_wrapper with the wrong signature (not called)",
        bare(
            decimal,
            good_globals,
            mem1,
            &format!("{ds_main} {good_alloc} (func (export \"register_wrapper\") (param i64))"),
        ),
        Expect::Ok,
    ));
    cases.push((
        "register_wrapper that re-enters the host",
        bare(
            decimal,
            good_globals,
            mem1,
            &format!(
                "{ds_main} {good_alloc} (func (export \"register_wrapper\") (param i32 i32 i32) (drop (call $ds (i32.const {STR_ABC}) (i32.const 1))))"
            ),
        ),
        trap(&["re-entered vera-rt"]),
    ));
    cases
        .into_iter()
        .map(|(name, wat, expect)| Case {
            class: "exports and shadow stack: missing, ill-typed, exhausted",
            name: name.into(),
            wat: std::rc::Rc::new(wat),
            func: "main".into(),
            opts: Opts::default(),
            expect,
        })
        .collect()
}

#[test]
fn hostile_exports_are_reported() {
    check_cases(export_cases);
}

// ------------------------------------------------------------------ table

/// Every case of this file, for the table.
fn all_cases() -> Vec<Case> {
    [
        collection_cases(),
        string_field_cases(),
        alloc_cases(),
        json_cases(),
        module_map_cases(),
        decimal_cases(),
        io_string_cases(),
        export_cases(),
        tree_cases(),
        deep_text_case_list(),
        regex_case_list(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn table() -> String {
    let mut rows: BTreeMap<&str, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
    let cases = all_cases();
    let mut order = Vec::new();
    for c in &cases {
        if !order.contains(&c.class) {
            order.push(c.class);
        }
        let row = rows.entry(c.class).or_default();
        // Counted as the host answers them (the module as given).
        let expect = match &c.expect {
            Expect::ByMode { as_is, .. } => as_is.as_ref(),
            expect => expect,
        };
        match expect {
            Expect::Ok | Expect::Value(_) | Expect::ByMode { .. } => row.0 += 1,
            Expect::Trap(parts) => {
                row.1 += 1;
                // The message with every number written N.
                let mut key = String::new();
                let mut in_number = false;
                for ch in parts.join(" … ").chars() {
                    if ch.is_ascii_digit() {
                        if !in_number {
                            key.push('N');
                        }
                        in_number = true;
                    } else if !(in_number && (ch.is_ascii_hexdigit() || ch == 'x')) {
                        in_number = false;
                        key.push(ch);
                    }
                }
                *row.2.entry(key.replace("-N", "N")).or_default() += 1;
            }
        }
    }
    let mut out = format!(
        "{} cases. Every trap is `Error: <message>` on stderr and exit status 1 in the CLI; no case panics \
         (the harness counts panics with a hook and `catch_unwind`).\n\n\
         | class of bad input | cases | trap (exit 1) | returns normally | trap messages (stable part, count) |\n\
         |---|--:|--:|--:|---|\n",
        cases.len()
    );
    for class in order {
        let (ok, trapped, messages) = &rows[class];
        let list: Vec<String> = messages
            .iter()
            .map(|(m, n)| format!("`{}` ({n})", m.replace('|', "\\|").replace('`', "'")))
            .collect();
        out.push_str(&format!(
            "| {class} | {} | {trapped} | {ok} | {} |\n",
            ok + trapped,
            list.join("; ")
        ));
    }
    out
}

const BEGIN: &str = "<!-- BEGIN generated by crates/vera-host/tests/hostile.rs -->\n";
const END: &str = "<!-- END generated -->\n";

/// `docs/HOSTILE.md`'s case table matches the cases; run with
/// `UPDATE_HOSTILE_TABLE=1` to rewrite it.
#[test]
fn table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/HOSTILE.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/HOSTILE.md lacks the generated-table markers");
    };
    let fresh = format!("{}{BEGIN}{}{}", &doc[..a], table(), &doc[b..]);
    if std::env::var_os("UPDATE_HOSTILE_TABLE").is_some() {
        std::fs::write(path, &fresh).unwrap();
    } else {
        assert!(
            fresh == doc,
            "docs/HOSTILE.md is stale: rerun with UPDATE_HOSTILE_TABLE=1"
        );
    }
}

/// What the harness relies on: wasmtime catches a panic in a host function
/// at the wasm boundary and resumes it when the call returns to the
/// embedder, so it reaches `catch_unwind` around `Program::run` (and, in
/// the CLI, ends the process with "panicked" on stderr and status 101,
/// which `crates/vera-rt/tests/{bad_input,hostile}.rs` look for).
#[test]
fn a_panic_in_a_host_function_reaches_the_embedder() {
    let engine = wasmtime::Engine::default();
    let wat = r#"(module (import "x" "boom" (func $b)) (func (export "main") (call $b)))"#;
    let module = wasmtime::Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    fn boom() {
        panic!("boom")
    }
    linker.func_wrap("x", "boom", boom).unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let main = instance.get_typed_func::<(), ()>(&mut store, "main").unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| main.call(&mut store, ())));
    assert!(result.is_err(), "the host panic did not reach the embedder");
}

// -------------------------------------------------------- Markdown / HTML

fn tree_cases() -> Vec<Case> {
    let imports = r#"
  (import "vera" "md_render" (func $md_render (param i32) (result i32 i32)))
  (import "vera" "md_has_heading" (func $md_has_heading (param i32 i64) (result i32)))
  (import "vera" "html_to_string" (func $html_to_string (param i32) (result i32 i32)))
  (import "vera" "html_text" (func $html_text (param i32) (result i32 i32)))
"#;
    let mut img = Image::default();
    // MdBlock: 40 levels of BlockQuote [below, below] over a ThematicBreak.
    let md = FORGE;
    img.words(md, &[5]);
    for level in 1..=40u32 {
        let at = md + 0x20 * level;
        img.words(at, &[3, at + 12, 2, at - 0x20, at - 0x20]);
    }
    let md_top = md + 0x20 * 40;
    // MdBlock: a BlockQuote holding itself twice.
    let md_cycle = FORGE + 0x800;
    img.words(md_cycle, &[3, md_cycle + 12, 2, md_cycle, md_cycle]);
    // HtmlNode: 40 levels of Element "p" (empty attribute Map) with
    // children [below, below] over a Text "abc".
    let html = FORGE + 0x1000;
    let attrs = FORGE + 0x0f00;
    version(&mut img, attrs, MAP_TAG, 0, 0, [0; 3], 0, 0);
    img.words(html, &[1, STR_ABC, 3]);
    for level in 1..=40u32 {
        let at = html + 0x20 * level;
        img.words(at, &[0, STR_ABC, 1, attrs, at + 24, 2, at - 0x20, at - 0x20]);
    }
    let html_top = html + 0x20 * 40;
    // One 900 KB Text (zero bytes at BIG, in memory the case grows) that
    // a Markdown paragraph and an HTML element each reference 500 times.
    const BIG: u32 = 0x20000;
    const BIG_LEN: u32 = 900 * 1024;
    let md_wide = FORGE + 0x2000;
    let md_text = md_wide + 16 + 4 * 500;
    img.words(md_wide, &[0, md_wide + 16, 500]);
    img.words(md_wide + 16, &[md_text; 500]);
    img.words(md_text, &[0, BIG, BIG_LEN]);
    let html_wide = FORGE + 0x3000;
    let html_text = html_wide + 24 + 4 * 500;
    img.words(html_wide, &[0, STR_ABC, 1, attrs, html_wide + 24, 500]);
    img.words(html_wide + 24, &[html_text; 500]);
    img.words(html_text, &[1, BIG, BIG_LEN]);
    let grow = "(drop (memory.grow (i32.const 16)))";
    let over = "is over --max-host-memory (67108864 bytes)";
    let shared = "more nodes than memory holds (shared or cyclic nodes)";
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "md_render of 40 shared levels (2^40 blocks)",
            format!("(call $md_render (i32.const {md_top})) drop drop"),
            trap(&["corrupt Markdown value", shared]),
        ),
        (
            "md_has_heading of 40 shared levels",
            format!("(drop (call $md_has_heading (i32.const {md_top}) (i64.const 1)))"),
            trap(&["corrupt Markdown value", shared]),
        ),
        (
            "md_render of a block holding itself twice",
            format!("(call $md_render (i32.const {md_cycle})) drop drop"),
            trap(&["corrupt Markdown value"]),
        ),
        (
            "md_render of 10 shared levels (1024 blocks, fits)",
            format!("(call $md_render (i32.const {})) drop drop", md + 0x20 * 10),
            Expect::Ok,
        ),
        (
            "html_to_string of 40 shared levels (2^40 nodes)",
            format!("(call $html_to_string (i32.const {html_top})) drop drop"),
            trap(&["corrupt HtmlNode", shared]),
        ),
        (
            "html_text of 40 shared levels",
            format!("(call $html_text (i32.const {html_top})) drop drop"),
            trap(&["corrupt HtmlNode", shared]),
        ),
        (
            "html_to_string of 10 shared levels (fits)",
            format!("(call $html_to_string (i32.const {})) drop drop", html + 0x20 * 10),
            Expect::Ok,
        ),
        (
            "md_render of 500 cells sharing one 900 KB Text (--max-host-memory 64)",
            format!("{grow} (call $md_render (i32.const {md_wide})) drop drop"),
            trap(&["limit exceeded: text read from a Markdown tree of", over]),
        ),
        (
            "html_to_string of 500 children sharing one 900 KB Text (--max-host-memory 64)",
            format!("{grow} (call $html_to_string (i32.const {html_wide})) drop drop"),
            trap(&["limit exceeded: text read from an HtmlNode tree of", over]),
        ),
        (
            "html_text of 500 children sharing one 900 KB Text (--max-host-memory 64)",
            format!("{grow} (call $html_text (i32.const {html_wide})) drop drop"),
            trap(&["limit exceeded: text read from an HtmlNode tree of", over]),
        ),
    ];
    let mut funcs = String::new();
    for (i, (_, body, _)) in cases.iter().enumerate() {
        funcs.push_str(&format!("  (func (export \"t{i}\") {body})\n"));
    }
    let wat = std::rc::Rc::new(module(imports, &img, &funcs, None));
    cases
        .into_iter()
        .enumerate()
        .map(|(i, (name, _, expect))| Case {
            class: "Markdown and HTML: trees sharing nodes",
            opts: Opts {
                limits: name.contains("--max-host-memory").then(|| HostLimits {
                    max_host_memory: Some(64 << 20),
                    ..limits()
                }),
                ..Opts::default()
            },
            name: name.into(),
            wat: wat.clone(),
            func: format!("t{i}"),
            expect,
        })
        .collect()
}

#[test]
fn shared_trees_are_bounded() {
    check_cases(tree_cases);
}

// ------------------------------------------- host bump allocation

/// With bump allocation on (the CLI's default) the host advances
/// `heap_ptr` itself when the block fits below the end of memory. A
/// `heap_ptr` that lies (beyond memory, negative, next to the 2 GiB
/// ceiling, immutable, not an i32) must make it fall back to `alloc`,
/// never write outside memory; each module then inserts and reads back.
#[test]
fn lying_heap_ptr_falls_back_to_alloc() {
    let imports = r#"(import "vera" "map_new" (func $new (result i32)))
  (import "vera" "map_insert$ki_vi" (func $insert (param i32 i64 i64) (result i32)))
  (import "vera" "map_get$ki_vi" (func $get (param i32 i64) (result i32)))"#;
    let main = r#"(func (export "main") (result i64)
    (local $m i32) (local $o i32)
    (local.set $m (call $insert (call $new) (i64.const 7) (i64.const 42)))
    (local.set $o (call $get (local.get $m) (i64.const 7)))
    (i64.load (i32.add (local.get $o) (i32.const 8))))"#;
    let cases = [
        (
            "heap_ptr beyond memory",
            "(global (export \"heap_ptr\") (mut i32) (i32.const 0x7fff0000))",
        ),
        (
            "negative heap_ptr",
            "(global (export \"heap_ptr\") (mut i32) (i32.const -16))",
        ),
        (
            "heap_ptr at the 2 GiB ceiling",
            "(global (export \"heap_ptr\") (mut i32) (i32.const 0x7ffffffc))",
        ),
        (
            "immutable heap_ptr",
            "(global (export \"heap_ptr\") i32 (i32.const 0x18000))",
        ),
        (
            "heap_ptr of type i64",
            "(global (export \"heap_ptr\") (mut i64) (i64.const 0x18000))",
        ),
    ];
    for (name, global) in cases {
        // The prelude's `alloc` keeps its own pointer ($heap, not exported
        // here); the exported global is the lie.
        let wat = module(imports, &Image::default(), &format!("{global}\n{main}"), None)
            .replace("(global $heap (export \"heap_ptr\")", "(global $heap");
        let opts = Opts {
            bump_allocate: true,
            ..Opts::default()
        };
        let outcome = run_with(&wat, "main", &opts);
        assert_eq!(outcome, Outcome::Value(Value::Int(42)), "{name}");
    }
}

// ------------------------------------ Markdown, HTML, regex: deep text

/// A text to build in the guest: each `(piece, count)` repeated in turn.
type Text = Vec<(&'static str, usize)>;

/// What a deep-text case calls with its text and how the export reports.
#[derive(Clone, Copy)]
enum Parser {
    /// `md_parse`: the `Err` text, or `md_render` of the tree.
    Md,
    /// `html_parse`: the `Err` text, or `html_to_string` of the tree.
    Html,
    /// `html_parse`: the `Err` text, or "" for a tree. (Vera 0.2.3 cannot
    /// read back as deep a tree as it writes: `html_to_string` of 976
    /// nested elements exceeds its recursion limit.)
    HtmlParse,
    /// `regex_match("abc", text)`: the Bool as an Int, -1 for `Err`.
    Regex,
}

const PY_RECURSION: &str = "maximum recursion depth exceeded while calling a Python object";
const WRITER_RECURSION: &str =
    "argument 1: RecursionError: maximum recursion depth exceeded while calling a Python object";

fn repeat(pieces: &[(&str, usize)]) -> String {
    pieces.iter().map(|(p, n)| p.repeat(*n)).collect()
}

/// Texts nested deeper than Vera 0.2.3's recursion limit (each refused
/// where and as Vera refuses it: its parser's `Err`, or a trap in its
/// tree writer or regex compiler), nested just as deep as it allows, and
/// texts that made a scan quadratic. Expectations are Vera 0.2.3's
/// (`vera run`), found by bisecting the depth.
fn deep_text_cases() -> Vec<(&'static str, Parser, Text, Expect)> {
    let s = |t: String| Expect::Value(Value::Str(t));
    let md_err = || s("maximum recursion depth exceeded in comparison".into());
    use Parser::*;
    vec![
        (
            "md_parse of 20000 nested quotes",
            Md,
            vec![(">", 20000), (" x", 1)],
            md_err(),
        ),
        (
            "md_parse of 984 nested quotes",
            Md,
            vec![(">", 984), (" x", 1)],
            md_err(),
        ),
        (
            "md_parse of 487 nested quotes",
            Md,
            vec![(">", 487), (" x", 1)],
            trap(&[WRITER_RECURSION]),
        ),
        (
            "md_parse of 486 nested quotes",
            Md,
            vec![(">", 486), (" x", 1)],
            s(repeat(&[("> ", 486), ("x", 1)])),
        ),
        (
            "md_parse of 984 nested lists",
            Md,
            vec![("- ", 984), ("x", 1)],
            md_err(),
        ),
        (
            "md_parse of 325 nested lists",
            Md,
            vec![("- ", 325), ("x", 1)],
            trap(&[WRITER_RECURSION]),
        ),
        (
            "md_parse of 324 nested lists",
            Md,
            vec![("- ", 324), ("x", 1)],
            s(repeat(&[("- ", 324), ("x", 1)])),
        ),
        (
            "md_parse of 30000 nested links",
            Md,
            vec![("[", 30000), ("x", 1), ("](u)", 30000)],
            md_err(),
        ),
        (
            "md_parse of 487 nested links",
            Md,
            vec![("[", 487), ("x", 1), ("](u)", 487)],
            trap(&[WRITER_RECURSION]),
        ),
        (
            "md_parse of 486 nested links",
            Md,
            vec![("[", 486), ("x", 1), ("](u)", 486)],
            s(repeat(&[("[", 486), ("x", 1), ("](u)", 486)])),
        ),
        (
            "md_parse of 100000 '['",
            Md,
            vec![("[", 100_000)],
            s("[".repeat(100_000)),
        ),
        (
            "md_parse of 20000 '[x](' (no ')')",
            Md,
            vec![("[x](", 20000)],
            s("[x](".repeat(20000)),
        ),
        (
            "html_parse of 20000 nested '<b x>'",
            Html,
            vec![("<b x>", 20000)],
            trap(&[WRITER_RECURSION]),
        ),
        (
            "html_parse of 10000 nested '<b>'",
            Html,
            vec![("<b>", 10000)],
            trap(&[WRITER_RECURSION]),
        ),
        (
            "html_parse of 977 nested '<b>'",
            Html,
            vec![("<b>", 977)],
            trap(&[WRITER_RECURSION]),
        ),
        (
            "html_parse of 976 nested '<b>'",
            HtmlParse,
            vec![("<b>", 976)],
            s(String::new()),
        ),
        (
            "html_parse of 900 nested '<b>'",
            Html,
            vec![("<b>", 900)],
            s(repeat(&[("<b>", 900), ("</b>", 900)])),
        ),
        (
            "html_parse of 20000 sibling '<b></b>'",
            Html,
            vec![("<b></b>", 20000)],
            s(repeat(&[("<html>", 1), ("<b></b>", 20000), ("</html>", 1)])),
        ),
        (
            "html_parse of 5000 sibling '<SCRIPT></script>'",
            Html,
            vec![("<SCRIPT></script>", 5000)],
            s(repeat(&[("<html>", 1), ("<script></script>", 5000), ("</html>", 1)])),
        ),
        (
            "regex_match of 10000 nested groups",
            Regex,
            vec![("(", 10000), (")", 10000)],
            trap(&[PY_RECURSION]),
        ),
        (
            "regex_match of 492 nested groups",
            Regex,
            vec![("(", 492), (")", 492)],
            trap(&[PY_RECURSION]),
        ),
        (
            "regex_match of 491 groups around a conditional",
            Regex,
            vec![("()", 1), ("(?:", 491), ("(?(1)a)", 1), (")", 491)],
            trap(&[PY_RECURSION]),
        ),
        (
            "regex_match of 30 nested groups",
            Regex,
            vec![("(", 30), ("b", 1), (")", 30)],
            Expect::Value(Value::Int(1)),
        ),
        // Python recurses into each group before it finds no `)`.
        (
            "regex_match of 10000 '(' (unbalanced)",
            Regex,
            vec![("(", 10000)],
            trap(&[PY_RECURSION]),
        ),
        (
            "regex_match of 100 '(' (unbalanced)",
            Regex,
            vec![("(", 100)],
            Expect::Value(Value::Int(-1)),
        ),
    ]
}

fn deep_text_module() -> (String, Vec<(&'static str, Expect)>) {
    let imports = r#"
  (import "vera" "md_parse" (func $md_parse (param i32 i32) (result i32)))
  (import "vera" "md_render" (func $md_render (param i32) (result i32 i32)))
  (import "vera" "html_parse" (func $html_parse (param i32 i32) (result i32)))
  (import "vera" "html_to_string" (func $html_to_string (param i32) (result i32 i32)))
  (import "vera" "regex_match" (func $regex_match (param i32 i32 i32 i32) (result i32)))
"#;
    let mut img = Image::default();
    let mut seeds: Vec<(&str, u32)> = Vec::new();
    let mut next = FORGE;
    let mut funcs = String::from(
        r#"  (func $rep (param $dst i32) (param $src i32) (param $len i32) (param $n i32) (result i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (memory.copy (local.get $dst) (local.get $src) (local.get $len))
      (local.set $dst (i32.add (local.get $dst) (local.get $len)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (local.get $dst))
"#,
    );
    let mut expects = Vec::new();
    for (i, (name, parser, text, expect)) in deep_text_cases().into_iter().enumerate() {
        let total: usize = text.iter().map(|(p, n)| p.len() * n).sum();
        let mut build =
            format!("    (local.set $s (call $good_alloc (i32.const {total})))\n    (local.set $e (local.get $s))\n");
        for (piece, n) in &text {
            let at = match seeds.iter().find(|(p, _)| p == piece) {
                Some(&(_, at)) => at,
                None => {
                    img.bytes(next, piece.as_bytes());
                    seeds.push((piece, next));
                    next += 32;
                    next - 32
                }
            };
            build.push_str(&format!(
                "    (local.set $e (call $rep (local.get $e) (i32.const {at}) (i32.const {}) (i32.const {n})))\n",
                piece.len()
            ));
        }
        let len = "(i32.sub (local.get $e) (local.get $s))";
        let (result, call) = match parser {
            Parser::Md | Parser::Html | Parser::HtmlParse => {
                let (parse, show) = match parser {
                    Parser::Md => ("$md_parse", "(call $md_render (i32.load offset=4 (local.get $r)))"),
                    Parser::Html => (
                        "$html_parse",
                        "(call $html_to_string (i32.load offset=4 (local.get $r)))",
                    ),
                    _ => ("$html_parse", "(i32.const 0) (i32.const 0)"),
                };
                (
                    "(result i32 i32)",
                    format!(
                        "    (local.set $r (call {parse} (local.get $s) {len}))
    (if (result i32 i32) (i32.eq (i32.load (local.get $r)) (i32.const 1))
      (then (i32.load offset=4 (local.get $r)) (i32.load offset=8 (local.get $r)))
      (else {show}))"
                    ),
                )
            }
            Parser::Regex => (
                "(result i64)",
                format!(
                    "    (local.set $r (call $regex_match (i32.const {STR_ABC}) (i32.const 3) (local.get $s) {len}))
    (if (result i64) (i32.eq (i32.load (local.get $r)) (i32.const 1))
      (then (i64.const -1))
      (else (i64.extend_i32_u (i32.load offset=4 (local.get $r)))))"
                ),
            ),
        };
        funcs.push_str(&format!(
            "  (func (export \"t{i}\") {result} (local $s i32) (local $e i32) (local $r i32)\n{build}{call})\n"
        ));
        expects.push((name, expect));
    }
    // The writers root each level on the shadow stack: room for a tree
    // as deep as Vera writes (up to the strings at STR_ABC).
    let wat = module(imports, &img, &funcs, None).replace(
        "(global (export \"gc_stack_limit\") i32 (i32.const 2048))",
        &format!("(global (export \"gc_stack_limit\") i32 (i32.const {STR_ABC}))"),
    );
    (wat, expects)
}

fn deep_text_case_list() -> Vec<Case> {
    let (wat, expects) = deep_text_module();
    let wat = std::rc::Rc::new(wat);
    expects
        .into_iter()
        .enumerate()
        .map(|(i, (name, expect))| Case {
            class: "Markdown, HTML, regex: text nested past Vera's recursion limit, quadratic scans",
            name: name.into(),
            wat: wat.clone(),
            func: format!("t{i}"),
            opts: Opts::default(),
            expect,
        })
        .collect()
}

#[test]
fn deep_text_is_refused_as_vera_does() {
    check_cases(deep_text_case_list);
}

/// The texts that were quadratic (`html_parse("<b>" * 10000)` took 8.8 s,
/// `md_parse("[" * 100000)` 4.5 s) or nearly so now take milliseconds; a
/// generous bound for a shared machine. Run on a 2 MiB thread: no host
/// parser needs more stack for any of them.
#[test]
fn adversarial_text_is_linear() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let (wat, expects) = deep_text_module();
            let program = Program::load_with(wat.as_bytes(), &LoadOptions::default()).unwrap();
            for (i, (name, _)) in expects.iter().enumerate() {
                let start = std::time::Instant::now();
                run_loaded(&program, &format!("t{i}"), &wat);
                let took = start.elapsed();
                assert!(took < Duration::from_secs(2), "{name}: {took:?}");
            }
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

// ------------------------------------------- regex: Python's semantics, bounds

/// The regex imports on subjects built in the module (up to 1 MiB), each
/// answered as Python's `re` answers it (Vera 0.2.3 `vera run`), or
/// stopped by `--timeout` / `--max-host-memory`. A case's value is
/// `regex_match`'s Bool, `regex_find_all`'s match count, or -1 for `Err`.
fn regex_case_list() -> Vec<Case> {
    let imports = r#"
  (import "vera" "regex_match" (func $regex_match (param i32 i32 i32 i32) (result i32)))
  (import "vera" "regex_find_all" (func $regex_find_all (param i32 i32 i32 i32) (result i32)))
"#;
    let v = |n: i64| Expect::Value(Value::Int(n));
    let timeout = Opts {
        timeout: Some(Duration::from_millis(500)),
        ..Opts::default()
    };
    let small_memory = Opts {
        limits: Some(HostLimits {
            max_host_memory: Some(1 << 20),
            ..limits()
        }),
        ..Opts::default()
    };
    type RegexCase = (
        &'static str,
        &'static str,
        &'static str,
        Vec<(&'static str, usize)>,
        Expect,
        Opts,
    );
    let cases: Vec<RegexCase> = vec![
        (
            "regex_match(\"a\" * 1500 + \"b\", \"a*$\") (was: backtracking limit)",
            "$regex_match",
            "a*$",
            vec![("a", 1500), ("b", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"a\" * 2^20, \"^a+$\") (was: stack size)",
            "$regex_match",
            "^a+$",
            vec![("a", 1 << 20)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"a\" * 2^20 + \"\\n\", \"^a+$\")",
            "$regex_match",
            "^a+$",
            vec![("a", 1 << 20), ("\n", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"a\" * 2^20 + \"\\nb\\n\", \"^a+$\") (was: stack size)",
            "$regex_match",
            "^a+$",
            vec![("a", 1 << 20), ("\nb\n", 1)],
            v(0),
            Opts::default(),
        ),
        (
            "regex_match(\"a\" * 2^20 + \"\\nb\\n\", \"(?m)^a+$\")",
            "$regex_match",
            "(?m)^a+$",
            vec![("a", 1 << 20), ("\nb\n", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_find_all(\"a \\n\" * 2^18, \"\\s+$\")",
            "$regex_find_all",
            "\\s+$",
            vec![("a \n", 1 << 18)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"a\\n\", \"a$\\n\") ($ before the final newline)",
            "$regex_match",
            "a$\n",
            vec![("a\n", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"\\x1c\", \"\\s\") (Python's \\s)",
            "$regex_match",
            "\\s",
            vec![("\x1c", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"e\\u0301\", \"^\\w+$\") (a combining mark is no \\w)",
            "$regex_match",
            "^\\w+$",
            vec![("e\u{301}", 1)],
            v(0),
            Opts::default(),
        ),
        (
            "regex_match(\"²\", \"\\w\") (Python's \\w: isalnum)",
            "$regex_match",
            "\\w",
            vec![("²", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"é\", \"(?a)\\w\") (ASCII classes)",
            "$regex_match",
            "(?a)\\w",
            vec![("é", 1)],
            v(0),
            Opts::default(),
        ),
        (
            "regex_match(\"éa\", \"(?a)\\ba\") (ASCII \\b)",
            "$regex_match",
            "(?a)\\ba",
            vec![("éa", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"\\u212a\", \"(?ai)k\") (ASCII folding only)",
            "$regex_match",
            "(?ai)k",
            vec![("\u{212a}", 1)],
            v(0),
            Opts::default(),
        ),
        (
            "regex_match(\"İ\", \"(?i)i\") (dotted I folds to i)",
            "$regex_match",
            "(?i)i",
            vec![("İ", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"ı\", \"(?i)I\") (dotless i folds to I)",
            "$regex_match",
            "(?i)I",
            vec![("ı", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_match(\"\", \"\\B\") (no \\B in an empty string)",
            "$regex_match",
            "\\B",
            vec![],
            v(0),
            Opts::default(),
        ),
        (
            "regex_match(\"x\", \"(?:\\b)*x\") (a repeated anchor group)",
            "$regex_match",
            "(?:\\b)*x",
            vec![("x", 1)],
            v(1),
            Opts::default(),
        ),
        (
            "regex_find_all(\"abc\", \"a??\"): a non-empty match after an empty one",
            "$regex_find_all",
            "a??",
            vec![("abc", 1)],
            v(5),
            Opts::default(),
        ),
        (
            "regex_find_all(\"a,b,,c,\", \"[^,]*\")",
            "$regex_find_all",
            "[^,]*",
            vec![("a,b,,c,", 1)],
            v(8),
            Opts::default(),
        ),
        (
            "regex_find_all(\"a\" * 10^5, \"a*b|a\") (was 9 s; each alternative searched on its own)",
            "$regex_find_all",
            "a*b|a",
            vec![("a", 100_000)],
            v(100_000),
            Opts::default(),
        ),
        (
            "regex_find_all(\"a\" * 10^5, \"(?:a*b)?a\") (quadratic, as in Python), --timeout 0.5",
            "$regex_find_all",
            "(?:a*b)?a",
            vec![("a", 100_000)],
            trap(&["time limit exceeded (--timeout)"]),
            timeout,
        ),
        (
            "regex_find_all(\"b\" * 2^17, \"a*\"), --max-host-memory 1 MiB",
            "$regex_find_all",
            "a*",
            vec![("b", 1 << 17)],
            trap(&[
                "limit exceeded: regex_find_all's matches of",
                "is over --max-host-memory (1048576 bytes)",
            ]),
            small_memory,
        ),
    ];
    let mut img = Image::default();
    let mut next = FORGE;
    let mut place = |img: &mut Image, bytes: &[u8]| {
        img.bytes(next, bytes);
        next += (bytes.len() as u32 + 16) & !15;
        next - ((bytes.len() as u32 + 16) & !15)
    };
    let mut funcs = String::from(
        r#"  (func $rep (param $dst i32) (param $src i32) (param $len i32) (param $n i32) (result i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (memory.copy (local.get $dst) (local.get $src) (local.get $len))
      (local.set $dst (i32.add (local.get $dst) (local.get $len)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (local.get $dst))
"#,
    );
    let mut out = Vec::new();
    for (i, (name, import, pattern, subject, expect, opts)) in cases.into_iter().enumerate() {
        let at = place(&mut img, pattern.as_bytes());
        let total: usize = subject.iter().map(|(p, n)| p.len() * n).sum();
        let mut build = format!(
            "    (local.set $s (call $good_alloc (i32.const {})))\n    (local.set $e (local.get $s))\n",
            total.max(1)
        );
        for (piece, n) in &subject {
            let from = place(&mut img, piece.as_bytes());
            build.push_str(&format!(
                "    (local.set $e (call $rep (local.get $e) (i32.const {from}) (i32.const {}) (i32.const {n})))\n",
                piece.len()
            ));
        }
        let payload = if import == "$regex_match" {
            "offset=4"
        } else {
            "offset=8"
        };
        funcs.push_str(&format!(
            "  (func (export \"r{i}\") (result i64) (local $s i32) (local $e i32) (local $r i32)
{build}    (local.set $r (call {import} (local.get $s) (i32.sub (local.get $e) (local.get $s)) (i32.const {at}) (i32.const {})))
    (if (result i64) (i32.eq (i32.load (local.get $r)) (i32.const 1))
      (then (i64.const -1))
      (else (i64.extend_i32_u (i32.load {payload} (local.get $r))))))\n",
            pattern.len()
        ));
        out.push((name, format!("r{i}"), expect, opts));
    }
    let wat = std::rc::Rc::new(module(imports, &img, &funcs, None));
    out.into_iter()
        .map(|(name, func, expect, opts)| Case {
            class: "Regex: Python's semantics on large subjects, --timeout, --max-host-memory",
            name: name.into(),
            wat: wat.clone(),
            func,
            opts,
            expect,
        })
        .collect()
}

#[test]
fn regex_answers_as_python_within_bounds() {
    check_cases(regex_case_list);
}
