//! `tail-cdc`'s per-record work without the network: decode a Pipe record (change::decode_into)
//! and render its JSON line (cdc_view::write_json_line), over a realistic INSERT/MODIFY/REMOVE mix.
//!
//! The records are the full-order fixtures of tests/fixtures with a different order id each, so
//! the figure is changes per second on one core for the records `salesctl generate` produces.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use salesctl::cdc_view::write_json_line;
use salesctl_core::change::{ChangeRecord, decode_into};

const RECORDS: usize = 10_000;

fn records() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("fixture");
    // Compact JSON, as the Pipe writes it (the fixtures are pretty-printed for people).
    let compact = |text: String| {
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).expect("json"))
            .expect("json")
    };
    let templates = [
        compact(read("pipe-insert.json")),
        compact(read("pipe-modify.json")),
        compact(read("pipe-modify.json")),
        compact(read("pipe-remove.json")),
    ];
    (0..RECORDS)
        .map(|i| {
            let template = &templates[i % templates.len()];
            template
                .replace("o-000000000042", &format!("o-{i:012}"))
                .into_bytes()
        })
        .collect()
}

fn decode_and_render(c: &mut Criterion) {
    let records = records();
    let bytes: usize = records.iter().map(Vec::len).sum();
    println!(
        "{} records, {} bytes on average",
        records.len(),
        bytes / records.len()
    );
    let mut group = c.benchmark_group("tail_cdc");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.measurement_time(Duration::from_secs(8));
    let mut change = ChangeRecord::default();
    let mut out = Vec::with_capacity(bytes);
    group.bench_function("decode+json_line", |b| {
        b.iter(|| {
            out.clear();
            for record in &records {
                decode_into(black_box(record), &mut change).expect("fixture decodes");
                write_json_line(
                    &mut out,
                    &change,
                    "shardId-000000000001",
                    "49590338271490256608559692538361571095921575989136588898",
                );
            }
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            for record in &records {
                decode_into(black_box(record), &mut change).expect("fixture decodes");
            }
            black_box(&change.event_id);
        })
    });
    group.finish();
}

criterion_group!(benches, decode_and_render);
criterion_main!(benches);
