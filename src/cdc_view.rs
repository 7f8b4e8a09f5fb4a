//! How `tail-cdc` shows a change: the JSON line of its output contract, the terminal line with
//! MODIFY diffs (old -> new), the raw view of records that are not changes, and the filters.

use std::borrow::Cow;

use base64::Engine as _;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use salesctl_core::change::{
    CDC_COLUMNS, ChangeRecord, EventType, FlatImage, changed_attributes, write_creation_datetime,
};
use salesctl_core::lake_schema;

/// The JSON line of one change: `cdc_event_type`, `cdc_event_id`, `creation_datetime`,
/// `keys`, `new_image`, `old_image` (plain JSON objects, `null` when the change has none),
/// `shard_id` and `sequence_number` (the record's position in the stream being tailed).
/// Images are embedded as the decoder's exact JSON text, so numbers keep every digit.
#[derive(Serialize)]
struct ChangeLine<'a> {
    cdc_event_type: &'static str,
    cdc_event_id: &'a str,
    creation_datetime: &'a str,
    keys: Option<&'a RawValue>,
    new_image: Option<&'a RawValue>,
    old_image: Option<&'a RawValue>,
    shard_id: &'a str,
    sequence_number: &'a str,
    /// The DynamoDB stream's own sequence number (the flat row's `cdc_sequence_number`).
    dynamodb_sequence_number: Option<&'a str>,
}

/// The JSON line of a record that is not a change: the same keys as a change (the change
/// fields `null`) plus `raw`, `raw_encoding` (`utf-8` or `base64`) and `warning`, so a
/// consumer of the JSON lines sees it instead of losing it.
#[derive(Serialize)]
struct RawLine<'a> {
    cdc_event_type: Option<&'static str>,
    cdc_event_id: Option<&'a str>,
    creation_datetime: Option<&'a str>,
    keys: Option<&'a RawValue>,
    new_image: Option<&'a RawValue>,
    old_image: Option<&'a RawValue>,
    shard_id: &'a str,
    sequence_number: &'a str,
    raw: &'a str,
    raw_encoding: &'static str,
    warning: String,
}

/// An image's JSON text as a raw value; the decoder only ever produces valid JSON objects.
fn raw_json(text: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(text.to_owned()).ok()
}

/// Appends the JSON line of one change (see [`ChangeLine`]), then `\n`.
pub fn write_json_line(
    out: &mut Vec<u8>,
    change: &ChangeRecord,
    shard_id: &str,
    sequence_number: &str,
) {
    let mut time = Vec::with_capacity(24);
    write_creation_datetime(&mut time, &change.created_at, change.created_at_precision);
    let time = String::from_utf8(time).unwrap_or_default();
    let keys = raw_json(change.keys.as_json());
    let new_image = change
        .new_image
        .as_ref()
        .and_then(|i| raw_json(i.as_json()));
    let old_image = change
        .old_image
        .as_ref()
        .and_then(|i| raw_json(i.as_json()));
    let line = ChangeLine {
        cdc_event_type: change.event_type.as_str(),
        cdc_event_id: &change.event_id,
        creation_datetime: &time,
        keys: keys.as_deref(),
        new_image: new_image.as_deref(),
        old_image: old_image.as_deref(),
        shard_id,
        sequence_number,
        dynamodb_sequence_number: change.sequence_number.as_deref(),
    };
    // Serializing borrowed strings and raw JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
}

/// A `tail-cdc -o json` line read back, so `tail-cdc -o json | salesctl transform` gives the
/// rows the lake would hold.
#[derive(Deserialize)]
struct ChangeLineIn {
    cdc_event_type: Option<String>,
    cdc_event_id: Option<String>,
    creation_datetime: Option<String>,
    keys: Option<Box<RawValue>>,
    new_image: Option<Box<RawValue>>,
    old_image: Option<Box<RawValue>>,
    dynamodb_sequence_number: Option<String>,
    warning: Option<String>,
}

/// An image's members in their order, values as exact JSON text.
struct OrderedMembers(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for OrderedMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = OrderedMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(entry);
                }
                Ok(OrderedMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// The flat row (the Firehose transform's output) of a `tail-cdc -o json` line; `None` when
/// `text` is not such a line. Same layout as the core's `write_flat_row`: the row image's
/// attributes (cdc-named ones left out), then `order_id` from the line's `keys` when no
/// attribute fills it (`lake_schema::KEY_COLUMN`: the tutorial's `orderid` table), then the
/// five cdc columns.
pub fn flat_row_from_change_line(text: &[u8]) -> Option<Result<String, String>> {
    // Stream records never carry this key: skip the second parse for them.
    if !std::str::from_utf8(text).is_ok_and(|t| t.contains("\"cdc_event_type\"")) {
        return None;
    }
    let line: ChangeLineIn = serde_json::from_slice(text).ok()?;
    if line.keys.is_none() && line.warning.is_none() {
        return None;
    }
    Some(flat_row_of(line))
}

fn flat_row_of(line: ChangeLineIn) -> Result<String, String> {
    if let Some(warning) = line.warning {
        return Err(format!("a record tail-cdc could not decode ({warning})"));
    }
    let (Some(event), Some(event_id), Some(created)) = (
        line.cdc_event_type,
        line.cdc_event_id,
        line.creation_datetime,
    ) else {
        return Err(
            "a tail-cdc line without cdc_event_type, cdc_event_id or creation_datetime".into(),
        );
    };
    let deleted = match event.as_str() {
        "INSERT" | "MODIFY" => false,
        "REMOVE" => true,
        other => return Err(format!("unknown cdc_event_type '{other}'")),
    };
    let image = if deleted {
        line.old_image
    } else {
        line.new_image
    };
    let keys: Option<OrderedMembers> = line
        .keys
        .as_deref()
        .map(|keys| serde_json::from_str(keys.get()))
        .transpose()
        .map_err(|e| format!("keys that are not an object: {e}"))?;
    let image = image
        .or(line.keys)
        .ok_or("a tail-cdc line without an image or keys")?;
    let members: OrderedMembers = serde_json::from_str(image.get())
        .map_err(|e| format!("an image that is not an object: {e}"))?;
    let mut row = String::from("{");
    for (name, value) in members
        .0
        .iter()
        .filter(|(name, _)| !CDC_COLUMNS.contains(&name.as_str()))
    {
        row.push_str(&serde_json::to_string(name).unwrap_or_default());
        row.push(':');
        row.push_str(value.get());
        row.push(',');
    }
    if let Some(keys) = keys
        && !members
            .0
            .iter()
            .any(|(name, _)| lake_schema::fills_key_column(name))
    {
        let mut key = Vec::new();
        if lake_schema::write_key_from_item_keys(
            keys.0.iter().map(|(name, value)| (name, value.get())),
            &mut key,
        ) {
            row.push_str(&serde_json::to_string(lake_schema::KEY_COLUMN).unwrap_or_default());
            row.push(':');
            row.push_str(&String::from_utf8_lossy(&key));
            row.push(',');
        }
    }
    let cdc = serde_json::json!({
        "cdc_event_type": event,
        "cdc_event_id": event_id,
        "cdc_sequence_number": line.dynamodb_sequence_number,
        "creation_datetime": created,
        "is_deleted": deleted,
    });
    // serde_json's map is ordered by key; the row's cdc columns keep the transform's order.
    for column in CDC_COLUMNS {
        row.push_str(&serde_json::to_string(column).unwrap_or_default());
        row.push(':');
        row.push_str(&cdc[column].to_string());
        row.push(',');
    }
    row.pop();
    row.push_str("}\n");
    Ok(row)
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

/// Appends the JSON line of a record that is not a change (see [`RawLine`]), then `\n`.
pub fn write_raw_json_line(
    out: &mut Vec<u8>,
    data: &[u8],
    shard_id: &str,
    sequence_number: &str,
    reason: &str,
) {
    let (raw_encoding, text) = raw_text(data);
    let line = RawLine {
        cdc_event_type: None,
        cdc_event_id: None,
        creation_datetime: None,
        keys: None,
        new_image: None,
        old_image: None,
        shard_id,
        sequence_number,
        raw: &text,
        raw_encoding,
        warning: format!("not a DynamoDB change record: {reason}"),
    };
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
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
mod round_trip_tests {
    use super::*;

    /// A change shown by tail-cdc and read back is the row the transform makes of it.
    #[test]
    fn a_tail_line_becomes_the_transforms_flat_row() {
        let inputs = [
            r#"{"eventID":"a","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162502,"Keys":{"k":{"S":"1"}},"NewImage":{"k":{"S":"1"},"n":{"N":"2.50"},"is_deleted":{"BOOL":true}},"SequenceNumber":"9"}}"#,
            r#"{"eventID":"b","eventName":"REMOVE","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162503,"Keys":{"k":{"S":"1"}},"OldImage":{"k":{"S":"1"},"n":{"N":"2.50"}},"SequenceNumber":"10"}}"#,
            // The tutorial's table (key `orderid`), a REMOVE with only its keys, a composite
            // key in reverse name order, and an item with its own order_id.
            r#"{"eventID":"c","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162504,"Keys":{"orderid":{"S":"o-1"}},"NewImage":{"orderid":{"S":"o-1"},"product_name":{"S":"Monitor"},"quantity":{"N":"5"},"price":{"N":"329.00"}},"SequenceNumber":"11"}}"#,
            r#"{"eventID":"d","eventName":"REMOVE","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162505,"Keys":{"orderid":{"S":"o-1"}},"SequenceNumber":"12"}}"#,
            r#"{"eventID":"e","eventName":"REMOVE","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162506,"Keys":{"sk":{"N":"7"},"pk":{"S":"a \"q\""}},"SequenceNumber":"13"}}"#,
            r#"{"eventID":"f","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162507,"Keys":{"orderid":{"S":"k"}},"NewImage":{"orderid":{"S":"k"},"order_id":{"S":"o-9"}},"SequenceNumber":"14"}}"#,
        ];
        for input in inputs {
            let change = salesctl_core::change::decode(input.as_bytes()).unwrap();
            let mut line = Vec::new();
            write_json_line(&mut line, &change, "shardId-1", "42");
            let row = flat_row_from_change_line(&line).unwrap().unwrap();
            assert_eq!(row, change.flat_row());
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&row).unwrap()["order_id"],
                serde_json::json!(change.order_id())
            );
        }
        assert!(flat_row_from_change_line(br#"{"eventName":"INSERT"}"#).is_none());
        let mut raw = Vec::new();
        write_raw_json_line(&mut raw, b"junk", "s", "1", "not JSON");
        assert!(flat_row_from_change_line(&raw).unwrap().is_err());
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
             \"shard_id\":\"shardId-000000000001\",\"sequence_number\":\"42\",\"dynamodb_sequence_number\":\"900\"}\n"
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
