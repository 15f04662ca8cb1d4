//! `html_parse` then `html_to_string` on any text: a tree, Vera's `Err` or
//! the depth refusal, never a panic; and the serialised tree parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_families::html;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(tree) = html::parse(&text) {
        let out = html::to_html(&tree);
        // What html_to_string prints is HTML the parser takes back.
        let _ = html::parse(&out);
    }
});
