//! The record grammar: the top-level and `dynamodb` fields of both wire formats, read in one
//! pass, then judged (required fields, which format, when) into a ChangeRecord.

use chrono::{DateTime, Utc};

use super::error::DecodeError;
use super::json::Parser;
use super::time::{arrival_time, creation_time};
use super::types::{ChangeRecord, EventType, FlatImage, SourceFormat, TimePrecision};

/// Decodes one change record in either format (see [`SourceFormat`] for how they are told
/// apart).
///
/// A single pass with a small hand-written JSON reader: strings are copied through verbatim
/// (escapes included, so nothing is re-escaped), numbers keep their original digits, and each
/// image is flattened straight into one string with per-attribute spans. No `serde_json::Value`
/// tree and no `f64` appear on this path, which is what keeps the Firehose transform fast
/// (the `decode` group of `benches/transform.rs` races it against serde_json and simd-json).
/// Unknown fields are skipped (but must be valid JSON); nesting is capped at
/// [`MAX_NESTING`](super::MAX_NESTING).
pub fn decode(bytes: &[u8]) -> Result<ChangeRecord, DecodeError> {
    let mut record = ChangeRecord::default();
    decode_into(bytes, &mut record)?;
    Ok(record)
}

/// Like [`decode`], but reuses the strings and buffers of `record`, so a loop over many records
/// allocates nothing once warm. On error the content of `record` is unspecified.
pub fn decode_into(bytes: &[u8], record: &mut ChangeRecord) -> Result<(), DecodeError> {
    decode_into_with_arrival(bytes, record, None).map(|_| ())
}

/// Where a decoded record's `created_at` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreationTimeSource {
    /// `dynamodb.ApproximateCreationDateTime`.
    Record,
    /// The Kinesis record's arrival time, for a record without it.
    Arrival,
}

/// Like [`decode_into`], but a record without `dynamodb.ApproximateCreationDateTime` takes
/// `arrival` instead, the Kinesis record's `ApproximateArrivalTimestamp` (at millisecond
/// precision): the field is not in the Pipes documentation's sample event, so a change is not
/// failed for its absence when the time it reached the stream is known. Says which time was
/// used, so callers can count the fallbacks.
pub fn decode_into_with_arrival(
    bytes: &[u8],
    record: &mut ChangeRecord,
    arrival: Option<DateTime<Utc>>,
) -> Result<CreationTimeSource, DecodeError> {
    let src = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    Parser { src, pos: 0 }.record(record, arrival)
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

impl<'a> Parser<'a> {
    /// The top level: markers of either format are noted, unknown fields skipped.
    fn record(
        mut self,
        record: &mut ChangeRecord,
        arrival: Option<DateTime<Utc>>,
    ) -> Result<CreationTimeSource, DecodeError> {
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
        self.finish(record, seen, arrival)
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
    fn finish(
        &self,
        record: &mut ChangeRecord,
        seen: Gathered<'a>,
        arrival: Option<DateTime<Utc>>,
    ) -> Result<CreationTimeSource, DecodeError> {
        if !seen.event_id {
            return Err(DecodeError::MissingField("eventID"));
        }
        let Some(event_type) = seen.event_type else {
            return Err(DecodeError::MissingField("eventName"));
        };
        if !seen.dynamodb {
            return Err(DecodeError::MissingField("dynamodb"));
        }
        let missing_time = || DecodeError::MissingField("dynamodb.ApproximateCreationDateTime");
        if seen.timestamp.is_none() && arrival.is_none() {
            return Err(missing_time());
        }
        if !seen.keys {
            return Err(DecodeError::MissingField("dynamodb.Keys"));
        }
        let marked_format = match (seen.native_marker, seen.streams_marker) {
            (true, false) => Some(SourceFormat::KinesisDataStreams),
            (false, true) => Some(SourceFormat::StreamsRecord),
            _ => None,
        };
        let (created, source) = match (seen.timestamp, arrival) {
            (Some(timestamp), _) => (
                creation_time(timestamp, seen.precision, marked_format)?,
                CreationTimeSource::Record,
            ),
            (None, Some(arrival)) => (
                arrival_time(arrival, marked_format).ok_or_else(missing_time)?,
                CreationTimeSource::Arrival,
            ),
            (None, None) => return Err(missing_time()),
        };

        record.format = created.format;
        record.event_type = event_type;
        record.created_at = created.at;
        record.created_at_precision = created.precision;
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
        Ok(source)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_creation_time_falls_back_to_the_arrival_time_only_when_given() {
        let streams = br#"{"eventID":"1","eventName":"INSERT","eventVersion":"1.0","dynamodb":{"Keys":{"Id":{"N":"101"}}}}"#;
        let native = br#"{"eventID":"1","eventName":"INSERT","tableName":"t","dynamodb":{"Keys":{"Id":{"N":"101"}}}}"#;
        let timed = br#"{"eventID":"1","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1795162502,"Keys":{"Id":{"N":"101"}}}}"#;
        let arrival = DateTime::from_timestamp_micros(1_795_162_502_114_567);
        let mut record = ChangeRecord::default();
        assert_eq!(
            decode_into_with_arrival(streams, &mut record, None),
            Err(DecodeError::MissingField(
                "dynamodb.ApproximateCreationDateTime"
            ))
        );
        assert_eq!(
            decode_into_with_arrival(streams, &mut record, arrival),
            Ok(CreationTimeSource::Arrival)
        );
        // Kinesis arrival times are milliseconds.
        assert_eq!(record.creation_datetime(), "2026-11-20T08:15:02.114Z");
        assert_eq!(record.format, SourceFormat::StreamsRecord);
        assert_eq!(
            decode_into_with_arrival(native, &mut record, arrival),
            Ok(CreationTimeSource::Arrival)
        );
        assert_eq!(record.format, SourceFormat::KinesisDataStreams);
        assert_eq!(
            decode_into_with_arrival(timed, &mut record, arrival),
            Ok(CreationTimeSource::Record)
        );
        assert_eq!(record.creation_datetime(), "2026-11-20T08:15:02Z");
        let before_1970 = DateTime::from_timestamp_millis(-1);
        assert!(decode_into_with_arrival(streams, &mut record, before_1970).is_err());
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
}
