//! Throughput of the Firehose transform on a 6 MB event of about 5,600 tutorial-sized records,
//! end to end (event parse, base64 decode, decode, flatten, row, base64 encode, response).

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group};
use salesctl_core::transform::{RecordTransformer, TransformOptions, transform_event_with};

/// Where the event stops growing: Lambda's 6 MB request limit, in decimal megabytes.
const EVENT_BYTES: usize = 6_000_000;

const PRODUCTS: [(&str, &str); 8] = [
    ("Laptop", "1249.90"),
    ("Headphones", "89.99"),
    ("Monitor", "329.00"),
    ("Keyboard", "49.50"),
    ("Mouse", "19.99"),
    ("Webcam", "74.25"),
    ("Desk Lamp", "34.10"),
    ("USB-C Hub", "45.00"),
];

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The shape of the tutorial's table (orderid, product_name, quantity, price) as an EventBridge
/// Pipe writes its Streams records: 85% INSERT, 10% MODIFY (with OldImage), 5% REMOVE.
fn stream_record(rng: &mut Rng, index: u64) -> String {
    let order_id = format!("{:08}", 10_000_000 + index);
    let (product, price) = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
    let quantity = 1 + rng.below(5);
    let image = |quantity: u64| {
        format!(
            r#"{{"orderid":{{"S":"{order_id}"}},"product_name":{{"S":"{product}"}},"quantity":{{"N":"{quantity}"}},"price":{{"N":"{price}"}}}}"#
        )
    };
    let roll = rng.below(100);
    let (event_name, images) = if roll < 85 {
        ("INSERT", format!(r#""NewImage":{},"#, image(quantity)))
    } else if roll < 95 {
        (
            "MODIFY",
            format!(
                r#""NewImage":{},"OldImage":{},"#,
                image(quantity + 1),
                image(quantity)
            ),
        )
    } else {
        ("REMOVE", format!(r#""OldImage":{},"#, image(quantity)))
    };
    let created = 1_795_162_502 + index / 4;
    format!(
        concat!(
            r#"{{"eventID":"{:016x}{:016x}","eventName":"{}","eventVersion":"1.1","eventSource":"aws:dynamodb","#,
            r#""awsRegion":"us-east-1","dynamodb":{{"ApproximateCreationDateTime":{},"Keys":{{"orderid":{{"S":"{}"}}}},"#,
            r#"{}"SequenceNumber":"{}","SizeBytes":{},"StreamViewType":"NEW_AND_OLD_IMAGES"}},"#,
            r#""eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-20T08:00:00.000"}}"#
        ),
        rng.next(),
        rng.next(),
        event_name,
        created,
        order_id,
        images,
        100_000_000_000_000_000_000u128 + u128::from(index),
        60 + rng.below(200),
    )
}

/// A Firehose transformation event from a Kinesis source, grown until the next record would
/// pass `limit` bytes. Returns the event and its record count.
pub fn firehose_event(limit: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng(0x5eed_5a1e_5c7d_0001);
    let mut event = String::from(concat!(
        r#"{"invocationId":"0e6a1f44-6bb0-4d22-b9a3-56d3b8f0f7a1","#,
        r#""deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/salesctl-orders","#,
        r#""sourceKinesisStreamArn":"arn:aws:kinesis:us-east-1:123456789012:stream/salesctl-cdc","#,
        r#""region":"us-east-1","records":["#
    ));
    let mut count = 0u64;
    loop {
        let data = STANDARD.encode(stream_record(&mut rng, count));
        let arrival = 1_795_162_503_000 + count * 250;
        let entry = format!(
            concat!(
                r#"{}{{"recordId":"49546986683135544286507457936321625675700192471156{:09}","approximateArrivalTimestamp":{},"data":"{}","#,
                r#""kinesisRecordMetadata":{{"sequenceNumber":"4964580952434437651873240928645627917{:06}","subsequenceNumber":0,"#,
                r#""partitionKey":"{:08}","shardId":"shardId-000000000000","approximateArrivalTimestamp":{}}}}}"#
            ),
            if count == 0 { "" } else { "," },
            count,
            arrival,
            data,
            count,
            10_000_000 + count,
            arrival,
        );
        if event.len() + entry.len() + 2 > limit {
            break;
        }
        event.push_str(&entry);
        count += 1;
    }
    event.push_str("]}");
    (event.into_bytes(), count as usize)
}

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
