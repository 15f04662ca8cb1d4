//! `json_stringify` over random memory: any pointer into random bytes must
//! give text or an error, bounded by the output limit, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_families::json;
use vera_layout::test_heap::TestHeap;
use vera_layout::{mem, Heap};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let mut heap = TestHeap::new();
    let base = heap.alloc(data.len() as u32).unwrap();
    mem::write_bytes(heap.memory_mut(), base, data).unwrap();
    let ptr = base + (u16::from_le_bytes([data[0], data[1]]) as u32 % data.len() as u32);
    // The limit is checked between nodes: one string (at most all of
    // memory, each byte escaped to at most 6) can pass it.
    let bound = (1 << 16) + 6 * heap.memory().len() + 16;
    if let Ok(text) = json::stringify(&mut heap, ptr, 1 << 16) {
        assert!(text.len() <= bound, "output past the limit");
    }
});
