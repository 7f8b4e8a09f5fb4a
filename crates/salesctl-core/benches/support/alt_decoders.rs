//! Two alternatives to the hand-written change-record decoder, built on serde_json and on
//! simd-json, for the transform bench to race against it and a test to hold them equal to it.
//
// Both run one set of serde visitors, generic over a `Front` that says how each library hands
// over the text the flat row copies. serde_json lends the raw JSON (`RawValue`), so strings keep
// their escapes and numbers their digits, as the hand parser's do. simd-json only has unescaped
// strings and parsed numbers, so its strings are re-escaped: the same JSON value, but the same
// bytes only for strings without escapes (true of every fixture and of the bench batch), and a
// fractional timestamp goes through an f64.
//
// A record's fields other than its images are the library's own `ChangeRecord`, whose flat row
// writer also writes the cdc columns; only the images (built here, not by the hand parser) have
// a type of their own.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::DateTime;
use salesctl_core::change::{
    CDC_COLUMNS, ChangeRecord, EventType, FlatImage, SourceFormat, TimePrecision,
};
use salesctl_core::lake_schema;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::value::RawValue;

/// Above this many attributes, duplicates are found by sorting (as the hand parser does).
const PAIRWISE_DUPLICATE_CHECK_LIMIT: usize = 32;

/// A record as the alternatives decode it: the hand parser's record type for every field but
/// the images (which it leaves empty), and the images as flat JSON of this module's making.
#[derive(Debug, Default)]
pub struct AltRecord {
    pub fields: ChangeRecord,
    pub keys: Image,
    pub new_image: Option<Image>,
    pub old_image: Option<Image>,
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

impl Attr {
    /// The attribute's name, unescaped, out of the image's `json`.
    fn name<'j>(&self, json: &'j str) -> Cow<'j, str> {
        let raw = &json[self.key_start..self.key_end];
        if self.escaped {
            Cow::Owned(serde_json::from_str(raw).unwrap_or_default())
        } else {
            Cow::Borrowed(&raw[1..raw.len() - 1])
        }
    }
}

impl Image {
    fn clear(&mut self) {
        self.json.clear();
        self.attrs.clear();
        self.has_cdc_column_name = false;
    }

    fn duplicate_name(&self) -> Option<String> {
        if self.attrs.len() <= PAIRWISE_DUPLICATE_CHECK_LIMIT {
            return self.attrs.iter().enumerate().find_map(|(index, attr)| {
                let name = attr.name(&self.json);
                self.attrs[..index]
                    .iter()
                    .any(|earlier| earlier.name(&self.json) == name)
                    .then(|| name.into_owned())
            });
        }
        let mut names: Vec<Cow<'_, str>> = self.attrs.iter().map(|a| a.name(&self.json)).collect();
        names.sort_unstable();
        names
            .windows(2)
            .find(|pair| pair[0] == pair[1])
            .map(|pair| pair[0].to_string())
    }

    /// `(name, JSON text)` per attribute, in order.
    fn members(&self) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
        self.attrs.iter().map(|attr| {
            (
                attr.name(&self.json),
                &self.json[attr.key_end + 1..attr.value_end],
            )
        })
    }

    /// Appends the members, without braces or cdc-named attributes; true when it wrote any.
    fn write_members(&self, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let json = self.json.as_bytes();
        if !self.has_cdc_column_name {
            out.extend_from_slice(
                json.get(1..json.len().saturating_sub(1))
                    .unwrap_or_default(),
            );
            return out.len() > start;
        }
        let kept = self.attrs.iter().filter(|attr| {
            let name = attr.name(&self.json);
            !CDC_COLUMNS.contains(&name.as_ref())
        });
        for attr in kept {
            if out.len() > start {
                out.push(b',');
            }
            out.extend_from_slice(&json[attr.key_start..attr.value_end]);
        }
        out.len() > start
    }
}

impl AltRecord {
    fn row_image(&self) -> &Image {
        let image = if self.fields.is_deleted() {
            self.old_image.as_ref()
        } else {
            self.new_image.as_ref()
        };
        image.unwrap_or(&self.keys)
    }

    /// The flat row, byte for byte the layout of [`ChangeRecord::write_flat_row`]: the row
    /// image's members, the lake's `order_id` from the keys when the image has none, then the
    /// cdc columns as that very writer writes them for `fields`
    /// (whose own images are empty, so its row is `{` and the cdc columns alone).
    pub fn write_flat_row(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(b'{');
        let image = self.row_image();
        let mut wrote = image.write_members(out);
        if !image
            .members()
            .any(|(name, _)| lake_schema::fills_key_column(&name))
        {
            let key_start = out.len();
            if wrote {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(lake_schema::KEY_COLUMN.as_bytes());
            out.extend_from_slice(b"\":");
            if lake_schema::write_key_from_item_keys(self.keys.members(), out) {
                wrote = true;
            } else {
                out.truncate(key_start);
            }
        }
        if !wrote {
            out.truncate(start);
        }
        let joint = out.len();
        self.fields.write_flat_row(out);
        if joint > start {
            out[joint] = b',';
        }
    }

    /// Every field, images as their JSON text, to compare with [`summary_of`]'s.
    pub fn summary(&self) -> String {
        let images = [
            Some(&self.keys),
            self.new_image.as_ref(),
            self.old_image.as_ref(),
        ];
        format!(
            "{:?} {:?}",
            self.fields,
            images.map(|i| i.map(|image| image.json.as_str()))
        )
    }
}

/// What [`AltRecord::summary`] says, for the hand parser's record.
pub fn summary_of(hand: &ChangeRecord) -> String {
    let images = [
        Some(&hand.keys),
        hand.new_image.as_ref(),
        hand.old_image.as_ref(),
    ];
    let fields = ChangeRecord {
        keys: FlatImage::default(),
        new_image: None,
        old_image: None,
        ..hand.clone()
    };
    format!("{fields:?} {:?}", images.map(|i| i.map(FlatImage::as_json)))
}

// ---------------------------------------------------------------------------------------------
// The two front ends
// ---------------------------------------------------------------------------------------------

/// Decodes with serde_json, reusing `record`'s buffers.
pub fn decode_serde_json(bytes: &[u8], record: &mut AltRecord) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seen = read_record::<SerdeJson, _>(&mut de, record)?;
    de.end().map_err(|e| e.to_string())?;
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
        let mut de =
            simd_json::Deserializer::from_slice_with_buffers(&mut self.scratch, &mut self.buffers)
                .map_err(|e| e.to_string())?;
        let seen = read_record::<Simd, _>(&mut de, record)?;
        finish(record, seen)
    }
}

/// Reads one record with front end `F`: what it holds goes into `record`, what it tells about
/// it into the returned [`Gathered`], for [`finish`] to judge.
fn read_record<'de, F: Front, D: Deserializer<'de>>(
    d: D,
    record: &mut AltRecord,
) -> Result<Gathered<'de>, String> {
    let mut seen = Gathered::default();
    Fields::<false>(record, &mut seen)
        .seed::<F>()
        .deserialize(d)
        .map_err(|e| e.to_string())?;
    Ok(seen)
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
// The record grammar: one rule per kind of value, each made a serde visitor by `Seed`
// ---------------------------------------------------------------------------------------------

/// One rule of the grammar: where its value goes (`self`) and how it is read, for either front
/// end `F`. [`Seed`] is the one serde seed and visitor every rule is driven through; a rule
/// answers only the calls its [`ask`](Rule::ask) can lead to.
trait Rule<'de>: Sized {
    type Value;
    /// What the value should be, for error messages.
    const EXPECTING: &'static str;

    /// Asks the deserializer for the value: a map, unless the rule says otherwise.
    fn ask<F: Front, D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self.seed::<F>())
    }

    fn map<F: Front, A: MapAccess<'de>>(self, _map: A) -> Result<Self::Value, A::Error> {
        Err(A::Error::custom(Self::EXPECTING))
    }

    fn seq<F: Front, A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(A::Error::custom(Self::EXPECTING))
    }

    /// A value where `null` was allowed.
    fn some<F: Front, D: Deserializer<'de>>(self, _d: D) -> Result<Self::Value, D::Error> {
        Err(D::Error::custom(Self::EXPECTING))
    }

    fn null<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom(Self::EXPECTING))
    }

    fn seed<F: Front>(self) -> Seed<F, Self> {
        Seed(self, PhantomData)
    }
}

struct Seed<F, R>(R, PhantomData<F>);

impl<'de, F: Front, R: Rule<'de>> DeserializeSeed<'de> for Seed<F, R> {
    type Value = R::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<R::Value, D::Error> {
        self.0.ask::<F, D>(d)
    }
}

impl<'de, F: Front, R: Rule<'de>> Visitor<'de> for Seed<F, R> {
    type Value = R::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(R::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<R::Value, A::Error> {
        self.0.map::<F, A>(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<R::Value, A::Error> {
        self.0.seq::<F, A>(seq)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<R::Value, D::Error> {
        self.0.some::<F, D>(d)
    }

    // serde_json reports `null` as none, simd-json as a unit.
    fn visit_none<E: de::Error>(self) -> Result<R::Value, E> {
        self.0.null()
    }

    fn visit_unit<E: de::Error>(self) -> Result<R::Value, E> {
        self.0.null()
    }
}

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

/// A string or null.
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

/// Sets `slot` to `value`, reusing the string it holds.
fn set_reusing(slot: &mut Option<String>, value: &str) {
    let text = slot.get_or_insert_default();
    text.clear();
    text.push_str(value);
}

fn table_from_stream_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?.strip_prefix("table/")?;
    resource.split('/').next().filter(|name| !name.is_empty())
}

/// The members of a record, or (`DYNAMODB`) of its `dynamodb` object: each one the grammar
/// knows read into the record or noted as seen, any other skipped.
struct Fields<'r, 'de, const DYNAMODB: bool>(&'r mut AltRecord, &'r mut Gathered<'de>);

impl<'de, const DYNAMODB: bool> Rule<'de> for Fields<'_, 'de, DYNAMODB> {
    type Value = ();
    const EXPECTING: &'static str = if DYNAMODB {
        "the dynamodb object"
    } else {
        "a change record (a JSON object)"
    };

    fn map<F: Front, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (record, seen) = (self.0, self.1);
        while let Some(Text(key)) = map.next_key()? {
            if !field::<F, A>(DYNAMODB, &key, &mut map, &mut *record, &mut *seen)? {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Reads the member `key` of the record, or (`dynamodb`) of its `dynamodb` object; false when
/// the grammar does not know it there.
fn field<'de, F: Front, A: MapAccess<'de>>(
    dynamodb: bool,
    key: &str,
    map: &mut A,
    record: &mut AltRecord,
    seen: &mut Gathered<'de>,
) -> Result<bool, A::Error> {
    match (dynamodb, key) {
        (false, "eventID") => {
            once(&mut seen.event_id, "eventID")?;
            let Text(id) = map.next_value()?;
            record.fields.event_id.clear();
            record.fields.event_id.push_str(&id);
        }
        (false, "eventName") => {
            if seen.event_type.is_some() {
                return Err(A::Error::custom("field eventName appears more than once"));
            }
            let Text(name) = map.next_value()?;
            let event_type = name.parse().map_err(A::Error::custom)?;
            seen.event_type = Some(event_type);
        }
        (false, "eventVersion") => {
            seen.streams_marker = true;
            map.next_value::<IgnoredAny>()?;
        }
        (false, "eventSourceARN") => {
            seen.streams_marker = true;
            if let OptionalText(Some(arn)) = map.next_value()?
                && let Some(table) = table_from_stream_arn(&arn)
                && !seen.table_name_from_field
            {
                set_reusing(&mut record.fields.table_name, table);
                seen.table_name = true;
            }
        }
        (false, "tableName") => {
            seen.native_marker = true;
            once(&mut seen.table_name_from_field, "tableName")?;
            if let OptionalText(Some(table)) = map.next_value()? {
                set_reusing(&mut record.fields.table_name, &table);
                seen.table_name = true;
            }
        }
        (false, "recordFormat") | (false, "userIdentity") => {
            seen.native_marker = true;
            map.next_value::<IgnoredAny>()?;
        }
        (false, "dynamodb") => {
            once(&mut seen.dynamodb, "dynamodb")?;
            map.next_value_seed(Fields::<true>(record, seen).seed::<F>())?;
        }
        (true, "ApproximateCreationDateTime") => {
            if seen.timestamp.is_some() {
                return Err(A::Error::custom("duplicate ApproximateCreationDateTime"));
            }
            seen.timestamp = Some(map.next_value_seed(Number.seed::<F>())?);
        }
        (true, "ApproximateCreationDateTimePrecision") => {
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
        (true, "Keys") => {
            once(&mut seen.keys, "dynamodb.Keys")?;
            map.next_value_seed(Attributes(&mut record.keys).seed::<F>())?;
        }
        (true, "NewImage") => {
            once(&mut seen.new_image, "dynamodb.NewImage")?;
            seen.new_image =
                map.next_value_seed(AttributesOrNull(&mut record.new_image).seed::<F>())?;
        }
        (true, "OldImage") => {
            once(&mut seen.old_image, "dynamodb.OldImage")?;
            seen.old_image =
                map.next_value_seed(AttributesOrNull(&mut record.old_image).seed::<F>())?;
        }
        (true, "SequenceNumber") => {
            once(&mut seen.sequence_number, "dynamodb.SequenceNumber")?;
            match map.next_value()? {
                OptionalText(Some(text)) => set_reusing(&mut record.fields.sequence_number, &text),
                OptionalText(None) => seen.sequence_number = false,
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `ApproximateCreationDateTime`'s text.
struct Number;

impl<'de> Rule<'de> for Number {
    type Value = Cow<'de, str>;
    const EXPECTING: &'static str = "a number";

    fn ask<F: Front, D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        F::number(d)
    }
}

/// An image that may be `null`; yields whether it was present.
struct AttributesOrNull<'r>(&'r mut Option<Image>);

impl<'de> Rule<'de> for AttributesOrNull<'_> {
    type Value = bool;
    const EXPECTING: &'static str = "a map of attributes or null";

    fn ask<F: Front, D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self.seed::<F>())
    }

    fn some<F: Front, D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        let image = self.0.get_or_insert_with(Image::default);
        Attributes(image).ask::<F, D>(d)?;
        Ok(true)
    }

    fn null<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// An image: typed attributes, flattened into the image's JSON with their spans noted.
struct Attributes<'r>(&'r mut Image);

impl<'de> Rule<'de> for Attributes<'_> {
    type Value = ();
    const EXPECTING: &'static str = "a map of attributes";

    fn map<F: Front, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.clear();
        let Image {
            json,
            attrs,
            has_cdc_column_name,
        } = &mut *self.0;
        push_joined(json, ['{', '}'], |json| {
            let key_start = json.len();
            let Some(escaped) = map.next_key_seed(JsonString(&mut *json).seed::<F>())? else {
                return Ok(false);
            };
            let key_end = json.len();
            json.push(':');
            map.next_value_seed(Typed(&mut *json).seed::<F>())?;
            let attr = Attr {
                key_start,
                key_end,
                value_end: json.len(),
                escaped,
            };
            *has_cdc_column_name |= CDC_COLUMNS.contains(&&*attr.name(json));
            attrs.push(attr);
            Ok(true)
        })?;
        match self.0.duplicate_name() {
            Some(name) => Err(A::Error::custom(format!("duplicate attribute name {name}"))),
            None => Ok(()),
        }
    }
}

/// Appends `open`, the items `item` appends with a comma between them, until it answers that
/// there are no more, then `close`.
fn push_joined<E>(
    out: &mut String,
    [open, close]: [char; 2],
    mut item: impl FnMut(&mut String) -> Result<bool, E>,
) -> Result<(), E> {
    out.push(open);
    let mut first = true;
    loop {
        let comma_at = out.len();
        if !first {
            out.push(',');
        }
        if !item(out)? {
            // The comma went in before it was known whether an item follows.
            out.truncate(comma_at);
            break;
        }
        first = false;
    }
    out.push(close);
    Ok(())
}

/// A JSON string appended as a literal; yields whether it holds escapes.
struct JsonString<'o>(&'o mut String);

impl<'de> Rule<'de> for JsonString<'_> {
    type Value = bool;
    const EXPECTING: &'static str = "a string";

    fn ask<F: Front, D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        F::push_string(d, self.0)
    }
}

/// One typed attribute value (`{"S":"x"}`, `{"M":{…}}`, …), flattened onto `out`.
struct Typed<'o>(&'o mut String);

impl<'de> Rule<'de> for Typed<'_> {
    type Value = ();
    const EXPECTING: &'static str = "a type descriptor such as {\"S\":…}";

    fn map<F: Front, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let Some(Text(tag)) = map.next_key()? else {
            return Err(A::Error::custom("empty type descriptor"));
        };
        match tag.as_ref() {
            "S" | "B" => {
                map.next_value_seed(JsonString(&mut *out).seed::<F>())?;
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
            "M" => map.next_value_seed(Members(&mut *out).seed::<F>())?,
            "L" => map.next_value_seed(List(out, ListOf::Typed).seed::<F>())?,
            "NS" => map.next_value_seed(List(out, ListOf::Numbers).seed::<F>())?,
            "SS" | "BS" => map.next_value_seed(List(out, ListOf::Strings).seed::<F>())?,
            other => return Err(A::Error::custom(format!("unknown type tag {other:?}"))),
        }
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(A::Error::custom("more than one type tag"));
        }
        Ok(())
    }
}

/// The plain members of an `M`.
struct Members<'o>(&'o mut String);

impl<'de> Rule<'de> for Members<'_> {
    type Value = ();
    const EXPECTING: &'static str = "an object";

    fn map<F: Front, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        push_joined(self.0, ['{', '}'], |out| {
            if map
                .next_key_seed(JsonString(&mut *out).seed::<F>())?
                .is_none()
            {
                return Ok(false);
            }
            out.push(':');
            map.next_value_seed(Typed(out).seed::<F>())?;
            Ok(true)
        })
    }
}

#[derive(Clone, Copy)]
enum ListOf {
    Typed,
    Strings,
    Numbers,
}

/// The elements of an `L`, `SS`, `NS` or `BS`.
struct List<'o>(&'o mut String, ListOf);

impl<'de> Rule<'de> for List<'_> {
    type Value = ();
    const EXPECTING: &'static str = "an array";

    fn ask<F: Front, D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self.seed::<F>())
    }

    fn seq<F: Front, A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let of = self.1;
        push_joined(self.0, ['[', ']'], |out| match of {
            ListOf::Typed => Ok(seq.next_element_seed(Typed(out).seed::<F>())?.is_some()),
            ListOf::Strings => Ok(seq
                .next_element_seed(JsonString(out).seed::<F>())?
                .is_some()),
            ListOf::Numbers => match seq.next_element::<Text<'de>>()? {
                Some(Text(number)) => push_number(&number, out)
                    .map(|()| true)
                    .map_err(A::Error::custom),
                None => Ok(false),
            },
        })
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
    let fields = &mut record.fields;
    fields.format = marked.unwrap_or(match unit {
        TimePrecision::Seconds => SourceFormat::StreamsRecord,
        _ => SourceFormat::KinesisDataStreams,
    });
    fields.event_type = event_type;
    fields.created_at = DateTime::from_timestamp_micros(micros).ok_or_else(out_of_range)?;
    let shown = if micros % 1000 != 0 {
        TimePrecision::Microseconds
    } else if micros % 1_000_000 != 0 {
        TimePrecision::Milliseconds
    } else {
        TimePrecision::Seconds
    };
    fields.created_at_precision = unit.max(shown);
    // What this record lacks must not stay from the record decoded before it.
    clear_unless(seen.sequence_number, &mut fields.sequence_number);
    clear_unless(seen.table_name, &mut fields.table_name);
    clear_unless(seen.new_image, &mut record.new_image);
    clear_unless(seen.old_image, &mut record.old_image);
    Ok(())
}

fn clear_unless<T>(present: bool, slot: &mut Option<T>) {
    if !present {
        *slot = None;
    }
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
