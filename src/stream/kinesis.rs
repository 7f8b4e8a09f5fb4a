//! The Kinesis backend of the stream layer: ListShards, GetShardIterator and GetRecords of
//! one named stream, errors sorted for the reader.

use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use chrono::DateTime;

use super::{IteratorStart, Page, RawRecord, ShardInfo, SourceError, StreamSource};

/// Kinesis' maximum page; fewer calls means fewer round trips on a backlog.
const PAGE: i32 = 10_000;
/// Kinesis allows five GetRecords calls per second per shard.
const MIN_CALL_GAP: Duration = Duration::from_millis(200);

/// One Kinesis data stream.
#[derive(Clone)]
pub struct KinesisStream {
    client: aws_sdk_kinesis::Client,
    stream: String,
}

impl KinesisStream {
    pub fn new(client: aws_sdk_kinesis::Client, stream: impl Into<String>) -> KinesisStream {
        KinesisStream {
            client,
            stream: stream.into(),
        }
    }

    pub fn stream_name(&self) -> &str {
        &self.stream
    }
}

impl StreamSource for KinesisStream {
    fn name(&self) -> String {
        format!("Kinesis stream '{}'", self.stream)
    }

    fn checkpoint_key(&self) -> String {
        format!("kinesis:{}", self.stream)
    }

    fn not_found_message(&self) -> String {
        format!(
            "Kinesis stream '{}' not found: run 'salesctl up' or pass --stream NAME",
            self.stream
        )
    }

    fn min_call_gap(&self) -> Duration {
        MIN_CALL_GAP
    }

    fn supports_timestamps(&self) -> bool {
        true
    }

    async fn list_shards(&self) -> Result<Vec<ShardInfo>, SourceError> {
        let mut shards = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            // With a next token the stream name must be left out.
            let request = match &next_token {
                Some(token) => self.client.list_shards().next_token(token),
                None => self.client.list_shards().stream_name(&self.stream),
            };
            let output = request
                .send()
                .await
                .map_err(|e| SourceError::from_sdk(&e))?;
            for shard in output.shards.unwrap_or_default() {
                shards.push(ShardInfo {
                    ending_sequence: shard
                        .sequence_number_range
                        .and_then(|r| r.ending_sequence_number),
                    id: shard.shard_id,
                    parent: shard.parent_shard_id,
                    adjacent_parent: shard.adjacent_parent_shard_id,
                });
            }
            match output.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(shards),
            }
        }
    }

    async fn shard_iterator(
        &self,
        shard_id: &str,
        start: &IteratorStart,
    ) -> Result<Option<String>, SourceError> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard_id);
        let request = match start {
            IteratorStart::TrimHorizon => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            IteratorStart::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
            IteratorStart::AtTimestamp(at) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_smithy_types::DateTime::from_millis(
                    at.timestamp_millis(),
                )),
            IteratorStart::AfterSequence(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(sequence),
        };
        let output = request
            .send()
            .await
            .map_err(|e| SourceError::from_sdk(&e))?;
        Ok(output.shard_iterator)
    }

    async fn get_records(&self, iterator: &str) -> Result<Page, SourceError> {
        let output = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(PAGE)
            .send()
            .await
            .map_err(|e| SourceError::from_sdk(&e))?;
        let records = output
            .records
            .into_iter()
            .map(|record| RawRecord {
                arrival: record
                    .approximate_arrival_timestamp
                    .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
                sequence_number: record.sequence_number,
                partition_key: record.partition_key.unwrap_or_default(),
                data: record.data.into_inner(),
            })
            .collect();
        Ok(Page {
            records,
            next_iterator: output.next_shard_iterator,
            millis_behind: output.millis_behind_latest,
        })
    }
}
