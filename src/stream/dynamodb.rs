//! The DynamoDB Streams backend of the stream layer: a table's stream read through the
//! Streams API, each record handed on in the Pipe's JSON with the item's key as partition key.

use std::time::Duration;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use chrono::DateTime;

use super::pipe_format::{partition_key, pipe_json};
use super::{IteratorStart, Page, RawRecord, ShardInfo, SourceError, StreamSource};
use crate::aws::ServiceResultExt;
use crate::error::service_error;

/// DynamoDB Streams allows four GetRecords calls per second per shard.
const MIN_CALL_GAP: Duration = Duration::from_millis(250);
/// The Streams API's largest page.
const PAGE: i32 = 1000;

/// One table's stream.
#[derive(Clone)]
pub struct DynamoDbStream {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    /// The table's partition key attribute: the Pipe's partition key path names it.
    key_attribute: String,
}

impl DynamoDbStream {
    pub fn new(
        client: aws_sdk_dynamodbstreams::Client,
        arn: String,
        key_attribute: String,
    ) -> DynamoDbStream {
        DynamoDbStream {
            client,
            arn,
            key_attribute,
        }
    }

    /// The latest stream of `table`; a missing table or a table without a stream is one error
    /// naming it and the fix.
    pub async fn for_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        client: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> anyhow::Result<DynamoDbStream> {
        let description = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .or_missing(|| format!("DynamoDB table '{table}'"), "--table NAME")?
            .table
            .ok_or_else(|| {
                service_error(format!(
                    "DynamoDB table '{table}' has no description: is the endpoint a DynamoDB endpoint?"
                ))
            })?;
        let arn = description.latest_stream_arn.ok_or_else(|| {
            service_error(format!(
                "DynamoDB table '{table}' has no stream: enable one with view type NEW_AND_OLD_IMAGES ('salesctl up' does)"
            ))
        })?;
        let key_attribute = description
            .key_schema
            .unwrap_or_default()
            .into_iter()
            .find(|k| k.key_type.as_str() == "HASH")
            .map_or_else(|| "order_id".to_string(), |k| k.attribute_name);
        Ok(DynamoDbStream::new(client, arn, key_attribute))
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }
}

impl StreamSource for DynamoDbStream {
    fn name(&self) -> String {
        format!("DynamoDB stream {}", self.arn)
    }

    fn checkpoint_key(&self) -> String {
        format!("dynamodb-stream:{}", self.arn)
    }

    fn not_found_message(&self) -> String {
        format!(
            "DynamoDB stream {} not found: check that the table's stream is enabled, or pass --table NAME",
            self.arn
        )
    }

    fn min_call_gap(&self) -> Duration {
        MIN_CALL_GAP
    }

    fn supports_timestamps(&self) -> bool {
        false
    }

    async fn list_shards(&self) -> Result<Vec<ShardInfo>, SourceError> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(after.take())
                .send()
                .await
                .map_err(|e| SourceError::from_sdk(&e))?;
            let Some(description) = output.stream_description else {
                return Ok(shards);
            };
            for shard in description.shards.unwrap_or_default() {
                let Some(id) = shard.shard_id else { continue };
                shards.push(ShardInfo {
                    id,
                    parent: shard.parent_shard_id,
                    adjacent_parent: None,
                    ending_sequence: shard
                        .sequence_number_range
                        .and_then(|r| r.ending_sequence_number),
                });
            }
            match description.last_evaluated_shard_id {
                Some(last) if !last.is_empty() => after = Some(last),
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
            .stream_arn(&self.arn)
            .shard_id(shard_id);
        let request = match start {
            // No AT_TIMESTAMP here: the reader starts at the trim horizon and skips older records.
            IteratorStart::TrimHorizon | IteratorStart::AtTimestamp(_) => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            IteratorStart::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
            IteratorStart::AfterSequence(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
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
            .unwrap_or_default()
            .iter()
            .map(|record| RawRecord {
                sequence_number: record
                    .dynamodb
                    .as_ref()
                    .and_then(|d| d.sequence_number.clone())
                    .unwrap_or_default(),
                partition_key: partition_key(record, &self.key_attribute),
                arrival: record
                    .dynamodb
                    .as_ref()
                    .and_then(|d| d.approximate_creation_date_time)
                    .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
                data: pipe_json(record, &self.arn),
            })
            .collect();
        // The Streams API reports no lag; an empty page is the tip.
        Ok(Page {
            records,
            next_iterator: output.next_shard_iterator,
            millis_behind: None,
        })
    }
}
