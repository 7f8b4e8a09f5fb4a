//! The change-record data model: event and format enums, the decoded record and the flat
//! image with its per-attribute spans.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::error::{AttributeProblem, DecodeError};
use super::json::JsonStr;

/// The column names the flat row adds to every image; an attribute with one of these names is
/// left out of the row (the cdc column wins).
pub const CDC_COLUMNS: [&str; 5] = [
    "cdc_event_type",
    "cdc_event_id",
    "cdc_sequence_number",
    "creation_datetime",
    "is_deleted",
];

/// Above this many attributes, duplicate names are found by sorting instead of pairwise.
const PAIRWISE_DUPLICATE_CHECK_LIMIT: usize = 32;

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Insert,
    Modify,
    Remove,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Insert => "INSERT",
            EventType::Modify => "MODIFY",
            EventType::Remove => "REMOVE",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not INSERT, MODIFY or REMOVE (in any letter case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?} (expected INSERT, MODIFY or REMOVE)")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("INSERT") {
            Ok(EventType::Insert)
        } else if text.eq_ignore_ascii_case("MODIFY") {
            Ok(EventType::Modify)
        } else if text.eq_ignore_ascii_case("REMOVE") {
            Ok(EventType::Remove)
        } else {
            Err(UnknownEventType(text.to_owned()))
        }
    }
}

/// Which route the change took out of DynamoDB.
///
/// A native "Kinesis Data Streams for DynamoDB" record carries `tableName`, `recordFormat`,
/// `userIdentity` or `dynamodb.ApproximateCreationDateTimePrecision`; a Streams record (what an
/// EventBridge Pipe writes) carries `eventVersion` or `eventSourceARN`. When exactly one family
/// of markers is present it decides. When neither (or, oddly, both) are present, the size of
/// `ApproximateCreationDateTime` decides: below 10^11 it is seconds (a Streams record), below
/// 10^14 milliseconds, above that microseconds (native records). An explicit
/// `ApproximateCreationDateTimePrecision` (`MILLISECOND` or `MICROSECOND`) always sets the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// A DynamoDB Streams record, as an EventBridge Pipe writes it (epoch seconds).
    StreamsRecord,
    /// A native "Kinesis Data Streams for DynamoDB" record (epoch milliseconds or microseconds).
    KinesisDataStreams,
}

/// The precision `ApproximateCreationDateTime` had in the source, which is also the precision
/// `creation_datetime` is printed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimePrecision {
    Seconds,
    Milliseconds,
    Microseconds,
}

/// One decoded change of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub format: SourceFormat,
    pub event_type: EventType,
    pub event_id: String,
    /// The DynamoDB stream sequence number; native Kinesis records have none.
    pub sequence_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_at_precision: TimePrecision,
    /// From `tableName` (native records) or the table part of `eventSourceARN` (Streams records).
    pub table_name: Option<String>,
    pub keys: FlatImage,
    pub new_image: Option<FlatImage>,
    pub old_image: Option<FlatImage>,
}

impl Default for ChangeRecord {
    /// An empty record, useful only as reusable storage for [`decode_into`](super::decode_into).
    fn default() -> Self {
        ChangeRecord {
            format: SourceFormat::StreamsRecord,
            event_type: EventType::Insert,
            event_id: String::new(),
            sequence_number: None,
            created_at: DateTime::UNIX_EPOCH,
            created_at_precision: TimePrecision::Seconds,
            table_name: None,
            keys: FlatImage::default(),
            new_image: None,
            old_image: None,
        }
    }
}

/// A flattened item image: plain JSON attributes in source order. Attribute values are kept as
/// exact JSON text (numbers with their original digits, strings with their original escapes).
#[derive(Debug, Clone, Default)]
pub struct FlatImage {
    /// The whole image as one JSON object; empty only for a default-constructed image.
    pub(super) json: String,
    pub(super) attrs: Vec<AttrSpan>,
    pub(super) has_cdc_column_name: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AttrSpan {
    /// The quoted key, as it appears in `json`.
    pub(super) key_start: usize,
    pub(super) key_end: usize,
    /// The value starts right after the `:` that follows the key.
    pub(super) value_end: usize,
    pub(super) escaped_name: bool,
}

impl AttrSpan {
    fn value_start(&self) -> usize {
        self.key_end + 1
    }
}

impl PartialEq for FlatImage {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json()
    }
}

impl Eq for FlatImage {}

/// One attribute that differs between two images; `None` means absent on that side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeChange<'a> {
    pub name: Cow<'a, str>,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
}

impl ChangeRecord {
    /// The image the flat row is built from: NewImage for INSERT/MODIFY, OldImage for REMOVE.
    /// When that image is absent (a `KEYS_ONLY`, `NEW_IMAGE` or `OLD_IMAGE` stream view) the
    /// Keys stand in, so no change is ever lost.
    pub fn row_image(&self) -> &FlatImage {
        let image = match self.event_type {
            EventType::Insert | EventType::Modify => self.new_image.as_ref(),
            EventType::Remove => self.old_image.as_ref(),
        };
        image.unwrap_or(&self.keys)
    }

    pub fn is_deleted(&self) -> bool {
        self.event_type == EventType::Remove
    }

    /// `ApproximateCreationDateTime` as epoch milliseconds.
    pub fn created_at_millis(&self) -> i64 {
        self.created_at.timestamp_millis()
    }
}

impl FlatImage {
    /// The image as one JSON object, e.g. `{"order_id":"o-1","price":1249.90}`.
    pub fn as_json(&self) -> &str {
        if self.json.is_empty() {
            "{}"
        } else {
            &self.json
        }
    }

    pub fn to_json_string(&self) -> String {
        self.as_json().to_owned()
    }

    pub fn len(&self) -> usize {
        self.attrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// The JSON text of the attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|attr| self.name_matches(attr, name))
            .map(|attr| self.value_of(attr))
    }

    /// `(name, JSON text)` for every attribute, in source order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, str>, &str)> + '_ {
        self.attrs
            .iter()
            .map(|attr| (self.name_of(attr), self.value_of(attr)))
    }

    pub(super) fn clear(&mut self) {
        self.json.clear();
        self.attrs.clear();
        self.has_cdc_column_name = false;
    }

    fn slice(&self, start: usize, end: usize) -> &str {
        self.json.get(start..end).unwrap_or_default()
    }

    fn raw_key(&self, attr: &AttrSpan) -> &str {
        self.slice(attr.key_start, attr.key_end)
    }

    fn value_of(&self, attr: &AttrSpan) -> &str {
        self.slice(attr.value_start(), attr.value_end)
    }

    fn name_of(&self, attr: &AttrSpan) -> Cow<'_, str> {
        JsonStr {
            raw: self.raw_key(attr),
            escaped: attr.escaped_name,
        }
        .decoded()
    }

    fn name_matches(&self, attr: &AttrSpan, name: &str) -> bool {
        if attr.escaped_name {
            self.name_of(attr) == name
        } else {
            let raw = self.raw_key(attr);
            raw.len() == name.len() + 2 && raw.get(1..raw.len() - 1) == Some(name)
        }
    }

    /// Writes `"a":1,"b":2` (no braces), leaving out attributes named like cdc columns.
    /// Returns whether anything was written.
    pub(super) fn write_members_without_cdc_columns(&self, out: &mut Vec<u8>) -> bool {
        if !self.has_cdc_column_name {
            let members = self
                .json
                .get(1..self.json.len().saturating_sub(1))
                .unwrap_or_default();
            out.extend_from_slice(members.as_bytes());
            return !members.is_empty();
        }
        let mut wrote = false;
        for attr in &self.attrs {
            if is_cdc_column(&self.name_of(attr)) {
                continue;
            }
            if wrote {
                out.push(b',');
            }
            out.extend_from_slice(self.slice(attr.key_start, attr.value_end).as_bytes());
            wrote = true;
        }
        wrote
    }

    pub(super) fn check_duplicate_names(&self) -> Result<(), DecodeError> {
        let duplicate = |name: &str| {
            DecodeError::attribute(AttributeProblem::DuplicateName).within(|| name.to_owned())
        };
        if self.attrs.len() <= PAIRWISE_DUPLICATE_CHECK_LIMIT {
            for (index, attr) in self.attrs.iter().enumerate() {
                let name = self.name_of(attr);
                if self.attrs[..index]
                    .iter()
                    .any(|earlier| self.name_of(earlier) == name)
                {
                    return Err(duplicate(&name));
                }
            }
            return Ok(());
        }
        let mut names: Vec<Cow<'_, str>> = self.attrs.iter().map(|a| self.name_of(a)).collect();
        names.sort_unstable();
        match names.windows(2).find(|pair| pair[0] == pair[1]) {
            Some(pair) => Err(duplicate(&pair[0])),
            None => Ok(()),
        }
    }
}

pub(super) fn is_cdc_column(name: &str) -> bool {
    CDC_COLUMNS.contains(&name)
}

/// The attributes that differ between two images, compared by their JSON text: first those of
/// `new` in its order (changed or added), then those only in `old` (removed).
pub fn changed_attributes<'a>(old: &'a FlatImage, new: &'a FlatImage) -> Vec<AttributeChange<'a>> {
    let mut changes = Vec::new();
    for (name, new_value) in new.iter() {
        let old_value = old.get(&name);
        if old_value != Some(new_value) {
            changes.push(AttributeChange {
                name,
                old: old_value,
                new: Some(new_value),
            });
        }
    }
    for (name, old_value) in old.iter() {
        if new.get(&name).is_none() {
            changes.push(AttributeChange {
                name,
                old: Some(old_value),
                new: None,
            });
        }
    }
    changes
}
