//! Backfill planning for `salesctl generate --backfill`: a seeded, lazy stream of past order
//! arrival times with trend, weekly and daily seasonality, promotions and noise (pure, no I/O).
//!
//! Why it exists: a forecast needs a history to learn from, and a lake filled only by the live
//! generator holds a few flat days. The planner draws arrivals as a non-homogeneous Poisson
//! process whose intensity is piecewise constant per UTC hour, by the time-change method: one
//! unit-exponential draw per arrival is spent against the integrated intensity, hour by hour.
//! That is exact for a piecewise-constant rate, yields ascending times without sorting, and
//! keeps O(1) state however long the window, so 90 days of 10,000 orders a day are never
//! materialised. [`Backfill`] feeds those times to [`OrderGenerator`] as its `now`.
//!
//! The clock is UTC throughout: the lake partitions and the daily series are by UTC date, so a
//! "Saturday" or "8 pm" here is a UTC Saturday or 8 pm.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::order::{OrderGenerator, PlannedOp};

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

const HOUR_MS: i64 = 3_600_000;
const WEEK_MS: f64 = 7.0 * 24.0 * 3_600_000.0;
/// 1970-01-01 counted from 0001-01-01 (chrono's "days from CE").
const EPOCH_DAYS_FROM_CE: i64 = 719_163;
/// Salts that keep the arrival stream, the noise and the promotion draws independent of each
/// other and of an [`OrderGenerator`] given the same seed.
const ARRIVALS_SALT: u64 = 0x6172_7269_7661_6c73;
const NOISE_SALT: u64 = 0x6e6f_6973_6500_0001;
const PROMO_SALT: u64 = 0x7072_6f6d_6f00_0001;

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
        check_shape("weekday", &p.weekday)?;
        check_shape("hourly", &p.hourly)?;
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

fn check_shape(name: &str, values: &[f64]) -> Result<(), String> {
    if let Some(bad) = values
        .iter()
        .find(|v| !(v.is_finite() && (0.0..=MAX_MULTIPLIER).contains(*v)))
    {
        return Err(format!(
            "{name} multiplier {bad} is out of range; use numbers between 0 and {MAX_MULTIPLIER}"
        ));
    }
    if values.iter().all(|&v| v == 0.0) {
        return Err(format!(
            "{name} multipliers are all zero; give at least one a positive value"
        ));
    }
    Ok(())
}

/// The intensity, normalised once: orders per hour for any UTC hour.
#[derive(Debug, Clone)]
struct Intensity {
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
    fn new(profile: &DemandProfile, seed: u64, anchor_ms: i64) -> Intensity {
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
    fn expected_per_hour(&self, hour: i64) -> f64 {
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
    fn realised_per_hour(&self, hour: i64) -> f64 {
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

fn date_of_day(day: i64) -> Option<NaiveDate> {
    i32::try_from(day + EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

fn splitmix64(x: u64) -> u64 {
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
    /// [`OrderGenerator`] without correlating arrivals with the orders' contents.
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

/// The backfill driver: each arrival becomes one `plan_new_order(arrival)`, so inserts are
/// created at the arrival and updates are dated at it too (never before the order's own
/// last write, as `plan_update` takes the later of the two). Deletes carry the order as it
/// was last written. Acknowledge ops as they are written, as with live generation, so later
/// arrivals can update or delete them.
pub struct Backfill {
    planner: ArrivalPlanner,
    generator: OrderGenerator,
}

impl Backfill {
    pub fn new(planner: ArrivalPlanner, generator: OrderGenerator) -> Backfill {
        Backfill { planner, generator }
    }

    /// The operations for the next arrival, or `None` once the window is used up.
    pub fn next_ops(&mut self) -> Option<Vec<PlannedOp>> {
        self.next_timed().map(|(_, ops)| ops)
    }

    /// Like [`Backfill::next_ops`], with the arrival time the ops are dated at.
    pub fn next_timed(&mut self) -> Option<(DateTime<Utc>, Vec<PlannedOp>)> {
        let at = self.planner.next()?;
        Some((at, self.generator.plan_new_order(at)))
    }

    /// Records that `op` is durably written (see [`OrderGenerator::acknowledge`]).
    pub fn acknowledge(&mut self, op: PlannedOp) {
        self.generator.acknowledge(op);
    }

    /// Records that `op` failed for good (see [`OrderGenerator::forget`]).
    pub fn forget(&mut self, op: PlannedOp) {
        self.generator.forget(op);
    }

    /// Expected new orders in the window (see [`ArrivalPlanner::expected_total`]).
    pub fn expected_total(&self) -> f64 {
        self.planner.expected_total()
    }

    /// New orders planned so far.
    pub fn planned_orders(&self) -> u64 {
        self.planner.planned()
    }

    pub fn generator(&self) -> &OrderGenerator {
        &self.generator
    }
}

/// `--orders-per-day`: `10000`, `10_000`, `10k` or `2.5k`; above 0, at most 1,000,000.
pub fn parse_orders_per_day(text: &str) -> Result<f64, String> {
    let cleaned = text.trim().replace('_', "");
    let (digits, scale) = match cleaned.strip_suffix(['k', 'K']) {
        Some(digits) => (digits, 1_000.0),
        None => (cleaned.as_str(), 1.0),
    };
    match digits.parse::<f64>().map(|n| n * scale) {
        Ok(n) if n.is_finite() && n > 0.0 && n <= MAX_ORDERS_PER_DAY => Ok(n),
        _ => Err(format!(
            "'{text}' is not a number of orders per day; use a number above 0 and at most 1000000, e.g. 2000 or 10k"
        )),
    }
}

/// `--trend`: `+2%/week`, `-1%/week`, `0.5%/day` (compounded to a week), `2%` (per week) or
/// `0`; returns the weekly growth (0.02 for +2%/week), between -50% and +100% a week.
pub fn parse_trend(text: &str) -> Result<f64, String> {
    let err = || {
        format!(
            "'{text}' is not a trend; use a percentage per week or day between -50%/week and +100%/week, e.g. +2%/week"
        )
    };
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
pub fn parse_noise(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let parsed = match trimmed.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    };
    match parsed {
        Ok(sd) if sd.is_finite() && (0.0..=MAX_NOISE_SD).contains(&sd) => Ok(sd),
        _ => Err(format!(
            "'{text}' is not a noise level; use a standard deviation between 0 and 1, e.g. 0.1 or 10%"
        )),
    }
}

/// `--weekday-shape`: seven comma-separated multipliers, Monday to Sunday, e.g.
/// `1,1,1,1,1.1,0.8,0.8`; each between 0 and 100, not all zero.
pub fn parse_weekday_shape(text: &str) -> Result<[f64; 7], String> {
    let err = |why: &str| {
        format!(
            "'{text}' is not a weekday shape ({why}); give seven numbers Monday to Sunday, e.g. 1,1,1,1,1.1,0.8,0.8"
        )
    };
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| err("not all numbers"))?;
    let shape: [f64; 7] = values
        .try_into()
        .map_err(|v: Vec<f64>| err(&format!("{} values", v.len())))?;
    check_shape("weekday", &shape).map_err(|e| err(&e))?;
    Ok(shape)
}

/// `--promo-multiplier`: `1.8`, `x1.8` or `1.8x`; between 0 and 100.
pub fn parse_promo_multiplier(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let number = trimmed
        .strip_prefix(['x', '×'])
        .or_else(|| trimmed.strip_suffix(['x', '×']))
        .unwrap_or(trimmed);
    match number.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && (0.0..=MAX_MULTIPLIER).contains(&m) => Ok(m),
        _ => Err(format!(
            "'{text}' is not a promotion multiplier; use a number between 0 and 100, e.g. 1.8 or x1.8"
        )),
    }
}

/// `--promo-dates`: comma-separated ISO dates, e.g. `2026-11-27,2026-12-01`.
pub fn parse_promo_dates(text: &str) -> Result<Vec<NaiveDate>, String> {
    let dates = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                format!("'{d}' is not a date; list promotion dates as YYYY-MM-DD, e.g. 2026-11-27")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if dates.len() > MAX_PROMO_DATES {
        return Err(format!(
            "{} promotion dates is too many; list at most {MAX_PROMO_DATES}",
            dates.len()
        ));
    }
    Ok(dates)
}

/// `--backfill`: how far back the window starts, as `90d`, `12w` or `36h`; at least one hour,
/// at most 3,660 days.
pub fn parse_backfill(text: &str) -> Result<TimeDelta, String> {
    let err = || {
        format!(
            "'{text}' is not a backfill length; use a whole number of hours, days or weeks between 1h and 3660d, e.g. 90d"
        )
    };
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
    use std::collections::{BTreeMap, HashMap};

    use chrono::{Datelike, Timelike, Weekday};
    use proptest::prelude::*;

    use super::*;
    use crate::order::{GeneratorConfig, OpKind};

    /// Monday 2026-01-05 00:00 UTC.
    fn monday() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_571_200, 0).unwrap()
    }

    /// A profile with only the shape under test: no trend, promotions or noise.
    fn flat(orders_per_day: f64) -> DemandProfile {
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

    fn daily_counts(planner: ArrivalPlanner) -> BTreeMap<NaiveDate, f64> {
        let mut days = BTreeMap::new();
        for t in planner {
            *days.entry(t.date_naive()).or_insert(0.0) += 1.0;
        }
        days
    }

    fn weeks(n: i64) -> TimeDelta {
        TimeDelta::weeks(n)
    }

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

    fn backfill(seed: u64, days: i64) -> Backfill {
        let start = monday();
        let p = DemandProfile {
            orders_per_day: 3_000.0,
            ..DemandProfile::default()
        };
        let planner = ArrivalPlanner::new(&p, start, start + TimeDelta::days(days), seed).unwrap();
        let generator = OrderGenerator::new(GeneratorConfig {
            seed: Some(seed),
            update_ratio: 0.3,
            delete_ratio: 0.05,
            run_tag: "h".into(),
        });
        Backfill::new(planner, generator)
    }

    #[test]
    fn backfill_ops_are_dated_at_their_arrival_and_never_before_the_order() {
        let mut b = backfill(21, 4);
        let end = monday() + TimeDelta::days(4);
        let mut last_write: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut kinds: HashMap<OpKind, usize> = HashMap::new();
        let mut last_at = monday();
        while let Some((at, ops)) = b.next_timed() {
            assert!(at >= last_at && at < end);
            last_at = at;
            assert_eq!(ops.last().map(|op| op.kind), Some(OpKind::Insert));
            for op in ops {
                let o = &op.order;
                *kinds.entry(op.kind).or_default() += 1;
                assert!(o.created_at <= o.updated_at, "{o:?}");
                assert!(o.created_at >= monday() && o.updated_at <= at);
                match op.kind {
                    OpKind::Insert => {
                        assert_eq!((o.created_at, o.updated_at), (at, at));
                        assert!(last_write.insert(o.order_id.clone(), at).is_none());
                    }
                    OpKind::Update => {
                        assert_eq!(o.updated_at, at);
                        let before = last_write.insert(o.order_id.clone(), at).unwrap();
                        assert!(before <= at);
                    }
                    OpKind::Delete => {
                        let before = last_write.remove(&o.order_id).unwrap();
                        assert_eq!(o.updated_at, before);
                    }
                }
                b.acknowledge(op);
            }
        }
        assert_eq!(b.planned_orders() as usize, kinds[&OpKind::Insert]);
        assert!(
            kinds[&OpKind::Update] > 1_000 && kinds[&OpKind::Delete] > 100,
            "{kinds:?}"
        );
    }

    #[test]
    fn backfill_is_deterministic_for_a_seed() {
        let (mut a, mut b) = (backfill(3, 1), backfill(3, 1));
        loop {
            let (x, y) = (a.next_ops(), b.next_ops());
            assert_eq!(x, y);
            let Some(ops) = x else { break };
            for op in ops {
                a.acknowledge(op.clone());
                b.acknowledge(op);
            }
        }
        assert!(a.planned_orders() > 1_000);
        assert!((a.expected_total() - b.expected_total()).abs() < 1e-9);
    }

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
        .into();
        for message in &refused {
            assert!(!message.contains('\n'), "{message}");
            assert!(message.contains("; "), "names no fix: {message}");
        }
        assert!(refused[0].contains("'0' is not a number of orders per day"));
        assert!(refused[12].contains("3 values"), "{}", refused[12]);
        assert!(refused[18].contains("'2026-13-01' is not a date"));
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
