//! The change-record data model: event and format enums, the decoded record, the flat image
//! with its per-attribute spans, the flat row written from them, and the decode errors.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::json::{JsonStr, write_json_string};
use super::time::{format_creation_datetime, write_creation_datetime};

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

/// Where in the record an attribute problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeLocation {
    /// `Keys`, `NewImage`, `OldImage`, or `item`/`value` for standalone flattening.
    pub image: &'static str,
    /// `name`, `name.inner[2]`, …; empty when the problem is the value itself.
    pub path: String,
}

impl fmt::Display for AttributeLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "the {}", self.image)
        } else {
            write!(f, "attribute {:?} of {}", self.path, self.image)
        }
    }
}

/// What is wrong with one DynamoDB-typed attribute value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeProblem {
    #[error("unknown type tag {0:?}")]
    UnknownTypeTag(String),
    #[error("empty type descriptor {{}}")]
    EmptyDescriptor,
    #[error("more than one type tag ({first:?} and {second:?})")]
    SeveralTypeTags { first: String, second: String },
    #[error("{found} where a type descriptor such as {{\"S\":…}} was expected")]
    NotADescriptor { found: &'static str },
    #[error("{tag:?} value must be {expected}, found {found}")]
    WrongValueType {
        tag: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    #[error("duplicate attribute name")]
    DuplicateName,
}

/// Why some bytes are not a change record. `Display` is one line naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty input")]
    Empty,
    #[error("not UTF-8 at byte {offset}")]
    NotUtf8 { offset: usize },
    #[error("not JSON at byte {offset}: {reason}")]
    NotJson { offset: usize, reason: &'static str },
    #[error("truncated JSON: input ends at byte {offset}")]
    Truncated { offset: usize },
    #[error("JSON nested deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: usize, limit: usize },
    #[error("not a change record: the JSON value is {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {0} appears more than once")]
    DuplicateField(&'static str),
    #[error("field {field} must be {expected}, found {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("unknown eventName {0:?} (expected INSERT, MODIFY or REMOVE)")]
    UnknownEventName(String),
    #[error(
        "unknown ApproximateCreationDateTimePrecision {0:?} (expected MILLISECOND or MICROSECOND)"
    )]
    UnknownPrecision(String),
    #[error("ApproximateCreationDateTime {0} is outside 1970-01-01..9999-12-31")]
    TimestampOutOfRange(String),
    #[error("{problem} in {location}")]
    BadAttribute {
        problem: AttributeProblem,
        location: AttributeLocation,
    },
}

impl DecodeError {
    pub(super) fn attribute(problem: AttributeProblem) -> DecodeError {
        DecodeError::BadAttribute {
            problem,
            location: AttributeLocation {
                image: "value",
                path: String::new(),
            },
        }
    }

    /// Prepends one path segment while an attribute error travels out of nested values.
    pub(super) fn within(mut self, segment: impl FnOnce() -> String) -> DecodeError {
        if let DecodeError::BadAttribute { location, .. } = &mut self {
            let mut path = segment();
            if !location.path.is_empty() && !location.path.starts_with('[') {
                path.push('.');
            }
            path.push_str(&location.path);
            location.path = path;
        }
        self
    }

    pub(super) fn in_image(mut self, image: &'static str) -> DecodeError {
        if let DecodeError::BadAttribute { location, .. } = &mut self {
            location.image = image;
        }
        self
    }
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

    /// `creation_datetime` as the flat row prints it.
    pub fn creation_datetime(&self) -> String {
        format_creation_datetime(&self.created_at, self.created_at_precision)
    }

    /// Appends the flat row and its terminating `\n`: one JSON object with every attribute of
    /// the [row image](Self::row_image), then `cdc_event_type`, `cdc_event_id`,
    /// `cdc_sequence_number` (a string, or `null` for native records, which have none),
    /// `creation_datetime` and `is_deleted`.
    ///
    /// An image attribute named like one of the [`CDC_COLUMNS`] is left out: the cdc column
    /// wins, so a row never carries a duplicate key. `creation_datetime` is ISO-8601 UTC at the
    /// precision of the source: `2026-11-20T08:15:02Z` for Streams records (whole seconds),
    /// `2026-11-20T08:15:02.114Z` for native records (milliseconds), six fraction digits for
    /// `MICROSECOND` records, and more digits than the unit when the source number has a
    /// fraction.
    pub fn write_flat_row(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        if self.row_image().write_members_without_cdc_columns(out) {
            out.push(b',');
        }
        out.extend_from_slice(b"\"cdc_event_type\":\"");
        out.extend_from_slice(self.event_type.as_str().as_bytes());
        out.extend_from_slice(b"\",\"cdc_event_id\":");
        write_json_string(out, &self.event_id);
        out.extend_from_slice(b",\"cdc_sequence_number\":");
        match &self.sequence_number {
            Some(sequence_number) => write_json_string(out, sequence_number),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"creation_datetime\":\"");
        write_creation_datetime(out, &self.created_at, self.created_at_precision);
        out.extend_from_slice(if self.is_deleted() {
            b"\",\"is_deleted\":true}\n"
        } else {
            b"\",\"is_deleted\":false}\n"
        });
    }

    /// The flat row as a string, with its `\n`.
    pub fn flat_row(&self) -> String {
        let mut out = Vec::with_capacity(self.row_image().as_json().len() + 200);
        self.write_flat_row(&mut out);
        // Every piece written is valid UTF-8 (decoded input or ASCII), so this never loses data.
        String::from_utf8(out).unwrap_or_default()
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
    fn write_members_without_cdc_columns(&self, out: &mut Vec<u8>) -> bool {
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
