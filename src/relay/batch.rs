//! The local firehose stage's buffer: transformed rows for one data object per flush, failed
//! records kept with their data, flushed by size or age, named and placed as Firehose does.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

use crate::lake::{layout, parquet};
use crate::stream::sequence_cmp;
use salesctl_core::lake_schema::LakeFormat;
use salesctl_core::transform::PartitionKey;

/// The Kinesis range of one shard in a batch: after `start_after` (None = from the shard's
/// start) up to and including `last`. Object names derive from it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRange {
    pub start_after: Option<String>,
    pub last: String,
}

/// One Kinesis record as the stage sees it.
pub struct Incoming<'a> {
    pub shard_id: &'a str,
    pub sequence_number: &'a str,
    pub arrival: DateTime<Utc>,
    pub data: &'a [u8],
}

/// What the transform made of a record.
pub enum Transformed {
    /// The flat row, one `\n`-terminated JSON line.
    Row {
        line: Vec<u8>,
    },
    Failed {
        reason: String,
    },
}

/// A record the transform rejected, kept whole for the error prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRecord {
    pub arrival: DateTime<Utc>,
    pub data: Vec<u8>,
    pub reason: String,
}

/// An object to put: key and body.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectToWrite {
    pub key: String,
    pub body: Vec<u8>,
    pub rows: u64,
}

#[derive(Default)]
pub struct Batch {
    /// The rows of the flush's one data object, as JSON lines.
    rows: Vec<u8>,
    row_count: u64,
    /// The earliest Kinesis arrival among `rows`: the object's `dt=`/`hour=` partition.
    oldest_row: Option<DateTime<Utc>>,
    failures: Vec<FailedRecord>,
    ranges: BTreeMap<String, ShardRange>,
    bytes: usize,
    opened: Option<Instant>,
    first_arrival: Option<DateTime<Utc>>,
    /// Content fingerprints of the records in this batch, to drop re-put copies.
    fingerprints: HashSet<u128>,
    pub duplicates_dropped: u64,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// When the first record entered the buffer.
    pub fn opened(&self) -> Option<Instant> {
        self.opened
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds one record unless its content was already delivered (`delivered`) or is already
    /// in this batch: a killed pipe stage re-puts its last batch, and the copies are
    /// byte-identical to the originals. `start_after` is the shard's committed position.
    pub fn add(
        &mut self,
        record: &Incoming<'_>,
        start_after: Option<&str>,
        delivered: &HashSet<String>,
        transform: impl FnOnce(&[u8]) -> Transformed,
    ) {
        let range = self
            .ranges
            .entry(record.shard_id.to_string())
            .or_insert_with(|| ShardRange {
                start_after: start_after.map(str::to_string),
                last: String::new(),
            });
        if range.last.is_empty() || sequence_cmp(record.sequence_number, &range.last).is_gt() {
            range.last = record.sequence_number.to_string();
        }
        self.opened.get_or_insert_with(Instant::now);
        // The earliest arrival, not the first added: a replay reads the shards in another
        // order than the passes that filled the batch, and must name the same objects.
        self.first_arrival = Some(
            self.first_arrival
                .map_or(record.arrival, |first| first.min(record.arrival)),
        );
        let fingerprint = fingerprint(record.data);
        if delivered.contains(&fingerprint_text(fingerprint))
            || !self.fingerprints.insert(fingerprint)
        {
            self.duplicates_dropped += 1;
            return;
        }
        self.bytes += record.data.len();
        match transform(record.data) {
            Transformed::Row { line } => {
                self.rows.extend_from_slice(&line);
                self.row_count += 1;
                self.oldest_row = Some(
                    self.oldest_row
                        .map_or(record.arrival, |oldest| oldest.min(record.arrival)),
                );
            }
            Transformed::Failed { reason } => self.failures.push(FailedRecord {
                arrival: record.arrival,
                data: record.data.to_vec(),
                reason,
            }),
        }
    }

    /// Firehose flushes when either buffering hint is reached.
    pub fn is_due(&self, max_bytes: usize, max_age: Duration) -> bool {
        self.bytes >= max_bytes || self.opened.is_some_and(|t| t.elapsed() >= max_age)
    }

    pub fn ranges(&self) -> &BTreeMap<String, ShardRange> {
        &self.ranges
    }

    /// Fingerprints of everything this batch delivers, to remember after the flush.
    pub fn delivered_fingerprints(&self) -> impl Iterator<Item = String> + '_ {
        self.fingerprints.iter().map(|f| fingerprint_text(*f))
    }

    /// The objects of this flush: one data object of every row, in `format` (Parquet objects
    /// end in `.parquet`), and the failed records as Firehose's error lines, one object per
    /// day of their arrival. The data object lies in the partition of its oldest record's
    /// arrival, as Firehose's `!{timestamp:…}` prefixes do ("the approximate arrival
    /// timestamp of the oldest record that's contained in the Amazon S3 object being
    /// written", Firehose Developer Guide, custom prefixes, the timestamp namespace), not in
    /// each row's own hour. Names depend only on the batch's content (its Kinesis ranges and
    /// first arrival time), so replaying an interrupted flush overwrites the same objects
    /// instead of adding copies.
    pub fn objects(
        &self,
        delivery_stream: &str,
        format: LakeFormat,
    ) -> anyhow::Result<Vec<ObjectToWrite>> {
        let stamp = self.first_arrival.unwrap_or_default();
        let name = layout::object_name(delivery_stream, stamp, &flush_id(&self.ranges));
        let mut objects = Vec::new();
        if let Some(oldest) = self.oldest_row {
            let partition = PartitionKey::from_datetime(&oldest);
            let body = match format {
                LakeFormat::Json => self.rows.clone(),
                LakeFormat::Parquet => parquet::encode(&self.rows)?,
            };
            objects.push(ObjectToWrite {
                key: layout::data_key(
                    partition.dt(),
                    partition.hour(),
                    &format!("{name}{}", format.extension()),
                ),
                body,
                rows: self.row_count,
            });
        }
        let mut by_day: BTreeMap<String, (Vec<u8>, u64)> = BTreeMap::new();
        for failure in &self.failures {
            let (body, rows) = by_day
                .entry(failure.arrival.format("%Y-%m-%d").to_string())
                .or_default();
            body.extend_from_slice(error_line(failure).as_bytes());
            body.push(b'\n');
            *rows += 1;
        }
        objects.extend(by_day.into_iter().map(|(dt, (body, rows))| ObjectToWrite {
            key: layout::error_key(layout::PROCESSING_FAILED, &dt, &name),
            body,
            rows,
        }));
        Ok(objects)
    }

    pub fn row_count(&self) -> u64 {
        self.row_count
    }

    pub fn failure_count(&self) -> u64 {
        self.failures.len() as u64
    }
}

/// The JSON line Firehose writes for a record that failed processing.
fn error_line(failure: &FailedRecord) -> String {
    let millis = failure.arrival.timestamp_millis();
    serde_json::json!({
        "attemptsMade": 1,
        "arrivalTimestamp": millis,
        "errorCode": "Lambda.ProcessingFailed",
        "errorMessage": failure.reason,
        "attemptEndingTimestamp": millis,
        "rawData": base64::engine::general_purpose::STANDARD.encode(&failure.data),
        "lambdaArn": "salesctl:local-transform",
    })
    .to_string()
}

/// FNV-1a over the data, twice with different offsets: a stable 128-bit fingerprint (the
/// std hasher is not guaranteed stable across Rust releases, and checkpoints outlive them).
pub fn fingerprint(data: &[u8]) -> u128 {
    let fnv = |offset: u64| {
        data.iter().fold(offset, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    (u128::from(fnv(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(fnv(0x6c62_272e_07bb_0142))
}

fn fingerprint_text(f: u128) -> String {
    format!("{f:032x}")
}

/// A UUID-shaped id derived from the flush's ranges.
fn flush_id(ranges: &BTreeMap<String, ShardRange>) -> String {
    let mut text = String::new();
    for (shard, range) in ranges {
        text.push_str(&format!(
            "{shard}:{}:{};",
            range.start_after.as_deref().unwrap_or(""),
            range.last
        ));
    }
    uuid_shaped_id(text.as_bytes())
}

/// A UUID-shaped id (`8-4-4-4-12` hex digits) derived from `content`, as Firehose's object
/// names end: the same content always gives the same id.
pub fn uuid_shaped_id(content: &[u8]) -> String {
    let hex = fingerprint_text(fingerprint(content));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-20T08:15:02Z
    const ARRIVAL: i64 = 1_795_162_502;

    fn incoming<'a>(shard: &'a str, seq: &'a str, data: &'a [u8]) -> Incoming<'a> {
        at(ARRIVAL, incoming_now(shard, seq, data))
    }

    fn incoming_now<'a>(shard: &'a str, seq: &'a str, data: &'a [u8]) -> Incoming<'a> {
        Incoming {
            shard_id: shard,
            sequence_number: seq,
            arrival: Utc::now(),
            data,
        }
    }

    fn at(seconds: i64, record: Incoming<'_>) -> Incoming<'_> {
        Incoming {
            arrival: DateTime::from_timestamp(seconds, 0).unwrap(),
            ..record
        }
    }

    /// `bad…` fails; anything else becomes the row `{"order_id":"<data>"}`.
    fn row(data: &[u8]) -> Transformed {
        if data.starts_with(b"bad") {
            return Transformed::Failed {
                reason: "not JSON".into(),
            };
        }
        let id = String::from_utf8_lossy(data);
        Transformed::Row {
            line: format!("{{\"order_id\":\"{id}\"}}\n").into_bytes(),
        }
    }

    fn keys(batch: &Batch) -> Vec<String> {
        batch
            .objects("salesctl-orders", LakeFormat::Json)
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect()
    }

    #[test]
    fn one_data_object_per_flush_in_the_oldest_arrivals_hour_and_failures_kept() {
        let mut batch = Batch::default();
        let none = HashSet::new();
        // Arrivals in two hours (08:15:02 and 09:05:00): one object, in the older one's hour.
        batch.add(&incoming("s0", "1", b"a1"), None, &none, row);
        batch.add(
            &at(ARRIVAL + 2998, incoming_now("s0", "2", b"b1")),
            None,
            &none,
            row,
        );
        batch.add(&incoming("s1", "7", b"a2"), Some("6"), &none, row);
        batch.add(&incoming("s1", "8", b"bad"), Some("6"), &none, row);
        let objects = batch.objects("salesctl-orders", LakeFormat::Json).unwrap();
        assert_eq!(objects.len(), 2);
        assert!(
            objects[0]
                .key
                .starts_with("orders/dt=2026-11-20/hour=08/salesctl-orders-1-2026-11-20-08-15-02-"),
            "{}",
            objects[0].key
        );
        assert_eq!(
            objects[0].body,
            b"{\"order_id\":\"a1\"}\n{\"order_id\":\"b1\"}\n{\"order_id\":\"a2\"}\n"
        );
        assert_eq!(objects[0].rows, 3);
        assert!(
            objects[1]
                .key
                .starts_with("errors/processing-failed/dt=2026-11-20/")
        );
        let error: serde_json::Value =
            serde_json::from_slice(objects[1].body.trim_ascii_end()).unwrap();
        assert_eq!(error["rawData"], "YmFk");
        assert_eq!(error["errorMessage"], "not JSON");
        assert_eq!(
            batch.ranges()["s1"],
            ShardRange {
                start_after: Some("6".into()),
                last: "8".into()
            }
        );
        assert_eq!((batch.row_count(), batch.failure_count()), (3, 1));
    }

    #[test]
    fn the_partition_is_the_oldest_rows_arrival_not_the_rows_own_time_nor_a_failures() {
        let none = HashSet::new();
        let mut batch = Batch::default();
        // A failure arrived first (the day before), then rows at 23:59:59 and 00:00:01.
        batch.add(
            &at(ARRIVAL - 86_400, incoming_now("s0", "1", b"bad")),
            None,
            &none,
            row,
        );
        batch.add(
            &at(1_795_219_199, incoming_now("s0", "3", b"late")),
            None,
            &none,
            row,
        );
        batch.add(
            &at(1_795_219_201, incoming_now("s0", "4", b"next")),
            None,
            &none,
            row,
        );
        let keys = keys(&batch);
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(
            keys[0].starts_with("orders/dt=2026-11-20/hour=23/"),
            "{keys:?}"
        );
        assert!(
            keys[1].starts_with("errors/processing-failed/dt=2026-11-19/"),
            "{keys:?}"
        );
        // The name keeps the batch's first arrival, the failure's, like every object of the
        // flush.
        assert!(keys[0].contains("-2026-11-19-08-15-02-"), "{keys:?}");
    }

    #[test]
    fn parquet_objects_end_in_parquet_and_hold_the_rows_errors_stay_json_lines() {
        let none = HashSet::new();
        let mut batch = Batch::default();
        batch.add(&incoming("s0", "1", b"a1"), None, &none, row);
        batch.add(&incoming("s0", "2", b"a2"), None, &none, row);
        batch.add(&incoming("s0", "3", b"bad"), None, &none, row);
        let json = batch.objects("x", LakeFormat::Json).unwrap();
        let objects = batch.objects("x", LakeFormat::Parquet).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].key, format!("{}.parquet", json[0].key));
        assert_eq!(objects[0].rows, 2);
        assert_eq!(parquet::decode(&objects[0].body).unwrap(), json[0].body);
        assert_eq!(
            objects[1], json[1],
            "error objects are JSON lines, unsuffixed"
        );
        assert_eq!(
            batch.objects("x", LakeFormat::Parquet).unwrap(),
            objects,
            "the same batch encodes to the same bytes"
        );
    }

    #[test]
    fn a_flush_of_failures_alone_writes_no_data_object() {
        let mut batch = Batch::default();
        batch.add(&incoming("s0", "1", b"bad"), None, &HashSet::new(), row);
        let objects = batch.objects("x", LakeFormat::Parquet).unwrap();
        assert_eq!(objects.len(), 1);
        assert!(objects[0].key.starts_with("errors/"));
    }

    #[test]
    fn copies_are_dropped_and_names_are_reproducible() {
        let build = |delivered: &HashSet<String>| {
            let mut batch = Batch::default();
            batch.add(&incoming("s0", "1", b"a1"), None, delivered, row);
            batch.add(&incoming("s0", "2", b"a1"), None, delivered, row);
            batch.add(&incoming("s0", "3", b"a3"), None, delivered, row);
            batch
        };
        let first = build(&HashSet::new());
        assert_eq!(first.duplicates_dropped, 1);
        assert_eq!(keys(&first), keys(&build(&HashSet::new())));
        let delivered: HashSet<String> = first.delivered_fingerprints().collect();
        let again = build(&delivered);
        assert_eq!(again.row_count(), 0);
        assert_eq!(again.duplicates_dropped, 3);
    }

    #[test]
    fn names_do_not_depend_on_the_order_shards_were_read_in() {
        let none = HashSet::new();
        let early = at(1_795_158_800, incoming_now("s0", "1", b"a1"));
        let late = at(1_795_165_000, incoming_now("s1", "7", b"a2"));
        let mut passes = Batch::default();
        passes.add(&late, None, &none, row);
        passes.add(&early, None, &none, row);
        let mut replay = Batch::default();
        replay.add(&early, None, &none, row);
        replay.add(&late, None, &none, row);
        assert_eq!(keys(&passes), keys(&replay));
        assert_eq!(keys(&passes).len(), 1);
        assert!(
            keys(&passes)[0]
                .starts_with("orders/dt=2026-11-20/hour=07/salesctl-orders-1-2026-11-20-07-"),
            "{:?}",
            keys(&passes)
        );
    }

    #[test]
    fn due_by_size() {
        let mut batch = Batch::default();
        assert!(!batch.is_due(4, Duration::from_secs(60)));
        batch.add(&incoming("s0", "1", b"a1234"), None, &HashSet::new(), row);
        assert!(batch.is_due(4, Duration::from_secs(60)));
        assert!(!batch.is_due(1 << 20, Duration::from_secs(60)));
        assert!(batch.is_due(1 << 20, Duration::ZERO));
    }
}
