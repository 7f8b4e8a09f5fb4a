//! DynamoDB change records: decode both wire formats (a Streams record from a Pipe, a native
//! Kinesis Data Streams record) and flatten DynamoDB-typed JSON into plain JSON, numbers exact.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// How deep JSON may nest before the decoder gives up. DynamoDB allows 32 levels of nested
/// attributes, each costing two JSON levels (`{"M":{…}}`), plus three for the record itself, so
/// 128 leaves ample room while keeping recursion far from any thread's stack limit.
pub const MAX_NESTING: usize = 128;

/// The column names the flat row adds to every image; an attribute with one of these names is
/// left out of the row (the cdc column wins).
pub const CDC_COLUMNS: [&str; 5] = [
    "cdc_event_type",
    "cdc_event_id",
    "cdc_sequence_number",
    "creation_datetime",
    "is_deleted",
];

/// The last instant `creation_datetime` can print with a four-digit year (9999-12-31T23:59:59Z).
const MAX_EPOCH_MICROS: i64 = 253_402_300_799_999_999;

/// Above this many attributes, duplicate names are found by sorting instead of pairwise.
const PAIRWISE_DUPLICATE_CHECK_LIMIT: usize = 32;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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
    /// An empty record, useful only as reusable storage for [`decode_into`].
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
    json: String,
    attrs: Vec<AttrSpan>,
    has_cdc_column_name: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AttrSpan {
    /// The quoted key, as it appears in `json`.
    key_start: usize,
    key_end: usize,
    /// The value starts right after the `:` that follows the key.
    value_end: usize,
    escaped_name: bool,
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
    fn attribute(problem: AttributeProblem) -> DecodeError {
        DecodeError::BadAttribute {
            problem,
            location: AttributeLocation {
                image: "value",
                path: String::new(),
            },
        }
    }

    /// Prepends one path segment while an attribute error travels out of nested values.
    fn within(mut self, segment: impl FnOnce() -> String) -> DecodeError {
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

    fn in_image(mut self, image: &'static str) -> DecodeError {
        if let DecodeError::BadAttribute { location, .. } = &mut self {
            location.image = image;
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Decodes one change record in either format (see [`SourceFormat`] for how they are told
/// apart).
///
/// A single pass with a small hand-written JSON reader: strings are copied through verbatim
/// (escapes included, so nothing is re-escaped), numbers keep their original digits, and each
/// image is flattened straight into one string with per-attribute spans. No `serde_json::Value`
/// tree and no `f64` appear on this path, which is what keeps the Firehose transform fast.
/// Unknown fields are skipped (but must be valid JSON); nesting is capped at [`MAX_NESTING`].
pub fn decode(bytes: &[u8]) -> Result<ChangeRecord, DecodeError> {
    let mut record = ChangeRecord::default();
    decode_into(bytes, &mut record)?;
    Ok(record)
}

/// Like [`decode`], but reuses the strings and buffers of `record`, so a loop over many records
/// allocates nothing once warm. On error the content of `record` is unspecified.
pub fn decode_into(bytes: &[u8], record: &mut ChangeRecord) -> Result<(), DecodeError> {
    let src = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    Parser { src, pos: 0 }.record(record)
}

/// Flattens one DynamoDB item in typed JSON (`{"id":{"S":"a"},"n":{"N":"1"}}`).
pub fn flatten_item(typed_item: &str) -> Result<FlatImage, DecodeError> {
    let mut parser = Parser {
        src: typed_item,
        pos: 0,
    };
    let mut image = FlatImage::default();
    if parser.peek_ws().is_none() {
        return Err(DecodeError::Empty);
    }
    parser.image(&mut image, "item", 0)?;
    parser.end()?;
    Ok(image)
}

/// Flattens one DynamoDB attribute value in typed JSON (`{"M":{"a":{"N":"1"}}}`) to plain JSON.
pub fn flatten_value(typed_value: &str) -> Result<String, DecodeError> {
    let mut parser = Parser {
        src: typed_value,
        pos: 0,
    };
    let mut out = String::with_capacity(typed_value.len());
    if parser.peek_ws().is_none() {
        return Err(DecodeError::Empty);
    }
    parser.typed_value(&mut out, 0)?;
    parser.end()?;
    Ok(out)
}

/// `2026-11-20T08:15:02Z`, `…02.114Z` or `…02.114000Z`, by precision.
pub fn format_creation_datetime(at: &DateTime<Utc>, precision: TimePrecision) -> String {
    let mut out = Vec::with_capacity(27);
    write_creation_datetime(&mut out, at, precision);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends what [`format_creation_datetime`] returns, without allocating.
pub fn write_creation_datetime(out: &mut Vec<u8>, at: &DateTime<Utc>, precision: TimePrecision) {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        // Decoded records never get here (their range is checked); other callers still get
        // valid ISO-8601, in the expanded-year form.
        let format = match precision {
            TimePrecision::Seconds => SecondsFormat::Secs,
            TimePrecision::Milliseconds => SecondsFormat::Millis,
            TimePrecision::Microseconds => SecondsFormat::Micros,
        };
        out.extend_from_slice(at.to_rfc3339_opts(format, true).as_bytes());
        return;
    }
    push_digits(out, year.unsigned_abs(), 4);
    out.push(b'-');
    push_digits(out, at.month(), 2);
    out.push(b'-');
    push_digits(out, at.day(), 2);
    out.push(b'T');
    push_digits(out, at.hour(), 2);
    out.push(b':');
    push_digits(out, at.minute(), 2);
    out.push(b':');
    push_digits(out, at.second(), 2);
    // A leap second shows up as a fraction of a second of 1.0 or more; clamp it.
    let micros = at.timestamp_subsec_micros().min(999_999);
    match precision {
        TimePrecision::Seconds => {}
        TimePrecision::Milliseconds => {
            out.push(b'.');
            push_digits(out, micros / 1000, 3);
        }
        TimePrecision::Microseconds => {
            out.push(b'.');
            push_digits(out, micros, 6);
        }
    }
    out.push(b'Z');
}

fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    for position in (0..width).rev() {
        let digit = (value / 10u32.pow(position)) % 10;
        out.push(b'0' + digit as u8);
    }
}

/// Appends `text` as a JSON string literal.
pub fn write_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    write_json_string_body(out, text);
    out.push(b'"');
}

/// Appends `text` escaped for the inside of a JSON string, without the quotes.
pub fn write_json_string_body(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut copied_up_to = 0;
    loop {
        let special = skip_plain_string_bytes(bytes, copied_up_to);
        out.extend_from_slice(bytes.get(copied_up_to..special).unwrap_or_default());
        let Some(&byte) = bytes.get(special) else {
            return;
        };
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
        }
        copied_up_to = special + 1;
    }
}

// ---------------------------------------------------------------------------------------------
// ChangeRecord and FlatImage behaviour
// ---------------------------------------------------------------------------------------------

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

    fn clear(&mut self) {
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

    fn check_duplicate_names(&self) -> Result<(), DecodeError> {
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

fn is_cdc_column(name: &str) -> bool {
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

// ---------------------------------------------------------------------------------------------
// The JSON reader
// ---------------------------------------------------------------------------------------------

/// A JSON string exactly as it appears in the input, quotes included.
#[derive(Debug, Clone, Copy)]
struct JsonStr<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> JsonStr<'a> {
    fn inner(self) -> &'a str {
        self.raw
            .get(1..self.raw.len().saturating_sub(1))
            .unwrap_or_default()
    }

    /// The quoted text with canonical escapes (none, for names), to match against literals
    /// such as `b"\"Keys\""` without slicing or decoding.
    fn quoted(self) -> Cow<'a, [u8]> {
        if self.escaped {
            Cow::Owned(serde_json::to_vec(self.decoded().as_ref()).unwrap_or_default())
        } else {
            Cow::Borrowed(self.raw.as_bytes())
        }
    }

    fn decoded(self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.inner());
        }
        // Rare (names and tags practically never contain escapes), so the plain route is fine;
        // the escapes were validated while scanning, so this cannot fail.
        serde_json::from_str::<String>(self.raw)
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(self.inner()))
    }
}

/// Bytes that end the fast scan through a string's body.
const STRING_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The position of the first byte at or after `pos` that ends a string's plain run: a quote, a
/// backslash or a control character (or `bytes.len()`). Eight bytes per step, the classic SWAR
/// way, since strings are most of a record's bytes.
fn skip_plain_string_bytes(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // A byte is flagged when it is zero after the XOR (quote, backslash) or below 0x20.
        // Borrows can flag bytes above a true hit, never below one, so the lowest flag is exact.
        let flags = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | word.wrapping_sub(ONES * 0x20) & !word)
            & HIGHS;
        if flags != 0 {
            return pos + (flags.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&byte) = bytes.get(pos) {
        if STRING_SPECIAL[usize::from(byte)] {
            break;
        }
        pos += 1;
    }
    pos
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeTag {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl TypeTag {
    /// From the tag as quoted JSON text (`"S"`).
    fn from_quoted(quoted: &[u8]) -> Option<TypeTag> {
        Some(match quoted {
            b"\"S\"" => TypeTag::S,
            b"\"N\"" => TypeTag::N,
            b"\"B\"" => TypeTag::B,
            b"\"BOOL\"" => TypeTag::Bool,
            b"\"NULL\"" => TypeTag::Null,
            b"\"M\"" => TypeTag::M,
            b"\"L\"" => TypeTag::L,
            b"\"SS\"" => TypeTag::Ss,
            b"\"NS\"" => TypeTag::Ns,
            b"\"BS\"" => TypeTag::Bs,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            TypeTag::S => "S",
            TypeTag::N => "N",
            TypeTag::B => "B",
            TypeTag::Bool => "BOOL",
            TypeTag::Null => "NULL",
            TypeTag::M => "M",
            TypeTag::L => "L",
            TypeTag::Ss => "SS",
            TypeTag::Ns => "NS",
            TypeTag::Bs => "BS",
        }
    }
}

/// What the top-level fields told us, gathered during the single pass and judged at the end.
#[derive(Default)]
struct Gathered<'a> {
    event_id: bool,
    event_type: Option<EventType>,
    dynamodb: bool,
    timestamp: Option<&'a str>,
    precision: Option<TimePrecision>,
    keys: bool,
    new_image: bool,
    old_image: bool,
    sequence_number: bool,
    table_name_from_field: bool,
    table_name: bool,
    native_marker: bool,
    streams_marker: bool,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn peek_ws(&mut self) -> Option<u8> {
        self.skip_ws();
        self.peek()
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or_default()
    }

    /// A syntax error at the current position, or "truncated" when the input ran out.
    fn syntax(&self, reason: &'static str) -> DecodeError {
        if self.pos >= self.src.len() {
            DecodeError::Truncated {
                offset: self.src.len(),
            }
        } else {
            DecodeError::NotJson {
                offset: self.pos,
                reason,
            }
        }
    }

    fn enter(&self, depth: usize) -> Result<(), DecodeError> {
        if depth >= MAX_NESTING {
            Err(DecodeError::TooDeep {
                offset: self.pos,
                limit: MAX_NESTING,
            })
        } else {
            Ok(())
        }
    }

    /// Only whitespace may follow the value.
    fn end(&mut self) -> Result<(), DecodeError> {
        if self.peek_ws().is_some() {
            Err(DecodeError::NotJson {
                offset: self.pos,
                reason: "unexpected data after the value",
            })
        } else {
            Ok(())
        }
    }

    /// What kind of value starts here, for messages.
    fn kind_here(&mut self) -> &'static str {
        match self.peek_ws() {
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            _ => "invalid JSON",
        }
    }

    /// At `{` already consumed (`first`) or after a member value: the next key (its `:`
    /// consumed) or `None` at the closing `}`.
    fn object_key(&mut self, first: bool) -> Result<Option<JsonStr<'a>>, DecodeError> {
        match self.peek_ws() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !first => {
                self.pos += 1;
                self.skip_ws();
            }
            Some(_) if first => {}
            _ => return Err(self.syntax("expected ',' or '}'")),
        }
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let key = self.string()?;
        if self.peek_ws() != Some(b':') {
            return Err(self.syntax("expected ':'"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// At `[` already consumed (`first`) or after an element: whether another element follows.
    fn array_next(&mut self, first: bool) -> Result<bool, DecodeError> {
        match self.peek_ws() {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if first => Ok(true),
            _ => Err(self.syntax("expected ',' or ']'")),
        }
    }

    /// At an opening quote: the whole string, validated (escapes, surrogate pairs, no raw
    /// control characters). UTF-8 was validated for the whole input up front.
    fn string(&mut self) -> Result<JsonStr<'a>, DecodeError> {
        let bytes = self.bytes();
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            self.pos = skip_plain_string_bytes(bytes, self.pos);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(JsonStr {
                        raw: self.slice(start, self.pos),
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(_) => return Err(self.syntax("control character inside a string")),
                None => {
                    return Err(DecodeError::Truncated {
                        offset: self.src.len(),
                    });
                }
            }
        }
    }

    /// At a backslash inside a string.
    fn escape(&mut self) -> Result<(), DecodeError> {
        self.pos += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'u') => {
                let unit = self.hex4()?;
                if (0xDC00..=0xDFFF).contains(&unit) {
                    return Err(self.syntax("lone trailing surrogate in \\u escape"));
                }
                if (0xD800..=0xDBFF).contains(&unit) {
                    if self.bytes().get(self.pos..self.pos + 2) != Some(b"\\u".as_slice()) {
                        return Err(self.syntax("lone leading surrogate in \\u escape"));
                    }
                    self.pos += 1;
                    let low = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return Err(self.syntax("lone leading surrogate in \\u escape"));
                    }
                }
                Ok(())
            }
            _ => Err(self.syntax("invalid escape")),
        }
    }

    /// At the `u` of `\uXXXX`: the code unit; leaves the position after it.
    fn hex4(&mut self) -> Result<u32, DecodeError> {
        self.pos += 1;
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|b| char::from(b).to_digit(16));
            match digit {
                Some(digit) => unit = unit * 16 + digit,
                None => return Err(self.syntax("invalid \\u escape")),
            }
            self.pos += 1;
        }
        Ok(unit)
    }

    /// At a number: its text, checked against the JSON grammar.
    fn number(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut self.pos);
            }
            _ => return Err(self.syntax("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(&mut self.pos) {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(&mut self.pos) {
                return Err(self.syntax("invalid number"));
            }
        }
        Ok(self.slice(start, self.pos))
    }

    fn literal(&mut self) -> Result<bool, DecodeError> {
        let rest = self.bytes().get(self.pos..).unwrap_or_default();
        if rest.starts_with(b"true") {
            self.pos += 4;
            Ok(true)
        } else if rest.starts_with(b"false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    fn null(&mut self) -> bool {
        let is_null = self
            .bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(b"null"));
        if is_null {
            self.pos += 4;
        }
        is_null
    }

    /// Validates and skips any JSON value.
    fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError> {
        match self.peek_ws() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => {
                self.enter(depth)?;
                self.pos += 1;
                let mut first = true;
                while self.object_key(first)?.is_some() {
                    first = false;
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.enter(depth)?;
                self.pos += 1;
                let mut first = true;
                while self.array_next(first)? {
                    first = false;
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'n') if self.null() => Ok(()),
            Some(b't' | b'f') => self.literal().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// A string field, or `None` when it is `null`.
    fn optional_string(&mut self, field: &'static str) -> Result<Option<JsonStr<'a>>, DecodeError> {
        match self.peek_ws() {
            Some(b'"') => self.string().map(Some),
            Some(b'n') if self.null() => Ok(None),
            _ => Err(self.wrong_type(field, "a string")),
        }
    }

    fn required_string(&mut self, field: &'static str) -> Result<JsonStr<'a>, DecodeError> {
        match self.peek_ws() {
            Some(b'"') => self.string(),
            _ => Err(self.wrong_type(field, "a string")),
        }
    }

    /// A field of the wrong JSON type; a syntax error wins when the value is not JSON at all.
    fn wrong_type(&mut self, field: &'static str, expected: &'static str) -> DecodeError {
        let found = self.kind_here();
        match self.skip_value(1) {
            Err(syntax) => syntax,
            Ok(()) => DecodeError::WrongType {
                field,
                expected,
                found,
            },
        }
    }

    // --- the record -------------------------------------------------------------------------

    fn record(mut self, record: &mut ChangeRecord) -> Result<(), DecodeError> {
        match self.peek_ws() {
            None => return Err(DecodeError::Empty),
            Some(b'{') => {}
            Some(_) => {
                let found = self.kind_here();
                self.skip_value(0)?;
                self.end()?;
                return Err(DecodeError::NotAnObject { found });
            }
        }
        self.pos += 1;
        let mut seen = Gathered::default();
        let mut first = true;
        while let Some(key) = self.object_key(first)? {
            first = false;
            match key.quoted().as_ref() {
                b"\"eventID\"" => {
                    once(&mut seen.event_id, "eventID")?;
                    let id = self.required_string("eventID")?;
                    record.event_id.clear();
                    record.event_id.push_str(&id.decoded());
                }
                b"\"eventName\"" => {
                    if seen.event_type.is_some() {
                        return Err(DecodeError::DuplicateField("eventName"));
                    }
                    let name = self.required_string("eventName")?.decoded();
                    let event_type = name
                        .parse::<EventType>()
                        .map_err(|_| DecodeError::UnknownEventName(name.into_owned()))?;
                    seen.event_type = Some(event_type);
                }
                b"\"eventVersion\"" => {
                    seen.streams_marker = true;
                    self.skip_value(1)?;
                }
                b"\"eventSourceARN\"" => {
                    seen.streams_marker = true;
                    if let Some(arn) = self.optional_string("eventSourceARN")? {
                        let arn = arn.decoded();
                        if let Some(table) = table_from_stream_arn(&arn)
                            && !seen.table_name_from_field
                        {
                            set_reusing(&mut record.table_name, table);
                            seen.table_name = true;
                        }
                    }
                }
                b"\"tableName\"" => {
                    seen.native_marker = true;
                    once(&mut seen.table_name_from_field, "tableName")?;
                    if let Some(table) = self.optional_string("tableName")? {
                        set_reusing(&mut record.table_name, &table.decoded());
                        seen.table_name = true;
                    }
                }
                b"\"recordFormat\"" | b"\"userIdentity\"" => {
                    seen.native_marker = true;
                    self.skip_value(1)?;
                }
                b"\"dynamodb\"" => {
                    once(&mut seen.dynamodb, "dynamodb")?;
                    self.dynamodb(record, &mut seen)?;
                }
                _ => self.skip_value(1)?,
            }
        }
        self.end()?;
        self.finish(record, seen)
    }

    fn dynamodb(
        &mut self,
        record: &mut ChangeRecord,
        seen: &mut Gathered<'a>,
    ) -> Result<(), DecodeError> {
        if self.peek_ws() != Some(b'{') {
            return Err(self.wrong_type("dynamodb", "an object"));
        }
        self.pos += 1;
        let mut first = true;
        while let Some(key) = self.object_key(first)? {
            first = false;
            match key.quoted().as_ref() {
                b"\"ApproximateCreationDateTime\"" => {
                    if seen.timestamp.is_some() {
                        return Err(DecodeError::DuplicateField(
                            "dynamodb.ApproximateCreationDateTime",
                        ));
                    }
                    match self.peek_ws() {
                        Some(b'-' | b'0'..=b'9') => seen.timestamp = Some(self.number()?),
                        _ => {
                            return Err(
                                self.wrong_type("dynamodb.ApproximateCreationDateTime", "a number")
                            );
                        }
                    }
                }
                b"\"ApproximateCreationDateTimePrecision\"" => {
                    seen.native_marker = true;
                    let field = "dynamodb.ApproximateCreationDateTimePrecision";
                    if seen.precision.is_some() {
                        return Err(DecodeError::DuplicateField(field));
                    }
                    if let Some(text) = self.optional_string(field)? {
                        let text = text.decoded();
                        seen.precision = Some(if text.eq_ignore_ascii_case("MILLISECOND") {
                            TimePrecision::Milliseconds
                        } else if text.eq_ignore_ascii_case("MICROSECOND") {
                            TimePrecision::Microseconds
                        } else {
                            return Err(DecodeError::UnknownPrecision(text.into_owned()));
                        });
                    }
                }
                b"\"Keys\"" => {
                    once(&mut seen.keys, "dynamodb.Keys")?;
                    self.image(&mut record.keys, "Keys", 2)?;
                }
                b"\"NewImage\"" => {
                    once(&mut seen.new_image, "dynamodb.NewImage")?;
                    if self.null_or_image(&mut record.new_image, "NewImage")? {
                        seen.new_image = false;
                    }
                }
                b"\"OldImage\"" => {
                    once(&mut seen.old_image, "dynamodb.OldImage")?;
                    if self.null_or_image(&mut record.old_image, "OldImage")? {
                        seen.old_image = false;
                    }
                }
                b"\"SequenceNumber\"" => {
                    once(&mut seen.sequence_number, "dynamodb.SequenceNumber")?;
                    match self.optional_string("dynamodb.SequenceNumber")? {
                        Some(text) => set_reusing(&mut record.sequence_number, &text.decoded()),
                        None => seen.sequence_number = false,
                    }
                }
                _ => self.skip_value(2)?,
            }
        }
        Ok(())
    }

    /// Parses an optional image into `slot` (reusing its buffers); true when it was `null`.
    fn null_or_image(
        &mut self,
        slot: &mut Option<FlatImage>,
        name: &'static str,
    ) -> Result<bool, DecodeError> {
        if self.peek_ws() == Some(b'n') && self.null() {
            return Ok(true);
        }
        self.image(slot.get_or_insert_with(FlatImage::default), name, 2)?;
        Ok(false)
    }

    /// Judges what the single pass gathered: required fields, format, and the timestamp.
    fn finish(&self, record: &mut ChangeRecord, seen: Gathered<'a>) -> Result<(), DecodeError> {
        if !seen.event_id {
            return Err(DecodeError::MissingField("eventID"));
        }
        let Some(event_type) = seen.event_type else {
            return Err(DecodeError::MissingField("eventName"));
        };
        if !seen.dynamodb {
            return Err(DecodeError::MissingField("dynamodb"));
        }
        let Some(timestamp) = seen.timestamp else {
            return Err(DecodeError::MissingField(
                "dynamodb.ApproximateCreationDateTime",
            ));
        };
        if !seen.keys {
            return Err(DecodeError::MissingField("dynamodb.Keys"));
        }
        let out_of_range = || DecodeError::TimestampOutOfRange(timestamp.to_owned());
        let decimal = Decimal::parse(timestamp).ok_or_else(out_of_range)?;

        let marked_format = match (seen.native_marker, seen.streams_marker) {
            (true, false) => Some(SourceFormat::KinesisDataStreams),
            (false, true) => Some(SourceFormat::StreamsRecord),
            _ => None,
        };
        let unit = match (seen.precision, marked_format) {
            (Some(precision), _) => precision,
            (None, Some(SourceFormat::StreamsRecord)) => TimePrecision::Seconds,
            (None, Some(SourceFormat::KinesisDataStreams)) => TimePrecision::Milliseconds,
            (None, None) => decimal.unit_by_magnitude(),
        };
        let format = marked_format.unwrap_or(match unit {
            TimePrecision::Seconds => SourceFormat::StreamsRecord,
            _ => SourceFormat::KinesisDataStreams,
        });
        let micros = decimal.to_epoch_micros(unit).ok_or_else(out_of_range)?;
        if !(0..=MAX_EPOCH_MICROS).contains(&micros) {
            return Err(out_of_range());
        }
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(out_of_range)?;
        // A fractional timestamp carries more precision than its unit; keep it.
        let shown_precision = if micros % 1000 != 0 {
            TimePrecision::Microseconds
        } else if micros % 1_000_000 != 0 {
            TimePrecision::Milliseconds
        } else {
            TimePrecision::Seconds
        };

        record.format = format;
        record.event_type = event_type;
        record.created_at = created_at;
        record.created_at_precision = unit.max(shown_precision);
        if !seen.sequence_number {
            record.sequence_number = None;
        }
        if !seen.table_name {
            record.table_name = None;
        }
        if !seen.new_image {
            record.new_image = None;
        }
        if !seen.old_image {
            record.old_image = None;
        }
        Ok(())
    }

    // --- typed JSON -------------------------------------------------------------------------

    /// A map of typed attributes, flattened into `image`.
    fn image(
        &mut self,
        image: &mut FlatImage,
        name: &'static str,
        depth: usize,
    ) -> Result<(), DecodeError> {
        image.clear();
        if self.peek_ws() != Some(b'{') {
            let field = match name {
                "Keys" => "dynamodb.Keys",
                "NewImage" => "dynamodb.NewImage",
                "OldImage" => "dynamodb.OldImage",
                _ => "item",
            };
            return Err(self.wrong_type(field, "a map of attributes"));
        }
        self.enter(depth)?;
        self.pos += 1;
        image.json.push('{');
        let mut first = true;
        while let Some(key) = self.object_key(first)? {
            if !first {
                image.json.push(',');
            }
            first = false;
            let key_start = image.json.len();
            image.json.push_str(key.raw);
            let key_end = image.json.len();
            image.json.push(':');
            self.typed_value(&mut image.json, depth + 1)
                .map_err(|e| e.within(|| key.decoded().into_owned()).in_image(name))?;
            image.attrs.push(AttrSpan {
                key_start,
                key_end,
                value_end: image.json.len(),
                escaped_name: key.escaped,
            });
            if matches!(key.inner().as_bytes().first(), Some(b'c' | b'i') | None) || key.escaped {
                image.has_cdc_column_name |= is_cdc_column(&key.decoded());
            }
        }
        image.json.push('}');
        image.check_duplicate_names().map_err(|e| e.in_image(name))
    }

    /// One typed attribute value (`{"S":"x"}`, `{"M":{…}}`, …), flattened onto `out`.
    fn typed_value(&mut self, out: &mut String, depth: usize) -> Result<(), DecodeError> {
        if self.peek_ws() != Some(b'{') {
            let found = self.kind_here();
            self.skip_value(depth)?;
            return Err(DecodeError::attribute(AttributeProblem::NotADescriptor {
                found,
            }));
        }
        self.enter(depth)?;
        self.pos += 1;
        let Some(tag_key) = self.object_key(true)? else {
            return Err(DecodeError::attribute(AttributeProblem::EmptyDescriptor));
        };
        let Some(tag) = TypeTag::from_quoted(&tag_key.quoted()) else {
            return Err(DecodeError::attribute(AttributeProblem::UnknownTypeTag(
                tag_key.decoded().into_owned(),
            )));
        };
        match tag {
            TypeTag::S | TypeTag::B => out.push_str(self.tagged_string(tag)?.raw),
            TypeTag::N => {
                let text = self.tagged_string(tag)?;
                push_number(&text.decoded(), out)?;
            }
            TypeTag::Bool | TypeTag::Null => {
                let value = match self.peek_ws() {
                    Some(b't' | b'f') => self.literal()?,
                    _ => return Err(self.wrong_value(tag, "true or false")),
                };
                out.push_str(match (tag, value) {
                    (TypeTag::Null, _) => "null",
                    (_, true) => "true",
                    (_, false) => "false",
                });
            }
            TypeTag::M => {
                if self.peek_ws() != Some(b'{') {
                    return Err(self.wrong_value(tag, "an object"));
                }
                self.enter(depth + 1)?;
                self.pos += 1;
                out.push('{');
                let mut first = true;
                while let Some(key) = self.object_key(first)? {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(key.raw);
                    out.push(':');
                    self.typed_value(out, depth + 2)
                        .map_err(|e| e.within(|| key.decoded().into_owned()))?;
                }
                out.push('}');
            }
            TypeTag::L | TypeTag::Ss | TypeTag::Ns | TypeTag::Bs => {
                if self.peek_ws() != Some(b'[') {
                    return Err(self.wrong_value(tag, "an array"));
                }
                self.enter(depth + 1)?;
                self.pos += 1;
                out.push('[');
                let mut index = 0usize;
                while self.array_next(index == 0)? {
                    if index > 0 {
                        out.push(',');
                    }
                    self.set_element(tag, out, depth + 2)
                        .map_err(|e| e.within(|| format!("[{index}]")))?;
                    index += 1;
                }
                out.push(']');
            }
        }
        match self.object_key(false)? {
            None => Ok(()),
            Some(second) => Err(DecodeError::attribute(AttributeProblem::SeveralTypeTags {
                first: tag.name().to_owned(),
                second: second.decoded().into_owned(),
            })),
        }
    }

    /// One element of an L, SS, NS or BS.
    fn set_element(
        &mut self,
        tag: TypeTag,
        out: &mut String,
        depth: usize,
    ) -> Result<(), DecodeError> {
        match tag {
            TypeTag::L => self.typed_value(out, depth),
            TypeTag::Ns => {
                let text = self.tagged_string(tag)?;
                push_number(&text.decoded(), out)
            }
            _ => {
                out.push_str(self.tagged_string(tag)?.raw);
                Ok(())
            }
        }
    }

    fn tagged_string(&mut self, tag: TypeTag) -> Result<JsonStr<'a>, DecodeError> {
        if self.peek_ws() == Some(b'"') {
            self.string()
        } else {
            let expected = match tag {
                TypeTag::Ss | TypeTag::Ns | TypeTag::Bs => "an array of strings",
                _ => "a string",
            };
            Err(self.wrong_value(tag, expected))
        }
    }

    fn wrong_value(&mut self, tag: TypeTag, expected: &'static str) -> DecodeError {
        let found = self.kind_here();
        if let Err(syntax) = self.skip_value(1) {
            return syntax;
        }
        DecodeError::attribute(AttributeProblem::WrongValueType {
            tag: tag.name(),
            expected,
            found,
        })
    }
}

fn once(seen: &mut bool, field: &'static str) -> Result<(), DecodeError> {
    if std::mem::replace(seen, true) {
        Err(DecodeError::DuplicateField(field))
    } else {
        Ok(())
    }
}

fn set_reusing(slot: &mut Option<String>, value: &str) {
    match slot {
        Some(existing) => {
            existing.clear();
            existing.push_str(value);
        }
        None => *slot = Some(value.to_owned()),
    }
}

/// `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL` -> `NAME`. The stream label is a
/// timestamp full of colons, hence `splitn`.
fn table_from_stream_arn(arn: &str) -> Option<&str> {
    // A byte scan: str::splitn's searcher costs more than the rest of the record's fields.
    let bytes = arn.as_bytes();
    let fifth_colon = bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b':')
        .nth(4)?
        .0;
    let resource = arn.get(fifth_colon + 1..)?.strip_prefix("table/")?;
    let end = resource
        .bytes()
        .position(|b| b == b'/')
        .unwrap_or(resource.len());
    let name = resource.get(..end)?;
    (!name.is_empty()).then_some(name)
}

/// Writes a DynamoDB `N` string as a JSON number with the same exact value. Valid JSON numbers
/// are copied verbatim (so `1249.90` stays `1249.90`); forms JSON cannot express verbatim
/// (`+5`, `.5`, `5.`, `007`) are normalised by hand, which, unlike rust_decimal, also covers
/// DynamoDB's full 38 digits and its exponent range. Anything else is an error.
fn push_number(text: &str, out: &mut String) -> Result<(), DecodeError> {
    let invalid = || DecodeError::attribute(AttributeProblem::InvalidNumber(text.to_owned()));
    let bytes = text.as_bytes();
    let digits_from = |mut pos: usize| {
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        pos
    };
    let (negative, int_start) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let int_end = digits_from(int_start);
    let (frac_start, frac_end) = if bytes.get(int_end) == Some(&b'.') {
        (int_end + 1, digits_from(int_end + 1))
    } else {
        (int_end, int_end)
    };
    let has_point = frac_start != int_end;
    if int_end == int_start && frac_end == frac_start {
        return Err(invalid());
    }
    let exponent_start = frac_end;
    let mut end = exponent_start;
    if let Some(b'e' | b'E') = bytes.get(end) {
        end += 1;
        if let Some(b'+' | b'-') = bytes.get(end) {
            end += 1;
        }
        let exponent_digits_end = digits_from(end);
        if exponent_digits_end == end {
            return Err(invalid());
        }
        end = exponent_digits_end;
    }
    if end != bytes.len() {
        return Err(invalid());
    }
    let int_digits = text.get(int_start..int_end).unwrap_or_default();
    let is_json = bytes.first() != Some(&b'+')
        && !int_digits.is_empty()
        && (int_digits.len() == 1 || !int_digits.starts_with('0'))
        && (!has_point || frac_end > frac_start);
    if is_json {
        out.push_str(text);
        return Ok(());
    }
    if negative {
        out.push('-');
    }
    let significant = int_digits.trim_start_matches('0');
    out.push_str(if significant.is_empty() {
        "0"
    } else {
        significant
    });
    if frac_end > frac_start {
        out.push('.');
        out.push_str(text.get(frac_start..frac_end).unwrap_or_default());
    }
    out.push_str(text.get(exponent_start..).unwrap_or_default());
    Ok(())
}

/// A JSON number as `mantissa × 10^exponent`, exact, for timestamp arithmetic without floats.
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

impl Decimal {
    /// `None` when the number is too large to be any timestamp.
    fn parse(text: &str) -> Option<Decimal> {
        // Nearly every timestamp is a plain integer; skip the general path for those.
        if text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Decimal {
                mantissa: i128::from(text.parse::<i64>().ok()?),
                exponent: 0,
            });
        }
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (significand, exponent_text) =
            match unsigned.bytes().position(|b| b == b'e' || b == b'E') {
                Some(at) => (unsigned.get(..at)?, unsigned.get(at + 1..)?),
                None => (unsigned, "0"),
            };
        let (int_part, frac_part) = significand.split_once('.').unwrap_or((significand, ""));
        let mut mantissa: i128 = 0;
        // Exponents beyond ±9999 make any timestamp 0 or absurd; clamping keeps the arithmetic
        // in range and still gives the right verdict.
        let mut exponent: i64 = match exponent_text.parse::<i64>() {
            Ok(exponent) => exponent.clamp(-9999, 9999),
            Err(_) if exponent_text.starts_with('-') => -9999,
            Err(_) => 9999,
        };
        for digit in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(digit - b'0'))?;
        }
        exponent -= i64::try_from(frac_part.len()).ok()?;
        if negative {
            mantissa = -mantissa;
        }
        Some(Decimal {
            mantissa,
            exponent: i32::try_from(exponent).ok()?,
        })
    }

    fn scaled(&self, power: i32) -> Option<i128> {
        let exponent = self.exponent.checked_add(power)?;
        if exponent >= 0 {
            self.mantissa
                .checked_mul(10i128.checked_pow(u32::try_from(exponent).ok()?)?)
        } else {
            let divisor = 10i128.checked_pow(exponent.unsigned_abs());
            Some(divisor.map_or(0, |divisor| self.mantissa / divisor))
        }
    }

    fn unit_by_magnitude(&self) -> TimePrecision {
        match self.scaled(0) {
            Some(value) if value < 100_000_000_000 => TimePrecision::Seconds,
            Some(value) if value < 100_000_000_000_000 => TimePrecision::Milliseconds,
            _ => TimePrecision::Microseconds,
        }
    }

    fn to_epoch_micros(&self, unit: TimePrecision) -> Option<i64> {
        let power = match unit {
            TimePrecision::Seconds => 6,
            TimePrecision::Milliseconds => 3,
            TimePrecision::Microseconds => 0,
        };
        i64::try_from(self.scaled(power)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Result<String, DecodeError> {
        let mut out = String::new();
        push_number(text, &mut out).map(|()| out)
    }

    #[test]
    fn numbers_keep_their_digits_or_normalise_exactly() {
        for (input, expected) in [
            ("1249.90", "1249.90"),
            ("-0", "-0"),
            (
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345678",
            ),
            ("1E+125", "1E+125"),
            ("+5", "5"),
            (".5", "0.5"),
            ("-.5", "-0.5"),
            ("5.", "5"),
            ("007", "7"),
            ("-00.50", "-0.50"),
            ("1.e5", "1e5"),
            ("+0.0", "0.0"),
        ] {
            assert_eq!(number(input).as_deref(), Ok(expected), "{input}");
        }
        for bad in [
            "", "-", "+", ".", "e5", "1e", "1e+", "NaN", "Infinity", "0x10", " 1", "1 ", "1.2.3",
        ] {
            assert_eq!(
                number(bad),
                Err(DecodeError::attribute(AttributeProblem::InvalidNumber(
                    bad.to_owned()
                ))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn stream_arn_names_the_table() {
        let arn =
            "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-20T08:00:00.000";
        assert_eq!(table_from_stream_arn(arn), Some("orders"));
        assert_eq!(
            table_from_stream_arn("arn:aws:dynamodb:us-east-1:1:table/"),
            None
        );
        assert_eq!(table_from_stream_arn("nonsense"), None);
    }

    #[test]
    fn timestamps_convert_without_floats() {
        let micros = |text: &str, unit| Decimal::parse(text).and_then(|d| d.to_epoch_micros(unit));
        assert_eq!(
            micros("1795162502", TimePrecision::Seconds),
            Some(1_795_162_502_000_000)
        );
        assert_eq!(
            micros("1795162502114", TimePrecision::Milliseconds),
            Some(1_795_162_502_114_000)
        );
        assert_eq!(
            micros("1.795162502114E9", TimePrecision::Seconds),
            Some(1_795_162_502_114_000)
        );
        assert_eq!(
            micros("1795162502.5", TimePrecision::Seconds),
            Some(1_795_162_502_500_000)
        );
        assert_eq!(micros("1e400", TimePrecision::Seconds), None);
        assert_eq!(
            Decimal::parse("1795162502").map(|d| d.unit_by_magnitude()),
            Some(TimePrecision::Seconds)
        );
        assert_eq!(
            Decimal::parse("1795162502114").map(|d| d.unit_by_magnitude()),
            Some(TimePrecision::Milliseconds)
        );
        assert_eq!(
            Decimal::parse("1795162502114000").map(|d| d.unit_by_magnitude()),
            Some(TimePrecision::Microseconds)
        );
    }

    #[test]
    fn plain_string_runs_end_at_the_first_special_byte() {
        for special in (0u8..=255).filter(|&b| STRING_SPECIAL[usize::from(b)]) {
            for at in 0..20 {
                for filler in [b'a', 0x7f, 0x80, 0xff, b'!', b'#'] {
                    let mut bytes = vec![filler; 20];
                    bytes[at] = special;
                    // A second special byte later must not win over the first.
                    bytes[19] = b'"';
                    for from in 0..=at {
                        assert_eq!(
                            skip_plain_string_bytes(&bytes, from),
                            at,
                            "{special} at {at}"
                        );
                    }
                }
            }
        }
        assert_eq!(skip_plain_string_bytes(&[0xffu8; 19], 0), 19);
        assert_eq!(skip_plain_string_bytes(b"", 0), 0);
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(
            String::from_utf8(out).as_deref(),
            Ok(r#""a\"b\\c\nd\u0001é""#)
        );
    }
}
