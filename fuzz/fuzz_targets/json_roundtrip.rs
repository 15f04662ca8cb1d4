//! `json_parse` on arbitrary text; an accepted document is built into a
//! test heap (one that never collects, where the build shares equal
//! strings and small numbers, or one collecting on every allocation, where
//! it shares nothing), stringified, and the text must parse back to the
//! same document and stringify identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_families::bounds::Meter;
use vera_families::json::{self, Parsed};
use vera_layout::test_heap::TestHeap;

fn round(text: &str, stress: bool) -> String {
    let Ok(Parsed::Ok(doc)) = json::parse_document(text, Meter::unbounded()) else {
        panic!("{text:?} no longer parses");
    };
    let mut heap = if stress { TestHeap::stressed() } else { TestHeap::new() };
    let ptr = json::build_document(&mut heap, &doc).expect("build");
    json::stringify(&mut heap, ptr, 1 << 24).expect("stringify")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    let Parsed::Ok(v) = json::parse(&text) else { return };
    let out = round(&text, flags & 1 == 1 && data.len() < 512);
    let Parsed::Ok(again) = json::parse(&out) else {
        panic!("stringify produced text json_parse refuses: {out:?}");
    };
    assert_eq!(again, v, "{out}");
    assert_eq!(round(&out, false), out);
});
