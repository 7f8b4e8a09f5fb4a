//! How `tail-cdc` shows a change: the JSON line of its output contract, the terminal line with
//! MODIFY diffs (old -> new), the raw view of records that are not changes, and the filters.

use std::borrow::Cow;

use base64::Engine as _;

use salesctl_core::change::{
    ChangeRecord, EventType, FlatImage, changed_attributes, write_creation_datetime,
    write_json_string,
};

/// Appends the JSON line of one change: `cdc_event_type`, `cdc_event_id`,
/// `creation_datetime`, `keys`, `new_image`, `old_image` (plain JSON objects, `null` when the
/// change has none), `shard_id` and `sequence_number` (the record's position in the stream
/// being tailed), then `\n`. Images are copied as the decoder's exact JSON text, so numbers
/// keep every digit.
pub fn write_json_line(
    out: &mut Vec<u8>,
    change: &ChangeRecord,
    shard_id: &str,
    sequence_number: &str,
) {
    out.extend_from_slice(b"{\"cdc_event_type\":\"");
    out.extend_from_slice(change.event_type.as_str().as_bytes());
    out.extend_from_slice(b"\",\"cdc_event_id\":");
    write_json_string(out, &change.event_id);
    out.extend_from_slice(b",\"creation_datetime\":\"");
    write_creation_datetime(out, &change.created_at, change.created_at_precision);
    out.extend_from_slice(b"\",\"keys\":");
    out.extend_from_slice(change.keys.as_json().as_bytes());
    out.extend_from_slice(b",\"new_image\":");
    write_optional_image(out, change.new_image.as_ref());
    out.extend_from_slice(b",\"old_image\":");
    write_optional_image(out, change.old_image.as_ref());
    out.extend_from_slice(b",\"shard_id\":");
    write_json_string(out, shard_id);
    out.extend_from_slice(b",\"sequence_number\":");
    write_json_string(out, sequence_number);
    out.extend_from_slice(b"}\n");
}

fn write_optional_image(out: &mut Vec<u8>, image: Option<&FlatImage>) {
    match image {
        Some(image) => out.extend_from_slice(image.as_json().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// A record's bytes as text a person can read: UTF-8 as is, anything else as base64.
pub fn raw_text(data: &[u8]) -> (&'static str, Cow<'_, str>) {
    match std::str::from_utf8(data) {
        Ok(text) => ("utf-8", Cow::Borrowed(text)),
        Err(_) => (
            "base64",
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(data)),
        ),
    }
}

/// Appends the JSON line of a record that is not a change: the same keys as a change (the
/// change fields `null`) plus `raw`, `raw_encoding` (`utf-8` or `base64`) and `warning`, so a
/// consumer of the JSON lines sees it instead of losing it.
pub fn write_raw_json_line(
    out: &mut Vec<u8>,
    data: &[u8],
    shard_id: &str,
    sequence_number: &str,
    reason: &str,
) {
    let (encoding, text) = raw_text(data);
    out.extend_from_slice(
        b"{\"cdc_event_type\":null,\"cdc_event_id\":null,\"creation_datetime\":null,\"keys\":null,\"new_image\":null,\"old_image\":null,\"shard_id\":",
    );
    write_json_string(out, shard_id);
    out.extend_from_slice(b",\"sequence_number\":");
    write_json_string(out, sequence_number);
    out.extend_from_slice(b",\"raw\":");
    write_json_string(out, &text);
    out.extend_from_slice(b",\"raw_encoding\":\"");
    out.extend_from_slice(encoding.as_bytes());
    out.extend_from_slice(b"\",\"warning\":");
    write_json_string(out, &format!("not a DynamoDB change record: {reason}"));
    out.extend_from_slice(b"}\n");
}

/// One line of the terminal view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLine {
    pub time: String,
    pub event: String,
    pub key: String,
    /// MODIFY: `name: old -> new; …`; INSERT: the new image; REMOVE: the old image.
    pub detail: String,
}

impl TableLine {
    pub const HEADERS: [&'static str; 4] = ["TIME", "EVENT", "KEY", "CHANGES"];
}

/// The terminal line of one change.
pub fn table_line(change: &ChangeRecord) -> TableLine {
    let mut time = Vec::with_capacity(24);
    write_creation_datetime(&mut time, &change.created_at, change.created_at_precision);
    let detail = match (change.event_type, &change.old_image, &change.new_image) {
        (EventType::Modify, Some(old), Some(new)) => modify_detail(old, new),
        (EventType::Modify, _, _) => "(stream carries no old and new image to compare)".to_owned(),
        (EventType::Insert, _, Some(new)) => non_key_attributes(new, &change.keys),
        (EventType::Remove, Some(old), _) => non_key_attributes(old, &change.keys),
        _ => String::new(),
    };
    TableLine {
        time: String::from_utf8(time).unwrap_or_default(),
        event: change.event_type.as_str().to_owned(),
        key: key_text(&change.keys),
        detail,
    }
}

/// The terminal line of a record that is not a change.
pub fn raw_table_line(data: &[u8], reason: &str) -> TableLine {
    let (encoding, text) = raw_text(data);
    TableLine {
        time: String::new(),
        event: "RAW".to_owned(),
        key: String::new(),
        detail: format!(
            "({encoding}, not a change: {reason}) {}",
            text.replace(['\n', '\r'], " ")
        ),
    }
}

/// `status: "PENDING" -> "PAID"; note: (absent) -> "gift"`, in the order of the new image,
/// then attributes that were removed.
pub fn modify_detail(old: &FlatImage, new: &FlatImage) -> String {
    let changes = changed_attributes(old, new);
    if changes.is_empty() {
        return "(no attribute changed)".to_owned();
    }
    let mut out = String::new();
    for (index, change) in changes.iter().enumerate() {
        if index > 0 {
            out.push_str("; ");
        }
        out.push_str(&change.name);
        out.push_str(": ");
        out.push_str(change.old.unwrap_or("(absent)"));
        out.push_str(" -> ");
        out.push_str(change.new.unwrap_or("(absent)"));
    }
    out
}

/// `name=value, …` for the attributes of `image` that are not keys.
fn non_key_attributes(image: &FlatImage, keys: &FlatImage) -> String {
    let mut out = String::new();
    for (name, value) in image.iter() {
        if keys.get(&name).is_some() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The item's key for a person: the bare value for a single key (`o-42`), `name=value, …` for
/// a composite key.
pub fn key_text(keys: &FlatImage) -> String {
    if keys.len() == 1
        && let Some((_, value)) = keys.iter().next()
    {
        return json_value_text(value).into_owned();
    }
    let parts: Vec<String> = keys
        .iter()
        .map(|(name, value)| format!("{name}={}", json_value_text(value)))
        .collect();
    parts.join(", ")
}

/// A JSON string's content unescaped; any other JSON value as its text.
pub fn json_value_text(value: &str) -> Cow<'_, str> {
    if value.starts_with('"') {
        if !value.contains('\\') && value.len() >= 2 {
            return Cow::Borrowed(&value[1..value.len() - 1]);
        }
        if let Ok(text) = serde_json::from_str::<String>(value) {
            return Cow::Owned(text);
        }
    }
    Cow::Borrowed(value)
}

/// `--key`: `VALUE` matches a change any of whose key attributes has that value;
/// `NAME=VALUE` only the key attribute `NAME` (for composite keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilter {
    attribute: Option<String>,
    value: String,
}

impl KeyFilter {
    pub fn parse(text: &str) -> KeyFilter {
        KeyFilter {
            attribute: None,
            value: text.to_owned(),
        }
    }

    pub fn matches(&self, keys: &FlatImage) -> bool {
        let mut matched = keys.iter().any(|(name, value)| {
            self.attribute
                .as_deref()
                .is_none_or(|wanted| wanted == name)
                && json_value_text(value) == self.value
        });
        // `a=b` is first tried as a whole value (keys may contain `=`), then as NAME=VALUE.
        if !matched
            && self.attribute.is_none()
            && let Some((name, value)) = self.value.split_once('=')
        {
            matched = KeyFilter {
                attribute: Some(name.to_owned()),
                value: value.to_owned(),
            }
            .matches(keys);
        }
        matched
    }
}

/// `--event insert,modify,remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFilter {
    insert: bool,
    modify: bool,
    remove: bool,
}

impl Default for EventFilter {
    fn default() -> Self {
        EventFilter {
            insert: true,
            modify: true,
            remove: true,
        }
    }
}

impl EventFilter {
    /// Parses a comma-separated list of event types, in any letter case.
    pub fn parse(text: &str) -> Result<EventFilter, String> {
        let mut filter = EventFilter {
            insert: false,
            modify: false,
            remove: false,
        };
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word.parse::<EventType>().map_err(|e| e.to_string())? {
                EventType::Insert => filter.insert = true,
                EventType::Modify => filter.modify = true,
                EventType::Remove => filter.remove = true,
            }
        }
        if filter
            == (EventFilter {
                insert: false,
                modify: false,
                remove: false,
            })
        {
            return Err("expected one or more of insert, modify, remove".to_owned());
        }
        Ok(filter)
    }

    pub fn matches(&self, event: EventType) -> bool {
        match event {
            EventType::Insert => self.insert,
            EventType::Modify => self.modify,
            EventType::Remove => self.remove,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salesctl_core::change::decode;

    const MODIFY: &str = r#"{"eventID":"e1","eventName":"MODIFY","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":"us-east-1","dynamodb":{"ApproximateCreationDateTime":1795162561,"Keys":{"order_id":{"S":"o-1"}},"NewImage":{"order_id":{"S":"o-1"},"price":{"N":"12345678901234567890.123456789"},"status":{"S":"PAID"},"note":{"S":"a \"b\""}},"OldImage":{"order_id":{"S":"o-1"},"price":{"N":"12345678901234567890.123456789"},"status":{"S":"PENDING"},"gone":{"BOOL":true}},"SequenceNumber":"900","SizeBytes":1,"StreamViewType":"NEW_AND_OLD_IMAGES"},"eventSourceARN":"arn:aws:dynamodb:us-east-1:1:table/t/stream/x"}"#;

    const INSERT: &str = r#"{"eventID":"e0","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162561,"Keys":{"order_id":{"S":"o-1"}},"NewImage":{"order_id":{"S":"o-1"},"quantity":{"N":"2"}},"SequenceNumber":"1"},"eventSourceARN":"arn:aws:dynamodb:us-east-1:1:table/t/stream/x"}"#;

    #[test]
    fn json_line_has_the_contract_keys_and_exact_numbers() {
        let change = decode(MODIFY.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_json_line(&mut out, &change, "shardId-000000000001", "42");
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            "{\"cdc_event_type\":\"MODIFY\",\"cdc_event_id\":\"e1\",\"creation_datetime\":\"2026-11-20T08:16:01Z\",\
             \"keys\":{\"order_id\":\"o-1\"},\
             \"new_image\":{\"order_id\":\"o-1\",\"price\":12345678901234567890.123456789,\"status\":\"PAID\",\"note\":\"a \\\"b\\\"\"},\
             \"old_image\":{\"order_id\":\"o-1\",\"price\":12345678901234567890.123456789,\"status\":\"PENDING\",\"gone\":true},\
             \"shard_id\":\"shardId-000000000001\",\"sequence_number\":\"42\"}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["keys"]["order_id"], "o-1");
    }

    #[test]
    fn insert_has_null_old_image() {
        let change = decode(INSERT.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_json_line(&mut out, &change, "s", "1");
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["cdc_event_type"], "INSERT");
        assert!(parsed["old_image"].is_null());
        assert!(parsed["new_image"].is_object());
    }

    #[test]
    fn modify_line_shows_old_to_new() {
        let change = decode(MODIFY.as_bytes()).unwrap();
        let line = table_line(&change);
        assert_eq!(line.event, "MODIFY");
        assert_eq!(line.key, "o-1");
        assert_eq!(line.time, "2026-11-20T08:16:01Z");
        assert_eq!(
            line.detail,
            "status: \"PENDING\" -> \"PAID\"; note: (absent) -> \"a \\\"b\\\"\"; gone: true -> (absent)"
        );
    }

    #[test]
    fn raw_records_are_kept_as_text_or_base64() {
        let mut out = Vec::new();
        write_raw_json_line(&mut out, b"hello \"x\"", "s", "7", "not JSON");
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["raw"], "hello \"x\"");
        assert_eq!(parsed["raw_encoding"], "utf-8");
        assert_eq!(parsed["sequence_number"], "7");
        assert!(parsed["cdc_event_type"].is_null());
        assert_eq!(parsed["warning"], "not a DynamoDB change record: not JSON");

        out.clear();
        write_raw_json_line(&mut out, &[0xff, 0x00, 0x10], "s", "8", "not UTF-8");
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["raw"], "/wAQ");
        assert_eq!(parsed["raw_encoding"], "base64");
        assert_eq!(raw_table_line(&[0xff], "x").event, "RAW");
    }

    #[test]
    fn filters() {
        let change = decode(MODIFY.as_bytes()).unwrap();
        assert!(KeyFilter::parse("o-1").matches(&change.keys));
        assert!(KeyFilter::parse("order_id=o-1").matches(&change.keys));
        assert!(!KeyFilter::parse("o-2").matches(&change.keys));
        assert!(!KeyFilter::parse("other=o-1").matches(&change.keys));
        let events = EventFilter::parse("insert, REMOVE").unwrap();
        assert!(events.matches(EventType::Insert) && events.matches(EventType::Remove));
        assert!(!events.matches(EventType::Modify));
        assert!(EventFilter::parse("update").is_err());
        assert!(EventFilter::parse(",").is_err());
    }

    #[test]
    fn key_text_of_composite_and_escaped_keys() {
        let image =
            salesctl_core::change::flatten_item(r#"{"pk":{"S":"a\"b"},"sk":{"N":"10"}}"#).unwrap();
        assert_eq!(key_text(&image), "pk=a\"b, sk=10");
        assert!(KeyFilter::parse("a\"b").matches(&image));
        assert!(KeyFilter::parse("sk=10").matches(&image));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_one_valid_json_line(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut out = Vec::new();
            match decode(&data) {
                Ok(change) => write_json_line(&mut out, &change, "s", "1"),
                Err(e) => write_raw_json_line(&mut out, &data, "s", "1", &e.to_string()),
            }
            proptest::prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
            proptest::prop_assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        }
    }
}
