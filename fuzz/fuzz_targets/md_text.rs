//! `md_parse` then `md_render` on any text: a tree or Vera's `Err`, never a
//! panic or a native stack overflow, however deep or wide the nesting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_families::md;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(doc) = md::parse_markdown(&text) {
        // What md_parse hands the guest only when Vera's writer would.
        if md::write_frames(&doc) <= md::MAX_WRITE_FRAMES {
            let _ = md::render_markdown(&doc);
        }
    }
});
