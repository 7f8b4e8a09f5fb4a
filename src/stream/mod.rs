//! The one stream layer: what a shard, a record and a read position are, the trait a stream
//! service implements, and the rules every reader follows (errors, backoff, sequence order).
//!
//! `tail-cdc` and the local relay read through [`reader::ShardReader`] over either backend
//! ([`kinesis::KinesisStream`], [`dynamodb::DynamoDbStream`]), so lineage, throttling,
//! expired iterators and checkpoints are handled once.

pub mod dynamodb;
pub mod kinesis;
pub mod pipe_format;
pub mod positions;
pub mod reader;
pub mod repeats;

use std::future::Future;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use crate::aws::{describe, jittered_backoff};

/// Where reading starts in shards that have no stored position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
}

impl StartPosition {
    /// The time before which a reader that starts here has nothing to show: a resumed
    /// reader starts shards it has no position for from there (None: from their start).
    pub fn origin(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            StartPosition::TrimHorizon => None,
            StartPosition::Latest => Some(now),
            StartPosition::AtTimestamp(at) => Some(at),
        }
    }
}

/// Where one shard's iterator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IteratorStart {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
    AfterSequence(String),
}

/// A shard as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    /// Set once the shard is closed (split, merged or its stream's DynamoDB shard rolled over).
    pub ending_sequence: Option<String>,
}

/// One record as read from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub sequence_number: String,
    /// The record's partition key: Kinesis' own, or the item's key for a DynamoDB stream
    /// (what the Pipe is configured with), so a relay keeps one item on one shard.
    pub partition_key: String,
    pub data: Vec<u8>,
    /// Arrival time in the stream (Kinesis) or the change's creation time (DynamoDB Streams).
    pub arrival: Option<DateTime<Utc>>,
}

/// One GetRecords answer.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<RawRecord>,
    pub next_iterator: Option<String>,
    pub millis_behind: Option<i64>,
}

/// Why a call failed, sorted by what the reader does about it.
#[derive(Debug)]
pub enum SourceError {
    /// Back off with jitter and try again.
    Throttled(String),
    /// Get a new iterator from the last sequence number read.
    ExpiredIterator,
    /// The shard or its data is gone (trimmed past retention, or deleted).
    Gone(String),
    /// The stream does not exist.
    StreamNotFound(String),
    Other(String),
}

impl SourceError {
    /// Sorts an SDK error by its error code.
    pub fn from_sdk<E>(error: &E) -> SourceError
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        let text = describe(error);
        match error.code().map(classify_code) {
            Some(ErrorKind::Throttled) => SourceError::Throttled(text),
            Some(ErrorKind::ExpiredIterator) => SourceError::ExpiredIterator,
            Some(ErrorKind::Gone) => SourceError::Gone(text),
            Some(ErrorKind::NotFound) => SourceError::StreamNotFound(text),
            _ => SourceError::Other(text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Throttled,
    ExpiredIterator,
    Gone,
    NotFound,
    Other,
}

/// What an error code of Kinesis or DynamoDB Streams means for a reader.
pub fn classify_code(code: &str) -> ErrorKind {
    match code {
        "ProvisionedThroughputExceededException"
        | "LimitExceededException"
        | "ThrottlingException"
        | "Throttling"
        | "KMSThrottlingException"
        | "RequestLimitExceeded"
        | "SlowDown"
        | "ServiceUnavailable"
        | "InternalFailure"
        | "InternalServerError" => ErrorKind::Throttled,
        "ExpiredIteratorException" => ErrorKind::ExpiredIterator,
        "TrimmedDataAccessException" => ErrorKind::Gone,
        "ResourceNotFoundException" => ErrorKind::NotFound,
        _ => ErrorKind::Other,
    }
}

/// Compares two sequence numbers (decimal strings of up to 128 bits) numerically.
pub fn sequence_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A full-jitter exponential backoff: random in [cap/2, cap], cap = 100 ms * 2^attempt, at
/// most 10 s, so throttled shards spread their retries instead of retrying in step.
pub fn backoff(attempt: u32) -> Duration {
    jittered_backoff(Duration::from_millis(100), Duration::from_secs(10), attempt)
}

/// Sleeps until `deadline`, or forever without one: the optional timer arm of the
/// `select!` loops that drive a reader (`tail-cdc --timeout`, the relay's flush age).
pub async fn sleep_until_or_forever(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A stream service a [`reader::ShardReader`] can read: Kinesis, a DynamoDB stream, or a
/// fake in tests. Cloned into one task per shard.
pub trait StreamSource: Clone + Send + Sync + 'static {
    /// For messages: `Kinesis stream 'x'`.
    fn name(&self) -> String;
    /// Names the stream in checkpoints, so a checkpoint of one stream never steers another.
    fn checkpoint_key(&self) -> String;
    /// The one-line error for a stream that does not exist, with the fix.
    fn not_found_message(&self) -> String;
    /// The smallest gap between two GetRecords calls on one shard (the service's limit).
    fn min_call_gap(&self) -> Duration;
    /// False when the service has no AT_TIMESTAMP iterator: the reader then starts at the
    /// trim horizon and skips older records.
    fn supports_timestamps(&self) -> bool;
    fn list_shards(&self) -> impl Future<Output = Result<Vec<ShardInfo>, SourceError>> + Send;
    fn shard_iterator(
        &self,
        shard_id: &str,
        start: &IteratorStart,
    ) -> impl Future<Output = Result<Option<String>, SourceError>> + Send;
    fn get_records(&self, iterator: &str)
    -> impl Future<Output = Result<Page, SourceError>> + Send;
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert_eq!(sequence_cmp("9", "10"), Ordering::Less);
        assert_eq!(sequence_cmp("0010", "10"), Ordering::Equal);
        assert_eq!(
            sequence_cmp(
                "49590338271490256608559692538361571095921575989136588898",
                "49590338271490256608559692538361571095921575989136588899"
            ),
            Ordering::Less
        );
        assert_eq!(sequence_cmp("0", "0"), Ordering::Equal);
    }

    proptest! {
        #[test]
        fn sequence_order_is_numeric(a in 0u128.., b in 0u128..) {
            prop_assert_eq!(sequence_cmp(&a.to_string(), &b.to_string()), a.cmp(&b));
            prop_assert_eq!(sequence_cmp(&format!("00{a}"), &a.to_string()), Ordering::Equal);
        }
    }

    #[test]
    fn errors_sort_by_code() {
        assert_eq!(
            classify_code("ProvisionedThroughputExceededException"),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify_code("LimitExceededException"),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify_code("ExpiredIteratorException"),
            ErrorKind::ExpiredIterator
        );
        assert_eq!(classify_code("TrimmedDataAccessException"), ErrorKind::Gone);
        assert_eq!(
            classify_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(classify_code("ValidationException"), ErrorKind::Other);
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempt in 0..20 {
            let wait = backoff(attempt);
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << attempt.min(7))
                .min(Duration::from_secs(10));
            assert!(wait >= cap / 2 && wait <= cap, "{attempt}: {wait:?}");
        }
    }

    #[test]
    fn origin_is_where_a_fresh_reader_started() {
        let now = Utc::now();
        assert_eq!(StartPosition::TrimHorizon.origin(now), None);
        assert_eq!(StartPosition::Latest.origin(now), Some(now));
        let at = now - chrono::Duration::minutes(10);
        assert_eq!(StartPosition::AtTimestamp(at).origin(now), Some(at));
    }
}
