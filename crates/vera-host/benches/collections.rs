//! In-process figures for Map/Set chains, removes and lookups: each Vera
//! program of `bench/programs` runs as built by Vera 0.2.3 (buckets in
//! guest memory behind vera-rt's imports) and, where it finishes in
//! reasonable time, as built by Vera 0.2.5 (a hash trie inside the
//! module), both on vera-rt. One iteration = instantiate + call `main(N)`;
//! compilation happens once, outside the measurement. The insert chains
//! (`insert_chain`, `set_insert_chain`, `string_insert_chain`: N inserts
//! and nothing else) run the 0.2.3 build up to 1M and the HAMT build up to
//! 100K (~5 s an iteration there, so criterion samples it flat: 10
//! iterations). Whole-process comparisons, vera-rt's `--stats` run time
//! and Vera's Python host are in `bench/compare.py`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// (program, sizes for the 0.2.3 build, sizes for the 0.2.5 build).
const CHAINS: &[(&str, &[u64], &[u64])] = &[
    (
        "insert_chain",
        &[1_000, 10_000, 100_000, 1_000_000],
        &[1_000, 10_000, 100_000],
    ),
    (
        "set_insert_chain",
        &[1_000, 10_000, 100_000, 1_000_000],
        &[1_000, 10_000, 100_000],
    ),
    // Larger String maps overflow the 0.2.3 guest collector's mark worklist.
    ("string_insert_chain", &[1_000, 10_000], &[1_000, 10_000]),
    ("int_chain", &[1_000, 10_000, 100_000], &[1_000, 10_000]),
    ("set_chain", &[1_000, 10_000, 100_000], &[1_000, 10_000]),
    ("remove_chain", &[1_000, 10_000, 100_000], &[1_000, 10_000]),
    ("string_chain", &[1_000, 10_000], &[1_000, 10_000]),
];

fn chains(c: &mut Criterion) {
    for &(name, sizes, hamt_sizes) in CHAINS {
        let buckets = common::load(&format!("{name}.wasm"));
        let hamt = common::load(&format!("{name}.v025.wasm"));
        let small = ["1000".to_string()];
        assert_eq!(
            common::run(&buckets, &small).1,
            common::run(&hamt, &small).1,
            "{name}: builds disagree"
        );
        let mut group = c.benchmark_group(name);
        // Auto sampling turns flat (10 iterations) where an iteration is
        // too slow for criterion's linear plan (55 iterations at least).
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for &n in sizes {
            group.throughput(Throughput::Elements(n));
            let args = [n.to_string()];
            group.bench_with_input(BenchmarkId::new("vera-rt, 0.2.3 buckets", n), &args, |b, args| {
                b.iter(|| common::run(&buckets, args))
            });
            if hamt_sizes.contains(&n) {
                group.bench_with_input(BenchmarkId::new("vera-rt, 0.2.5 HAMT", n), &args, |b, args| {
                    b.iter(|| common::run(&hamt, args))
                });
            }
        }
        group.finish();
    }
}

/// `map_get` + `map_contains` on maps of 1K to 1M entries: the time of
/// 100 000 lookup pairs (a run with the lookups minus one without), so
/// building the map is not counted. Flat across sizes means O(1).
fn lookups(c: &mut Criterion) {
    const LOOKUPS: u64 = 100_000;
    let program = common::load("lookups.wasm");
    let mut group = c.benchmark_group("lookups");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(2 * LOOKUPS));
    for size in [1_000u64, 10_000, 100_000, 1_000_000] {
        let with = [size.to_string(), LOOKUPS.to_string()];
        let without = [size.to_string(), "0".to_string()];
        group.bench_function(BenchmarkId::new("map_get+map_contains", size), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        common::run(&program, &with)
                            .0
                            .saturating_sub(common::run(&program, &without).0)
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, chains, lookups);
criterion_main!(benches);
