//! The one serializer of the EventBridge Pipe's record format: a DynamoDB Streams record as
//! the Pipe writes it into Kinesis (tests/fixtures/pipe-*.json), and its partition key.
//!
//! `tail-cdc --source dynamodb-stream` and the relay's pipe stage both use it, so what the
//! relay puts into Kinesis is byte for byte what `tail-cdc` decodes from the table's stream.
//! Absent strings are `null`, never a made-up `""`: a record without an eventID must fail to
//! decode (and land under errors/) rather than pass with an empty id. An attribute type newer
//! than this SDK becomes `{}`, which the decoder rejects by name, instead of a guessed value.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use base64::Engine as _;

use salesctl_core::change::write_json_string;

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

/// The record as an EventBridge Pipe would write it into Kinesis, so it goes
/// through the same decoder as what `tail-cdc` reads from Kinesis.
pub fn pipe_json(record: &Record, stream_arn: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"eventID\":");
    write_optional_string(&mut out, record.event_id.as_deref());
    out.extend_from_slice(b",\"eventName\":");
    write_optional_string(&mut out, record.event_name.as_ref().map(|n| n.as_str()));
    out.extend_from_slice(b",\"eventVersion\":");
    write_json_string(&mut out, record.event_version.as_deref().unwrap_or("1.1"));
    out.extend_from_slice(b",\"eventSource\":");
    write_json_string(
        &mut out,
        record.event_source.as_deref().unwrap_or("aws:dynamodb"),
    );
    out.extend_from_slice(b",\"awsRegion\":");
    write_optional_string(&mut out, record.aws_region.as_deref());
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
    write_joined(out, *b"{}", names, |out, name| {
        write_json_string(out, name);
        out.push(b':');
        if let Some(value) = map.get(name) {
            write_typed_value(out, value);
        }
    });
}

/// Writes `open`, each of `items` with `write` (a comma between two), then `close`: a JSON
/// object's members or an array's elements.
fn write_joined<T>(
    out: &mut Vec<u8>,
    [open, close]: [u8; 2],
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(open);
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(close);
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
            write_joined(out, *b"[]", items, write_typed_value);
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
    write_joined(out, *b"[]", items, write_json_string);
}

fn write_optional_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => write_json_string(out, text),
        None => out.extend_from_slice(b"null"),
    }
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
        let change = salesctl_core::change::decode(&bytes).expect("decodes");
        assert_eq!(change.event_id, "ev-1");
        assert_eq!(change.sequence_number.as_deref(), Some("000123"));
        assert_eq!(change.keys.as_json(), r#"{"order_id":"o-\"1\""}"#);
        assert_eq!(
            change.new_image.expect("new image").as_json(),
            r#"{"gift":null,"lines":[{"q":2}],"order_id":"o-\"1\"","price":12345678901234567890.10,"tags":["a","b"]}"#
        );
        assert!(change.old_image.is_none());
    }

    #[test]
    fn absent_ids_are_null_and_fail_to_decode_by_name() {
        let record = Record::builder()
            .dynamodb(StreamRecord::builder().sequence_number("1").build())
            .build();
        let bytes = pipe_json(&record, "arn");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with(r#"{"eventID":null,"eventName":null"#),
            "{text}"
        );
        let error = salesctl_core::change::decode(&bytes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("eventID"), "{error}");
    }

    #[test]
    fn partition_key_is_the_item_key() {
        let keys = HashMap::from([
            ("order_id".to_owned(), AttributeValue::S("o-1".into())),
            ("line".to_owned(), AttributeValue::N("3".into())),
        ]);
        let record = Record::builder()
            .event_id("ev")
            .dynamodb(StreamRecord::builder().set_keys(Some(keys)).build())
            .build();
        assert_eq!(partition_key(&record, "order_id"), "o-1");
        assert_eq!(partition_key(&record, "line"), "3");
        let unkeyed = Record::builder().event_id("ev-9").build();
        assert_eq!(partition_key(&unkeyed, "order_id"), "ev-9");
    }
}
