//! Two alternatives to the hand-written change-record decoder, built on serde_json and on
//! simd-json, for the transform bench to race against it and a test to hold them equal to it.
//
// Both run one set of serde visitors; a `Front` says how each library hands over the text the
// flat row copies. serde_json lends the raw JSON (`RawValue`), so strings keep their escapes
// and numbers their digits, as the hand parser's do. simd-json only has unescaped strings and
// parsed numbers, so its strings are re-escaped: the same JSON value, but the same bytes only
// for strings without escapes (true of every fixture and of the bench batch), and a fractional
// timestamp goes through an f64.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use salesctl_core::change::{
    CDC_COLUMNS, ChangeRecord, EventType, FlatImage, SourceFormat, TimePrecision,
    write_creation_datetime, write_json_string,
};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::value::RawValue;

/// Above this many attributes, duplicates are found by sorting (as the hand parser does).
const PAIRWISE_DUPLICATE_CHECK_LIMIT: usize = 32;

/// A record as the alternatives decode it: a [`ChangeRecord`]'s fields, images as flat JSON.
#[derive(Debug)]
pub struct AltRecord {
    pub format: SourceFormat,
    pub event_type: EventType,
    pub event_id: String,
    pub sequence_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_at_precision: TimePrecision,
    pub table_name: Option<String>,
    pub keys: Image,
    pub new_image: Option<Image>,
    pub old_image: Option<Image>,
}

impl Default for AltRecord {
    fn default() -> Self {
        AltRecord {
            format: SourceFormat::StreamsRecord,
            event_type: EventType::Insert,
            event_id: String::new(),
            sequence_number: None,
            created_at: DateTime::UNIX_EPOCH,
            created_at_precision: TimePrecision::Seconds,
            table_name: None,
            keys: Image::default(),
            new_image: None,
            old_image: None,
        }
    }
}

/// A flattened image: one JSON object and where each attribute sits in it.
#[derive(Debug, Default)]
pub struct Image {
    json: String,
    attrs: Vec<Attr>,
    has_cdc_column_name: bool,
}

#[derive(Debug, Clone, Copy)]
struct Attr {
    key_start: usize,
    key_end: usize,
    value_end: usize,
    escaped: bool,
}

impl Image {
    pub fn as_json(&self) -> &str {
        if self.json.is_empty() {
            "{}"
        } else {
            &self.json
        }
    }

    fn clear(&mut self) {
        self.json.clear();
        self.attrs.clear();
        self.has_cdc_column_name = false;
    }

    fn name(&self, attr: &Attr) -> Cow<'_, str> {
        let raw = &self.json[attr.key_start..attr.key_end];
        if attr.escaped {
            Cow::Owned(serde_json::from_str(raw).unwrap_or_default())
        } else {
            Cow::Borrowed(&raw[1..raw.len() - 1])
        }
    }

    fn duplicate_name(&self) -> Option<String> {
        if self.attrs.len() <= PAIRWISE_DUPLICATE_CHECK_LIMIT {
            return self.attrs.iter().enumerate().find_map(|(index, attr)| {
                let name = self.name(attr);
                self.attrs[..index]
                    .iter()
                    .any(|earlier| self.name(earlier) == name)
                    .then(|| name.into_owned())
            });
        }
        let mut names: Vec<Cow<'_, str>> = self.attrs.iter().map(|a| self.name(a)).collect();
        names.sort_unstable();
        names
            .windows(2)
            .find(|pair| pair[0] == pair[1])
            .map(|pair| pair[0].to_string())
    }
}

impl AltRecord {
    fn row_image(&self) -> &Image {
        let image = match self.event_type {
            EventType::Insert | EventType::Modify => self.new_image.as_ref(),
            EventType::Remove => self.old_image.as_ref(),
        };
        image.unwrap_or(&self.keys)
    }

    /// The flat row, byte for byte the layout of [`ChangeRecord::write_flat_row`].
    pub fn write_flat_row(&self, out: &mut Vec<u8>) {
        let image = self.row_image();
        out.push(b'{');
        let mut wrote = false;
        if image.has_cdc_column_name {
            for attr in &image.attrs {
                if CDC_COLUMNS.contains(&&*image.name(attr)) {
                    continue;
                }
                if wrote {
                    out.push(b',');
                }
                out.extend_from_slice(&image.json.as_bytes()[attr.key_start..attr.value_end]);
                wrote = true;
            }
        } else if image.json.len() > 2 {
            out.extend_from_slice(&image.json.as_bytes()[1..image.json.len() - 1]);
            wrote = true;
        }
        if wrote {
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
        out.extend_from_slice(if self.event_type == EventType::Remove {
            b"\",\"is_deleted\":true}\n"
        } else {
            b"\",\"is_deleted\":false}\n"
        });
    }

    /// Every field, images as their JSON text, to compare with [`summary_of`]'s.
    pub fn summary(&self) -> String {
        format!(
            "{:?}",
            (
                self.format,
                self.event_type,
                &self.event_id,
                &self.sequence_number,
                self.created_at,
                self.created_at_precision,
                &self.table_name,
                self.keys.as_json(),
                self.new_image.as_ref().map(Image::as_json),
                self.old_image.as_ref().map(Image::as_json),
            )
        )
    }
}

/// What [`AltRecord::summary`] says, for the hand parser's record.
pub fn summary_of(hand: &ChangeRecord) -> String {
    format!(
        "{:?}",
        (
            hand.format,
            hand.event_type,
            &hand.event_id,
            &hand.sequence_number,
            hand.created_at,
            hand.created_at_precision,
            &hand.table_name,
            hand.keys.as_json(),
            hand.new_image.as_ref().map(FlatImage::as_json),
            hand.old_image.as_ref().map(FlatImage::as_json),
        )
    )
}

// ---------------------------------------------------------------------------------------------
// The two front ends
// ---------------------------------------------------------------------------------------------

/// Decodes with serde_json, reusing `record`'s buffers.
pub fn decode_serde_json(bytes: &[u8], record: &mut AltRecord) -> Result<(), String> {
    let mut seen = Gathered::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    RecordSeed::<SerdeJson>(record, &mut seen, PhantomData)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| e.to_string())?;
    finish(record, seen)
}

/// simd-json parses in place, so it needs a scratch copy of the input and its own buffers.
pub struct SimdJson {
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
}

impl Default for SimdJson {
    fn default() -> Self {
        SimdJson {
            scratch: Vec::new(),
            buffers: simd_json::Buffers::new(4096),
        }
    }
}

impl SimdJson {
    /// Decodes with simd-json, reusing `record`'s buffers and its own.
    pub fn decode(&mut self, bytes: &[u8], record: &mut AltRecord) -> Result<(), String> {
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        let mut seen = Gathered::default();
        let mut de =
            simd_json::Deserializer::from_slice_with_buffers(&mut self.scratch, &mut self.buffers)
                .map_err(|e| e.to_string())?;
        RecordSeed::<Simd>(record, &mut seen, PhantomData)
            .deserialize(&mut de)
            .map_err(|e| e.to_string())?;
        finish(record, seen)
    }
}

/// How a JSON library hands over the text the flat row copies.
trait Front {
    /// A member name or a string value, appended as a JSON string literal; true when the
    /// literal holds escapes.
    fn push_string<'de, D: Deserializer<'de>>(d: D, out: &mut String) -> Result<bool, D::Error>;
    /// A number's text (`ApproximateCreationDateTime`).
    fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error>;
}

struct SerdeJson;

impl Front for SerdeJson {
    fn push_string<'de, D: Deserializer<'de>>(d: D, out: &mut String) -> Result<bool, D::Error> {
        let raw = <&RawValue>::deserialize(d)?.get();
        if !raw.starts_with('"') {
            return Err(D::Error::custom(format!("expected a string, found {raw}")));
        }
        out.push_str(raw);
        Ok(raw.contains('\\'))
    }

    fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
        let raw = <&RawValue>::deserialize(d)?.get();
        match raw.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => Ok(Cow::Borrowed(raw)),
            _ => Err(D::Error::custom(format!("expected a number, found {raw}"))),
        }
    }
}

struct Simd;

impl Front for Simd {
    fn push_string<'de, D: Deserializer<'de>>(d: D, out: &mut String) -> Result<bool, D::Error> {
        let Text(text) = Text::deserialize(d)?;
        Ok(push_escaped(&text, out))
    }

    fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
        struct Number;
        impl Visitor<'_> for Number {
            type Value = Cow<'static, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Cow::Owned(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Cow::Owned(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                Ok(Cow::Owned(n.to_string()))
            }
        }
        d.deserialize_any(Number)
    }
}

/// Appends `text` as a JSON string literal, escaped as `write_json_string` escapes (which
/// writes bytes, not a `String`); true when anything needed escaping.
fn push_escaped(text: &str, out: &mut String) -> bool {
    let special = |c: char| c == '"' || c == '\\' || c < ' ';
    out.push('"');
    if !text.contains(special) {
        out.push_str(text);
        out.push('"');
        return false;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    true
}

// ---------------------------------------------------------------------------------------------
// The record grammar, as serde visitors
// ---------------------------------------------------------------------------------------------

/// What the fields told, judged once the whole record is read (as the hand parser does).
#[derive(Default)]
struct Gathered<'de> {
    event_id: bool,
    event_type: Option<EventType>,
    dynamodb: bool,
    timestamp: Option<Cow<'de, str>>,
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

/// A string, borrowed from the input when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// A string or null; simd-json reports null as a unit, serde_json as none.
struct OptionalText<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for OptionalText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(OptionalText(
            Option::<Text<'de>>::deserialize(d)?.map(|t| t.0),
        ))
    }
}

fn once<E: de::Error>(seen: &mut bool, field: &str) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        Err(E::custom(format!("field {field} appears more than once")))
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

fn table_from_stream_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?.strip_prefix("table/")?;
    resource.split('/').next().filter(|name| !name.is_empty())
}

struct RecordSeed<'r, 'de, F>(&'r mut AltRecord, &'r mut Gathered<'de>, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for RecordSeed<'_, 'de, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Front> Visitor<'de> for RecordSeed<'_, 'de, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a change record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (record, seen) = (self.0, self.1);
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "eventID" => {
                    once(&mut seen.event_id, "eventID")?;
                    let Text(id) = map.next_value()?;
                    record.event_id.clear();
                    record.event_id.push_str(&id);
                }
                "eventName" => {
                    if seen.event_type.is_some() {
                        return Err(A::Error::custom("field eventName appears more than once"));
                    }
                    let Text(name) = map.next_value()?;
                    let event_type = name.parse().map_err(A::Error::custom)?;
                    seen.event_type = Some(event_type);
                }
                "eventVersion" => {
                    seen.streams_marker = true;
                    map.next_value::<IgnoredAny>()?;
                }
                "eventSourceARN" => {
                    seen.streams_marker = true;
                    if let OptionalText(Some(arn)) = map.next_value()?
                        && let Some(table) = table_from_stream_arn(&arn)
                        && !seen.table_name_from_field
                    {
                        set_reusing(&mut record.table_name, table);
                        seen.table_name = true;
                    }
                }
                "tableName" => {
                    seen.native_marker = true;
                    once(&mut seen.table_name_from_field, "tableName")?;
                    if let OptionalText(Some(table)) = map.next_value()? {
                        set_reusing(&mut record.table_name, &table);
                        seen.table_name = true;
                    }
                }
                "recordFormat" | "userIdentity" => {
                    seen.native_marker = true;
                    map.next_value::<IgnoredAny>()?;
                }
                "dynamodb" => {
                    once(&mut seen.dynamodb, "dynamodb")?;
                    map.next_value_seed(DynamodbSeed::<F>(&mut *record, &mut *seen, PhantomData))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct DynamodbSeed<'r, 'de, F>(&'r mut AltRecord, &'r mut Gathered<'de>, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for DynamodbSeed<'_, 'de, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Front> Visitor<'de> for DynamodbSeed<'_, 'de, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the dynamodb object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (record, seen) = (self.0, self.1);
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "ApproximateCreationDateTime" => {
                    if seen.timestamp.is_some() {
                        return Err(A::Error::custom("duplicate ApproximateCreationDateTime"));
                    }
                    seen.timestamp = Some(map.next_value_seed(NumberSeed::<F>(PhantomData))?);
                }
                "ApproximateCreationDateTimePrecision" => {
                    seen.native_marker = true;
                    if seen.precision.is_some() {
                        return Err(A::Error::custom("duplicate precision"));
                    }
                    if let OptionalText(Some(text)) = map.next_value()? {
                        seen.precision = Some(if text.eq_ignore_ascii_case("MILLISECOND") {
                            TimePrecision::Milliseconds
                        } else if text.eq_ignore_ascii_case("MICROSECOND") {
                            TimePrecision::Microseconds
                        } else {
                            return Err(A::Error::custom(format!("unknown precision {text}")));
                        });
                    }
                }
                "Keys" => {
                    once(&mut seen.keys, "dynamodb.Keys")?;
                    map.next_value_seed(ImageSeed::<F>(&mut record.keys, PhantomData))?;
                }
                "NewImage" => {
                    once(&mut seen.new_image, "dynamodb.NewImage")?;
                    seen.new_image = map.next_value_seed(OptionalImageSeed::<F>(
                        &mut record.new_image,
                        PhantomData,
                    ))?;
                }
                "OldImage" => {
                    once(&mut seen.old_image, "dynamodb.OldImage")?;
                    seen.old_image = map.next_value_seed(OptionalImageSeed::<F>(
                        &mut record.old_image,
                        PhantomData,
                    ))?;
                }
                "SequenceNumber" => {
                    once(&mut seen.sequence_number, "dynamodb.SequenceNumber")?;
                    match map.next_value()? {
                        OptionalText(Some(text)) => set_reusing(&mut record.sequence_number, &text),
                        OptionalText(None) => seen.sequence_number = false,
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct NumberSeed<F>(PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for NumberSeed<F> {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        F::number(d)
    }
}

/// An image that may be `null`; yields whether it was present.
struct OptionalImageSeed<'r, F>(&'r mut Option<Image>, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for OptionalImageSeed<'_, F> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, F: Front> Visitor<'de> for OptionalImageSeed<'_, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of attributes or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        ImageSeed::<F>(self.0.get_or_insert_with(Image::default), PhantomData).deserialize(d)?;
        Ok(true)
    }
}

struct ImageSeed<'r, F>(&'r mut Image, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for ImageSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Front> Visitor<'de> for ImageSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of attributes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let image = self.0;
        image.clear();
        image.json.push('{');
        loop {
            let comma_at = image.json.len();
            if !image.attrs.is_empty() {
                image.json.push(',');
            }
            let key_start = image.json.len();
            let Some(escaped) = map.next_key_seed(StringSeed::<F>(&mut image.json, PhantomData))?
            else {
                // The comma was pushed before knowing whether a member follows.
                image.json.truncate(comma_at);
                break;
            };
            let key_end = image.json.len();
            image.json.push(':');
            map.next_value_seed(TypedSeed::<F>(&mut image.json, PhantomData))?;
            let attr = Attr {
                key_start,
                key_end,
                value_end: image.json.len(),
                escaped,
            };
            image.has_cdc_column_name |= CDC_COLUMNS.contains(&&*image.name(&attr));
            image.attrs.push(attr);
        }
        image.json.push('}');
        match image.duplicate_name() {
            Some(name) => Err(A::Error::custom(format!("duplicate attribute name {name}"))),
            None => Ok(()),
        }
    }
}

/// A JSON string appended as a literal; yields whether it holds escapes.
struct StringSeed<'o, F>(&'o mut String, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for StringSeed<'_, F> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        F::push_string(d, self.0)
    }
}

/// One typed attribute value (`{"S":"x"}`, `{"M":{…}}`, …), flattened onto `out`.
struct TypedSeed<'o, F>(&'o mut String, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for TypedSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Front> Visitor<'de> for TypedSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a type descriptor such as {\"S\":…}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let Some(Text(tag)) = map.next_key()? else {
            return Err(A::Error::custom("empty type descriptor"));
        };
        match tag.as_ref() {
            "S" | "B" => {
                map.next_value_seed(StringSeed::<F>(&mut *out, PhantomData))?;
            }
            "N" => {
                let Text(number) = map.next_value()?;
                push_number(&number, out).map_err(A::Error::custom)?;
            }
            "BOOL" => out.push_str(if map.next_value::<bool>()? {
                "true"
            } else {
                "false"
            }),
            "NULL" => {
                map.next_value::<bool>()?;
                out.push_str("null");
            }
            "M" => map.next_value_seed(MapSeed::<F>(&mut *out, PhantomData))?,
            "L" => map.next_value_seed(ListSeed::<F>(out, ListOf::Typed, PhantomData))?,
            "NS" => map.next_value_seed(ListSeed::<F>(out, ListOf::Numbers, PhantomData))?,
            "SS" | "BS" => map.next_value_seed(ListSeed::<F>(out, ListOf::Strings, PhantomData))?,
            other => return Err(A::Error::custom(format!("unknown type tag {other:?}"))),
        }
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(A::Error::custom("more than one type tag"));
        }
        Ok(())
    }
}

/// The plain members of an `M`.
struct MapSeed<'o, F>(&'o mut String, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for MapSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Front> Visitor<'de> for MapSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push('{');
        let mut first = true;
        loop {
            let comma_at = out.len();
            if !first {
                out.push(',');
            }
            let key = map.next_key_seed(StringSeed::<F>(&mut *out, PhantomData))?;
            if key.is_none() {
                out.truncate(comma_at);
                break;
            }
            first = false;
            out.push(':');
            map.next_value_seed(TypedSeed::<F>(&mut *out, PhantomData))?;
        }
        out.push('}');
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum ListOf {
    Typed,
    Strings,
    Numbers,
}

/// The elements of an `L`, `SS`, `NS` or `BS`.
struct ListSeed<'o, F>(&'o mut String, ListOf, PhantomData<F>);

impl<'de, F: Front> DeserializeSeed<'de> for ListSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: Front> Visitor<'de> for ListSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push('[');
        let mut first = true;
        loop {
            let comma_at = out.len();
            if !first {
                out.push(',');
            }
            let more = match self.1 {
                ListOf::Typed => seq
                    .next_element_seed(TypedSeed::<F>(&mut *out, PhantomData))?
                    .is_some(),
                ListOf::Strings => seq
                    .next_element_seed(StringSeed::<F>(&mut *out, PhantomData))?
                    .is_some(),
                ListOf::Numbers => match seq.next_element::<Text<'de>>()? {
                    Some(Text(number)) => {
                        push_number(&number, out).map_err(A::Error::custom)?;
                        true
                    }
                    None => false,
                },
            };
            if !more {
                out.truncate(comma_at);
                break;
            }
            first = false;
        }
        out.push(']');
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Judging the record: format, time, exact numbers (the hand parser's rules)
// ---------------------------------------------------------------------------------------------

fn finish(record: &mut AltRecord, seen: Gathered<'_>) -> Result<(), String> {
    let missing = |field: &str| format!("missing field {field}");
    if !seen.event_id {
        return Err(missing("eventID"));
    }
    let event_type = seen.event_type.ok_or_else(|| missing("eventName"))?;
    if !seen.dynamodb {
        return Err(missing("dynamodb"));
    }
    let timestamp = seen
        .timestamp
        .ok_or_else(|| missing("dynamodb.ApproximateCreationDateTime"))?;
    if !seen.keys {
        return Err(missing("dynamodb.Keys"));
    }
    let out_of_range = || format!("ApproximateCreationDateTime {timestamp} is out of range");
    let (mantissa, exponent) = parse_decimal(&timestamp).ok_or_else(out_of_range)?;
    let marked = match (seen.native_marker, seen.streams_marker) {
        (true, false) => Some(SourceFormat::KinesisDataStreams),
        (false, true) => Some(SourceFormat::StreamsRecord),
        _ => None,
    };
    let unit = match (seen.precision, marked) {
        (Some(precision), _) => precision,
        (None, Some(SourceFormat::StreamsRecord)) => TimePrecision::Seconds,
        (None, Some(SourceFormat::KinesisDataStreams)) => TimePrecision::Milliseconds,
        (None, None) => match scale(mantissa, exponent) {
            Some(value) if value < 100_000_000_000 => TimePrecision::Seconds,
            Some(value) if value < 100_000_000_000_000 => TimePrecision::Milliseconds,
            _ => TimePrecision::Microseconds,
        },
    };
    let power = match unit {
        TimePrecision::Seconds => 6,
        TimePrecision::Milliseconds => 3,
        TimePrecision::Microseconds => 0,
    };
    let micros = exponent
        .checked_add(power)
        .and_then(|e| scale(mantissa, e))
        .and_then(|m| i64::try_from(m).ok())
        .filter(|m| (0..=253_402_300_799_999_999).contains(m))
        .ok_or_else(out_of_range)?;
    record.format = marked.unwrap_or(match unit {
        TimePrecision::Seconds => SourceFormat::StreamsRecord,
        _ => SourceFormat::KinesisDataStreams,
    });
    record.event_type = event_type;
    record.created_at = DateTime::from_timestamp_micros(micros).ok_or_else(out_of_range)?;
    let shown = if micros % 1000 != 0 {
        TimePrecision::Microseconds
    } else if micros % 1_000_000 != 0 {
        TimePrecision::Milliseconds
    } else {
        TimePrecision::Seconds
    };
    record.created_at_precision = unit.max(shown);
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

/// A JSON number as `mantissa × 10^exponent`; `None` when too large to be any timestamp.
fn parse_decimal(text: &str) -> Option<(i128, i32)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (significand, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], &unsigned[at + 1..]),
        None => (unsigned, "0"),
    };
    let (int, frac) = significand.split_once('.').unwrap_or((significand, ""));
    let mut exponent = match exponent.parse::<i64>() {
        Ok(e) => e.clamp(-9999, 9999),
        Err(_) if exponent.starts_with('-') => -9999,
        Err(_) => 9999,
    };
    let mut mantissa: i128 = 0;
    for digit in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(digit.checked_sub(b'0')?))?;
    }
    exponent -= i64::try_from(frac.len()).ok()?;
    Some((
        if negative { -mantissa } else { mantissa },
        i32::try_from(exponent).ok()?,
    ))
}

/// `mantissa × 10^exponent`, truncated to an integer.
fn scale(mantissa: i128, exponent: i32) -> Option<i128> {
    if exponent >= 0 {
        mantissa.checked_mul(10i128.checked_pow(exponent.unsigned_abs())?)
    } else {
        Some(
            10i128
                .checked_pow(exponent.unsigned_abs())
                .map_or(0, |divisor| mantissa / divisor),
        )
    }
}

/// A DynamoDB `N` as a JSON number with the same value: verbatim when it already is one, else
/// normalised (`+5`, `.5`, `5.`, `007`).
fn push_number(text: &str, out: &mut String) -> Result<(), String> {
    let invalid = || format!("invalid number {text:?}");
    let (sign, unsigned) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let (significand, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => unsigned.split_at(at),
        None => (unsigned, ""),
    };
    let (int, frac) = significand.split_once('.').unwrap_or((significand, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_digits = exponent
        .get(1..)
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e));
    if !digits(int)
        || !digits(frac)
        || int.is_empty() && frac.is_empty()
        || exponent_digits.is_some_and(|e| e.is_empty() || !digits(e))
    {
        return Err(invalid());
    }
    let has_point = significand.contains('.');
    let is_json = !text.starts_with('+')
        && !int.is_empty()
        && (int.len() == 1 || !int.starts_with('0'))
        && (!has_point || !frac.is_empty());
    if is_json {
        out.push_str(text);
        return Ok(());
    }
    out.push_str(sign);
    let significant = int.trim_start_matches('0');
    out.push_str(if significant.is_empty() {
        "0"
    } else {
        significant
    });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out.push_str(exponent);
    Ok(())
}
