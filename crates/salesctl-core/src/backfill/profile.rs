//! The demand profile a backfill follows (level, trend, weekly and daily shape, promotions,
//! noise) and the limits every profile is checked against.

use chrono::NaiveDate;

/// The most orders one backfill may plan (expected count): beyond this a run takes hours
/// against a real table and the spend is no longer "a demo".
pub const MAX_PLANNED_ORDERS: f64 = 5_000_000.0;
/// The highest `orders_per_day` accepted.
pub const MAX_ORDERS_PER_DAY: f64 = 1_000_000.0;
/// The longest window accepted, in days (ten years): bounds the per-day expectation vector.
pub const MAX_WINDOW_DAYS: i64 = 3_660;
/// Weekly growth accepted: from halving to doubling every week.
pub const MIN_WEEKLY_GROWTH: f64 = -0.5;
pub const MAX_WEEKLY_GROWTH: f64 = 1.0;
/// Day-level noise sd accepted (of the log of the day's multiplier).
pub const MAX_NOISE_SD: f64 = 1.0;
/// Any seasonality or promotion multiplier accepted.
pub const MAX_MULTIPLIER: f64 = 100.0;
/// Explicit promotion dates accepted.
pub const MAX_PROMO_DATES: usize = 10_000;

/// Seeded promotion days: each UTC day is a promotion day with `daily_chance` (a deterministic
/// function of the seed and the date, so the expectation knows it too), plus any listed dates.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotions {
    /// Chance that a given day is a promotion day. Default 1/30: about three in a 90-day
    /// backfill, enough for the forecast's residuals to show outliers, too few to be the norm.
    pub daily_chance: f64,
    /// How much busier a promotion day is. Default 1.8 (a typical flash-sale lift).
    pub multiplier: f64,
    /// Dates that are always promotion days (e.g. a Black Friday), UTC.
    pub dates: Vec<NaiveDate>,
}

impl Default for Promotions {
    fn default() -> Promotions {
        Promotions {
            daily_chance: 1.0 / 30.0,
            multiplier: 1.8,
            dates: Vec::new(),
        }
    }
}

/// What the order arrival rate looks like over time. Seasonality multipliers are relative:
/// they are normalised (weekday to mean 1, hourly to a share of the day), so any positive
/// shape can be given and `orders_per_day` keeps its meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandProfile {
    /// Mean orders per day at the *end* of the window, averaged over the week. Anchored at the
    /// end because a backfill ends now: the history then leads up to today's level, where the
    /// live generator carries on. Default 2,000.
    pub orders_per_day: f64,
    /// Relative growth per week, compounded continuously hour by hour: 0.02 is +2%/week, so
    /// the window's first week is (1.02)^-k of its last one, k weeks earlier. Default 0.02.
    pub weekly_growth: f64,
    /// Day-of-week multipliers, Monday to Sunday. Default: weekdays near 1 with a Friday
    /// bump, weekend about 20% lower (electronics bought from work, fewer on Saturday).
    pub weekday: [f64; 7],
    /// Hour-of-day multipliers, 00:00 to 23:00 UTC. Default: a quiet night, a morning ramp,
    /// a lunchtime peak at 12:00 and a larger evening peak at 19:00–21:00.
    pub hourly: [f64; 24],
    /// Promotion days.
    pub promotions: Promotions,
    /// Day-level noise: each day's rate is multiplied by exp(sd·Z − sd²/2), Z standard normal
    /// (log-normal with mean exactly 1, so the expectation is unchanged). Default 0.1: days
    /// wobble by about ±10%, as real daily sales do beyond their Poisson noise.
    pub noise_sd: f64,
}

impl Default for DemandProfile {
    fn default() -> DemandProfile {
        DemandProfile {
            orders_per_day: 2_000.0,
            weekly_growth: 0.02,
            weekday: [1.0, 0.98, 0.98, 1.02, 1.08, 0.78, 0.85],
            hourly: [
                0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.30, 0.55, 0.80, 0.95, 1.00, 1.15, //
                1.40, 1.30, 1.00, 0.95, 1.00, 1.15, 1.35, 1.60, 1.70, 1.50, 1.00, 0.55,
            ],
            promotions: Promotions::default(),
            noise_sd: 0.1,
        }
    }
}

impl DemandProfile {
    /// Checks every field is in range; the message names the field and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        let p = self;
        if !(p.orders_per_day.is_finite()
            && p.orders_per_day > 0.0
            && p.orders_per_day <= MAX_ORDERS_PER_DAY)
        {
            return Err(format!(
                "orders per day {} is out of range; use a number above 0 and at most {MAX_ORDERS_PER_DAY}",
                p.orders_per_day
            ));
        }
        if !(p.weekly_growth.is_finite()
            && (MIN_WEEKLY_GROWTH..=MAX_WEEKLY_GROWTH).contains(&p.weekly_growth))
        {
            return Err(format!(
                "weekly growth {} is out of range; use between {MIN_WEEKLY_GROWTH} and {MAX_WEEKLY_GROWTH} (e.g. 0.02 for +2%/week)",
                p.weekly_growth
            ));
        }
        check_shape("weekday", &p.weekday).map_err(|e| e.to_string())?;
        check_shape("hourly", &p.hourly).map_err(|e| e.to_string())?;
        let promo = &p.promotions;
        if !(promo.daily_chance.is_finite() && (0.0..=1.0).contains(&promo.daily_chance)) {
            return Err(format!(
                "promotion chance {} is out of range; use a probability between 0 and 1",
                promo.daily_chance
            ));
        }
        if !(promo.multiplier.is_finite() && (0.0..=MAX_MULTIPLIER).contains(&promo.multiplier)) {
            return Err(format!(
                "promotion multiplier {} is out of range; use between 0 and {MAX_MULTIPLIER} (e.g. 1.8)",
                promo.multiplier
            ));
        }
        if promo.dates.len() > MAX_PROMO_DATES {
            return Err(format!(
                "{} promotion dates is too many; list at most {MAX_PROMO_DATES}",
                promo.dates.len()
            ));
        }
        if !(p.noise_sd.is_finite() && (0.0..=MAX_NOISE_SD).contains(&p.noise_sd)) {
            return Err(format!(
                "noise sd {} is out of range; use between 0 and {MAX_NOISE_SD} (e.g. 0.1)",
                p.noise_sd
            ));
        }
        Ok(())
    }
}

/// What is wrong with a weekday or hourly shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    #[error("{name} multiplier {value} is out of range; use numbers between 0 and {max}", max = MAX_MULTIPLIER)]
    OutOfRange { name: &'static str, value: f64 },
    #[error("{name} multipliers are all zero; give at least one a positive value")]
    AllZero { name: &'static str },
}

pub(super) fn check_shape(name: &'static str, values: &[f64]) -> Result<(), ShapeError> {
    if let Some(&value) = values
        .iter()
        .find(|v| !(v.is_finite() && (0.0..=MAX_MULTIPLIER).contains(*v)))
    {
        return Err(ShapeError::OutOfRange { name, value });
    }
    if values.iter().all(|&v| v == 0.0) {
        return Err(ShapeError::AllZero { name });
    }
    Ok(())
}
