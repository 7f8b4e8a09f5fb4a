//! Throughput of the Firehose transform on a 6 MB event of about 5,600 tutorial-sized records,
//! end to end, and of the record decoder alone against serde_json and simd-json on its records.

#[allow(dead_code)] // the equivalence test uses the rest
#[path = "support/alt_decoders.rs"]
mod alt_decoders;
#[path = "support/batch.rs"]
mod batch;

use std::hint::black_box;
use std::time::Duration;

use alt_decoders::{AltRecord, SimdJson, decode_serde_json};
use batch::{EVENT_BYTES, Rng, firehose_event, records_of, stream_record};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group};
use salesctl_core::change::{ChangeRecord, decode_into};
use salesctl_core::transform::{RecordTransformer, TransformOptions, transform_event_with};

fn bench_transform(c: &mut Criterion) {
    let (event, records) = firehose_event(EVENT_BYTES);
    let mut group = c.benchmark_group("transform");
    group.throughput(Throughput::Bytes(event.len() as u64));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));

    let plain = TransformOptions::default();
    group.bench_function(format!("firehose_event_{records}_records"), |b| {
        b.iter(|| transform_event_with(black_box(&event), &plain).map(|done| done.response.len()))
    });
    let partitioned = TransformOptions {
        partition_keys: true,
        ..TransformOptions::default()
    };
    group.bench_function(
        format!("firehose_event_{records}_records_partition_keys"),
        |b| {
            b.iter(|| {
                transform_event_with(black_box(&event), &partitioned)
                    .map(|done| done.response.len())
            })
        },
    );
    group.finish();

    // Decode and flat row only, per parser, over the same event's records (base64-decoded):
    // the part of the transform a different JSON parser would change. tests/alt_decoders.rs
    // holds the three to the same output on every one of these records.
    let batch = records_of(&event);
    let batch_bytes: usize = batch.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(batch_bytes as u64));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    let mut record = ChangeRecord::default();
    bench_decoder(&mut group, "hand_parser", &batch, |bytes, row| {
        if decode_into(bytes, &mut record).is_ok() {
            record.write_flat_row(row);
        }
    });
    let mut record = AltRecord::default();
    bench_decoder(&mut group, "serde_json", &batch, |bytes, row| {
        if decode_serde_json(bytes, &mut record).is_ok() {
            record.write_flat_row(row);
        }
    });
    let (mut simd, mut record) = (SimdJson::default(), AltRecord::default());
    bench_decoder(&mut group, "simd_json", &batch, |bytes, row| {
        if simd.decode(bytes, &mut record).is_ok() {
            record.write_flat_row(row);
        }
    });
    group.finish();

    // The per-record path the local firehose stage uses (no base64, no envelope).
    let mut rng = Rng(7);
    let data: Vec<String> = (0..1000)
        .map(|index| stream_record(&mut rng, index))
        .collect();
    let total: usize = data.iter().map(String::len).sum();
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("transform_into_1000_records", |b| {
        let mut transformer = RecordTransformer::new();
        let mut row = Vec::with_capacity(1024);
        b.iter(|| {
            let mut ok = 0;
            for record in &data {
                row.clear();
                ok += usize::from(
                    transformer
                        .transform_into(black_box(record.as_bytes()), &mut row)
                        .is_ok(),
                );
            }
            ok
        })
    });
    group.finish();
}

/// Benches one parser over the batch: `decode` decodes a record and, when it decodes, appends
/// its flat row to `row` (reused, as the transform reuses its buffers).
fn bench_decoder(
    group: &mut BenchmarkGroup<'_, WallTime>,
    parser: &str,
    batch: &[Vec<u8>],
    mut decode: impl FnMut(&[u8], &mut Vec<u8>),
) {
    let mut row = Vec::with_capacity(1024);
    group.bench_function(format!("{parser}_{}_records", batch.len()), |b| {
        b.iter(|| {
            for bytes in batch {
                row.clear();
                decode(black_box(bytes), &mut row);
            }
            row.len()
        })
    });
}

criterion_group!(benches, bench_transform);

/// The event is generated, deterministically, so nothing large is committed. With
/// `SALESCTL_BENCH_EVENT_OUT=path` the bench only writes the event to `path`:
/// scripts/bench-transform.sh feeds the same bytes to the tutorial's Python Lambda.
fn main() {
    if let Some(path) = std::env::var_os("SALESCTL_BENCH_EVENT_OUT") {
        let (event, records) = firehose_event(EVENT_BYTES);
        if let Err(error) = std::fs::write(&path, &event) {
            eprintln!("cannot write {}: {error}", path.to_string_lossy());
            std::process::exit(1);
        }
        eprintln!(
            "wrote {} bytes, {records} records, to {}",
            event.len(),
            path.to_string_lossy()
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
