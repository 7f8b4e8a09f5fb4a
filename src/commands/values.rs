//! The parsers of every number, rate and duration a user types, each range-checked so no
//! value reaches the library that could overflow a timer or a division (no input panics).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use crate::stream::StartPosition;
use salesctl_core::lake_schema::LakeFormat;

/// The longest duration any flag takes: a year. Longer waits are a typo (`500000000000years`)
/// and would overflow the clock arithmetic of the timers they feed.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);
/// Rates are between one order every 1000 s and 100,000 a second: slower would overflow the
/// pacing period's arithmetic in no useful way, faster no table takes.
pub const MIN_RATE: f64 = 0.001;
pub const MAX_RATE: f64 = 100_000.0;

/// Durations like `3s`, `250ms`, `1m30s`, `0s`, up to [`MAX_DURATION`].
pub fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!(
            "'{text}' is negative; a duration must be 0 or more, e.g. 3s, 250ms"
        ));
    }
    let parsed = humantime::parse_duration(trimmed)
        .map_err(|e| format!("'{text}' is not a duration ({e}); use e.g. 3s, 250ms or 0s"))?;
    if parsed > MAX_DURATION {
        return Err(format!(
            "'{text}' is too long; durations are at most 366 days"
        ));
    }
    Ok(parsed)
}

/// A duration that must be above zero (timeouts, ages).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        Duration::ZERO => Err(format!(
            "'{text}' is zero; use a positive duration, e.g. 30s or 5m"
        )),
        d => Ok(d),
    }
}

/// New orders per second, from [`MIN_RATE`] to [`MAX_RATE`].
pub fn rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && (MIN_RATE..=MAX_RATE).contains(&r) => Ok(r),
        Ok(r) if r.is_finite() && r <= 0.0 => Err(format!(
            "'{text}' is not positive; a rate must be above 0 orders per second, e.g. 50"
        )),
        Ok(r) if r.is_finite() && r < MIN_RATE => Err(format!(
            "'{text}' is below the slowest rate of 0.001 orders per second; use --interval for slow trickles"
        )),
        Ok(r) if r.is_finite() => Err(format!(
            "'{text}' is above the fastest rate of 100000 orders per second"
        )),
        _ => Err(format!(
            "'{text}' is not a rate; use a number of orders per second above 0, e.g. 50"
        )),
    }
}

/// A share in `[0, 1)`.
pub fn ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "'{text}' is not a ratio; use a share from 0 up to (not including) 1, e.g. 0.2"
        )),
    }
}

/// A whole number of at least 1 (counts, limits).
pub fn positive_count(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!(
            "'{text}' is negative; use a whole number of at least 1"
        ));
    }
    match trimmed.parse::<u64>() {
        Ok(0) => Err(format!(
            "'{text}' is zero; use a whole number of at least 1"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "'{text}' is not a whole number; use one of at least 1, e.g. 100"
        )),
    }
}

/// A whole number within `min..=max` (sizes, shard counts), saying the range when outside.
pub fn bounded_u32(min: u32, max: u32) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |text: &str| {
        let trimmed = text.trim();
        match trimmed.parse::<i64>() {
            Ok(n) if (i64::from(min)..=i64::from(max)).contains(&n) => Ok(n as u32),
            Ok(n) if n < 0 => Err(format!(
                "'{text}' is negative; use a whole number from {min} to {max}"
            )),
            _ => Err(format!(
                "'{text}' is out of range; use a whole number from {min} to {max}"
            )),
        }
    }
}

/// A money amount in dollars, at least 0 (cost caps).
pub fn dollars(text: &str) -> Result<Decimal, String> {
    match text.trim().parse::<Decimal>() {
        Ok(v) if v >= Decimal::ZERO && v <= Decimal::from(1_000_000) => Ok(v),
        _ => Err(format!(
            "'{text}' is not an amount; use dollars from 0 to 1000000, e.g. 5 or 0.50"
        )),
    }
}

/// `trim-horizon`, `latest`, an ISO-8601 time, or an age before now.
/// `parquet` or `json`, as the lake format (`up` and `relay` alike).
pub fn lake_format() -> impl clap::builder::TypedValueParser<Value = LakeFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new([
        LakeFormat::Parquet.as_str(),
        LakeFormat::Json.as_str(),
    ])
    .map(|v| LakeFormat::parse(&v).unwrap_or_default())
}

pub fn start_position(text: &str) -> Result<StartPosition, String> {
    start_position_at(text, Utc::now())
}

fn start_position_at(text: &str, now: DateTime<Utc>) -> Result<StartPosition, String> {
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "trim-horizon" | "trim_horizon" | "earliest" | "beginning" | "all" => {
            return Ok(StartPosition::TrimHorizon);
        }
        "latest" | "now" => return Ok(StartPosition::Latest),
        _ => {}
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(StartPosition::AtTimestamp(at.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text.trim(), format) {
            return Ok(StartPosition::AtTimestamp(naive.and_utc()));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(StartPosition::AtTimestamp(
            date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        ));
    }
    if let Ok(age) = duration(text.trim()) {
        let age =
            chrono::Duration::from_std(age).map_err(|_| format!("age {text:?} is too large"))?;
        return Ok(StartPosition::AtTimestamp(
            now.checked_sub_signed(age).unwrap_or(DateTime::UNIX_EPOCH),
        ));
    }
    Err(format!(
        "{text:?} is not a start position: use trim-horizon, latest, an ISO-8601 time such as 2026-11-20T08:00:00Z, or an age such as 10m"
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn each_parser_names_the_problem() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
        assert!(
            duration("3 parsecs")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            duration("500000000000years")
                .unwrap_err()
                .contains("too long")
        );
        assert!(duration("-3s").unwrap_err().contains("negative"));
        assert!(positive_duration("0s").unwrap_err().contains("zero"));
        assert!(rate("1e-20").unwrap_err().contains("slowest"));
        assert!(rate("-3").unwrap_err().contains("not positive"));
        assert!(rate("1e9").unwrap_err().contains("fastest"));
        assert!(rate("NaN").unwrap_err().contains("not a rate"));
        assert_eq!(rate("50"), Ok(50.0));
        assert_eq!(ratio("0.2"), Ok(0.2));
        assert!(ratio("1.5").is_err());
        assert!(ratio("-0.1").is_err());
        assert!(positive_count("-3").unwrap_err().contains("negative"));
        assert!(positive_count("0").unwrap_err().contains("zero"));
        assert_eq!(positive_count("12"), Ok(12));
        assert!(bounded_u32(1, 64)("-1").unwrap_err().contains("negative"));
        assert!(
            bounded_u32(1, 64)("65")
                .unwrap_err()
                .contains("from 1 to 64")
        );
        assert_eq!(bounded_u32(1, 64)("64"), Ok(64));
        assert!(dollars("-1").is_err());
    }

    proptest! {
        /// Whatever is typed, a parser returns a value in range or a message; never panics.
        #[test]
        fn no_typed_value_panics_or_escapes_its_range(text in ".{0,40}") {
            if let Ok(d) = duration(&text) { prop_assert!(d <= MAX_DURATION); }
            if let Ok(d) = positive_duration(&text) { prop_assert!(d > Duration::ZERO); }
            if let Ok(r) = rate(&text) { prop_assert!((MIN_RATE..=MAX_RATE).contains(&r)); }
            if let Ok(r) = ratio(&text) { prop_assert!((0.0..1.0).contains(&r)); }
            if let Ok(n) = positive_count(&text) { prop_assert!(n >= 1); }
            if let Ok(n) = bounded_u32(128, 10240)(&text) { prop_assert!((128..=10240).contains(&n)); }
            if let Ok(v) = dollars(&text) { prop_assert!(v >= Decimal::ZERO); }
        }

        #[test]
        fn numbers_and_durations_of_any_size_are_checked(n in any::<f64>(), unit in "(ns|ms|s|m|h|d|years)") {
            let _ = rate(&n.to_string());
            let _ = ratio(&n.to_string());
            let _ = duration(&format!("{}{unit}", n.abs().trunc()));
        }
    }

    #[test]
    fn start_positions() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            start_position_at("trim-horizon", now),
            Ok(StartPosition::TrimHorizon)
        );
        assert_eq!(start_position_at("LATEST", now), Ok(StartPosition::Latest));
        let at = |s: &str| {
            StartPosition::AtTimestamp(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
        };
        assert_eq!(
            start_position_at("10m", now),
            Ok(at("2026-11-20T09:50:00Z"))
        );
        assert_eq!(start_position_at("2h", now), Ok(at("2026-11-20T08:00:00Z")));
        assert_eq!(
            start_position_at("2026-11-20T08:15:02+01:00", now),
            Ok(at("2026-11-20T07:15:02Z"))
        );
        assert_eq!(
            start_position_at("2026-11-20T08:15:02", now),
            Ok(at("2026-11-20T08:15:02Z"))
        );
        assert_eq!(
            start_position_at("2026-11-19", now),
            Ok(at("2026-11-19T00:00:00Z"))
        );
        assert!(
            start_position_at("yesterday-ish", now)
                .unwrap_err()
                .contains("trim-horizon, latest")
        );
    }
}
