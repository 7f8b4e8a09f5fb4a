//! The order rate per UTC hour that a profile and a seed imply: expected, and as drawn with
//! the day's noise; promotion days and noise are per-day hashes of the seed, not RNG state.

use chrono::NaiveDate;

use super::profile::DemandProfile;

pub(super) const HOUR_MS: i64 = 3_600_000;
const WEEK_MS: f64 = 7.0 * 24.0 * 3_600_000.0;
/// 1970-01-01 counted from 0001-01-01 (chrono's "days from CE").
const EPOCH_DAYS_FROM_CE: i64 = 719_163;
/// Salts that keep the arrival stream, the noise and the promotion draws independent of each
/// other and of an [`OrderGenerator`](crate::order::OrderGenerator) given the same seed.
pub(super) const ARRIVALS_SALT: u64 = 0x6172_7269_7661_6c73;
const NOISE_SALT: u64 = 0x6e6f_6973_6500_0001;
const PROMO_SALT: u64 = 0x7072_6f6d_6f00_0001;

/// The intensity, normalised once: orders per hour for any UTC hour.
#[derive(Debug, Clone)]
pub(super) struct Intensity {
    orders_per_day: f64,
    /// ln(1 + weekly growth), so the trend is one `exp` per hour.
    ln_growth: f64,
    /// Mean 1 over the week.
    weekday: [f64; 7],
    /// Shares of the day, summing to 1.
    hourly: [f64; 24],
    promo_chance: f64,
    promo_multiplier: f64,
    /// Sorted, for binary search.
    promo_dates: Vec<NaiveDate>,
    noise_sd: f64,
    seed: u64,
    /// The trend's anchor: the end of the window, epoch milliseconds.
    anchor_ms: i64,
}

impl Intensity {
    pub(super) fn new(profile: &DemandProfile, seed: u64, anchor_ms: i64) -> Intensity {
        let week_sum: f64 = profile.weekday.iter().sum();
        let day_sum: f64 = profile.hourly.iter().sum();
        let mut promo_dates = profile.promotions.dates.clone();
        promo_dates.sort_unstable();
        promo_dates.dedup();
        Intensity {
            orders_per_day: profile.orders_per_day,
            ln_growth: profile.weekly_growth.ln_1p(),
            weekday: profile.weekday.map(|w| w * 7.0 / week_sum),
            hourly: profile.hourly.map(|h| h / day_sum),
            promo_chance: profile.promotions.daily_chance,
            promo_multiplier: profile.promotions.multiplier,
            promo_dates,
            noise_sd: profile.noise_sd,
            seed,
            anchor_ms,
        }
    }

    /// Expected orders in UTC hour `hour` (hours since the epoch), without the day's noise.
    pub(super) fn expected_per_hour(&self, hour: i64) -> f64 {
        let day = hour.div_euclid(24);
        let hour_of_day = hour.rem_euclid(24) as usize;
        // 1970-01-01 was a Thursday: index 3 with Monday as 0.
        let weekday = (day + 3).rem_euclid(7) as usize;
        let middle_ms = (hour * HOUR_MS + HOUR_MS / 2 - self.anchor_ms) as f64;
        let trend = (self.ln_growth * middle_ms / WEEK_MS).exp();
        let promo = if self.is_promo_day(day) {
            self.promo_multiplier
        } else {
            1.0
        };
        self.orders_per_day * trend * self.weekday[weekday] * self.hourly[hour_of_day] * promo
    }

    /// The rate the arrivals are actually drawn with: the expectation times the day's noise.
    pub(super) fn realised_per_hour(&self, hour: i64) -> f64 {
        self.expected_per_hour(hour) * self.day_noise(hour.div_euclid(24))
    }

    fn is_promo_day(&self, day: i64) -> bool {
        // A zero chance never draws; a chance of 1 always does (unit() < 1).
        unit(day_hash(self.seed, PROMO_SALT, day)) < self.promo_chance
            || date_of_day(day).is_some_and(|d| self.promo_dates.binary_search(&d).is_ok())
    }

    fn day_noise(&self, day: i64) -> f64 {
        if self.noise_sd == 0.0 {
            return 1.0;
        }
        let h = day_hash(self.seed, NOISE_SALT, day);
        // Box–Muller on two independent uniforms: u1 in (0, 1], u2 in [0, 1).
        let u1 = 1.0 - unit(h);
        let u2 = unit(splitmix64(h));
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        (self.noise_sd * z - self.noise_sd * self.noise_sd / 2.0).exp()
    }
}

pub(super) fn date_of_day(day: i64) -> Option<NaiveDate> {
    i32::try_from(day + EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

pub(super) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A per-day draw that depends only on (seed, stream, day): the same day gets the same
/// promotion and noise whatever the window, and the expectation can see the promotions.
fn day_hash(seed: u64, salt: u64, day: i64) -> u64 {
    splitmix64(splitmix64(seed ^ salt).wrapping_add(day as u64))
}

/// The top 53 bits as a float in [0, 1).
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{Datelike, Timelike, Weekday};

    use super::*;
    use crate::backfill::test_support::{daily_counts, flat, monday, weeks};
    use crate::backfill::{ArrivalPlanner, Promotions};

    #[test]
    fn weekday_and_weekend_counts_follow_the_weekly_shape() {
        let p = flat(2_000.0);
        let planner = ArrivalPlanner::new(&p, monday(), monday() + weeks(8), 1).unwrap();
        let days = daily_counts(planner);
        assert_eq!(days.len(), 56);
        let (mut weekday, mut weekend) = (Vec::new(), Vec::new());
        for (date, n) in days {
            match date.weekday() {
                Weekday::Sat | Weekday::Sun => weekend.push(n),
                _ => weekday.push(n),
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let realised = mean(&weekday) / mean(&weekend);
        let wanted = mean(&p.weekday[..5]) / mean(&p.weekday[5..]);
        assert!(
            (realised / wanted - 1.0).abs() < 0.03,
            "realised {realised}, profile {wanted}"
        );
        // And the level: a mean day is orders_per_day.
        let all = (mean(&weekday) * 5.0 + mean(&weekend) * 2.0) / 7.0;
        assert!((all / 2_000.0 - 1.0).abs() < 0.02, "{all}");
    }

    #[test]
    fn the_trend_compounds_week_on_week_up_to_the_anchor() {
        let p = DemandProfile {
            weekly_growth: 0.05,
            ..flat(2_000.0)
        };
        let end = monday() + weeks(8);
        let planner = ArrivalPlanner::new(&p, monday(), end, 2).unwrap();
        let mut per_week = [0.0f64; 8];
        for t in planner {
            per_week[((t - monday()).num_days() / 7) as usize] += 1.0;
        }
        let ratio = per_week[7] / per_week[0];
        let wanted = 1.05f64.powi(7);
        assert!((ratio / wanted - 1.0).abs() < 0.04, "{ratio} vs {wanted}");
        // Anchored at the end: the last week averages just under orders_per_day a day.
        let last_day_level = per_week[7] / 7.0;
        assert!(
            (last_day_level / (2_000.0 / 1.05f64.powf(0.5)) - 1.0).abs() < 0.03,
            "{last_day_level}"
        );
    }

    #[test]
    fn nights_are_quieter_than_the_lunch_and_evening_peaks() {
        let p = flat(3_000.0);
        let planner = ArrivalPlanner::new(&p, monday(), monday() + weeks(2), 3).unwrap();
        let mut per_hour = [0.0f64; 24];
        for t in planner {
            per_hour[t.hour() as usize] += 1.0;
        }
        let night = per_hour[2..5].iter().sum::<f64>() / 3.0;
        let lunch = per_hour[12];
        let evening = per_hour[19..22].iter().sum::<f64>() / 3.0;
        assert!(lunch > 5.0 * night, "{per_hour:?}");
        assert!(evening > lunch, "{per_hour:?}");
        // Each hour's share matches the profile's shape.
        let total: f64 = per_hour.iter().sum();
        let shape_total: f64 = p.hourly.iter().sum();
        for h in [3, 12, 20] {
            let share = per_hour[h] / total;
            let wanted = p.hourly[h] / shape_total;
            assert!(
                (share / wanted - 1.0).abs() < 0.1,
                "hour {h}: {share} vs {wanted}"
            );
        }
    }

    #[test]
    fn promotion_days_stand_out_by_their_multiplier() {
        let wednesday = NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        let p = DemandProfile {
            promotions: Promotions {
                daily_chance: 0.0,
                multiplier: 1.8,
                dates: vec![wednesday],
            },
            ..flat(4_000.0)
        };
        let planner = ArrivalPlanner::new(&p, monday(), monday() + weeks(1), 4).unwrap();
        let expected: HashMap<_, _> = planner.expected_per_day().into_iter().collect();
        let thursday = wednesday.succ_opt().unwrap();
        let lift = expected[&wednesday] / expected[&thursday];
        let shape = p.weekday[2] / p.weekday[3];
        assert!((lift / (1.8 * shape) - 1.0).abs() < 1e-9, "{lift}");
        let days = daily_counts(planner);
        let realised = days[&wednesday] / days[&thursday];
        assert!((realised / (1.8 * shape) - 1.0).abs() < 0.06, "{realised}");
    }

    #[test]
    fn seeded_promotions_land_on_about_the_chance_of_days() {
        let p = DemandProfile {
            promotions: Promotions {
                daily_chance: 0.1,
                multiplier: 2.0,
                dates: Vec::new(),
            },
            ..flat(100.0)
        };
        let planner = ArrivalPlanner::new(&p, monday(), monday() + weeks(100), 5).unwrap();
        let days = planner.expected_per_day();
        let plain: Vec<f64> = days.iter().map(|d| d.1).collect();
        let base = flat(100.0);
        let plain_planner = ArrivalPlanner::new(&base, monday(), monday() + weeks(100), 5).unwrap();
        let promo_days = plain_planner
            .expected_per_day()
            .iter()
            .zip(&plain)
            .filter(|(b, with)| **with > b.1 * 1.5)
            .count();
        assert!((50..=90).contains(&promo_days), "{promo_days} of 700");
    }

    #[test]
    fn day_noise_has_mean_one_and_about_the_given_spread() {
        let p = DemandProfile {
            noise_sd: 0.2,
            ..flat(100.0)
        };
        let i = Intensity::new(&p, 11, 0);
        let draws: Vec<f64> = (0..20_000).map(|d| i.day_noise(d)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let logs: Vec<f64> = draws.iter().map(|d| d.ln()).collect();
        let log_mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let log_sd =
            (logs.iter().map(|l| (l - log_mean).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
        assert!((log_sd - 0.2).abs() < 0.01, "{log_sd}");
    }
}
