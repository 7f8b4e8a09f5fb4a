//! The lake's layout: where rows and failed records land, how the relay names its objects like
//! Firehose does, and which partition prefixes a time range covers. Pure: no client here.

use chrono::{DateTime, NaiveDate, Timelike, Utc};

/// Where Firehose writes rows; the Glue table and the local engine read the same prefix.
pub const DATA_PREFIX: &str = "orders/";
/// Where failed records land, by failure type: `errors/<type>/dt=YYYY-MM-DD/`.
pub const ERROR_ROOT: &str = "errors/";
/// The failure type of a record the transform rejected.
pub const PROCESSING_FAILED: &str = "processing-failed";

/// One partition's prefix: `orders/dt=YYYY-MM-DD/hour=HH/`.
pub fn partition_prefix(dt: &str, hour: &str) -> String {
    format!("{DATA_PREFIX}dt={dt}/hour={hour}/")
}

/// One day's data prefix, every hour of it: `orders/dt=YYYY-MM-DD/`.
pub fn day_prefix(day: NaiveDate) -> String {
    dated_prefix(DATA_PREFIX, day)
}

/// One day's folder below `root`, a prefix that holds `dt=YYYY-MM-DD/` folders (the data's
/// `orders/`, or a failure type's `errors/<type>/`).
pub fn dated_prefix(root: &str, day: NaiveDate) -> String {
    format!("{root}dt={}/", day.format("%Y-%m-%d"))
}

/// One hour's data prefix (`hour` is 0 to 23).
pub fn hour_prefix(day: NaiveDate, hour: u32) -> String {
    partition_prefix(&day.format("%Y-%m-%d").to_string(), &format!("{hour:02}"))
}

/// The prefix of one failure type: `errors/<type>/`.
pub fn error_prefix(error_type: &str) -> String {
    format!("{ERROR_ROOT}{error_type}/")
}

/// An object's name as Firehose forms it: `<delivery stream>-1-<first arrival,
/// YYYY-MM-DD-HH-MM-SS>-<id>`. The relay derives `id` from the flush's content, so a flush
/// redone after a crash writes the same names again.
pub fn object_name(delivery_stream: &str, first_arrival: DateTime<Utc>, id: &str) -> String {
    format!(
        "{delivery_stream}-1-{}-{id}",
        first_arrival.format("%Y-%m-%d-%H-%M-%S")
    )
}

/// The key of a data object: `orders/dt=<dt>/hour=<hour>/<name>`.
pub fn data_key(dt: &str, hour: &str, name: &str) -> String {
    format!("{}{name}", partition_prefix(dt, hour))
}

/// The key of a failed-records object: `errors/<type>/dt=<dt>/<name>`.
pub fn error_key(error_type: &str, dt: &str, name: &str) -> String {
    format!("{}dt={dt}/{name}", error_prefix(error_type))
}

/// Every (day, hour) partition from `from`'s hour to `to`'s hour, both included, in order;
/// none when `to` is before `from`.
pub fn partition_hours(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, u32)> {
    let hour_of = |t: DateTime<Utc>| {
        t.with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(t)
    };
    let (mut at, last) = (hour_of(from), hour_of(to));
    let mut hours = Vec::new();
    while at <= last {
        hours.push((at.date_naive(), at.hour()));
        at += chrono::Duration::hours(1);
    }
    hours
}

/// The data prefixes that cover every partition from `from`'s hour to `to`'s hour: a whole
/// day's prefix where the range covers all 24 hours of it, the hours' prefixes elsewhere. A
/// listing of these reads the range's partitions only, in as few calls as it can.
pub fn data_prefixes(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let hours = partition_hours(from, to);
    let mut prefixes = Vec::new();
    for day_hours in hours.chunk_by(|a, b| a.0 == b.0) {
        if day_hours.len() == 24 {
            prefixes.push(day_prefix(day_hours[0].0));
        } else {
            prefixes.extend(day_hours.iter().map(|(day, hour)| hour_prefix(*day, *hour)));
        }
    }
    prefixes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn prefixes_follow_firehose_layout() {
        assert_eq!(day_prefix(day("2026-11-20")), "orders/dt=2026-11-20/");
        assert_eq!(
            hour_prefix(day("2026-11-20"), 8),
            "orders/dt=2026-11-20/hour=08/"
        );
        assert_eq!(
            partition_prefix("2026-11-20", "23"),
            "orders/dt=2026-11-20/hour=23/"
        );
        assert_eq!(error_prefix(PROCESSING_FAILED), "errors/processing-failed/");
        assert!(day_prefix(day("2026-11-20")).starts_with(DATA_PREFIX));
        assert!(error_prefix("x").starts_with(ERROR_ROOT));
    }

    #[test]
    fn relay_objects_are_named_as_firehose_names_them() {
        let name = object_name(
            "salesctl-orders",
            at("2026-11-20T08:15:02.750Z"),
            "0a1b2c3d-0000-1111-2222-333344445555",
        );
        assert_eq!(
            name,
            "salesctl-orders-1-2026-11-20-08-15-02-0a1b2c3d-0000-1111-2222-333344445555"
        );
        assert_eq!(
            data_key("2026-11-20", "08", &name),
            format!("orders/dt=2026-11-20/hour=08/{name}")
        );
        assert_eq!(
            error_key(PROCESSING_FAILED, "2026-11-20", &name),
            format!("errors/processing-failed/dt=2026-11-20/{name}")
        );
    }

    #[test]
    fn a_range_covers_each_hour_it_touches_once() {
        let hours = partition_hours(at("2026-11-20T22:59:59Z"), at("2026-11-21T01:00:00Z"));
        assert_eq!(
            hours,
            [
                (day("2026-11-20"), 22),
                (day("2026-11-20"), 23),
                (day("2026-11-21"), 0),
                (day("2026-11-21"), 1),
            ]
        );
        let same_hour = partition_hours(at("2026-11-20T08:10:00Z"), at("2026-11-20T08:50:00Z"));
        assert_eq!(same_hour, [(day("2026-11-20"), 8)]);
        assert!(partition_hours(at("2026-11-20T09:00:00Z"), at("2026-11-20T08:00:00Z")).is_empty());
    }

    #[test]
    fn whole_days_are_listed_by_their_day_prefix() {
        assert_eq!(
            data_prefixes(at("2026-11-20T22:30:00Z"), at("2026-11-21T00:05:00Z")),
            [
                "orders/dt=2026-11-20/hour=22/",
                "orders/dt=2026-11-20/hour=23/",
                "orders/dt=2026-11-21/hour=00/",
            ]
        );
        assert_eq!(
            data_prefixes(at("2026-11-19T00:00:00Z"), at("2026-11-21T01:59:59Z")),
            [
                "orders/dt=2026-11-19/",
                "orders/dt=2026-11-20/",
                "orders/dt=2026-11-21/hour=00/",
                "orders/dt=2026-11-21/hour=01/",
            ]
        );
        assert_eq!(
            data_prefixes(at("2026-12-31T00:00:00Z"), at("2027-01-01T23:59:59Z")),
            ["orders/dt=2026-12-31/", "orders/dt=2027-01-01/"]
        );
        assert!(data_prefixes(at("2026-11-21T00:00:00Z"), at("2026-11-20T00:00:00Z")).is_empty());
    }
}
