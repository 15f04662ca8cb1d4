//! Random bytes as wrappers and buckets: every collection operation on them
//! must return (a value or an error), never panic, hang or allocate
//! without bound.
//!
//! Shared by the fuzz target and `crates/vera-layout/tests/fuzz_regressions.rs`.

use vera_layout::collection::{self, Kind};
use vera_layout::test_heap::TestHeap;
use vera_layout::{mem, Field, Heap, Tag};

pub fn run(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let mut heap = TestHeap::new();
    // The bytes become one heap block (with a real header before it).
    let base = heap.alloc(data.len() as u32).unwrap();
    mem::write_bytes(heap.memory_mut(), base, data).unwrap();
    let kind = if data[0] & 1 == 0 { Kind::Map } else { Kind::Set };
    let ktag = Tag::ALL[(data[0] >> 1) as usize & 3];
    let vtag = Tag::ALL[(data[0] >> 3) as usize & 3];
    let at = |i: usize| base + (u16::from_le_bytes([data[i], data[i + 1]]) as u32 % data.len() as u32);
    // A wrapper inside the bytes, and a real root wrapper whose bucket
    // pointer points into them.
    let forged = at(1);
    let real = collection::new(&mut heap, kind).unwrap();
    heap.pin(real);
    let bucket = at(3);
    mem::write_u32(heap.memory_mut(), real + 8, bucket).unwrap();
    let key = match ktag {
        Tag::Str => Field::str(at(5), data[7] as u32),
        _ => Field(u64::from(data[5]) | u64::from(data[6]) << 32),
    };
    let val = Field::word(data[7] as u32);
    for w in [forged, real] {
        let _ = collection::size(heap.memory_mut(), kind, w);
        let _ = collection::get(heap.memory_mut(), kind, w, ktag, key);
        let _ = collection::entries(heap.memory_mut(), kind, w);
        if let Ok(n) = collection::insert(&mut heap, kind, w, ktag, key, vtag, val) {
            heap.pin(n);
            let _ = collection::entries(heap.memory_mut(), kind, n);
        }
        if let Ok(n) = collection::remove(&mut heap, kind, w, ktag, key) {
            heap.pin(n);
            let _ = collection::size(heap.memory_mut(), kind, n);
        }
        let _ = collection::entries(heap.memory_mut(), kind, w);
    }
}
