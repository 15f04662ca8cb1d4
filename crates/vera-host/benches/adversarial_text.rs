//! The host's text algorithms on adversarial input at 10^4, 10^5 and 10^6
//! bytes, so a quadratic step shows as a hundredfold jump per row:
//! `md_parse` of unclosed brackets and links, `html_parse` of nested and
//! attribute-laden tags, `regex_find_all` of patterns whose matches are
//! empty or crowd each other. Each runs the host parser or matcher alone
//! (no guest), as the imports call it.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vera_families::bounds::Meter;
use vera_families::regex::{answer, Answer, Op};
use vera_families::{html, md};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// `piece` repeated to about `n` bytes.
fn fill(piece: &str, n: usize) -> String {
    piece.repeat(n.div_ceil(piece.len()))
}

fn bench_texts(c: &mut Criterion, group: &str, pieces: &[&str], run: fn(&str)) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    for piece in pieces {
        for n in SIZES {
            let text = fill(piece, n);
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(*piece, n), &text, |b, t| b.iter(|| run(t)));
        }
    }
    g.finish();
}

fn markdown(c: &mut Criterion) {
    bench_texts(c, "md_parse", &["[", "[x](", "*a", "> - x\n"], |t| {
        let _ = md::parse_markdown(t);
    });
}

fn html_text(c: &mut Criterion) {
    bench_texts(c, "html_parse", &["<b x>", "<b></b>", "<p a=1 b='2' c>", "&amp"], |t| {
        let _ = html::parse(t);
    });
}

fn regex(c: &mut Criterion) {
    let mut g = c.benchmark_group("regex_find_all");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    for (pattern, piece) in [
        ("a*b|a", "a"),
        ("a*", "b"),
        ("a??", "ab"),
        ("\\b", "a "),
        ("\\s+$", "a \n"),
        ("[^,]*", "a,,"),
    ] {
        for n in SIZES {
            let text = fill(piece, n);
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(pattern, n), &text, |b, t| {
                b.iter(|| {
                    let found = answer(Op::FindAll, t, pattern, "", Meter::unbounded()).unwrap();
                    assert!(matches!(found, Ok(Answer::FindAll(_))));
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, markdown, html_text, regex);
criterion_main!(benches);
