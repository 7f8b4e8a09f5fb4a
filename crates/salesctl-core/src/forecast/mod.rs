//! Daily revenue forecasts for `salesctl report`: which model a history of full days gets,
//! its point forecasts with 80%/95% prediction intervals, and a backtest to judge it by.
//!
//! The rules of [`forecast`]:
//! - 14 or more full days: additive Holt-Winters with weekly seasonality, ETS(A,A,A) or its
//!   damped form, chosen by AICc ([`holt_winters`], after Hyndman & Athanasopoulos, FPP3
//!   §8.3 and §8.7). Two whole weeks is the least from which a weekday pattern and a trend
//!   can both be told apart.
//! - 3 to 13 full days: the least-squares linear trend with Student-t prediction intervals
//!   ([`linear`]); the outlook says why the weekly model was not used.
//! - fewer than 3 days: no forecast, and the reason.
//!
//! Revenue cannot be negative, so every point forecast and every interval bound is clamped
//! at zero after it is computed: a lower bound of 0 means "the model's interval reaches below
//! zero", and the clamped intervals keep their nominal coverage because no real value lies
//! below zero. The linear-trend baseline of earlier versions stays available under its old
//! names ([`project`], [`fit_line`], [`Fit`], [`Projection`], [`METHOD`]).

pub mod backtest;
pub mod choice;
pub mod holt_winters;
pub mod linear;
pub mod nelder_mead;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

pub use backtest::{Backtest, BacktestConfig, MethodScore, backtest};
pub use choice::{Choice, choose};
pub use holt_winters::{Damping, HoltWinters, HwParams};
pub use linear::{Fit, METHOD, Projection, fit_line, project};

/// Days in a season: revenue follows the week.
pub const SEASON_DAYS: usize = 7;
/// The fewest full days for the weekly Holt-Winters model: two whole weeks.
pub const MIN_SEASONAL_DAYS: usize = 2 * SEASON_DAYS;
/// The fewest full days for any forecast (the linear trend's intervals need n − 2 ≥ 1).
pub const MIN_TREND_DAYS: usize = 3;

/// Standard normal quantiles for central 80% and 95% intervals.
pub const Z80: f64 = 1.281_551_565_544_600_4;
pub const Z95: f64 = 1.959_963_984_540_054;

/// Revenue per consecutive day, the first on `first_day`. Days without sales are 0, not
/// missing. Only full days belong here: see [`forecast`]'s `today`.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySeries {
    first_day: NaiveDate,
    values: Vec<f64>,
}

impl DailySeries {
    pub fn new(first_day: NaiveDate, values: Vec<f64>) -> Self {
        DailySeries { first_day, values }
    }

    /// Daily totals in any order, repeats added, days between the first and the last without
    /// a total counted as 0 (as [`project`] does). `None` when `observed` is empty.
    pub fn from_daily_totals(observed: &[(NaiveDate, Decimal)]) -> Option<Self> {
        let first_day = observed.iter().map(|(d, _)| *d).min()?;
        let last_day = observed.iter().map(|(d, _)| *d).max()?;
        let span = usize::try_from((last_day - first_day).num_days()).ok()? + 1;
        let mut values = vec![0.0_f64; span];
        for (day, value) in observed {
            let index = usize::try_from((*day - first_day).num_days()).ok()?;
            values[index] += value.to_f64().unwrap_or(0.0);
        }
        Some(DailySeries { first_day, values })
    }

    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The day of `values()[index]`.
    pub fn day(&self, index: usize) -> Option<NaiveDate> {
        self.first_day.checked_add_days(Days::new(index as u64))
    }

    pub fn last_day(&self) -> Option<NaiveDate> {
        self.len().checked_sub(1).and_then(|i| self.day(i))
    }

    /// The first `len` days (all of them when `len` is longer).
    pub fn truncated(&self, len: usize) -> DailySeries {
        DailySeries {
            first_day: self.first_day,
            values: self.values[..len.min(self.len())].to_vec(),
        }
    }
}

/// Which model made an [`Outlook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Additive Holt-Winters with weekly seasonality; damped when the fitted φ < 1.
    HoltWinters,
    /// The least-squares line, for histories too short for a weekly pattern (or when it beat
    /// Holt-Winters in the backtest).
    LinearTrend,
    /// The same weekday last week, when it beat Holt-Winters in the backtest.
    SeasonalNaive,
    /// Too little history for any forecast.
    None,
}

/// The fitted parameters, as the report shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    HoltWinters(HwParams),
    LinearTrend(Fit),
}

/// One forecast day: the point forecast and its 80% and 95% prediction intervals, all
/// clamped at zero (so `lo95 ≤ lo80 ≤ point ≤ hi80 ≤ hi95` and all ≥ 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastDay {
    pub day: NaiveDate,
    pub point: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

/// A model's unclamped forecast for one day: its mean and the half-widths of its intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub half80: f64,
    pub half95: f64,
}

impl Spread {
    /// Clamps at zero; a NaN from a degenerate fit becomes 0 rather than reaching the report.
    pub fn to_day(self, day: NaiveDate) -> ForecastDay {
        let clamp = |v: f64| if v > 0.0 && v.is_finite() { v } else { 0.0 };
        let hi = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
        let point = clamp(self.mean);
        let (h80, h95) = (self.half80.max(0.0), self.half95.max(self.half80).max(0.0));
        ForecastDay {
            day,
            point,
            lo80: clamp(self.mean - h80).min(point),
            hi80: hi(self.mean + h80).max(point),
            lo95: clamp(self.mean - h95).min(point),
            hi95: hi(self.mean + h95).max(point),
        }
    }
}

/// What [`forecast`] says about the days ahead.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlook {
    pub model: ModelKind,
    /// For the report, e.g. "Holt-Winters additive, weekly (ETS(A,A,A))".
    pub model_name: String,
    /// Why this model: "21 full days: enough for weekly seasonality (needs 14)".
    pub reason: String,
    /// Anything else the reader should know (days dropped, values replaced).
    pub notes: Vec<String>,
    /// The full days the model saw.
    pub history_days: usize,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub params: Option<Params>,
    /// Standard deviation of the one-step errors (Holt-Winters) or the line's residual
    /// standard error; in revenue units.
    pub sigma: Option<f64>,
    /// The `horizon` days after `last_day`; empty when `model` is `None`.
    pub days: Vec<ForecastDay>,
}

/// Forecasts `horizon` days after the last full day of `series`.
///
/// The partial current day must not be fitted as if it were a whole day (it would look like a
/// collapse in sales): pass `today`, and every value on or after `today` is dropped, with a
/// note; pass `None` only when `series` already holds full days alone. Non-finite values are
/// counted as 0, with a note. Models and thresholds: see the module doc.
pub fn forecast(series: &DailySeries, horizon: u32, today: Option<NaiveDate>) -> Outlook {
    let mut notes = Vec::new();
    let mut full = series.len();
    if let Some(today) = today {
        let keep = usize::try_from((today - series.first_day).num_days())
            .unwrap_or(0)
            .min(series.len());
        if keep < full {
            let dropped = full - keep;
            notes.push(format!(
                "left out {dropped} day{} from {today} on: not a full day yet",
                if dropped == 1 { "" } else { "s" }
            ));
            full = keep;
        }
    }
    let mut values = series.values[..full].to_vec();
    let non_finite = values.iter().filter(|v| !v.is_finite()).count();
    if non_finite > 0 {
        values
            .iter_mut()
            .filter(|v| !v.is_finite())
            .for_each(|v| *v = 0.0);
        notes.push(format!("{non_finite} non-finite daily values counted as 0"));
    }
    let used = DailySeries::new(series.first_day, values);
    let horizon = horizon as usize;
    let n = used.len();
    let mut outlook = Outlook {
        model: ModelKind::None,
        model_name: "none".to_string(),
        reason: String::new(),
        notes,
        history_days: n,
        first_day: (n > 0).then_some(used.first_day),
        last_day: used.last_day(),
        params: None,
        sigma: None,
        days: Vec::new(),
    };
    let days_word = |n: usize| format!("{n} full day{}", if n == 1 { "" } else { "s" });
    let spreads = if n >= MIN_SEASONAL_DAYS {
        let model = holt_winters::fit(&used.values, SEASON_DAYS, Damping::Auto);
        let Some(model) = model else {
            outlook.reason = "the Holt-Winters fit failed".to_string();
            return outlook;
        };
        outlook.model = ModelKind::HoltWinters;
        outlook.model_name = holt_winters_name(&model.params);
        outlook.reason = format!(
            "{}: enough for weekly seasonality (needs {MIN_SEASONAL_DAYS})",
            days_word(n)
        );
        outlook.params = Some(Params::HoltWinters(model.params));
        outlook.sigma = Some(model.sigma);
        holt_winters_spreads(&model, horizon)
    } else if n >= MIN_TREND_DAYS {
        let Some((fit, s, spreads)) = linear::forecast_line(&used.values, horizon) else {
            outlook.reason = "the linear fit failed".to_string();
            return outlook;
        };
        outlook.model = ModelKind::LinearTrend;
        outlook.model_name = METHOD.to_string();
        outlook.reason = format!(
            "only {}; weekly seasonality needs {MIN_SEASONAL_DAYS}",
            days_word(n)
        );
        outlook.params = Some(Params::LinearTrend(fit));
        outlook.sigma = Some(s);
        spreads
    } else {
        outlook.reason = format!(
            "only {}; a forecast needs at least {MIN_TREND_DAYS}",
            days_word(n)
        );
        return outlook;
    };
    let last = outlook.last_day.unwrap_or(used.first_day);
    outlook.days = spreads
        .into_iter()
        .enumerate()
        .filter_map(|(k, s)| Some(s.to_day(last.checked_add_days(Days::new(k as u64 + 1))?)))
        .collect();
    outlook
}

/// The name the report shows for a fitted Holt-Winters model.
pub fn holt_winters_name(p: &HwParams) -> String {
    if p.phi < 1.0 {
        "Holt-Winters additive, damped trend, weekly (ETS(A,Ad,A))".to_string()
    } else {
        "Holt-Winters additive, weekly (ETS(A,A,A))".to_string()
    }
}

/// Normal-quantile intervals from the model's forecast variances.
pub fn holt_winters_spreads(model: &HoltWinters, horizon: usize) -> Vec<Spread> {
    model
        .forecast(horizon)
        .into_iter()
        .map(|(mean, var)| {
            let sd = var.max(0.0).sqrt();
            Spread {
                mean,
                half80: Z80 * sd,
                half95: Z95 * sd,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
