//! The pipe stage's writer: records into Kinesis with PutRecords, so that each item's changes
//! stay in order even when a call partly fails.
//!
//! PutRecords may accept some entries of a call and reject others. Re-sending only the
//! rejected ones would put an item's older change after a newer one from the same call, so
//! a call never holds two records with the same partition key: the rejected ones are then
//! re-sent alone, before anything later of the same item.

use std::ops::Range;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use crate::aws::ServiceResultExt;
use crate::error::service_error;
use crate::stream::{RawRecord, backoff};

/// Kinesis takes at most 500 records and 5 MiB per PutRecords call.
const MAX_RECORDS: usize = 500;
const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Rounds of re-sending rejected entries before giving up (about a minute of backoff).
const MAX_ATTEMPTS: u32 = 12;

/// Splits `records` into consecutive calls: each within Kinesis' limits and holding no
/// partition key twice.
pub fn put_calls(records: &[RawRecord]) -> Vec<Range<usize>> {
    let mut calls = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    let mut keys = std::collections::HashSet::new();
    for (index, record) in records.iter().enumerate() {
        let size = record.data.len() + record.partition_key.len();
        let full = index - start >= MAX_RECORDS || bytes + size > MAX_BYTES;
        if index > start && (full || keys.contains(record.partition_key.as_str())) {
            calls.push(start..index);
            start = index;
            bytes = 0;
            keys.clear();
        }
        keys.insert(record.partition_key.as_str());
        bytes += size;
    }
    if start < records.len() {
        calls.push(start..records.len());
    }
    calls
}

/// Where Kinesis put one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    pub shard_id: String,
    pub sequence_number: String,
}

/// Puts one call's records, re-sending rejected entries with backoff until all are
/// acknowledged; returns where each record went, in the order given. Errors only when
/// Kinesis keeps refusing.
pub async fn put_all(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    records: &[RawRecord],
) -> anyhow::Result<Vec<Placed>> {
    let entries = records
        .iter()
        .map(|record| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(record.data.clone()))
                .partition_key(&record.partition_key)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut placed = vec![Placed::default(); records.len()];
    // Indexes into `records` of the entries not yet acknowledged.
    let mut pending: Vec<usize> = (0..records.len()).collect();
    for attempt in 0..MAX_ATTEMPTS {
        let output = client
            .put_records()
            .stream_name(stream)
            .set_records(Some(pending.iter().map(|i| entries[*i].clone()).collect()))
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(error) if is_retryable(&error) => {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            Err(error) => {
                return Err(error)
                    .service_context(|| format!("putting records into stream '{stream}'"));
            }
        };
        let all_accepted = output.failed_record_count.unwrap_or(0) == 0;
        let mut results = output.records.into_iter();
        pending.retain(|index| match results.next() {
            Some(result) if result.error_code.is_none() => {
                placed[*index] = Placed {
                    shard_id: result.shard_id.unwrap_or_default(),
                    sequence_number: result.sequence_number.unwrap_or_default(),
                };
                false
            }
            // Rejected: sent again. An answer without a result for it counts as accepted
            // when the call says none failed.
            Some(_) => true,
            None => !all_accepted,
        });
        if pending.is_empty() {
            return Ok(placed);
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err(service_error(format!(
        "stream '{stream}' kept rejecting {} records: add shards or slow the writers",
        pending.len()
    )))
}

fn is_retryable<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(error: &E) -> bool {
    error.code().is_some_and(|code| {
        crate::stream::classify_code(code) == crate::stream::ErrorKind::Throttled
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn record(key: &str, size: usize) -> RawRecord {
        RawRecord {
            sequence_number: "1".into(),
            partition_key: key.into(),
            data: vec![b'x'; size],
            arrival: None,
        }
    }

    #[test]
    fn a_repeated_key_starts_a_new_call() {
        let records = [
            record("a", 1),
            record("b", 1),
            record("a", 1),
            record("c", 1),
        ];
        assert_eq!(put_calls(&records), vec![0..2, 2..4]);
    }

    #[test]
    fn calls_stay_within_kinesis_limits() {
        let many: Vec<RawRecord> = (0..1201).map(|i| record(&i.to_string(), 10)).collect();
        assert_eq!(put_calls(&many), vec![0..500, 500..1000, 1000..1201]);
        let big: Vec<RawRecord> = (0..6)
            .map(|i| record(&i.to_string(), 1024 * 1024))
            .collect();
        assert_eq!(put_calls(&big), vec![0..4, 4..6]);
        assert!(put_calls(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn calls_cover_everything_in_order_with_distinct_keys(keys in proptest::collection::vec(0u8..20, 0..2000)) {
            let records: Vec<RawRecord> = keys.iter().map(|k| record(&k.to_string(), 3)).collect();
            let calls = put_calls(&records);
            let mut next = 0;
            for call in &calls {
                prop_assert_eq!(call.start, next);
                prop_assert!(call.end > call.start && call.end - call.start <= MAX_RECORDS);
                let mut seen = std::collections::HashSet::new();
                for record in &records[call.clone()] {
                    prop_assert!(seen.insert(record.partition_key.clone()));
                }
                next = call.end;
            }
            prop_assert_eq!(next, records.len());
        }
    }
}
