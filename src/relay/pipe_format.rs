//! The record an EventBridge Pipe writes into Kinesis, built from a DynamoDB Streams record
//! read through the SDK, so the local pipe stage produces byte-for-byte what AWS would carry.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use base64::Engine as _;
use serde_json::{Map, Value, json};

/// The Pipe's JSON for one stream record (DESIGN.md §2): the Streams record plus
/// `eventSourceARN`, with `ApproximateCreationDateTime` in epoch seconds.
pub fn pipe_record_json(record: &Record, stream_arn: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(stream) = &record.dynamodb {
        if let Some(t) = stream.approximate_creation_date_time {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
        }
        if let Some(keys) = &stream.keys {
            dynamodb.insert("Keys".into(), typed_item(keys));
        }
        if let Some(image) = &stream.new_image {
            dynamodb.insert("NewImage".into(), typed_item(image));
        }
        if let Some(image) = &stream.old_image {
            dynamodb.insert("OldImage".into(), typed_item(image));
        }
        if let Some(seq) = &stream.sequence_number {
            dynamodb.insert("SequenceNumber".into(), json!(seq));
        }
        if let Some(size) = stream.size_bytes {
            dynamodb.insert("SizeBytes".into(), json!(size));
        }
        if let Some(view) = &stream.stream_view_type {
            dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|n| n.as_str()),
        "eventVersion": record.event_version.as_deref().unwrap_or("1.1"),
        "eventSource": record.event_source.as_deref().unwrap_or("aws:dynamodb"),
        "awsRegion": record.aws_region,
        "dynamodb": Value::Object(dynamodb),
        "eventSourceARN": stream_arn,
    })
}

/// The partition key the Pipe is configured with (`$.dynamodb.Keys.<key>.S`): the item's
/// key, so all changes of one item land on one shard, in order. Numeric and binary keys use
/// their text; a record without keys falls back to its event id.
pub fn partition_key(record: &Record, key_attribute: &str) -> String {
    let keys = record.dynamodb.as_ref().and_then(|d| d.keys.as_ref());
    let key = keys.and_then(|k| k.get(key_attribute).or_else(|| k.values().next()));
    match key {
        Some(AttributeValue::S(s) | AttributeValue::N(s)) if !s.is_empty() => s.clone(),
        Some(AttributeValue::B(b)) => base64::engine::general_purpose::STANDARD.encode(b.as_ref()),
        _ => record
            .event_id
            .clone()
            .unwrap_or_else(|| "unkeyed".to_string()),
    }
}

/// A DynamoDB item as typed JSON (`{"S": …}`, `{"N": …}`, …), keys sorted for stable output.
pub fn typed_item(item: &HashMap<String, AttributeValue>) -> Value {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    Value::Object(
        names
            .into_iter()
            .map(|n| (n.clone(), typed_value(&item[n])))
            .collect(),
    )
}

fn typed_value(value: &AttributeValue) -> Value {
    let b64 =
        |b: &aws_smithy_types::Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(typed_value).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": typed_item(m) }),
        // A type newer than this SDK: keep the record, mark the value.
        _ => json!({ "NULL": true }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};

    use super::*;

    fn sample() -> Record {
        let keys = HashMap::from([("order_id".to_string(), AttributeValue::S("o-1".into()))]);
        let mut image = keys.clone();
        image.insert("price".into(), AttributeValue::N("1249.90".into()));
        image.insert(
            "tags".into(),
            AttributeValue::L(vec![
                AttributeValue::Bool(true),
                AttributeValue::M(HashMap::from([(
                    "b".to_string(),
                    AttributeValue::Null(true),
                )])),
            ]),
        );
        Record::builder()
            .event_id("e-1")
            .event_name(OperationType::Insert)
            .aws_region("us-east-1")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(aws_smithy_types::DateTime::from_secs(
                        1_795_162_502,
                    ))
                    .set_keys(Some(keys))
                    .set_new_image(Some(image))
                    .sequence_number("100")
                    .size_bytes(42)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build(),
            )
            .build()
    }

    #[test]
    fn matches_the_pipe_fixture_shape() {
        let v = pipe_record_json(&sample(), "arn:aws:dynamodb:us-east-1:1:table/t/stream/x");
        assert_eq!(v["eventName"], "INSERT");
        assert_eq!(v["eventVersion"], "1.1");
        assert_eq!(v["eventSource"], "aws:dynamodb");
        assert_eq!(
            v["eventSourceARN"],
            "arn:aws:dynamodb:us-east-1:1:table/t/stream/x"
        );
        assert_eq!(v["dynamodb"]["ApproximateCreationDateTime"], 1_795_162_502);
        assert_eq!(v["dynamodb"]["Keys"], json!({"order_id": {"S": "o-1"}}));
        assert_eq!(v["dynamodb"]["NewImage"]["price"], json!({"N": "1249.90"}));
        assert_eq!(
            v["dynamodb"]["NewImage"]["tags"],
            json!({"L": [{"BOOL": true}, {"M": {"b": {"NULL": true}}}]})
        );
        assert_eq!(v["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
        assert!(v["dynamodb"].get("OldImage").is_none());
    }

    #[test]
    fn partition_key_is_the_item_key() {
        assert_eq!(partition_key(&sample(), "order_id"), "o-1");
        assert_eq!(partition_key(&sample(), "other"), "o-1");
        let keyless = Record::builder().event_id("e-9").build();
        assert_eq!(partition_key(&keyless, "order_id"), "e-9");
    }
}
