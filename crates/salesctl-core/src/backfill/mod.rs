//! Backfill planning for `salesctl generate --backfill`: a seeded, lazy stream of past order
//! arrival times with trend, weekly and daily seasonality, promotions and noise (pure, no I/O).
//
// Why it exists: a forecast needs a history to learn from, and a lake filled only by the live
// generator holds a few flat days. The planner draws arrivals as a non-homogeneous Poisson
// process whose intensity is piecewise constant per UTC hour, by the time-change method: one
// unit-exponential draw per arrival is spent against the integrated intensity, hour by hour.
// That is exact for a piecewise-constant rate, yields ascending times without sorting, and
// keeps O(1) state however long the window, so 90 days of 10,000 orders a day are never
// materialised. `Backfill` feeds those times to `OrderGenerator` as its `now`.
//
// The clock is UTC throughout: the lake partitions and the daily series are by UTC date, so a
// "Saturday" or "8 pm" here is a UTC Saturday or 8 pm.

mod driver;
mod intensity;
mod parse;
mod planner;
mod profile;

pub use driver::Backfill;
pub use parse::{
    ParseError, ShapeProblem, parse_backfill, parse_noise, parse_orders_per_day, parse_promo_dates,
    parse_promo_multiplier, parse_trend, parse_weekday_shape,
};
pub use planner::ArrivalPlanner;
pub use profile::{
    DemandProfile, MAX_MULTIPLIER, MAX_NOISE_SD, MAX_ORDERS_PER_DAY, MAX_PLANNED_ORDERS,
    MAX_PROMO_DATES, MAX_WEEKLY_GROWTH, MAX_WINDOW_DAYS, MIN_WEEKLY_GROWTH, Promotions, ShapeError,
};

/// Profiles and windows shared by the tests of every part.
#[cfg(test)]
mod test_support {
    use std::collections::BTreeMap;

    use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

    use super::{ArrivalPlanner, DemandProfile, Promotions};

    /// Monday 2026-01-05 00:00 UTC.
    pub(super) fn monday() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_571_200, 0).unwrap()
    }

    /// A profile with only the shape under test: no trend, promotions or noise.
    pub(super) fn flat(orders_per_day: f64) -> DemandProfile {
        DemandProfile {
            orders_per_day,
            weekly_growth: 0.0,
            promotions: Promotions {
                daily_chance: 0.0,
                ..Promotions::default()
            },
            noise_sd: 0.0,
            ..DemandProfile::default()
        }
    }

    pub(super) fn daily_counts(planner: ArrivalPlanner) -> BTreeMap<NaiveDate, f64> {
        let mut days = BTreeMap::new();
        for t in planner {
            *days.entry(t.date_naive()).or_insert(0.0) += 1.0;
        }
        days
    }

    pub(super) fn weeks(n: i64) -> TimeDelta {
        TimeDelta::weeks(n)
    }
}
