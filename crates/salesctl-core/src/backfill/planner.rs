//! The arrival planner: order arrival times over a window, ascending, drawn lazily hour by hour
//! from the intensity (the time-change method), with the expected count per day and in all.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::intensity::{ARRIVALS_SALT, HOUR_MS, Intensity, date_of_day, splitmix64};
use super::profile::{DemandProfile, MAX_PLANNED_ORDERS, MAX_WINDOW_DAYS};

/// Milliseconds since the epoch, rounded up, so whole-millisecond arrivals `t` satisfy
/// `start <= t < end` exactly when `ceil(start) <= t < ceil(end)`.
fn ceil_millis(t: DateTime<Utc>) -> i64 {
    let ms = t.timestamp_millis();
    if t.timestamp_subsec_nanos().is_multiple_of(1_000_000) {
        ms
    } else {
        ms + 1
    }
}

/// Arrival times of orders in `[start, end)`, ascending, whole milliseconds (what the item's
/// timestamps hold), drawn lazily: an `Iterator` with constant-size state.
#[derive(Debug, Clone)]
pub struct ArrivalPlanner {
    intensity: Intensity,
    rng: StdRng,
    start_ms: i64,
    end_ms: i64,
    /// The UTC hour being spent (hours since the epoch) and its drawn rate per millisecond.
    hour: i64,
    rate_per_ms: f64,
    /// Position within `hour`, in milliseconds from the hour's start.
    position: f64,
    /// Unit-exponential intensity left before the next arrival; `None` draws a new one.
    pending: Option<f64>,
    expected_total: f64,
    planned: u64,
}

impl ArrivalPlanner {
    /// Checks the profile and the window and prepares the stream. Errors when the window is
    /// empty or longer than [`MAX_WINDOW_DAYS`], or when the expected count passes
    /// [`MAX_PLANNED_ORDERS`]. The seed is salted, so the same seed can be given to the
    /// [`OrderGenerator`](crate::order::OrderGenerator) without correlating arrivals with the
    /// orders' contents.
    pub fn new(
        profile: &DemandProfile,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        seed: u64,
    ) -> Result<ArrivalPlanner, String> {
        profile.validate()?;
        if start >= end {
            return Err(format!(
                "the backfill window is empty: {start} is not before {end}; give a start earlier than the end"
            ));
        }
        if end - start > TimeDelta::days(MAX_WINDOW_DAYS) {
            return Err(format!(
                "the backfill window of {} days is too long; use at most {MAX_WINDOW_DAYS} days",
                (end - start).num_days()
            ));
        }
        let start_ms = ceil_millis(start);
        let end_ms = ceil_millis(end);
        let intensity = Intensity::new(profile, seed, end_ms);
        let mut planner = ArrivalPlanner {
            intensity,
            rng: StdRng::seed_from_u64(splitmix64(seed ^ ARRIVALS_SALT)),
            start_ms,
            end_ms,
            hour: start_ms.div_euclid(HOUR_MS),
            rate_per_ms: 0.0,
            position: 0.0,
            pending: None,
            expected_total: 0.0,
            planned: 0,
        };
        planner.expected_total = planner.expected_per_day().iter().map(|d| d.1).sum();
        if planner.expected_total > MAX_PLANNED_ORDERS {
            return Err(format!(
                "the backfill would plan about {:.0} orders, more than the cap of {MAX_PLANNED_ORDERS}; lower the orders per day or shorten the window",
                planner.expected_total
            ));
        }
        planner.enter_hour(planner.hour);
        Ok(planner)
    }

    /// Expected orders in the whole window (the intensity integrated, promotions included,
    /// noise averaged out): the length of a progress bar.
    pub fn expected_total(&self) -> f64 {
        self.expected_total
    }

    /// Arrivals yielded so far.
    pub fn planned(&self) -> u64 {
        self.planned
    }

    /// Expected orders per UTC date touched by the window, in date order; partial first and
    /// last days count only their part. Noise is averaged out (its mean is 1); promotions are
    /// in, as they are a deterministic function of the seed.
    pub fn expected_per_day(&self) -> Vec<(NaiveDate, f64)> {
        let mut days: Vec<(NaiveDate, f64)> = Vec::new();
        let first_hour = self.start_ms.div_euclid(HOUR_MS);
        let last_hour = (self.end_ms - 1).div_euclid(HOUR_MS);
        for hour in first_hour..=last_hour {
            let (lo, hi) = self.bounds(hour);
            let expected =
                self.intensity.expected_per_hour(hour) * (hi - lo) as f64 / HOUR_MS as f64;
            let Some(date) = date_of_day(hour.div_euclid(24)) else {
                continue;
            };
            match days.last_mut() {
                Some((d, total)) if *d == date => *total += expected,
                _ => days.push((date, expected)),
            }
        }
        days
    }

    /// The part of `hour` inside the window, as millisecond offsets from the hour's start.
    fn bounds(&self, hour: i64) -> (i64, i64) {
        let hour_start = hour * HOUR_MS;
        let lo = self.start_ms.max(hour_start) - hour_start;
        let hi = self.end_ms.min(hour_start + HOUR_MS) - hour_start;
        (lo, hi)
    }

    fn enter_hour(&mut self, hour: i64) {
        self.hour = hour;
        self.position = self.bounds(hour).0 as f64;
        self.rate_per_ms = self.intensity.realised_per_hour(hour) / HOUR_MS as f64;
    }
}

impl Iterator for ArrivalPlanner {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            let hour_start = self.hour * HOUR_MS;
            if hour_start >= self.end_ms {
                return None;
            }
            let (lo, hi) = self.bounds(self.hour);
            let pending = match self.pending {
                Some(left) => left,
                // Exp(1) by inversion; 1 - u is in (0, 1], so the log is finite.
                None => -(1.0 - self.rng.random::<f64>()).ln(),
            };
            let capacity = self.rate_per_ms * (hi as f64 - self.position);
            if pending < capacity {
                self.position += pending / self.rate_per_ms;
                self.pending = None;
                // Floor to the millisecond, kept inside the hour's part of the window even
                // if rounding nudged the position onto its end; monotone, so still ascending.
                let offset = (self.position.floor() as i64).clamp(lo, hi - 1);
                self.planned += 1;
                return DateTime::from_timestamp_millis(hour_start + offset);
            }
            // The rest of this hour cannot use up the draw: carry what is left over.
            self.pending = Some(pending - capacity.max(0.0));
            self.enter_hour(self.hour + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Timelike, Weekday};
    use proptest::prelude::*;

    use super::*;
    use crate::backfill::test_support::{daily_counts, flat, monday, weeks};
    use crate::backfill::{
        MAX_MULTIPLIER, MAX_NOISE_SD, MAX_WEEKLY_GROWTH, MIN_WEEKLY_GROWTH, Promotions,
    };

    #[test]
    fn the_reference_monday_is_a_monday() {
        assert_eq!(monday().weekday(), Weekday::Mon);
        assert_eq!(monday().hour(), 0);
    }

    #[test]
    fn arrivals_ascend_in_whole_milliseconds_within_the_window() {
        let start = monday() + TimeDelta::nanoseconds(123_456_789);
        let end = start + TimeDelta::days(3) + TimeDelta::minutes(17);
        let planner = ArrivalPlanner::new(&DemandProfile::default(), start, end, 9).unwrap();
        let mut last = start;
        let mut n = 0;
        for t in planner {
            assert!(t >= last && t < end, "{t} after {last}, end {end}");
            assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
            last = t;
            n += 1;
        }
        assert!(n > 4_000, "{n}");
    }

    #[test]
    fn same_seed_same_arrivals_other_seed_others() {
        let p = DemandProfile::default();
        let end = monday() + TimeDelta::days(2);
        let a: Vec<_> = ArrivalPlanner::new(&p, monday(), end, 42)
            .unwrap()
            .collect();
        let b: Vec<_> = ArrivalPlanner::new(&p, monday(), end, 42)
            .unwrap()
            .collect();
        let c: Vec<_> = ArrivalPlanner::new(&p, monday(), end, 43)
            .unwrap()
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn expected_total_is_within_a_few_percent_of_the_realised_count() {
        // The default profile: trend, promotions and noise all on.
        let p = DemandProfile::default();
        for seed in [5, 6, 7] {
            let planner = ArrivalPlanner::new(&p, monday(), monday() + weeks(13), seed).unwrap();
            let expected = planner.expected_total();
            let realised = planner.count() as f64;
            assert!(
                (realised / expected - 1.0).abs() < 0.05,
                "seed {seed}: {realised} vs {expected}"
            );
        }
    }

    #[test]
    fn expected_per_day_sums_to_the_total_and_matches_noise_free_days() {
        let p = flat(5_000.0);
        // Starts and ends mid-day: partial days count their part.
        let start = monday() + TimeDelta::hours(18);
        let end = start + TimeDelta::days(6);
        let planner = ArrivalPlanner::new(&p, start, end, 8).unwrap();
        let expected = planner.expected_per_day();
        assert_eq!(expected.len(), 7);
        let sum: f64 = expected.iter().map(|d| d.1).sum();
        assert!((sum - planner.expected_total()).abs() < 1e-6);
        assert!(expected[0].1 < expected[1].1 / 2.0, "{expected:?}");
        let realised = daily_counts(planner);
        for (date, wanted) in expected {
            let got = realised.get(&date).copied().unwrap_or(0.0);
            // Poisson: sd is sqrt(wanted); allow five of them.
            assert!(
                (got - wanted).abs() < 5.0 * wanted.sqrt(),
                "{date}: {got} vs {wanted}"
            );
        }
    }

    #[test]
    fn a_zero_hour_gets_no_orders() {
        let mut p = flat(2_000.0);
        p.hourly[3] = 0.0;
        let planner = ArrivalPlanner::new(&p, monday(), monday() + TimeDelta::days(3), 6).unwrap();
        assert!(planner.map(|t| t.hour()).all(|h| h != 3));
    }

    #[test]
    fn bad_profiles_and_windows_are_refused_with_a_reason() {
        let end = monday() + TimeDelta::days(1);
        let refuse = |p: DemandProfile, start, end, needle: &str| {
            let e = ArrivalPlanner::new(&p, start, end, 0).unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains('\n'));
        };
        let d = DemandProfile::default;
        refuse(
            DemandProfile {
                orders_per_day: f64::NAN,
                ..d()
            },
            monday(),
            end,
            "orders per day",
        );
        refuse(
            DemandProfile {
                orders_per_day: -1.0,
                ..d()
            },
            monday(),
            end,
            "orders per day",
        );
        refuse(
            DemandProfile {
                orders_per_day: 0.0,
                ..d()
            },
            monday(),
            end,
            "orders per day",
        );
        refuse(
            DemandProfile {
                weekly_growth: 3.0,
                ..d()
            },
            monday(),
            end,
            "weekly growth",
        );
        refuse(
            DemandProfile {
                noise_sd: f64::INFINITY,
                ..d()
            },
            monday(),
            end,
            "noise",
        );
        refuse(
            DemandProfile {
                weekday: [0.0; 7],
                ..d()
            },
            monday(),
            end,
            "all zero",
        );
        let mut hourly = d();
        hourly.hourly[5] = -0.1;
        refuse(hourly, monday(), end, "hourly multiplier");
        let mut promo = d();
        promo.promotions.multiplier = f64::NAN;
        refuse(promo, monday(), end, "promotion multiplier");
        let mut chance = d();
        chance.promotions.daily_chance = 1.5;
        refuse(chance, monday(), end, "promotion chance");
        refuse(d(), end, monday(), "empty");
        refuse(d(), monday(), monday(), "empty");
        refuse(d(), monday(), monday() + TimeDelta::days(4_000), "too long");
        refuse(
            DemandProfile {
                orders_per_day: 100_000.0,
                ..d()
            },
            monday(),
            monday() + TimeDelta::days(90),
            "cap of 5000000",
        );
        // A steep decline anchored at the end means a huge start: the cap catches it too.
        refuse(
            DemandProfile {
                orders_per_day: 100.0,
                weekly_growth: -0.5,
                ..d()
            },
            monday(),
            monday() + TimeDelta::days(365),
            "cap",
        );
    }

    #[test]
    fn the_planner_is_lazy_and_its_state_does_not_grow() {
        // Close to the cap: 4.9 million expected orders, yet the first ones come at once.
        let p = DemandProfile {
            orders_per_day: 54_000.0,
            ..flat(1.0)
        };
        let mut planner =
            ArrivalPlanner::new(&p, monday(), monday() + TimeDelta::days(90), 7).unwrap();
        assert!(planner.expected_total() > 4_800_000.0);
        let first: Vec<_> = planner.by_ref().take(1_000).collect();
        assert_eq!(first.len(), 1_000);
        assert!(first[999] < monday() + TimeDelta::hours(2));
        // Fixed-size state (the promotion dates are the profile's own, copied once).
        assert!(std::mem::size_of::<ArrivalPlanner>() < 1_024);
        assert_eq!(planner.planned(), 1_000);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any in-range profile and window iterates to the end without panicking, ascending,
        /// inside the window, and only ever holds the planner (nothing is collected).
        #[test]
        fn any_profile_in_range_iterates_cleanly(
            orders_per_day in 0.001f64..300.0,
            weekly_growth in MIN_WEEKLY_GROWTH..=MAX_WEEKLY_GROWTH,
            weekday in proptest::array::uniform7(0.0f64..=MAX_MULTIPLIER),
            hourly in proptest::array::uniform24(prop_oneof![Just(0.0), 0.0f64..=MAX_MULTIPLIER]),
            daily_chance in 0.0f64..=1.0,
            multiplier in 0.0f64..=MAX_MULTIPLIER,
            noise_sd in 0.0f64..=MAX_NOISE_SD,
            start_ms in -10_000_000_000_000i64..10_000_000_000_000,
            length_ms in 1i64..(21 * 24 * HOUR_MS),
            seed in any::<u64>(),
        ) {
            let mut weekday = weekday;
            weekday[0] += 0.01;
            let mut hourly = hourly;
            hourly[(seed % 24) as usize] += 0.01;
            let p = DemandProfile {
                orders_per_day,
                weekly_growth,
                weekday,
                hourly,
                promotions: Promotions { daily_chance, multiplier, dates: Vec::new() },
                noise_sd,
            };
            let start = DateTime::from_timestamp_millis(start_ms).unwrap()
                + TimeDelta::nanoseconds((seed % 1_000_000) as i64);
            let end = start + TimeDelta::milliseconds(length_ms);
            let planner = match ArrivalPlanner::new(&p, start, end, seed) {
                Ok(planner) => planner,
                Err(e) => {
                    // Only the cap may refuse an in-range profile.
                    prop_assert!(e.contains("cap"), "{}", e);
                    return Ok(());
                }
            };
            let expected = planner.expected_total();
            prop_assert!(expected.is_finite() && expected >= 0.0);
            let mut last = start;
            let mut count = 0u64;
            for t in planner {
                prop_assert!(t >= last && t < end, "{} after {}, end {}", t, last, end);
                last = t;
                count += 1;
            }
            // Noise sd up to 1 can multiply a day a lot, but not a thousandfold.
            prop_assert!((count as f64) < 1_000.0 * expected + 1_000.0, "{} vs {}", count, expected);
        }
    }
}
