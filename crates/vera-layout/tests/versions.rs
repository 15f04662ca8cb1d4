//! Property tests: random operation sequences on Map/Set versions, checked
//! against a plain ordered-map model after every step, on a heap that
//! collects (and poisons) before every allocation.

use proptest::prelude::*;
use vera_layout::collection::{self, Kind};
use vera_layout::field::{Field, Tag};
use vera_layout::test_heap::TestHeap;
use vera_layout::values;
use vera_layout::Heap;

/// The model of one version: entries in first-insertion order.
type Model = Vec<(i64, i64)>;

fn model_insert(m: &Model, k: i64, v: i64, set: bool) -> Model {
    let mut out = m.clone();
    match out.iter_mut().find(|e| e.0 == k) {
        Some(e) if !set => e.1 = v,
        Some(_) => {}
        None => out.push((k, v)),
    }
    out
}

fn model_remove(m: &Model, k: i64) -> Model {
    m.iter().copied().filter(|e| e.0 != k).collect()
}

#[derive(Clone, Debug)]
enum Op {
    Insert { version: usize, key: i64, val: i64 },
    Remove { version: usize, key: i64 },
    Get { version: usize, key: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    let key = -12i64..12;
    prop_oneof![
        4 => (any::<usize>(), key.clone(), any::<i64>()).prop_map(|(version, key, val)| Op::Insert { version, key, val }),
        2 => (any::<usize>(), key.clone()).prop_map(|(version, key)| Op::Remove { version, key }),
        1 => (any::<usize>(), key).prop_map(|(version, key)| Op::Get { version, key }),
    ]
}

/// Keys as strings in guest memory, so the `s` tag and its rooting are
/// exercised too: key k is the decimal text of k, allocated fresh per use.
fn key_field(heap: &mut TestHeap, tag: Tag, k: i64) -> Field {
    match tag {
        Tag::Int => Field::int(k),
        Tag::Float => Field::float(if k == 0 { -0.0 } else { k as f64 / 2.0 }),
        Tag::Word => Field::word(k as u32 & 0xff),
        Tag::Str => {
            let (p, l) = values::alloc_str(heap, k.to_string().as_bytes()).unwrap();
            Field::str(p, l)
        }
    }
}

fn decode_key(heap: &TestHeap, tag: Tag, f: Field) -> i64 {
    match tag {
        Tag::Int => f.as_int(),
        Tag::Float => {
            let x = f.as_float();
            if x == 0.0 {
                0
            } else {
                (x * 2.0) as i64
            }
        }
        Tag::Word => f.lo() as i8 as i64,
        Tag::Str => std::str::from_utf8(values::str_bytes(heap.memory(), f.lo(), f.hi()).unwrap())
            .unwrap()
            .parse()
            .unwrap(),
    }
}

fn check(heap: &mut TestHeap, kind: Kind, tag: Tag, w: u32, model: &Model) {
    let got = collection::entries(heap.memory_mut(), kind, w).unwrap();
    let got: Model = got
        .iter()
        .map(|&(k, v)| (decode_key(heap, tag, k), if kind == Kind::Map { v.as_int() } else { 0 }))
        .collect();
    assert_eq!(&got, model);
    assert_eq!(
        collection::size(heap.memory_mut(), kind, w).unwrap() as usize,
        model.len()
    );
}

fn run(kind: Kind, tag: Tag, ops: Vec<Op>) {
    run_checking(kind, tag, ops, true)
}

/// Runs `ops`; after each step checks every version (`every_step`) or the
/// newest and one other, and every version at the end.
/// The version an op names: `usize::MAX` is the newest.
fn pick(version: usize, count: usize) -> usize {
    if version == usize::MAX {
        count - 1
    } else {
        version % count
    }
}

fn run_checking(kind: Kind, tag: Tag, ops: Vec<Op>, every_step: bool) {
    run_from(kind, tag, &[], ops, every_step)
}

/// [`run_checking`] with a second first version, the map the host builds
/// whole from `built` (`collection::from_entries`: a bucket of the least
/// capacity, 4 slots for up to 4 entries), which ops pick like any other.
fn run_from(kind: Kind, tag: Tag, built: &[(i64, i64)], ops: Vec<Op>, every_step: bool) {
    let mut heap = TestHeap::stressed();
    let empty = collection::new(&mut heap, kind).unwrap();
    heap.pin(empty);
    let mut versions: Vec<(u32, Model)> = vec![(empty, Vec::new())];
    let key_of = |k: i64| {
        if tag == Tag::Word {
            (k as u32 & 0xff) as i8 as i64
        } else {
            k
        }
    };
    if !built.is_empty() {
        // Each string key is held from its allocation on (the heap
        // collects at every allocation); the bucket holds them after.
        let entries: Vec<(Field, Field)> = built
            .iter()
            .map(|&(k, v)| {
                let key = key_field(&mut heap, tag, k);
                if tag == Tag::Str {
                    heap.pin(key.lo());
                }
                (key, Field::int(if kind == Kind::Set { 0 } else { v }))
            })
            .collect();
        let w = collection::from_entries(&mut heap, kind, tag, &entries).unwrap();
        heap.pin(w);
        let model = built.iter().fold(Vec::new(), |m, &(k, v)| {
            model_insert(&m, key_of(k), if kind == Kind::Set { 0 } else { v }, kind == Kind::Set)
        });
        versions.push((w, model));
    }
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Insert { version, key, val } => {
                let (w, m) = versions[pick(version, versions.len())].clone();
                let val = if kind == Kind::Set { 0 } else { val };
                let kf = key_field(&mut heap, tag, key);
                let nw = collection::insert(&mut heap, kind, w, tag, kf, Tag::Int, Field::int(val)).unwrap();
                heap.pin(nw);
                versions.push((nw, model_insert(&m, key_of(key), val, kind == Kind::Set)));
            }
            Op::Remove { version, key } => {
                let (w, m) = versions[pick(version, versions.len())].clone();
                let kf = key_field(&mut heap, tag, key);
                let nw = collection::remove(&mut heap, kind, w, tag, kf).unwrap();
                heap.pin(nw);
                versions.push((nw, model_remove(&m, key_of(key))));
            }
            Op::Get { version, key } => {
                let (w, m) = versions[pick(version, versions.len())].clone();
                let kf = key_field(&mut heap, tag, key);
                let got = collection::get(heap.memory_mut(), kind, w, tag, kf).unwrap();
                let want = m.iter().find(|e| e.0 == key_of(key)).map(|e| e.1);
                assert_eq!(got.map(|f| if kind == Kind::Map { f.as_int() } else { 0 }), want);
            }
        }
        // Every version, old and new, still reads exactly as it did.
        if every_step {
            for (w, m) in versions.clone() {
                check(&mut heap, kind, tag, w, &m);
            }
        } else {
            let (w, m) = versions[versions.len() - 1].clone();
            check(&mut heap, kind, tag, w, &m);
            let (w, m) = versions[step * 7919 % versions.len()].clone();
            check(&mut heap, kind, tag, w, &m);
        }
    }
    for (w, m) in versions.clone() {
        check(&mut heap, kind, tag, w, &m);
    }
}

/// Mostly the newest version (a chain, as `array_fold` makes), now and
/// then an old one: long version trees whose old versions get updated.
fn long_tree_op() -> impl Strategy<Value = Op> {
    let version = prop_oneof![3 => Just(usize::MAX), 1 => any::<usize>()];
    let key = -40i64..40;
    prop_oneof![
        5 => (version.clone(), key.clone(), any::<i64>()).prop_map(|(version, key, val)| Op::Insert { version, key, val }),
        2 => (version.clone(), key.clone()).prop_map(|(version, key)| Op::Remove { version, key }),
        1 => (version, key).prop_map(|(version, key)| Op::Get { version, key }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Hundreds of versions from 80 keys: the buckets grow several times,
    /// on the newest version and on old ones (whose updates copy).
    #[test]
    fn long_version_trees_match_the_model(ops in prop::collection::vec(long_tree_op(), 200..500)) {
        run_checking(Kind::Map, Tag::Int, ops, false);
    }

    #[test]
    fn long_string_version_trees_match_the_model(ops in prop::collection::vec(long_tree_op(), 200..500)) {
        run_checking(Kind::Map, Tag::Str, ops, false);
    }

    #[test]
    fn long_set_version_trees_match_the_model(ops in prop::collection::vec(long_tree_op(), 200..500)) {
        run_checking(Kind::Set, Tag::Int, ops, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Maps the host builds whole start in buckets of 4 slots (one group of
    /// index entries); inserts past them copy, lookups probe the one group.
    #[test]
    fn built_maps_match_the_model(
        built in prop::collection::vec((-12i64..12, any::<i64>()), 1..7),
        ops in prop::collection::vec(op(), 1..60),
        string_keys in any::<bool>(),
    ) {
        let tag = if string_keys { Tag::Str } else { Tag::Int };
        run_from(Kind::Map, tag, &built, ops, true);
    }

    #[test]
    fn int_maps_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Kind::Map, Tag::Int, ops);
    }

    #[test]
    fn string_maps_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Kind::Map, Tag::Str, ops);
    }

    #[test]
    fn float_sets_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Kind::Set, Tag::Float, ops);
    }

    #[test]
    fn word_sets_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Kind::Set, Tag::Word, ops);
    }
}

/// A long linear chain (the shape of an `array_fold` over `map_insert`)
/// then reads of old versions in random order, which reroot back and forth.
#[test]
fn long_chain_then_old_versions() {
    let mut heap = TestHeap::new();
    let mut w = collection::new(&mut heap, Kind::Map).unwrap();
    let mut versions = vec![w];
    for i in 0..2000i64 {
        w = collection::insert(
            &mut heap,
            Kind::Map,
            w,
            Tag::Int,
            Field::int(i % 700),
            Tag::Int,
            Field::int(i),
        )
        .unwrap();
        versions.push(w);
    }
    for &i in &[0usize, 2000, 1, 1500, 699, 700, 701, 2000, 3] {
        let n = collection::size(heap.memory_mut(), Kind::Map, versions[i]).unwrap();
        assert_eq!(n as usize, i.min(700), "size of version {i}");
        if i > 0 {
            let last = (i - 1) as i64;
            let got = collection::get(
                heap.memory_mut(),
                Kind::Map,
                versions[i],
                Tag::Int,
                Field::int(last % 700),
            )
            .unwrap();
            assert_eq!(got, Some(Field::int(last)));
        }
    }
}

/// The newest version of a chain is never copied more than the doubling
/// steps require: the heap of a 20 000-insert chain stays linear.
#[test]
fn chain_heap_is_linear() {
    let top = |n: i64| {
        let mut heap = TestHeap::new();
        let mut w = collection::new(&mut heap, Kind::Map).unwrap();
        for i in 0..n {
            w = collection::insert(
                &mut heap,
                Kind::Map,
                w,
                Tag::Int,
                Field::int(i),
                Tag::Int,
                Field::int(i),
            )
            .unwrap();
        }
        heap.heap_top() as f64
    };
    let ratio = top(20_000) / top(2_000);
    assert!(ratio < 15.0, "10x the inserts took {ratio:.1}x the heap");
}
