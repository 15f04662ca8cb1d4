//! Random operation sequences over versioned Map/Set collections, checked
//! against a plain model (entries in first-insertion order) per version.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vera_layout::collection::{self, Kind};
use vera_layout::test_heap::TestHeap;
use vera_layout::{Field, Heap, Tag};

type Model = Vec<(i64, i64)>;

#[derive(Arbitrary, Debug)]
enum Action {
    Insert { version: u8, key: u8, val: i8 },
    Remove { version: u8, key: u8 },
    Get { version: u8, key: u8 },
    Entries { version: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    set: bool,
    /// Collect (and poison) before every allocation.
    stress: bool,
    actions: Vec<Action>,
}

fuzz_target!(|input: Input| {
    let kind = if input.set { Kind::Set } else { Kind::Map };
    let mut heap = if input.stress {
        TestHeap::stressed()
    } else {
        TestHeap::new()
    };
    let w0 = collection::new(&mut heap, kind).unwrap();
    heap.pin(w0);
    let mut versions: Vec<(u32, Model)> = vec![(w0, Vec::new())];
    let key = |k: u8| (k % 24) as i64 - 12;
    for action in input.actions.iter().take(256) {
        let pick = |v: u8| v as usize % versions.len();
        match *action {
            Action::Insert { version, key: k, val } => {
                let (w, ref m) = versions[pick(version)];
                let (k, v) = (key(k), if input.set { 0 } else { val as i64 });
                let new =
                    collection::insert(&mut heap, kind, w, Tag::Int, Field::int(k), Tag::Int, Field::int(v)).unwrap();
                heap.pin(new);
                let mut next = m.clone();
                match next.iter_mut().find(|e| e.0 == k) {
                    Some(e) if !input.set => e.1 = v,
                    Some(_) => {}
                    None => next.push((k, v)),
                }
                versions.push((new, next));
            }
            Action::Remove { version, key: k } => {
                let (w, ref m) = versions[pick(version)];
                let k = key(k);
                let new = collection::remove(&mut heap, kind, w, Tag::Int, Field::int(k)).unwrap();
                heap.pin(new);
                let next = m.iter().copied().filter(|e| e.0 != k).collect();
                versions.push((new, next));
            }
            Action::Get { version, key: k } => {
                let (w, ref m) = versions[pick(version)];
                let k = key(k);
                let got = collection::get(heap.memory_mut(), kind, w, Tag::Int, Field::int(k)).unwrap();
                let want = m.iter().find(|e| e.0 == k).map(|e| Field::int(e.1));
                assert_eq!(got, want, "get {k}");
            }
            Action::Entries { version } => {
                let (w, ref m) = versions[pick(version)];
                let got: Model = collection::entries(heap.memory_mut(), kind, w)
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k.as_int(), v.as_int()))
                    .collect();
                assert_eq!(&got, m);
                assert_eq!(collection::size(heap.memory_mut(), kind, w).unwrap() as usize, m.len());
            }
        }
    }
});
