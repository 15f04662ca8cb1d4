//! Golden vectors shared with the browser runtime: `golden/buckets.json`
//! holds Map/Set operation sequences and the exact guest bytes they leave
//! on the test heap (every block from the heap's base: strings, wrappers,
//! buckets, headers), plus what `entries` read on old versions. This test
//! regenerates the cases deterministically and checks the committed file
//! byte for byte; `browser/test/golden.test.mjs` replays the same file on
//! `runtime.mjs` with a JavaScript copy of the test heap, so the two
//! encoders cannot drift apart.
//!
//! Regenerate after a deliberate layout change:
//! `VERA_GOLDEN_REGEN=1 cargo test -p vera-layout --test golden --release`.

use serde_json::{json, Value};
use vera_layout::collection::{self, Kind};
use vera_layout::field::{Field, Tag};
use vera_layout::test_heap::TestHeap;
use vera_layout::values;
use vera_layout::Heap;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../golden/buckets.json");

/// One key or value as the golden file spells it: `i` decimal text, `f`
/// the f64 bits in hex (exact for NaN and -0.0), `s` the text, `b` a number.
fn encode(tag: Tag, heap: &mut TestHeap, v: &Value) -> Field {
    match tag {
        Tag::Int => Field::int(v.as_str().unwrap().parse().unwrap()),
        Tag::Float => Field(u64::from_str_radix(v.as_str().unwrap(), 16).unwrap()),
        Tag::Str => {
            let (p, l) = values::alloc_str(heap, v.as_str().unwrap().as_bytes()).unwrap();
            Field::str(p, l)
        }
        Tag::Word => Field::word(v.as_u64().unwrap() as u32),
    }
}

fn decode(tag: Tag, heap: &TestHeap, f: Field) -> Value {
    match tag {
        Tag::Int => json!(f.as_int().to_string()),
        Tag::Float => json!(format!("{:016x}", f.0)),
        Tag::Str => {
            json!(String::from_utf8(vera_layout::field::str_bytes(heap.memory(), f).unwrap().to_vec()).unwrap())
        }
        Tag::Word => json!(f.lo()),
    }
}

fn tag(v: &Value) -> Tag {
    Tag::from_letter(v.as_str().unwrap().chars().next().unwrap()).unwrap()
}

/// Runs a case's ops (whose `entries` steps carry no `expect` yet) and
/// returns the case completed with what they produce.
fn play(case: &Value) -> Value {
    let kind = if case["kind"] == "Map" { Kind::Map } else { Kind::Set };
    let (kt, vt) = (tag(&case["k"]), tag(&case["v"]));
    let mut heap = TestHeap::new();
    let base = heap.heap_top();
    let mut versions: Vec<u32> = Vec::new();
    let mut ops = Vec::new();
    for op in case["ops"].as_array().unwrap() {
        let mut op = op.clone();
        let on = op.get("on").and_then(Value::as_u64).map(|i| versions[i as usize]);
        match op["op"].as_str().unwrap() {
            "new" => versions.push(collection::new(&mut heap, kind).unwrap()),
            "insert" => {
                let key = encode(kt, &mut heap, &op["key"]);
                let (vtag, val) = match kind {
                    Kind::Map => (vt, encode(vt, &mut heap, &op["val"])),
                    Kind::Set => (Tag::Int, Field(0)),
                };
                versions.push(collection::insert(&mut heap, kind, on.unwrap(), kt, key, vtag, val).unwrap());
            }
            "remove" => {
                let key = encode(kt, &mut heap, &op["key"]);
                versions.push(collection::remove(&mut heap, kind, on.unwrap(), kt, key).unwrap());
            }
            "entries" => {
                let entries = collection::entries(heap.memory_mut(), kind, on.unwrap()).unwrap();
                let got: Vec<Value> = entries
                    .iter()
                    .map(|&(k, v)| match kind {
                        Kind::Map => json!([decode(kt, &heap, k), decode(vt, &heap, v)]),
                        Kind::Set => json!([decode(kt, &heap, k)]),
                    })
                    .collect();
                op["expect"] = json!(got);
            }
            other => panic!("unknown op {other}"),
        }
        ops.push(op);
    }
    let top = heap.heap_top();
    let bytes = &heap.memory()[base as usize..top as usize];
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    json!({
        "name": case["name"], "kind": case["kind"], "k": case["k"], "v": case["v"],
        "ops": ops, "versions": versions, "heap_base": base, "heap": hex,
    })
}

/// A small deterministic generator (64-bit LCG), so the cases never change
/// unless this file does.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn key_value(tag: Tag, n: u64) -> Value {
    match tag {
        Tag::Int => json!(((n as i64) - 6).wrapping_mul(1_000_000_007).to_string()),
        Tag::Float => {
            let table = [f64::NAN, -0.0, 0.0, 1.5, -2.25, f64::INFINITY, 1e-300, 3.0];
            json!(format!("{:016x}", table[n as usize % table.len()].to_bits()))
        }
        Tag::Str => json!(["", "a", "é", "key", "κλειδί", "a longer key 🦀", "b", "ab"][n as usize % 8]),
        Tag::Word => json!([0u32, 1, 7, 255, 70_000, 1 << 20][n as usize % 6]),
    }
}

fn random_case(name: &str, kind: &str, k: Tag, v: Tag, seed: u64, steps: usize, keys: u64) -> Value {
    let mut rng = Lcg(seed);
    let mut ops = vec![json!({"op": "new"})];
    let mut versions = 1u64;
    for _ in 0..steps {
        let on = if rng.next(3) == 0 {
            rng.next(versions)
        } else {
            versions - 1
        };
        let key = key_value(k, rng.next(keys));
        match rng.next(8) {
            0..=4 => {
                let mut op = json!({"op": "insert", "on": on, "key": key});
                if kind == "Map" {
                    op["val"] = key_value(v, rng.next(100));
                }
                ops.push(op);
                versions += 1;
            }
            5 | 6 => {
                ops.push(json!({"op": "remove", "on": on, "key": key}));
                versions += 1;
            }
            _ => ops.push(json!({"op": "entries", "on": on})),
        }
    }
    for on in [0, versions / 2, versions - 1] {
        ops.push(json!({"op": "entries", "on": on}));
    }
    json!({"name": name, "kind": kind, "k": k.letter().to_string(), "v": v.letter().to_string(), "ops": ops})
}

fn cases() -> Vec<Value> {
    let ins = |on: u64, k: &str, v: &str| json!({"op": "insert", "on": on, "key": k, "val": v});
    let mut cases = vec![json!({
        "name": "map_i_i_basics", "kind": "Map", "k": "i", "v": "i",
        "ops": [
            {"op": "new"}, ins(0, "1", "10"), ins(1, "2", "20"), ins(2, "3", "30"),
            ins(3, "2", "21"),
            {"op": "remove", "on": 4, "key": "1"},
            ins(5, "1", "11"),
            {"op": "remove", "on": 6, "key": "99"},
            {"op": "entries", "on": 2}, {"op": "entries", "on": 7}, {"op": "entries", "on": 4},
            ins(3, "4", "40"),
            {"op": "entries", "on": 8}, {"op": "entries", "on": 0},
        ],
    })];
    let mut grow = vec![json!({"op": "new"})];
    for i in 0..20u64 {
        grow.push(ins(i, &i.to_string(), &(i * i).to_string()));
    }
    grow.push(json!({"op": "entries", "on": 3}));
    grow.push(ins(5, "100", "1"));
    grow.push(json!({"op": "entries", "on": 20}));
    cases.push(json!({"name": "map_i_i_growth", "kind": "Map", "k": "i", "v": "i", "ops": grow}));
    // Int keys hash in groups of 8 (`x >> 3` over all 64 bits): keys whose
    // groups straddle zero, the 32-bit boundary and the ends of the range.
    let edges: Vec<i64> = (-9..=8)
        .chain((1i64 << 32) - 4..(1i64 << 32) + 4)
        .chain([i64::MIN, i64::MIN + 7, i64::MAX, (1i64 << 35) + 7])
        .collect();
    let mut hashed = vec![json!({"op": "new"})];
    for (i, k) in edges.iter().enumerate() {
        hashed.push(ins(i as u64, &k.to_string(), &i.to_string()));
    }
    hashed.push(json!({"op": "entries", "on": edges.len() / 2}));
    cases.push(json!({"name": "map_i_i_hash_edges", "kind": "Map", "k": "i", "v": "i", "ops": hashed}));
    let combos = [
        ("Map", Tag::Str, Tag::Int, 11, 60, 8),
        ("Map", Tag::Float, Tag::Word, 12, 40, 8),
        ("Map", Tag::Word, Tag::Str, 13, 40, 6),
        ("Map", Tag::Int, Tag::Float, 14, 80, 20),
        ("Set", Tag::Str, Tag::Word, 15, 50, 8),
        ("Set", Tag::Int, Tag::Word, 16, 80, 24),
        ("Set", Tag::Float, Tag::Word, 17, 30, 8),
        ("Set", Tag::Word, Tag::Word, 18, 30, 6),
    ];
    for (kind, k, v, seed, steps, keys) in combos {
        let name = format!("{}_{}_{}_random", kind.to_lowercase(), k.letter(), v.letter());
        cases.push(random_case(&name, kind, k, v, seed, steps, keys));
    }
    cases
}

#[test]
fn golden_buckets_match_the_committed_file() {
    let played: Vec<Value> = cases().iter().map(play).collect();
    let text = serde_json::to_string_pretty(&json!({
        "about": "Map/Set operation sequences and the guest bytes they leave; generated by crates/vera-layout/tests/golden.rs (VERA_GOLDEN_REGEN=1), checked by it and by browser/test/golden.test.mjs",
        "cases": played,
    }))
    .unwrap()
        + "\n";
    if std::env::var_os("VERA_GOLDEN_REGEN").is_some() {
        std::fs::write(PATH, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(PATH).expect("golden/buckets.json (regenerate with VERA_GOLDEN_REGEN=1)");
    assert!(
        committed == text,
        "golden/buckets.json differs from what the layout crate produces now; if the layout change is deliberate, regenerate with VERA_GOLDEN_REGEN=1 (and LAYOUT.md and runtime.mjs must follow)"
    );
}
