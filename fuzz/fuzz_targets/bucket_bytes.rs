//! See `fuzz/bodies/bucket_bytes.rs`.
#![no_main]

#[path = "../bodies/bucket_bytes.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
