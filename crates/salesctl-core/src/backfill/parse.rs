//! The backfill flags' values (`--backfill 90d`, `--trend +2%/week`, …) parsed, with errors
//! that name the flag's accepted form and an example.

use chrono::{NaiveDate, TimeDelta};

use super::profile::{
    MAX_MULTIPLIER, MAX_NOISE_SD, MAX_ORDERS_PER_DAY, MAX_PROMO_DATES, MAX_WEEKLY_GROWTH,
    MAX_WINDOW_DAYS, MIN_WEEKLY_GROWTH, ShapeError, check_shape,
};

/// Why a flag's value was refused. `Display` is one line that quotes the value and says what
/// to give instead (clap prints it after the flag's name).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "'{0}' is not a number of orders per day; use a number above 0 and at most {max}, e.g. 2000 or 10k",
        max = MAX_ORDERS_PER_DAY
    )]
    OrdersPerDay(String),
    #[error(
        "'{0}' is not a trend; use a percentage per week or day between -50%/week and +100%/week, e.g. +2%/week"
    )]
    Trend(String),
    #[error(
        "'{0}' is not a noise level; use a standard deviation between 0 and 1, e.g. 0.1 or 10%"
    )]
    Noise(String),
    #[error(
        "'{text}' is not a weekday shape ({problem}); give seven numbers Monday to Sunday, e.g. 1,1,1,1,1.1,0.8,0.8"
    )]
    WeekdayShape { text: String, problem: ShapeProblem },
    #[error(
        "'{0}' is not a promotion multiplier; use a number between 0 and {max}, e.g. 1.8 or x1.8",
        max = MAX_MULTIPLIER
    )]
    PromoMultiplier(String),
    #[error("'{0}' is not a date; list promotion dates as YYYY-MM-DD, e.g. 2026-11-27")]
    PromoDate(String),
    #[error("{0} promotion dates is too many; list at most {max}", max = MAX_PROMO_DATES)]
    TooManyPromoDates(usize),
    #[error(
        "'{0}' is not a backfill length; use a whole number of hours, days or weeks between 1h and {max}d, e.g. 90d",
        max = MAX_WINDOW_DAYS
    )]
    Backfill(String),
}

/// What is wrong with a `--weekday-shape`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeProblem {
    #[error("not all numbers")]
    NotNumbers,
    #[error("{0} values")]
    Count(usize),
    #[error(transparent)]
    Shape(#[from] ShapeError),
}

/// `--orders-per-day`: `10000`, `10_000`, `10k` or `2.5k`; above 0, at most 1,000,000.
pub fn parse_orders_per_day(text: &str) -> Result<f64, ParseError> {
    let cleaned = text.trim().replace('_', "");
    let (digits, scale) = match cleaned.strip_suffix(['k', 'K']) {
        Some(digits) => (digits, 1_000.0),
        None => (cleaned.as_str(), 1.0),
    };
    match digits.parse::<f64>().map(|n| n * scale) {
        Ok(n) if n.is_finite() && n > 0.0 && n <= MAX_ORDERS_PER_DAY => Ok(n),
        _ => Err(ParseError::OrdersPerDay(text.to_owned())),
    }
}

/// `--trend`: `+2%/week`, `-1%/week`, `0.5%/day` (compounded to a week), `2%` (per week) or
/// `0`; returns the weekly growth (0.02 for +2%/week), between -50% and +100% a week.
pub fn parse_trend(text: &str) -> Result<f64, ParseError> {
    let err = || ParseError::Trend(text.to_owned());
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (number, unit) = compact.split_once('/').unwrap_or((&compact, "week"));
    let (number, scale) = match number.strip_suffix('%') {
        Some(n) => (n, 0.01),
        None if number.parse::<f64>() == Ok(0.0) => (number, 1.0),
        None => return Err(err()),
    };
    let rate = number.parse::<f64>().map_err(|_| err())? * scale;
    let weekly = match unit.to_ascii_lowercase().as_str() {
        "week" | "wk" | "w" => rate,
        "day" | "d" => (1.0 + rate).powi(7) - 1.0,
        _ => return Err(err()),
    };
    if weekly.is_finite() && (MIN_WEEKLY_GROWTH..=MAX_WEEKLY_GROWTH).contains(&weekly) {
        Ok(weekly)
    } else {
        Err(err())
    }
}

/// `--noise`: the day-level sd as `0.1` or `10%`, between 0 and 1.
pub fn parse_noise(text: &str) -> Result<f64, ParseError> {
    let trimmed = text.trim();
    let parsed = match trimmed.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    };
    match parsed {
        Ok(sd) if sd.is_finite() && (0.0..=MAX_NOISE_SD).contains(&sd) => Ok(sd),
        _ => Err(ParseError::Noise(text.to_owned())),
    }
}

/// `--weekday-shape`: seven comma-separated multipliers, Monday to Sunday, e.g.
/// `1,1,1,1,1.1,0.8,0.8`; each between 0 and 100, not all zero.
pub fn parse_weekday_shape(text: &str) -> Result<[f64; 7], ParseError> {
    let err = |problem: ShapeProblem| ParseError::WeekdayShape {
        text: text.to_owned(),
        problem,
    };
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| err(ShapeProblem::NotNumbers))?;
    let shape: [f64; 7] = values
        .try_into()
        .map_err(|v: Vec<f64>| err(ShapeProblem::Count(v.len())))?;
    check_shape("weekday", &shape).map_err(|e| err(e.into()))?;
    Ok(shape)
}

/// `--promo-multiplier`: `1.8`, `x1.8` or `1.8x`; between 0 and 100.
pub fn parse_promo_multiplier(text: &str) -> Result<f64, ParseError> {
    let trimmed = text.trim();
    let number = trimmed
        .strip_prefix(['x', '×'])
        .or_else(|| trimmed.strip_suffix(['x', '×']))
        .unwrap_or(trimmed);
    match number.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && (0.0..=MAX_MULTIPLIER).contains(&m) => Ok(m),
        _ => Err(ParseError::PromoMultiplier(text.to_owned())),
    }
}

/// `--promo-dates`: comma-separated ISO dates, e.g. `2026-11-27,2026-12-01`.
pub fn parse_promo_dates(text: &str) -> Result<Vec<NaiveDate>, ParseError> {
    let dates = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ParseError::PromoDate(d.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if dates.len() > MAX_PROMO_DATES {
        return Err(ParseError::TooManyPromoDates(dates.len()));
    }
    Ok(dates)
}

/// `--backfill`: how far back the window starts, as `90d`, `12w` or `36h`; at least one hour,
/// at most 3,660 days.
pub fn parse_backfill(text: &str) -> Result<TimeDelta, ParseError> {
    let err = || ParseError::Backfill(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(err)?;
    let (number, unit) = trimmed.split_at(split);
    let n: i64 = number.parse().map_err(|_| err())?;
    let hours = match unit.trim() {
        "h" => Some(n),
        "d" => n.checked_mul(24),
        "w" => n.checked_mul(24 * 7),
        _ => None,
    }
    .ok_or_else(err)?;
    if (1..=MAX_WINDOW_DAYS * 24).contains(&hours) {
        Ok(TimeDelta::hours(hours))
    } else {
        Err(err())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parse_helpers_accept_the_documented_forms() {
        assert_eq!(parse_orders_per_day("2000"), Ok(2_000.0));
        assert_eq!(parse_orders_per_day("10_000"), Ok(10_000.0));
        assert_eq!(parse_orders_per_day(" 2.5k "), Ok(2_500.0));
        assert_eq!(parse_trend("+2%/week"), Ok(0.02));
        assert_eq!(parse_trend("-1.5% / wk"), Ok(-0.015));
        assert_eq!(parse_trend("2%"), Ok(0.02));
        assert_eq!(parse_trend("0"), Ok(0.0));
        let daily = parse_trend("1%/day").unwrap();
        assert!((daily - (1.01f64.powi(7) - 1.0)).abs() < 1e-12);
        assert_eq!(parse_noise("0.1"), Ok(0.1));
        assert_eq!(parse_noise("10%"), Ok(0.1));
        assert_eq!(
            parse_weekday_shape("1, 1,1,1,1.1,0.8,0.8"),
            Ok([1.0, 1.0, 1.0, 1.0, 1.1, 0.8, 0.8])
        );
        assert_eq!(parse_promo_multiplier("x1.8"), Ok(1.8));
        assert_eq!(parse_promo_multiplier("1.8x"), Ok(1.8));
        assert_eq!(parse_promo_multiplier("1.8"), Ok(1.8));
        assert_eq!(
            parse_promo_dates("2026-11-27, 2026-12-01"),
            Ok(vec![
                NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
            ])
        );
        assert_eq!(parse_backfill("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_backfill("12w"), Ok(TimeDelta::weeks(12)));
        assert_eq!(parse_backfill("36h"), Ok(TimeDelta::hours(36)));
    }

    #[test]
    fn parse_helpers_refuse_bad_input_with_a_one_line_fix() {
        let refused: Vec<String> = [
            parse_orders_per_day("0").unwrap_err(),
            parse_orders_per_day("-5").unwrap_err(),
            parse_orders_per_day("NaN").unwrap_err(),
            parse_orders_per_day("2000000").unwrap_err(),
            parse_orders_per_day("lots").unwrap_err(),
            parse_trend("0.02").unwrap_err(),
            parse_trend("+2%/month").unwrap_err(),
            parse_trend("+200%/week").unwrap_err(),
            parse_trend("-60%/week").unwrap_err(),
            parse_trend("nan%").unwrap_err(),
            parse_noise("-0.1").unwrap_err(),
            parse_noise("150%").unwrap_err(),
            parse_weekday_shape("1,1,1").unwrap_err(),
            parse_weekday_shape("0,0,0,0,0,0,0").unwrap_err(),
            parse_weekday_shape("1,1,1,1,1,1,-1").unwrap_err(),
            parse_weekday_shape("a,b,c,d,e,f,g").unwrap_err(),
            parse_promo_multiplier("x").unwrap_err(),
            parse_promo_multiplier("1000").unwrap_err(),
            parse_promo_dates("2026-13-01").unwrap_err(),
            parse_backfill("0d").unwrap_err(),
            parse_backfill("90").unwrap_err(),
            parse_backfill("5y").unwrap_err(),
            parse_backfill("4000d").unwrap_err(),
            parse_backfill("99999999999999999999d").unwrap_err(),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        for message in &refused {
            assert!(!message.contains('\n'), "{message}");
            assert!(message.contains("; "), "names no fix: {message}");
        }
        assert!(refused[0].contains("'0' is not a number of orders per day"));
        assert!(refused[12].contains("3 values"), "{}", refused[12]);
        assert!(refused[18].contains("'2026-13-01' is not a date"));
        // The limits in the messages come from the constants, printed as before.
        assert_eq!(
            refused[0],
            "'0' is not a number of orders per day; use a number above 0 and at most 1000000, e.g. 2000 or 10k"
        );
        assert_eq!(
            refused[22],
            "'4000d' is not a backfill length; use a whole number of hours, days or weeks between 1h and 3660d, e.g. 90d"
        );
        assert_eq!(
            refused[14],
            "'1,1,1,1,1,1,-1' is not a weekday shape (weekday multiplier -1 is out of range; use numbers between 0 and 100); give seven numbers Monday to Sunday, e.g. 1,1,1,1,1.1,0.8,0.8"
        );
    }

    #[test]
    fn parse_errors_are_typed() {
        assert_eq!(
            parse_weekday_shape("1,1,1"),
            Err(ParseError::WeekdayShape {
                text: "1,1,1".into(),
                problem: ShapeProblem::Count(3)
            })
        );
        assert_eq!(
            parse_weekday_shape("0,0,0,0,0,0,0"),
            Err(ParseError::WeekdayShape {
                text: "0,0,0,0,0,0,0".into(),
                problem: ShapeProblem::Shape(ShapeError::AllZero { name: "weekday" })
            })
        );
        assert_eq!(
            parse_promo_dates("2026-11-27, nope"),
            Err(ParseError::PromoDate("nope".into()))
        );
        assert_eq!(parse_backfill("5y"), Err(ParseError::Backfill("5y".into())));
        // What clap's `value_parser = fn` asks of the error type.
        fn clap_accepts<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
        clap_accepts(&ParseError::Trend(String::new()));
    }

    proptest! {
        #[test]
        fn parse_helpers_never_panic(text in ".{0,24}") {
            let _ = parse_orders_per_day(&text);
            let _ = parse_trend(&text);
            let _ = parse_noise(&text);
            let _ = parse_weekday_shape(&text);
            let _ = parse_promo_multiplier(&text);
            let _ = parse_promo_dates(&text);
            let _ = parse_backfill(&text);
        }
    }
}
