//! In-process figures for Map/Set chains, removes and lookups: each Vera
//! program of `bench/programs` runs as built by Vera 0.2.3 (buckets in
//! guest memory behind vera-rt's imports) and as built by Vera 0.2.5 (a
//! hash trie inside the module), both on vera-rt: the 0.2.5 build as
//! compiled (`--as-is`, its own allocator, as `vera run` 0.2.5 runs it) and
//! as vera-rt loads it (its trie on vera-rt's size-class allocator). One
//! iteration = instantiate + call `main(N)`; compilation happens once,
//! outside the measurement. The insert chains (N inserts and nothing else)
//! run the 0.2.3 build up to 1M, the 0.2.5 build to 100K, and the 0.2.5
//! build as compiled to 10K (its String chain takes ~8 s an iteration at
//! 100K). Whole-process comparisons, vera-rt's `--stats` run time and
//! Vera's Python host are in `bench/compare.py`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// (program, sizes for the 0.2.3 build, for the 0.2.5 build, for the 0.2.5
/// build as compiled).
type Chain = (&'static str, &'static [u64], &'static [u64], &'static [u64]);

const TO_1M: &[u64] = &[1_000, 10_000, 100_000, 1_000_000];
const TO_100K: &[u64] = &[1_000, 10_000, 100_000];
const TO_10K: &[u64] = &[1_000, 10_000];

const CHAINS: &[Chain] = &[
    ("insert_chain", TO_1M, TO_100K, TO_10K),
    ("set_insert_chain", TO_1M, TO_100K, TO_10K),
    // String pointers in every entry: wider than Vera 0.2.3's own mark
    // worklist past ~16K, overflow-safe under vera-rt.
    ("string_insert_chain", TO_1M, TO_100K, TO_10K),
    ("set_string_insert_chain", TO_1M, TO_100K, TO_10K),
    ("int_string_insert_chain", TO_1M, TO_100K, TO_10K),
    ("int_chain", TO_100K, TO_10K, TO_10K),
    ("set_chain", TO_100K, TO_10K, TO_10K),
    ("remove_chain", TO_100K, TO_10K, TO_10K),
    ("string_chain", TO_100K, TO_10K, TO_10K),
];

fn chains(c: &mut Criterion) {
    for &(name, sizes, v025_sizes, as_compiled_sizes) in CHAINS {
        let buckets = common::load(&format!("{name}.wasm"));
        let v025 = common::load(&format!("{name}.v025.wasm"));
        let as_compiled = common::load_as_is(&format!("{name}.v025.wasm"));
        let small = ["1000".to_string()];
        let want = common::run(&buckets, &small).1;
        assert_eq!(common::run(&v025, &small).1, want, "{name}: builds disagree");
        assert_eq!(common::run(&as_compiled, &small).1, want, "{name}: builds disagree");
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
            let builds = [
                ("vera-rt, 0.2.3 buckets", &buckets, true),
                ("vera-rt, 0.2.5 HAMT", &v025, v025_sizes.contains(&n)),
                ("0.2.5 HAMT as compiled", &as_compiled, as_compiled_sizes.contains(&n)),
            ];
            for (label, program, at_this_size) in builds {
                if at_this_size {
                    group.bench_with_input(BenchmarkId::new(label, n), &args, |b, args| {
                        b.iter(|| common::run(program, args))
                    });
                }
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
