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

criterion_group!(benches, json_parse);
criterion_main!(benches);
