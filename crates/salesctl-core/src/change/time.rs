//! Time: `ApproximateCreationDateTime` read exactly (no floats) in the unit its format implies,
//! and `creation_datetime` printed at the precision the source had.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

use super::error::DecodeError;
use super::types::{SourceFormat, TimePrecision};

/// The last instant `creation_datetime` can print with a four-digit year (9999-12-31T23:59:59Z).
const MAX_EPOCH_MICROS: i64 = 253_402_300_799_999_999;

/// When a change happened, and what that says about the record's format.
pub(super) struct CreationTime {
    pub(super) format: SourceFormat,
    pub(super) at: DateTime<Utc>,
    /// The unit, or finer when the number had a fraction.
    pub(super) precision: TimePrecision,
}

/// Reads `ApproximateCreationDateTime` (its JSON number text). The unit comes from an explicit
/// precision, else from the format's markers, else from the magnitude (see
/// [`SourceFormat`]); with no markers the unit then names the format too.
pub(super) fn creation_time(
    timestamp: &str,
    explicit: Option<TimePrecision>,
    marked_format: Option<SourceFormat>,
) -> Result<CreationTime, DecodeError> {
    let out_of_range = || DecodeError::TimestampOutOfRange(timestamp.to_owned());
    let decimal = Decimal::parse(timestamp).ok_or_else(out_of_range)?;
    let unit = match (explicit, marked_format) {
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
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(out_of_range)?;
    // A fractional timestamp carries more precision than its unit; keep it.
    let shown = if micros % 1000 != 0 {
        TimePrecision::Microseconds
    } else if micros % 1_000_000 != 0 {
        TimePrecision::Milliseconds
    } else {
        TimePrecision::Seconds
    };
    Ok(CreationTime {
        format,
        at,
        precision: unit.max(shown),
    })
}

/// The change's time from the Kinesis record's arrival (`ApproximateArrivalTimestamp`, epoch
/// milliseconds), for a record without `ApproximateCreationDateTime`: the Pipes
/// documentation's sample event has none. The format comes from the markers; with none, it is
/// a Streams record (the Pipe's route is the one that may omit the field). `None` when the
/// arrival is outside what `creation_datetime` can print.
pub(super) fn arrival_time(
    arrival: DateTime<Utc>,
    marked_format: Option<SourceFormat>,
) -> Option<CreationTime> {
    let millis = arrival.timestamp_millis();
    if !(0..=MAX_EPOCH_MICROS / 1000).contains(&millis) {
        return None;
    }
    Some(CreationTime {
        format: marked_format.unwrap_or(SourceFormat::StreamsRecord),
        at: DateTime::from_timestamp_millis(millis)?,
        precision: TimePrecision::Milliseconds,
    })
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
}
