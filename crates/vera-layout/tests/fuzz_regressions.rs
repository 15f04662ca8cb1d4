//! Replays every input under `fuzz/regressions/<target>/` (inputs that
//! once made a fuzz target fail) through the target's body. Run without
//! `--release` too, where an arithmetic overflow panics.

#[path = "../../../fuzz/bodies/bucket_bytes.rs"]
mod bucket_bytes;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = format!("{}/../../fuzz/regressions/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no inputs in {dir}");
}

/// A bucket whose count says 0 while a slot is live: a forged KILL diff
/// decremented the count below zero.
#[test]
fn bucket_bytes() {
    replay("bucket_bytes", bucket_bytes::run);
}
