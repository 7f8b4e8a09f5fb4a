//! Durable batched writes to DynamoDB: BatchWriteItem 25 requests a call, UnprocessedItems
//! re-sent with backoff until written, so a write counted as done is really in the table.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

use crate::aws::{ServiceResultExt, jittered_backoff};
use crate::error::service_error;
use salesctl_core::order::{AttrValue, OpKind, PlannedOp, Schema};

/// DynamoDB's limit for one BatchWriteItem call.
pub const MAX_BATCH: usize = 25;
/// Rounds of re-sending unprocessed items before giving up on a batch.
const MAX_UNPROCESSED_ROUNDS: u32 = 30;

#[derive(Clone)]
pub struct TableWriter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    schema: Schema,
    has_stream: bool,
}

/// What writing one batch took.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchReport {
    /// Requests DynamoDB handed back unprocessed and we re-sent.
    pub retried: u64,
}

impl TableWriter {
    /// Checks that the table exists and is keyed the way `schema` writes, before anything
    /// is written.
    pub async fn open(
        client: aws_sdk_dynamodb::Client,
        table: &str,
        schema: Schema,
    ) -> anyhow::Result<TableWriter> {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .or_missing(|| format!("table '{table}'"), "--table")?;
        let key = described
            .table
            .as_ref()
            .and_then(|t| t.key_schema.as_ref())
            .and_then(|keys| keys.iter().find(|k| k.key_type.as_str() == "HASH"))
            .map(|k| k.attribute_name.clone());
        let expected = schema.key_attribute();
        if let Some(key) = key.filter(|k| k != expected) {
            return Err(service_error(format!(
                "table '{table}' is keyed on '{key}' but this schema writes '{expected}': pass --schema {} or another --table",
                if key == "orderid" {
                    "tutorial"
                } else {
                    "orders"
                }
            )));
        }
        let streams = described
            .table
            .as_ref()
            .and_then(|t| t.stream_specification.as_ref())
            .is_some_and(|s| s.stream_enabled);
        Ok(TableWriter {
            client,
            table: table.to_string(),
            schema,
            has_stream: streams,
        })
    }

    /// Whether the table has DynamoDB Streams on: without it no write reaches the pipeline.
    pub fn has_stream(&self) -> bool {
        self.has_stream
    }

    /// The command that turns the table's stream on, in the view type the pipeline needs.
    pub fn enable_stream_command(&self) -> String {
        format!(
            "aws dynamodb update-table --table-name {} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
            self.table
        )
    }

    /// Writes every operation (at most [`MAX_BATCH`], distinct keys) and returns once all
    /// are durably written, or with an error if they could not be.
    pub async fn write(&self, ops: &[PlannedOp]) -> anyhow::Result<BatchReport> {
        let mut requests = ops
            .iter()
            .map(|op| self.request_for(op))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut report = BatchReport::default();
        let mut round = 0;
        while !requests.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .service_context(|| format!("writing to table '{}'", self.table))?;
            requests = out
                .unprocessed_items
                .and_then(|mut items| items.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            round += 1;
            if round > MAX_UNPROCESSED_ROUNDS {
                return Err(service_error(format!(
                    "table '{}' left {} items unprocessed after {MAX_UNPROCESSED_ROUNDS} retries: raise its capacity or lower --rate",
                    self.table,
                    requests.len()
                )));
            }
            report.retried += requests.len() as u64;
            tokio::time::sleep(backoff(round)).await;
        }
        Ok(report)
    }

    fn request_for(&self, op: &PlannedOp) -> anyhow::Result<WriteRequest> {
        let request = match op.kind {
            OpKind::Insert | OpKind::Update => {
                let item: HashMap<String, AttributeValue> = op
                    .order
                    .attributes(self.schema)
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), attribute_value(value)))
                    .collect();
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .context("building a put request")?;
                WriteRequest::builder().put_request(put).build()
            }
            OpKind::Delete => {
                let delete = DeleteRequest::builder()
                    .key(
                        self.schema.key_attribute(),
                        AttributeValue::S(op.order.order_id.clone()),
                    )
                    .build()
                    .context("building a delete request")?;
                WriteRequest::builder().delete_request(delete).build()
            }
        };
        Ok(request)
    }
}

fn attribute_value(value: AttrValue) -> AttributeValue {
    match value {
        AttrValue::S(s) => AttributeValue::S(s),
        AttrValue::N(n) => AttributeValue::N(n),
    }
}

/// Backoff for unprocessed items and throttled writes: 25 ms doubling, at most 5 s.
pub fn backoff(attempt: u32) -> Duration {
    jittered_backoff(Duration::from_millis(25), Duration::from_secs(5), attempt)
}
