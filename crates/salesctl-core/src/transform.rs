//! The Firehose data-transformation contract on top of change records: a transformation event
//! in, a response out, every recordId answered exactly once, in order. Pure; no AWS client.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Deserialize;

use crate::change::{self, ChangeRecord, CreationTimeSource, DecodeError};
use crate::lake_schema::{self, Misfit};

/// The most bytes a response may have. Lambda's synchronous limit is "6 MB"; 6,000,000 bytes
/// is under it whichever megabyte AWS means.
pub const MAX_RESPONSE_BYTES: usize = 6_000_000;

/// Set to `1`/`true`/`yes` to emit `metadata.partitionKeys`; read by [`TransformOptions::from_env`].
pub const PARTITION_KEYS_ENV: &str = "SALESCTL_PARTITION_KEYS";

/// The three results Firehose accepts. (aws_lambda_events documents `TransformedStateOk`, which
/// Firehose rejects.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordResult {
    Ok,
    Dropped,
    ProcessingFailed,
}

impl RecordResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Ok => "Ok",
            RecordResult::Dropped => "Dropped",
            RecordResult::ProcessingFailed => "ProcessingFailed",
        }
    }
}

impl fmt::Display for RecordResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The UTC date and hour a change belongs to: Firehose's `dt`/`hour` partition. Orders
/// chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    dt: [u8; 10],
    hour: [u8; 2],
}

impl PartitionKey {
    /// Years outside 0..=9999 are clamped; decoded records are always inside.
    pub fn from_datetime(at: &DateTime<Utc>) -> PartitionKey {
        let year = at.year().clamp(0, 9999).unsigned_abs();
        let digit = |value: u32, power: u32| b'0' + ((value / 10u32.pow(power)) % 10) as u8;
        let (month, day, hour) = (at.month(), at.day(), at.hour());
        PartitionKey {
            dt: [
                digit(year, 3),
                digit(year, 2),
                digit(year, 1),
                digit(year, 0),
                b'-',
                digit(month, 1),
                digit(month, 0),
                b'-',
                digit(day, 1),
                digit(day, 0),
            ],
            hour: [digit(hour, 1), digit(hour, 0)],
        }
    }

    /// `YYYY-MM-DD`
    pub fn dt(&self) -> &str {
        std::str::from_utf8(&self.dt).unwrap_or_default()
    }

    /// `HH`, 00 to 23.
    pub fn hour(&self) -> &str {
        std::str::from_utf8(&self.hour).unwrap_or_default()
    }
}

impl fmt::Display for PartitionKey {
    /// The S3 key fragment: `dt=2026-11-20/hour=08`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dt={}/hour={}", self.dt(), self.hour())
    }
}

/// What one Kinesis record's data turns into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// One `\n`-terminated JSON line and the partition it belongs to.
    Ok {
        row: Vec<u8>,
        partition: PartitionKey,
    },
    Failed {
        reason: RecordError,
    },
}

/// Why a record has no row in the lake. `Display` is one line naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The data is not a change record.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// A change record whose row the lake table cannot hold (boxed: errors stay small).
    #[error("{0}")]
    Misfit(Box<RowMisfit>),
}

impl From<RowMisfit> for RecordError {
    fn from(misfit: RowMisfit) -> Self {
        RecordError::Misfit(Box::new(misfit))
    }
}

/// A row that does not fit the lake schema ([`lake_schema::check_image`]): written to the lake,
/// it would make every query that reads its column fail, on Athena and on the local engine, for
/// the whole table. Names the item by its key (the order id) and the attribute at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the row of {key} does not fit the lake table {table}: {misfit}", table = lake_schema::TABLE)]
pub struct RowMisfit {
    /// The item's key attributes as `name value` (JSON), e.g. `order_id "o-000000000042"`.
    pub key: String,
    pub misfit: Misfit,
}

impl RowMisfit {
    fn of(record: &ChangeRecord, misfit: Misfit) -> RowMisfit {
        let key = record
            .keys
            .iter()
            .map(|(name, value)| {
                let mut value = value.to_owned();
                if let Some((at, _)) = value.char_indices().nth(lake_schema::MISFIT_VALUE_CHARS) {
                    value.truncate(at);
                    value.push('…');
                }
                format!("{name} {value}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        RowMisfit {
            key: if key.is_empty() {
                "an item without keys".to_owned()
            } else {
                key
            },
            misfit,
        }
    }
}

/// Transforms one record's (already base64-decoded) data. For loops over many records,
/// [`RecordTransformer`] reuses its buffers and allocates nothing once warm.
pub fn transform_record(data: &[u8]) -> RecordOutcome {
    let mut row = Vec::with_capacity(data.len());
    match RecordTransformer::new().transform_into(data, &mut row) {
        Ok(partition) => RecordOutcome::Ok { row, partition },
        Err(reason) => RecordOutcome::Failed { reason },
    }
}

/// Reusable state for transforming many records.
#[derive(Debug, Default)]
pub struct RecordTransformer {
    record: ChangeRecord,
    arrival_fallbacks: u64,
}

impl RecordTransformer {
    pub fn new() -> RecordTransformer {
        RecordTransformer::default()
    }

    /// Appends the flat row of `data` to `row` (nothing is appended on error). A record
    /// without `dynamodb.ApproximateCreationDateTime` fails; see
    /// [`transform_with_arrival`](Self::transform_with_arrival).
    pub fn transform_into(
        &mut self,
        data: &[u8],
        row: &mut Vec<u8>,
    ) -> Result<PartitionKey, RecordError> {
        self.transform_with_arrival(data, None, row)
    }

    /// Appends the flat row of `data` to `row` (nothing is appended on error): the record is
    /// decoded, its row image checked against the lake schema
    /// ([`lake_schema::check_image`]: attributes that are not lake columns pass as they are),
    /// and the row written. A record without `dynamodb.ApproximateCreationDateTime` takes
    /// `arrival`, the Kinesis record's arrival time, when given; each such fallback is counted
    /// ([`arrival_fallbacks`](Self::arrival_fallbacks)).
    pub fn transform_with_arrival(
        &mut self,
        data: &[u8],
        arrival: Option<DateTime<Utc>>,
        row: &mut Vec<u8>,
    ) -> Result<PartitionKey, RecordError> {
        let source = change::decode_into_with_arrival(data, &mut self.record, arrival)?;
        if let Err(misfit) = lake_schema::check_image(self.record.row_image().iter()) {
            return Err(RowMisfit::of(&self.record, misfit).into());
        }
        if source == CreationTimeSource::Arrival {
            self.arrival_fallbacks += 1;
        }
        self.record.write_flat_row(row);
        Ok(PartitionKey::from_datetime(&self.record.created_at))
    }

    /// Rows whose `creation_datetime` is the Kinesis arrival time because the record had no
    /// `dynamodb.ApproximateCreationDateTime`, since this transformer was made.
    pub fn arrival_fallbacks(&self) -> u64 {
        self.arrival_fallbacks
    }

    /// The record decoded by the last successful [`transform_into`](Self::transform_into).
    pub fn last_record(&self) -> &ChangeRecord {
        &self.record
    }
}

/// How a transformation event is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformOptions {
    /// Emit `metadata.partitionKeys = {"dt":"YYYY-MM-DD","hour":"HH"}` (UTC, from the
    /// change's `creation_datetime`) on `Ok` answers, for a delivery stream with dynamic
    /// partitioning and a prefix such as
    /// `orders/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/`.
    /// The Lambda turns it on with `SALESCTL_PARTITION_KEYS=1`.
    pub partition_keys: bool,
    /// The response budget; see the module docs.
    pub max_response_bytes: usize,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions {
            partition_keys: false,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

impl TransformOptions {
    /// Defaults, with partition keys on when `SALESCTL_PARTITION_KEYS` is `1`, `true` or `yes`.
    pub fn from_env() -> TransformOptions {
        let partition_keys = std::env::var(PARTITION_KEYS_ENV).is_ok_and(|value| {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        TransformOptions {
            partition_keys,
            ..TransformOptions::default()
        }
    }
}

/// The response and what happened, for logs and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformedEvent {
    /// The response JSON, `{"records":[…]}`.
    pub response: Vec<u8>,
    pub records: usize,
    pub ok: usize,
    /// Every record answered `ProcessingFailed`, in order.
    pub failures: Vec<RecordFailure>,
    /// `Ok` rows whose `creation_datetime` is the Kinesis arrival time (the record had no
    /// `dynamodb.ApproximateCreationDateTime`).
    pub arrival_fallbacks: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    /// Position in the event's `records`.
    pub index: usize,
    pub record_id: String,
    pub reason: FailureReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailureReason {
    #[error("data is not base64: {0}")]
    NotBase64(base64::DecodeError),
    #[error("{0}")]
    Decode(DecodeError),
    #[error("{0}")]
    Misfit(Box<RowMisfit>),
    #[error("the row did not fit in the {limit}-byte response")]
    ResponseFull { limit: usize },
}

/// The event as a whole could not be answered; the Lambda fails and Firehose retries.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("not a Firehose transformation event: {0}")]
    InvalidEvent(#[from] serde_json::Error),
    #[error(
        "even minimal answers to the {records} records take {needed} bytes, over the {limit}-byte response limit"
    )]
    ResponseTooLarge {
        records: usize,
        needed: usize,
        limit: usize,
    },
}

#[derive(Deserialize)]
struct FirehoseEvent<'a> {
    #[serde(borrow)]
    records: Vec<FirehoseRecord<'a>>,
}

#[derive(Deserialize)]
struct FirehoseRecord<'a> {
    #[serde(rename = "recordId", borrow)]
    record_id: Text<'a>,
    /// Missing or `null` data is answered ProcessingFailed rather than failing the batch.
    #[serde(default, borrow)]
    data: Option<Text<'a>>,
    #[serde(rename = "approximateArrivalTimestamp", default)]
    approximate_arrival_timestamp: Millis,
    #[serde(rename = "kinesisRecordMetadata", default)]
    kinesis_record_metadata: Option<KinesisRecordMetadata>,
}

impl FirehoseRecord<'_> {
    fn data(&self) -> &str {
        self.data.as_ref().map_or("", |text| &text.0)
    }

    /// When the record reached the Kinesis stream: `kinesisRecordMetadata`'s
    /// `approximateArrivalTimestamp` for a Kinesis source, else the record's own (when it
    /// reached Firehose); epoch milliseconds.
    fn arrival(&self) -> Option<DateTime<Utc>> {
        let millis = self
            .kinesis_record_metadata
            .as_ref()
            .and_then(|metadata| metadata.approximate_arrival_timestamp.0)
            .or(self.approximate_arrival_timestamp.0)?;
        DateTime::from_timestamp_millis(millis)
    }
}

#[derive(Deserialize)]
struct KinesisRecordMetadata {
    #[serde(rename = "approximateArrivalTimestamp", default)]
    approximate_arrival_timestamp: Millis,
}

/// Epoch milliseconds when the value is a number; anything else reads as absent, so an odd
/// timestamp never fails the whole batch.
#[derive(Default)]
struct Millis(Option<i64>);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds")
            }
            fn visit_i64<E>(self, value: i64) -> Result<Millis, E> {
                Ok(Millis(Some(value)))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Millis, E> {
                Ok(Millis(i64::try_from(value).ok()))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Millis, E> {
                Ok(Millis(
                    (value.is_finite() && value.abs() < 9.0e15).then_some(value as i64),
                ))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Millis, E> {
                Ok(Millis(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Millis, E> {
                Ok(Millis(None))
            }
            fn visit_unit<E>(self) -> Result<Millis, E> {
                Ok(Millis(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Millis, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Millis(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Millis, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Millis(None))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A string borrowed from the event whenever it has no escapes (base64 never does).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl Text<'_> {
    /// serde_json borrows only strings that had no escapes, and a JSON string cannot hold a raw
    /// quote, backslash or control character, so a borrowed text needs no escaping: this skips
    /// a scan of every byte of every record.
    fn escaped_len(&self) -> usize {
        match &self.0 {
            Cow::Borrowed(text) => text.len(),
            Cow::Owned(text) => json_string_body_len(text),
        }
    }

    fn write_escaped(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Cow::Borrowed(text) => out.extend_from_slice(text.as_bytes()),
            Cow::Owned(text) => change::write_json_string_body(out, text),
        }
    }
}

const RESPONSE_HEAD: &[u8] = b"{\"records\":[";
const RESPONSE_TAIL: &[u8] = b"]}";
const ANSWER_ID: &[u8] = b"{\"recordId\":";
const ANSWER_OK: &[u8] = b",\"result\":\"Ok\",\"data\":\"";
const ANSWER_FAILED: &[u8] = b",\"result\":\"ProcessingFailed\",\"data\":\"";
const PARTITION_HEAD: &[u8] = b"\",\"metadata\":{\"partitionKeys\":{\"dt\":\"";
const PARTITION_HOUR: &[u8] = b"\",\"hour\":\"";
const PARTITION_TAIL: &[u8] = b"\"}}}";
const ANSWER_TAIL: &[u8] = b"\"}";

/// [`transform_event_with`] with default options, returning only the response JSON.
pub fn transform_event(event_json: &[u8]) -> Result<Vec<u8>, TransformError> {
    transform_event_with(event_json, &TransformOptions::default()).map(|done| done.response)
}

/// Answers a Firehose transformation event.
///
/// Per record: base64-decode `data`, decode the change record (either format), check its row
/// against the lake schema, write its flat row (one `\n`-terminated JSON line), base64-encode
/// it. A record that cannot be decoded, or whose row the lake table cannot hold (`quantity:
/// "many"`: [`RowMisfit`]), is answered `ProcessingFailed` with its original data, so Firehose
/// files it under the error prefix and the rest of the batch goes through; the reason is in
/// [`TransformedEvent::failures`] (Firehose's error documents carry only its own code, so the
/// Lambda logs it). A record without `dynamodb.ApproximateCreationDateTime` takes the Kinesis
/// record's arrival time (`kinesisRecordMetadata.approximateArrivalTimestamp`, else the
/// record's `approximateArrivalTimestamp`), counted in [`TransformedEvent::arrival_fallbacks`].
/// `Dropped` is never used: deletes are rows. Only an event that cannot be read at all (no
/// `records`, a record without `recordId`) is an error, on which the Lambda fails and Firehose
/// retries.
///
/// # The 6 MB response limit
/// Firehose invokes the Lambda synchronously, and a synchronous response may be at most 6 MB;
/// a larger one fails the whole invocation, Firehose retries the batch, and after the retries
/// every record in it lands in processing-failed. Rows are normally smaller than the Streams
/// records they come from, so this only bites with tiny records, but the response must still
/// never cross the line. So the budget is kept while writing: a record is answered `Ok` only if
/// that answer, plus the smallest answers of all records after it (`ProcessingFailed` echoing
/// their data), still fits [`TransformOptions::max_response_bytes`]. A record that does not fit
/// is answered `ProcessingFailed` instead ([`FailureReason::ResponseFull`]): it lands in the
/// error prefix with its original data and can be replayed; nothing else is lost. Should even
/// echoing every record's data not fit, failed answers carry empty data: the records still
/// land in the processing-failed prefix, whose error documents carry the data Firehose sent
/// (`rawData`), not what the answer carried.
pub fn transform_event_with(
    event_json: &[u8],
    options: &TransformOptions,
) -> Result<TransformedEvent, TransformError> {
    let event: FirehoseEvent<'_> = serde_json::from_slice(event_json)?;
    let records = event.records;
    let limit = options.max_response_bytes;

    let quoted_id_len = |index: usize| records[index].record_id.escaped_len() + 2;

    // min_after[i]: the bytes that answering records i.. as ProcessingFailed would take, tail
    // included; what must stay free before record i is answered.
    let fixed = RESPONSE_HEAD.len() + RESPONSE_TAIL.len();
    let failed_len = |index: usize, data_len: usize| {
        usize::from(index > 0)
            + ANSWER_ID.len()
            + quoted_id_len(index)
            + ANSWER_FAILED.len()
            + data_len
            + ANSWER_TAIL.len()
    };
    let echoed_len = |index: usize| {
        failed_len(
            index,
            records[index].data.as_ref().map_or(0, Text::escaped_len),
        )
    };
    let mut echo_data = true;
    let mut min_after = suffix_sums(records.len(), RESPONSE_TAIL.len(), echoed_len);
    if RESPONSE_HEAD.len() + min_after[0] > limit {
        echo_data = false;
        min_after = suffix_sums(records.len(), RESPONSE_TAIL.len(), |index| {
            failed_len(index, 0)
        });
        if RESPONSE_HEAD.len() + min_after[0] > limit {
            return Err(TransformError::ResponseTooLarge {
                records: records.len(),
                needed: RESPONSE_HEAD.len() + min_after[0],
                limit,
            });
        }
    }

    let mut out = Vec::with_capacity(event_json.len().min(limit).max(fixed));
    out.extend_from_slice(RESPONSE_HEAD);
    let mut transformer = RecordTransformer::new();
    let mut decoded = Vec::new();
    let mut row = Vec::new();
    let mut ok = 0;
    let mut failures = Vec::new();

    let mut arrival_fallbacks = 0;
    for (index, record) in records.iter().enumerate() {
        let data = record.data();
        let mut fell_back = false;
        decoded.clear();
        let transformed = STANDARD
            .decode_vec(data, &mut decoded)
            .map_err(FailureReason::NotBase64)
            .and_then(|()| {
                row.clear();
                let fallbacks = transformer.arrival_fallbacks();
                let partition = transformer
                    .transform_with_arrival(&decoded, record.arrival(), &mut row)
                    .map_err(|error| match error {
                        RecordError::Decode(error) => FailureReason::Decode(error),
                        RecordError::Misfit(misfit) => FailureReason::Misfit(misfit),
                    })?;
                fell_back = transformer.arrival_fallbacks() > fallbacks;
                Ok(partition)
            });
        let separator = usize::from(index > 0);
        let outcome = transformed.and_then(|partition| {
            let closing_len = if options.partition_keys {
                PARTITION_HEAD.len() + 10 + PARTITION_HOUR.len() + 2 + PARTITION_TAIL.len()
            } else {
                ANSWER_TAIL.len()
            };
            let answer_len = separator
                + ANSWER_ID.len()
                + quoted_id_len(index)
                + ANSWER_OK.len()
                + base64_len(row.len())
                + closing_len;
            if out.len() + answer_len + min_after[index + 1] <= limit {
                Ok(partition)
            } else {
                Err(FailureReason::ResponseFull { limit })
            }
        });

        if separator == 1 {
            out.push(b',');
        }
        out.extend_from_slice(ANSWER_ID);
        out.push(b'"');
        record.record_id.write_escaped(&mut out);
        out.push(b'"');
        match outcome {
            Ok(partition) => {
                out.extend_from_slice(ANSWER_OK);
                push_base64(&mut out, &row);
                if options.partition_keys {
                    out.extend_from_slice(PARTITION_HEAD);
                    out.extend_from_slice(partition.dt().as_bytes());
                    out.extend_from_slice(PARTITION_HOUR);
                    out.extend_from_slice(partition.hour().as_bytes());
                    out.extend_from_slice(PARTITION_TAIL);
                } else {
                    out.extend_from_slice(ANSWER_TAIL);
                }
                ok += 1;
                arrival_fallbacks += usize::from(fell_back);
            }
            Err(reason) => {
                out.extend_from_slice(ANSWER_FAILED);
                if let (true, Some(data)) = (echo_data, &record.data) {
                    data.write_escaped(&mut out);
                }
                out.extend_from_slice(ANSWER_TAIL);
                failures.push(RecordFailure {
                    index,
                    record_id: record.record_id.0.clone().into_owned(),
                    reason,
                });
            }
        }
    }
    out.extend_from_slice(RESPONSE_TAIL);
    Ok(TransformedEvent {
        response: out,
        records: records.len(),
        ok,
        failures,
        arrival_fallbacks,
    })
}

fn suffix_sums(count: usize, tail: usize, len_of: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut sums = vec![tail; count + 1];
    for index in (0..count).rev() {
        sums[index] = sums[index + 1] + len_of(index);
    }
    sums
}

fn base64_len(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4
}

fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + base64_len(bytes.len()), 0);
    let written = STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// The length of `text` inside a JSON string, as [`change::write_json_string_body`] writes it.
fn json_string_body_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_key_is_utc_date_and_hour() {
        let at = DateTime::from_timestamp(1_795_162_502, 0).unwrap_or_default();
        let key = PartitionKey::from_datetime(&at);
        assert_eq!((key.dt(), key.hour()), ("2026-11-20", "08"));
        assert_eq!(key.to_string(), "dt=2026-11-20/hour=08");
    }

    #[test]
    fn json_string_body_len_matches_the_writer() {
        for text in ["", "plain", "q\"b\\s\n\r\t\u{1}\u{1f}é"] {
            let mut out = Vec::new();
            change::write_json_string_body(&mut out, text);
            assert_eq!(out.len(), json_string_body_len(text), "{text:?}");
        }
    }
}
