//! The forecast a report shows: the seasonal model, unless its own rolling backtest finds a
//! baseline with a lower error over the same origins; then that baseline, and a plain word why.
//!
//! A model that loses to its own baseline must not be presented as the forecast without a
//! word: on a noisy 60-day history Holt-Winters lost to the linear trend in 4 of 5 currencies.
//! The backtest scores every method on the same origins and horizon, so their mean absolute
//! errors compare like for like; MAE rather than MAPE because a day with tiny sales would let
//! a percentage error decide alone.

use chrono::{Days, NaiveDate};

use super::backtest::{Backtest, LINEAR_NAME, MODEL_NAME, SEASONAL_NAIVE_NAME, seasonal_naive};
use super::{DailySeries, ModelKind, Outlook, Params, Spread, forecast, linear};

/// The outlook to show, and which backtest method it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub outlook: Outlook,
    /// The backtest's name of the chosen method ([`MODEL_NAME`] when the model won or there
    /// was nothing to compare).
    pub method: &'static str,
    /// One sentence on how the choice was made, for the report; empty without a backtest.
    pub verdict: String,
}

/// The forecast for `series` (full days before `today` only), chosen by `backtest` (which
/// must have been run on the same full days).
pub fn choose(series: &DailySeries, horizon: u32, today: NaiveDate, backtest: &Backtest) -> Choice {
    let model = forecast(series, horizon, Some(today));
    let score = |name: &str| {
        backtest
            .scores
            .iter()
            .find(|s| s.method == name)
            .and_then(|s| s.mae)
            .filter(|mae| mae.is_finite())
    };
    let (Some(model_mae), true) = (
        score(MODEL_NAME),
        model.model == ModelKind::HoltWinters && backtest.origins > 0,
    ) else {
        return Choice {
            outlook: model,
            method: MODEL_NAME,
            verdict: String::new(),
        };
    };
    let best = [SEASONAL_NAIVE_NAME, LINEAR_NAME]
        .into_iter()
        .filter_map(|name| Some((name, score(name)?)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let origins = backtest.origins;
    match best {
        Some((name, mae)) if mae < model_mae => {
            let verdict = format!(
                "{name} had a lower error than Holt-Winters over the last {origins} days (MAE {mae:.0} vs {model_mae:.0}), so it is the forecast"
            );
            match baseline_outlook(series, horizon, &model, name) {
                Some(mut outlook) => {
                    outlook.reason = format!(
                        "a lower error than Holt-Winters in the backtest (MAE {mae:.0} vs {model_mae:.0})"
                    );
                    Choice {
                        outlook,
                        method: name,
                        verdict,
                    }
                }
                None => Choice {
                    verdict: format!(
                        "{name} had a lower error than Holt-Winters (MAE {mae:.0} vs {model_mae:.0}) but cannot forecast from this history: Holt-Winters is shown"
                    ),
                    outlook: model,
                    method: MODEL_NAME,
                },
            }
        }
        _ => {
            let mut outlook = model;
            outlook.reason = format!(
                "{}; the lowest error in the backtest (MAE {model_mae:.0})",
                outlook.reason
            );
            Choice {
                verdict: format!(
                    "Holt-Winters had the lowest error over the last {origins} days (MAE {model_mae:.0}), ahead of both baselines"
                ),
                outlook,
                method: MODEL_NAME,
            }
        }
    }
}

/// The outlook of a baseline on the days the model was fitted on.
fn baseline_outlook(
    series: &DailySeries,
    horizon: u32,
    model: &Outlook,
    name: &str,
) -> Option<Outlook> {
    let full = &series.values()[..model.history_days.min(series.len())];
    let horizon = horizon as usize;
    let (kind, params, sigma, spreads): (ModelKind, Option<Params>, Option<f64>, Vec<Spread>) =
        if name == LINEAR_NAME {
            let (fit, sigma, spreads) = linear::forecast_line(full, horizon)?;
            (
                ModelKind::LinearTrend,
                Some(Params::LinearTrend(fit)),
                Some(sigma),
                spreads,
            )
        } else {
            (
                ModelKind::SeasonalNaive,
                None,
                None,
                seasonal_naive(full, horizon)?,
            )
        };
    let last = model.last_day?;
    Some(Outlook {
        model: kind,
        model_name: name.to_string(),
        reason: String::new(),
        notes: model.notes.clone(),
        history_days: model.history_days,
        first_day: model.first_day,
        last_day: model.last_day,
        params,
        sigma,
        days: spreads
            .into_iter()
            .enumerate()
            .filter_map(|(k, s)| Some(s.to_day(last.checked_add_days(Days::new(k as u64 + 1))?)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{BacktestConfig, backtest};

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(n)
    }

    fn choice_for(values: Vec<f64>) -> Choice {
        let n = values.len() as u64;
        let series = DailySeries::new(day(0), values);
        let tested = backtest(&series, &BacktestConfig::default());
        choose(&series, 7, day(n), &tested)
    }

    #[test]
    fn a_weekly_pattern_keeps_the_seasonal_model() {
        let weekly = [100.0, 120.0, 90.0, 80.0, 150.0, 300.0, 280.0];
        let values: Vec<f64> = (0..56).map(|i| weekly[i % 7] + i as f64).collect();
        let choice = choice_for(values);
        assert_eq!(choice.method, MODEL_NAME, "{}", choice.verdict);
        assert_eq!(choice.outlook.model, ModelKind::HoltWinters);
        assert!(
            choice.verdict.contains("lowest error"),
            "{}",
            choice.verdict
        );
        assert_eq!(choice.outlook.days.len(), 7);
    }

    #[test]
    fn a_baseline_that_beats_the_model_is_the_forecast_and_says_so() {
        // A straight line with a deterministic wobble and no weekly pattern: the seasonal
        // model chases noise, the line does not.
        let values: Vec<f64> = (0..56)
            .map(|i| 1000.0 + 10.0 * i as f64 + if (i * 7919) % 3 == 0 { 60.0 } else { -30.0 })
            .collect();
        let choice = choice_for(values.clone());
        let series = DailySeries::new(day(0), values);
        let tested = backtest(&series, &BacktestConfig::default());
        let mae = |name: &str| {
            tested
                .scores
                .iter()
                .find(|s| s.method == name)
                .unwrap()
                .mae
                .unwrap()
        };
        let best = [MODEL_NAME, SEASONAL_NAIVE_NAME, LINEAR_NAME]
            .into_iter()
            .min_by(|a, b| mae(a).total_cmp(&mae(b)))
            .unwrap();
        assert_eq!(
            choice.method, best,
            "the lowest error wins: {}",
            choice.verdict
        );
        assert_ne!(best, MODEL_NAME, "a line with noise: a baseline wins");
        assert!(choice.verdict.contains("lower error than Holt-Winters"));
        assert!(
            choice
                .outlook
                .reason
                .contains("lower error than Holt-Winters")
        );
        assert_eq!(choice.outlook.days.len(), 7);
        assert_eq!(choice.outlook.days[0].day, day(56));
    }

    #[test]
    fn without_origins_the_model_stands_without_a_verdict() {
        let choice = choice_for((0..10).map(|i| 100.0 + i as f64).collect());
        assert!(choice.verdict.is_empty());
        assert_eq!(choice.outlook.model, ModelKind::LinearTrend);
    }
}
