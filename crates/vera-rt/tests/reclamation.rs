//! Reclamation: the 10 000-insert `array_fold` chain over `map_insert`
//! returns the right answer and its peak heap grows about linearly with the
//! number of inserts (a leak of old versions would be ~100x for 10x).

use std::process::Command;

fn chain(n: u64) -> (String, u64) {
    let wasm = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/programs/int_chain.wasm");
    let out = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .args(["run", wasm, "--stats", "--"])
        .arg(n.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak heap:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("--stats reports the peak heap");
    (String::from_utf8_lossy(&out.stdout).trim().to_owned(), peak)
}

#[test]
fn int_chain_is_right_and_its_heap_linear() {
    let (small, small_peak) = chain(1_000);
    let (large, large_peak) = chain(10_000);
    // Sum of 2i over 0..n, plus the size n.
    assert_eq!(small, (999 * 1000 + 1000).to_string());
    assert_eq!(large, (9_999u64 * 10_000 + 10_000).to_string());
    let ratio = large_peak as f64 / small_peak as f64;
    assert!(
        ratio < 20.0,
        "10x the inserts took {ratio:.1}x the peak heap ({small_peak} -> {large_peak})"
    );
}
