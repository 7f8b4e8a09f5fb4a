//! Tests of the forecast rules, the backtest and the model on synthetic series.
//! Synthetic data is seeded, so every run sees the same numbers.

use std::str::FromStr;

use chrono::NaiveDate;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use super::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::from_str(s).unwrap()
}

/// A Monday, so weekday positions read naturally in failures.
fn start() -> NaiveDate {
    day("2026-01-05")
}

/// Level 1000, +5 a day, a weekly pattern peaking on Saturday, and N(0, 60²) noise
/// (Box–Muller, so only `rand` is needed).
fn synthetic(seed: u64, days: usize) -> DailySeries {
    const WEEK: [f64; 7] = [-150.0, -80.0, 0.0, 40.0, 120.0, 250.0, -180.0];
    let mut rng = StdRng::seed_from_u64(seed);
    let values = (0..days)
        .map(|i| {
            let (u1, u2): (f64, f64) = (rng.random(), rng.random());
            let noise = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            1000.0 + 5.0 * i as f64 + WEEK[i % 7] + 60.0 * noise
        })
        .collect();
    DailySeries::new(start(), values)
}

fn assert_well_formed(o: &Outlook, horizon: u32) {
    if o.model == ModelKind::None {
        assert!(o.days.is_empty());
        return;
    }
    assert_eq!(o.days.len(), horizon as usize);
    for (k, d) in o.days.iter().enumerate() {
        assert_eq!(Some(d.day), o.last_day.map(|l| l + Days::new(k as u64 + 1)));
        for v in [d.point, d.lo80, d.hi80, d.lo95, d.hi95] {
            assert!(v.is_finite() && v >= 0.0, "{d:?}");
        }
        assert!(d.lo95 <= d.lo80 && d.lo80 <= d.point, "{d:?}");
        assert!(d.point <= d.hi80 && d.hi80 <= d.hi95, "{d:?}");
    }
    assert!(o.sigma.is_some_and(|s| s.is_finite() && s >= 0.0));
}

#[test]
fn twenty_days_get_holt_winters() {
    let o = forecast(&synthetic(1, 20), 7, None);
    assert_eq!(o.model, ModelKind::HoltWinters);
    assert!(o.model_name.contains("Holt-Winters"), "{}", o.model_name);
    assert_eq!(
        o.reason,
        "20 full days: enough for weekly seasonality (needs 14)"
    );
    assert!(matches!(o.params, Some(Params::HoltWinters(_))));
    assert_eq!(o.history_days, 20);
    assert_eq!(o.last_day, Some(start() + Days::new(19)));
    assert_well_formed(&o, 7);
    // The intervals widen with the horizon.
    assert!(o.days[6].hi95 - o.days[6].lo95 > o.days[0].hi95 - o.days[0].lo95);
}

#[test]
fn nine_days_fall_back_to_the_linear_trend_and_say_why() {
    let o = forecast(&synthetic(2, 9), 7, None);
    assert_eq!(o.model, ModelKind::LinearTrend);
    assert_eq!(o.model_name, METHOD);
    assert_eq!(o.reason, "only 9 full days; weekly seasonality needs 14");
    assert!(matches!(o.params, Some(Params::LinearTrend(ref f)) if f.days == 9));
    assert_well_formed(&o, 7);
}

#[test]
fn two_days_give_no_forecast_and_say_why() {
    let o = forecast(&synthetic(3, 2), 7, None);
    assert_eq!(o.model, ModelKind::None);
    assert_eq!(o.reason, "only 2 full days; a forecast needs at least 3");
    assert!(o.days.is_empty() && o.params.is_none() && o.sigma.is_none());
    let empty = forecast(&DailySeries::new(start(), vec![]), 7, None);
    assert_eq!(
        empty.reason,
        "only 0 full days; a forecast needs at least 3"
    );
    assert_eq!((empty.first_day, empty.last_day), (None, None));
}

#[test]
fn the_partial_current_day_is_left_out() {
    let series = synthetic(4, 15);
    let today = start() + Days::new(14);
    let o = forecast(&series, 3, Some(today));
    assert_eq!(o.history_days, 14);
    assert_eq!(o.last_day, Some(today - Days::new(1)));
    assert_eq!(o.days[0].day, today);
    assert_eq!(
        o.notes,
        vec![format!(
            "left out 1 day from {today} on: not a full day yet"
        )]
    );
    // A `today` past the end changes nothing; one before the start leaves nothing.
    let later = forecast(&series, 3, Some(today + Days::new(5)));
    assert!(later.notes.is_empty() && later.history_days == 15);
    let earlier = forecast(&series, 3, Some(start() - Days::new(1)));
    assert_eq!(earlier.model, ModelKind::None);
    assert_eq!(earlier.history_days, 0);
}

#[test]
fn all_zeros_forecast_zero_without_nan() {
    for n in [0, 1, 2, 3, 9, 14, 20, 60] {
        let o = forecast(&DailySeries::new(start(), vec![0.0; n]), 7, None);
        assert_well_formed(&o, 7);
        assert!(o.days.iter().all(|d| d.hi95 == 0.0), "{n}: {o:?}");
    }
}

#[test]
fn non_finite_values_count_as_zero_with_a_note() {
    let mut values = synthetic(5, 21).values().to_vec();
    values[3] = f64::NAN;
    values[10] = f64::INFINITY;
    let o = forecast(&DailySeries::new(start(), values), 7, None);
    assert_eq!(o.model, ModelKind::HoltWinters);
    assert_eq!(o.notes, vec!["2 non-finite daily values counted as 0"]);
    assert_well_formed(&o, 7);
}

#[test]
fn daily_totals_are_summed_and_gaps_are_zero() {
    let s = DailySeries::from_daily_totals(&[
        (day("2026-03-03"), Decimal::new(500, 2)),
        (day("2026-03-01"), Decimal::new(1000, 2)),
        (day("2026-03-03"), Decimal::new(250, 2)),
    ])
    .unwrap();
    assert_eq!(s.first_day(), day("2026-03-01"));
    assert_eq!(s.values(), &[10.0, 0.0, 7.5]);
    assert_eq!(s.last_day(), Some(day("2026-03-03")));
    assert_eq!(DailySeries::from_daily_totals(&[]), None);
}

#[test]
fn a_negative_mean_is_clamped_and_intervals_stay_ordered() {
    let d = Spread {
        mean: -5.0,
        half80: 3.0,
        half95: 8.0,
    }
    .to_day(start());
    assert_eq!((d.point, d.lo80, d.hi80, d.lo95), (0.0, 0.0, 0.0, 0.0));
    assert_eq!(d.hi95, 3.0);
}

/// The figures the report's table would show, over several seeds at once so that the
/// comparison is about the methods, not about one draw of noise.
fn synthetic_backtests(seeds: std::ops::Range<u64>) -> [MethodScore; 3] {
    let mut tallies = [(0.0, 0.0, 0.0, 0.0, 0.0, 0usize); 3];
    for seed in seeds {
        let b = backtest(&synthetic(seed, 84), &BacktestConfig::default());
        assert_eq!(b.origins, 28);
        for (t, s) in tallies.iter_mut().zip(&b.scores) {
            let n = s.forecasts as f64;
            t.0 += s.smape.unwrap() * n;
            t.1 += s.mape.unwrap() * n;
            t.2 += s.mae.unwrap() * n;
            t.3 += s.coverage80.unwrap() * n;
            t.4 += s.coverage95.unwrap() * n;
            t.5 += s.forecasts;
        }
    }
    let names = [
        backtest::MODEL_NAME,
        backtest::SEASONAL_NAIVE_NAME,
        backtest::LINEAR_NAME,
    ];
    std::array::from_fn(|i| {
        let t = tallies[i];
        let n = t.5 as f64;
        MethodScore {
            method: names[i].to_string(),
            smape: Some(t.0 / n),
            mape: Some(t.1 / n),
            mae: Some(t.2 / n),
            coverage80: Some(t.3 / n),
            coverage95: Some(t.4 / n),
            forecasts: t.5,
            zero_actuals: 0,
        }
    })
}

#[test]
fn on_trend_plus_weekly_season_the_model_beats_both_baselines() {
    let [model, naive, line] = synthetic_backtests(1..9);
    for s in [&model, &naive, &line] {
        println!(
            "{:42} sMAPE {:5.2}%  MAPE {:5.2}%  MAE {:6.1}  cov80 {:5.1}%  cov95 {:5.1}%  n {}",
            s.method,
            s.smape.unwrap(),
            s.mape.unwrap(),
            s.mae.unwrap(),
            100.0 * s.coverage80.unwrap(),
            100.0 * s.coverage95.unwrap(),
            s.forecasts
        );
    }
    // At least 10% lower (relative) sMAPE and MAPE than either baseline.
    for baseline in [&naive, &line] {
        assert!(model.smape.unwrap() < 0.9 * baseline.smape.unwrap());
        assert!(model.mape.unwrap() < 0.9 * baseline.mape.unwrap());
    }
    // 8 seeds × 28 origins, 7 days ahead, cut off at the end: 8 × 175 forecasts.
    assert_eq!(model.forecasts, 8 * 175);
    let c95 = model.coverage95.unwrap();
    assert!((0.85..=0.99).contains(&c95), "95% coverage {c95}");
    let c80 = model.coverage80.unwrap();
    assert!((0.65..=0.92).contains(&c80), "80% coverage {c80}");
}

#[test]
fn a_short_history_has_no_origin_and_says_so() {
    let b = backtest(&synthetic(1, 14), &BacktestConfig::default());
    assert_eq!(b.origins, 0);
    assert!(
        b.scores
            .iter()
            .all(|s| s.forecasts == 0 && s.smape.is_none())
    );
    assert!(
        b.notes.iter().any(|n| n.contains("no origin")),
        "{:?}",
        b.notes
    );
    let b = backtest(&synthetic(1, 30), &BacktestConfig::default());
    assert_eq!(b.origins, 16);
    assert_eq!(b.scores.len(), 3);
}

#[test]
fn mape_skips_zero_actuals_and_counts_them() {
    let mut values = synthetic(6, 42).values().to_vec();
    values[40] = 0.0;
    let b = backtest(
        &DailySeries::new(start(), values),
        &BacktestConfig {
            window_days: 7,
            horizon: 7,
        },
    );
    // Day 40 is forecast from origins 35..=40, one forecast each.
    assert!(b.scores.iter().all(|s| s.zero_actuals == 6), "{b:?}");
    assert!(b.scores.iter().all(|s| s.mape.unwrap().is_finite()));
}

#[test]
fn seasonal_naive_repeats_last_week_with_widening_intervals() {
    let history: Vec<f64> = (0..14)
        .map(|i| (i % 7) as f64 * 10.0 + (i / 7) as f64)
        .collect();
    let f = backtest::seasonal_naive(&history, 8).unwrap();
    assert_eq!(f[0].mean, 1.0);
    assert_eq!(f[6].mean, 61.0);
    assert_eq!(f[7].mean, 1.0);
    // Every week-on-week difference is 1, so σ = 1; from h = 8 on, σ·√2.
    assert!((f[0].half95 - Z95).abs() < 1e-12);
    assert!((f[7].half95 - Z95 * 2f64.sqrt()).abs() < 1e-12);
    assert!(backtest::seasonal_naive(&history[..7], 3).is_none());
}

proptest! {
    #[test]
    fn any_non_negative_series_gives_a_well_formed_outlook(
        values in proptest::collection::vec(
            prop_oneof![3 => 0.0f64..1e6, 1 => Just(0.0), 1 => 0.0f64..1.0],
            0..120,
        ),
        horizon in 0u32..15,
    ) {
        let o = forecast(&DailySeries::new(start(), values.clone()), horizon, None);
        let expected = match values.len() {
            0..=2 => ModelKind::None,
            3..=13 => ModelKind::LinearTrend,
            _ => ModelKind::HoltWinters,
        };
        prop_assert_eq!(o.model, expected);
        assert_well_formed(&o, horizon);
        if let Some(Params::HoltWinters(p)) = o.params {
            for v in [p.alpha, p.beta, p.gamma, p.phi] {
                prop_assert!(v.is_finite());
            }
        }
    }
}
