//! Forged version records and buckets: every operation returns an error,
//! never panics (this file also runs without `--release`, where an
//! arithmetic overflow on a forged slot or index position would panic).

use vera_layout::collection::{self, Kind, MAP_TAG};
use vera_layout::test_heap::TestHeap;
use vera_layout::{mem, Field, GuestError, GuestErrorKind, Heap, Tag};

/// A root Map {1: 1} and a newer version {1: 1, 2: 2}; returns (old, new).
fn two_versions(heap: &mut TestHeap) -> (u32, u32) {
    let w0 = collection::new(heap, Kind::Map).unwrap();
    heap.pin(w0);
    let w1 = collection::insert(heap, Kind::Map, w0, Tag::Int, Field::int(1), Tag::Int, Field::int(1)).unwrap();
    heap.pin(w1);
    let w2 = collection::insert(heap, Kind::Map, w1, Tag::Int, Field::int(2), Tag::Int, Field::int(2)).unwrap();
    heap.pin(w2);
    (w1, w2)
}

fn corrupt(result: Result<impl std::fmt::Debug, GuestError>) -> String {
    match result {
        Err(e) if matches!(e.kind(), GuestErrorKind::Corrupt { .. }) => e.to_string(),
        other => panic!("expected a corrupt-bucket error, got {other:?}"),
    }
}

/// `w1` is now a DIFF (UNAPPEND of slot 1) of `w2`; forge its slot and
/// index position to the largest values.
#[test]
fn unappend_with_huge_slot_or_position() {
    for (slot, pos) in [(u32::MAX, 0), (1, u32::MAX), (u32::MAX, u32::MAX), (0, 0)] {
        let mut heap = TestHeap::new();
        let (w1, _) = two_versions(&mut heap);
        assert_eq!(mem::read_u32(heap.memory(), w1).unwrap(), MAP_TAG);
        assert_eq!(mem::read_u32(heap.memory(), w1 + 12).unwrap(), 1, "UNAPPEND");
        mem::write_u32(heap.memory_mut(), w1 + 16, slot).unwrap();
        mem::write_u32(heap.memory_mut(), w1 + 20, pos).unwrap();
        let message = corrupt(collection::size(heap.memory_mut(), Kind::Map, w1));
        assert!(message.contains("cannot undo append"), "{message}");
    }
}

/// The other ops with out-of-range slots and positions.
#[test]
fn every_op_with_huge_operands() {
    for op in 0..=6u32 {
        for v in [u32::MAX, 0x8000_0000, 1 << 26] {
            let mut heap = TestHeap::new();
            let (w1, _) = two_versions(&mut heap);
            for off in [12, 16, 20] {
                let value = if off == 12 { op } else { v };
                mem::write_u32(heap.memory_mut(), w1 + off, value).unwrap();
            }
            let _ = collection::size(heap.memory_mut(), Kind::Map, w1);
            let _ = collection::entries(heap.memory_mut(), Kind::Map, w1);
            let _ = collection::get(heap.memory_mut(), Kind::Map, w1, Tag::Int, Field::int(1));
            let _ = collection::insert(
                &mut heap,
                Kind::Map,
                w1,
                Tag::Int,
                Field::int(3),
                Tag::Int,
                Field::int(3),
            );
        }
    }
}
