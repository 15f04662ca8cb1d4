//! `json_parse` into the guest heap against serde_json's own parse of the
//! same bytes to a `serde_json::Value`, side by side, in MB/s.
//!
//! The document (~1 MB, generated here, deterministic) mixes what real
//! JSON has: objects with repeated field names, strings with escapes and
//! non-ASCII text, integers, floats with exponents, booleans, nulls and
//! nested arrays. vera-rt's side is a whole call of `bench/programs/
//! json_parse.wasm` (instantiate, copy the text in, parse, build every
//! JObject's Map<String, Json> bucket in guest memory, count the items).

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn document(target_bytes: usize) -> (String, usize) {
    let mut items = Vec::new();
    let mut len = 2;
    let mut i = 0u64;
    while len < target_bytes {
        let item = format!(
            r#"{{"id": {i}, "name": "item \"{i}\" — ünïcödé ✓", "price": {}.{:02}, "ratio": {}e-3, "tags": ["a", "b\n", "c\\d"], "active": {}, "parent": null, "dims": {{"w": {}, "h": {}, "deep": [[1, 2], [3, [4, 5.5]]]}}}}"#,
            i * 37 % 1000,
            i % 100,
            i % 997,
            i.is_multiple_of(2),
            i % 13,
            i % 17
        );
        len += item.len() + 2;
        items.push(item);
        i += 1;
    }
    (format!("[{}]", items.join(", ")), items.len())
}

fn json_parse(c: &mut Criterion) {
    let (doc, count) = document(1 << 20);
    let program = common::load("json_parse.wasm");
    let args = [doc.clone()];
    assert_eq!(common::run(&program, &args).1, count.to_string());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        count
    );

    let mut group = c.benchmark_group("json_parse_1MB");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.bench_function("vera-rt json_parse into guest memory", |b| {
        b.iter(|| common::run(&program, &args))
    });
    group.bench_function("serde_json::from_str to Value", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(&doc).unwrap())
    });
    group.finish();
}

/// One object of 100 000 keys (`"k0": 0, ...`): a JObject's bucket wider
/// than Vera 0.2.3's own mark worklist, parsed and its keys listed by
/// `bench/programs/json_wide_object.wasm`; its 0.2.5 build as compiled
/// beside it.
fn json_wide_object(c: &mut Criterion) {
    const KEYS: usize = 100_000;
    let doc = format!(
        "{{{}}}",
        (0..KEYS)
            .map(|i| format!(r#""k{i}": {i}"#))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let dir = std::env::temp_dir().join(format!("vera-rt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wide.json");
    std::fs::write(&path, &doc).unwrap();
    let args = [path.to_string_lossy().into_owned()];
    let buckets = common::load("json_wide_object.wasm");
    let as_compiled = common::load_as_is("json_wide_object.v025.wasm");
    assert_eq!(common::run(&buckets, &args).1, KEYS.to_string());
    let mut group = c.benchmark_group("json_wide_object_100K_keys");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("vera-rt, 0.2.3 buckets", |b| b.iter(|| common::run(&buckets, &args)));
    group.bench_function("0.2.5 HAMT as compiled", |b| {
        b.iter(|| common::run(&as_compiled, &args))
    });
    group.finish();
    std::fs::remove_dir_all(&dir).ok();
}

/// `json_stringify` of the same ~1 MB document: a whole call of
/// `bench/programs/json_roundtrip.wasm` (read the file, parse, stringify)
/// beside `json_parse.wasm`'s parse alone, and serde_json writing its
/// `Value` back; throughput in bytes of the document.
fn json_stringify(c: &mut Criterion) {
    let (doc, _) = document(1 << 20);
    let dir = std::env::temp_dir().join(format!("vera-rt-bench-stringify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("doc.json");
    std::fs::write(&path, &doc).unwrap();
    let program = common::load("json_roundtrip.wasm");
    let args = [path.to_string_lossy().into_owned()];
    let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let written = serde_json::to_string(&value).unwrap();
    let ours: usize = common::run(&program, &args).1.parse().unwrap();
    // Both write compact text; serde_json's floats may differ in form.
    assert!(
        ours.abs_diff(written.len()) < written.len() / 10,
        "{ours} vs {}",
        written.len()
    );

    let mut group = c.benchmark_group("json_stringify_1MB");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.bench_function("vera-rt read_file + json_parse + json_stringify", |b| {
        b.iter(|| common::run(&program, &args))
    });
    group.bench_function("serde_json::to_string of a Value", |b| {
        b.iter(|| serde_json::to_string(&value).unwrap())
    });
    group.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, json_parse, json_stringify, json_wide_object);
criterion_main!(benches);
