//! `tail-cdc --source dynamodb-stream`: the table's DynamoDB stream read through the Streams
//! API, each record re-serialized in the Pipe's JSON so the one decoder and view serve both.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine as _;
use chrono::DateTime;

use crate::aws::ServiceResultExt;
use crate::change::write_json_string;
use crate::error::service_error;
use crate::kinesis_reader::{IteratorStart, Page, RawRecord, ShardInfo, SourceError};

/// DynamoDB Streams allows four GetRecords calls per second per shard.
pub const MIN_CALL_GAP: Duration = Duration::from_millis(250);
/// The Streams API's largest page.
const PAGE: i32 = 1000;

/// One table's stream.
#[derive(Clone)]
pub struct DynamoDbStream {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
}

impl DynamoDbStream {
    pub fn new(client: aws_sdk_dynamodbstreams::Client, arn: String) -> DynamoDbStream {
        DynamoDbStream { client, arn }
    }

    /// The latest stream of `table`; a missing table or a table without a stream is one error
    /// naming it and the fix.
    pub async fn for_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        client: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> anyhow::Result<DynamoDbStream> {
        let output = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .or_missing(|| format!("DynamoDB table '{table}'"), "--table NAME")?;
        let arn = output.table.and_then(|t| t.latest_stream_arn).ok_or_else(|| {
            service_error(format!(
                "DynamoDB table '{table}' has no stream: enable one with view type NEW_AND_OLD_IMAGES ('salesctl up' does)"
            ))
        })?;
        Ok(DynamoDbStream { client, arn })
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    pub async fn list_shards(&self) -> Result<Vec<ShardInfo>, SourceError> {
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

    pub async fn shard_iterator(
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

    pub async fn get_records(&self, iterator: &str) -> Result<Page, SourceError> {
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

/// The record as an EventBridge Pipe would write it into Kinesis (DESIGN.md §2), so it goes
/// through the same decoder as what `tail-cdc` reads from Kinesis.
pub fn pipe_json(record: &Record, stream_arn: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"eventID\":");
    write_json_string(&mut out, record.event_id.as_deref().unwrap_or(""));
    out.extend_from_slice(b",\"eventName\":");
    write_json_string(
        &mut out,
        record.event_name.as_ref().map_or("", |n| n.as_str()),
    );
    out.extend_from_slice(b",\"eventVersion\":");
    write_json_string(&mut out, record.event_version.as_deref().unwrap_or("1.1"));
    out.extend_from_slice(b",\"eventSource\":");
    write_json_string(
        &mut out,
        record.event_source.as_deref().unwrap_or("aws:dynamodb"),
    );
    out.extend_from_slice(b",\"awsRegion\":");
    write_json_string(&mut out, record.aws_region.as_deref().unwrap_or(""));
    out.extend_from_slice(b",\"dynamodb\":{");
    if let Some(stream) = &record.dynamodb {
        let mut first = true;
        let mut field = |out: &mut Vec<u8>, name: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            write_json_string(out, name);
            out.push(b':');
        };
        if let Some(at) = stream.approximate_creation_date_time {
            field(&mut out, "ApproximateCreationDateTime");
            out.extend_from_slice(at.secs().to_string().as_bytes());
        }
        for (name, image) in [
            ("Keys", &stream.keys),
            ("NewImage", &stream.new_image),
            ("OldImage", &stream.old_image),
        ] {
            if let Some(image) = image {
                field(&mut out, name);
                write_typed_map(&mut out, image);
            }
        }
        if let Some(sequence) = &stream.sequence_number {
            field(&mut out, "SequenceNumber");
            write_json_string(&mut out, sequence);
        }
        if let Some(size) = stream.size_bytes {
            field(&mut out, "SizeBytes");
            out.extend_from_slice(size.to_string().as_bytes());
        }
        if let Some(view) = &stream.stream_view_type {
            field(&mut out, "StreamViewType");
            write_json_string(&mut out, view.as_str());
        }
    }
    out.extend_from_slice(b"},\"eventSourceARN\":");
    write_json_string(&mut out, stream_arn);
    out.push(b'}');
    out
}

/// Attributes in name order: the SDK hands out a HashMap, and a stable order keeps the output
/// of two runs comparable.
fn write_typed_map(out: &mut Vec<u8>, map: &HashMap<String, AttributeValue>) {
    let mut names: Vec<&String> = map.keys().collect();
    names.sort_unstable();
    out.push(b'{');
    for (index, name) in names.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_json_string(out, name);
        out.push(b':');
        if let Some(value) = map.get(name) {
            write_typed_value(out, value);
        }
    }
    out.push(b'}');
}

fn write_typed_value(out: &mut Vec<u8>, value: &AttributeValue) {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let tagged = |out: &mut Vec<u8>, tag: &str| {
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(b"\":");
    };
    match value {
        AttributeValue::S(text) => {
            tagged(out, "S");
            write_json_string(out, text);
        }
        AttributeValue::N(number) => {
            tagged(out, "N");
            write_json_string(out, number);
        }
        AttributeValue::B(blob) => {
            tagged(out, "B");
            write_json_string(out, &b64(blob.as_ref()));
        }
        AttributeValue::Bool(flag) => {
            tagged(out, "BOOL");
            out.extend_from_slice(if *flag { b"true" } else { b"false" });
        }
        AttributeValue::Null(_) => {
            tagged(out, "NULL");
            out.extend_from_slice(b"true");
        }
        AttributeValue::Ss(items) | AttributeValue::Ns(items) => {
            tagged(
                out,
                if matches!(value, AttributeValue::Ss(_)) {
                    "SS"
                } else {
                    "NS"
                },
            );
            write_string_list(out, items.iter().map(String::as_str));
        }
        AttributeValue::Bs(items) => {
            tagged(out, "BS");
            let encoded: Vec<String> = items.iter().map(|b| b64(b.as_ref())).collect();
            write_string_list(out, encoded.iter().map(String::as_str));
        }
        AttributeValue::L(items) => {
            tagged(out, "L");
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_typed_value(out, item);
            }
            out.push(b']');
        }
        AttributeValue::M(map) => {
            tagged(out, "M");
            write_typed_map(out, map);
        }
        // A type newer than this SDK: an empty descriptor makes the decoder report it by name
        // of the record instead of guessing a value.
        _ => {
            out.extend_from_slice(b"{}");
            return;
        }
    }
    out.push(b'}');
}

fn write_string_list<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a str>) {
    out.push(b'[');
    for (index, item) in items.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_json_string(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord};

    #[test]
    fn sdk_record_becomes_a_pipe_record_the_decoder_reads_exactly() {
        let mut image = HashMap::new();
        image.insert("order_id".to_owned(), AttributeValue::S("o-\"1\"".into()));
        image.insert(
            "price".to_owned(),
            AttributeValue::N("12345678901234567890.10".into()),
        );
        image.insert(
            "tags".to_owned(),
            AttributeValue::Ss(vec!["a".into(), "b".into()]),
        );
        image.insert("gift".to_owned(), AttributeValue::Null(true));
        image.insert(
            "lines".to_owned(),
            AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                "q".to_owned(),
                AttributeValue::N("2".into()),
            )]))]),
        );
        let keys = HashMap::from([("order_id".to_owned(), AttributeValue::S("o-\"1\"".into()))]);
        let record = Record::builder()
            .event_id("ev-1")
            .event_name(OperationType::Insert)
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(aws_smithy_types::DateTime::from_secs(
                        1_795_162_561,
                    ))
                    .set_keys(Some(keys))
                    .set_new_image(Some(image))
                    .sequence_number("000123")
                    .build(),
            )
            .build();
        let bytes = pipe_json(&record, "arn:aws:dynamodb:us-east-1:1:table/t/stream/s");
        let change = crate::change::decode(&bytes).expect("decodes");
        assert_eq!(change.event_id, "ev-1");
        assert_eq!(change.sequence_number.as_deref(), Some("000123"));
        assert_eq!(change.keys.as_json(), r#"{"order_id":"o-\"1\""}"#);
        assert_eq!(
            change.new_image.expect("new image").as_json(),
            r#"{"gift":null,"lines":[{"q":2}],"order_id":"o-\"1\"","price":12345678901234567890.10,"tags":["a","b"]}"#
        );
        assert!(change.old_image.is_none());
    }
}
