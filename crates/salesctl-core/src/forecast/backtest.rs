//! Rolling-origin backtest of the forecast against two baselines (seasonal naive and the
//! linear trend): MAPE, sMAPE, MAE and prediction-interval coverage over the recent past.
//!
//! Every day of the last `window_days` is an origin: each method sees only the days before it
//! and forecasts up to `horizon` days, cut off at the end of the history, so every recent day
//! is forecast from up to `horizon` origins at horizons 1..=`horizon` (FPP3 §5.10, "time
//! series cross-validation"). Origins with fewer than [`MIN_SEASONAL_DAYS`] days behind them
//! are skipped, so all three methods are scored on the same forecasts and the model scored is
//! the one [`forecast`] uses for the report. Percentage errors follow FPP3 §5.8: MAPE skips
//! days whose actual is 0 (it is undefined there; the count skipped is reported), sMAPE is
//! `200·|A − F| / (|A| + |F|)` per forecast and counts a forecast of 0 for an actual of 0 as
//! no error. All forecasts are clamped at zero, as the report shows them.

use super::{
    DailySeries, ForecastDay, MIN_SEASONAL_DAYS, SEASON_DAYS, Spread, Z80, Z95, forecast, linear,
};

/// What to backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestConfig {
    /// Recent days used as forecast origins (and scored).
    pub window_days: usize,
    /// Days forecast from each origin.
    pub horizon: u32,
}

impl Default for BacktestConfig {
    /// Four weeks of origins, a week ahead: what `salesctl report` shows.
    fn default() -> Self {
        BacktestConfig {
            window_days: 28,
            horizon: 7,
        }
    }
}

/// One method's scores; a metric is `None` when there was nothing to score it on.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodScore {
    pub method: String,
    /// Mean absolute percentage error, in percent, over forecasts whose actual is not 0.
    pub mape: Option<f64>,
    /// Symmetric MAPE, in percent (0 to 200).
    pub smape: Option<f64>,
    /// Mean absolute error, in revenue units.
    pub mae: Option<f64>,
    /// Share (0 to 1) of actuals inside the 80% interval.
    pub coverage80: Option<f64>,
    /// Share (0 to 1) of actuals inside the 95% interval.
    pub coverage95: Option<f64>,
    /// Forecast days scored (origin × horizon pairs).
    pub forecasts: usize,
    /// Of those, left out of MAPE because the actual was 0.
    pub zero_actuals: usize,
}

/// The backtest's table: the model first, then seasonal naive, then the linear trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    pub config: BacktestConfig,
    /// Origins used.
    pub origins: usize,
    pub scores: Vec<MethodScore>,
    pub notes: Vec<String>,
}

/// Names of the three methods, as in the table.
pub const MODEL_NAME: &str = "Holt-Winters";
pub const SEASONAL_NAIVE_NAME: &str = "seasonal naive (same weekday last week)";
pub const LINEAR_NAME: &str = "linear trend";

#[derive(Default)]
struct Tally {
    forecasts: usize,
    abs_error: f64,
    ape: f64,
    ape_count: usize,
    sape: f64,
    in80: usize,
    in95: usize,
}

impl Tally {
    fn add(&mut self, actual: f64, f: &ForecastDay) {
        let error = (actual - f.point).abs();
        self.forecasts += 1;
        self.abs_error += error;
        if actual != 0.0 {
            self.ape += 100.0 * error / actual.abs();
            self.ape_count += 1;
        }
        let denominator = actual.abs() + f.point.abs();
        if denominator > 0.0 {
            self.sape += 200.0 * error / denominator;
        }
        self.in80 += usize::from(f.lo80 <= actual && actual <= f.hi80);
        self.in95 += usize::from(f.lo95 <= actual && actual <= f.hi95);
    }

    fn score(&self, method: &str) -> MethodScore {
        let per = |sum: f64, count: usize| (count > 0).then(|| sum / count as f64);
        MethodScore {
            method: method.to_string(),
            mape: per(self.ape, self.ape_count),
            smape: per(self.sape, self.forecasts),
            mae: per(self.abs_error, self.forecasts),
            coverage80: per(self.in80 as f64, self.forecasts),
            coverage95: per(self.in95 as f64, self.forecasts),
            forecasts: self.forecasts,
            zero_actuals: self.forecasts - self.ape_count,
        }
    }
}

/// Seasonal naive: each day forecast as the same weekday of the last observed week, with
/// FPP3 §5.5's interval σ·sqrt(k + 1), k = ⌊(h − 1)/7⌋, σ the RMS of the in-sample
/// week-on-week differences. `None` with less than a week and a day.
pub fn seasonal_naive(history: &[f64], horizon: usize) -> Option<Vec<Spread>> {
    let n = history.len();
    let m = SEASON_DAYS;
    if n <= m {
        return None;
    }
    let residuals = n - m;
    let sigma = ((m..n)
        .map(|t| (history[t] - history[t - m]).powi(2))
        .sum::<f64>()
        / residuals as f64)
        .sqrt();
    Some(
        (0..horizon)
            .map(|k| {
                let sd = sigma * ((k / m + 1) as f64).sqrt();
                Spread {
                    mean: history[n - m + k % m],
                    half80: Z80 * sd,
                    half95: Z95 * sd,
                }
            })
            .collect(),
    )
}

/// Runs the backtest; see the module doc for what is scored and how.
pub fn backtest(series: &DailySeries, config: &BacktestConfig) -> Backtest {
    let n = series.len();
    let horizon = config.horizon as usize;
    let first_origin = n.saturating_sub(config.window_days).max(MIN_SEASONAL_DAYS);
    let mut notes = Vec::new();
    if first_origin > n.saturating_sub(config.window_days) {
        notes.push(format!(
            "origins start at day {} of {n}: each needs {MIN_SEASONAL_DAYS} days of history",
            first_origin + 1
        ));
    }
    let mut tallies: [Tally; 3] = Default::default();
    let mut origins = 0;
    let values = series.values();
    for origin in first_origin..n {
        let ahead = horizon.min(n - origin);
        if ahead == 0 {
            continue;
        }
        let history = &values[..origin];
        let actual = &values[origin..origin + ahead];
        let model = forecast(&series.truncated(origin), ahead as u32, None).days;
        let (Some(naive), Some((_, _, line))) = (
            seasonal_naive(history, ahead),
            linear::forecast_line(history, ahead),
        ) else {
            continue;
        };
        if model.len() != ahead {
            continue;
        }
        origins += 1;
        for (k, a) in actual.iter().enumerate() {
            // The baselines are clamped exactly as the model's days are.
            let day = model[k].day;
            tallies[0].add(*a, &model[k]);
            tallies[1].add(*a, &naive[k].to_day(day));
            tallies[2].add(*a, &line[k].to_day(day));
        }
    }
    if origins == 0 {
        // One reason, not two: where origins would start says nothing when there are none.
        notes = vec![format!(
            "no origin to test from: {n} full days, and an origin needs {MIN_SEASONAL_DAYS} before it"
        )];
    }
    let names = [MODEL_NAME, SEASONAL_NAIVE_NAME, LINEAR_NAME];
    Backtest {
        config: *config,
        origins,
        scores: tallies
            .iter()
            .zip(names)
            .map(|(t, name)| t.score(name))
            .collect(),
        notes,
    }
}
