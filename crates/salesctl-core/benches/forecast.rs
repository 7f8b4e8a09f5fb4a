//! Time to fit and forecast 120 days with the weekly Holt-Winters model, and to run the
//! report's default backtest (28 origins, 7 days ahead) on the same series.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use salesctl_core::forecast::{BacktestConfig, DailySeries, backtest, forecast};

/// Trend, a weekly pattern and a deterministic wobble standing in for noise, so the bench
/// needs no random numbers and always fits the same thing.
fn series(days: usize) -> DailySeries {
    const WEEK: [f64; 7] = [-150.0, -80.0, 0.0, 40.0, 120.0, 250.0, -180.0];
    let values = (0..days)
        .map(|i| 1000.0 + 5.0 * i as f64 + WEEK[i % 7] + 60.0 * ((i * 7919) % 13) as f64 / 6.0)
        .collect();
    DailySeries::new(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), values)
}

fn bench_forecast(c: &mut Criterion) {
    let s = series(120);
    c.bench_function("forecast 120 days, 7 ahead", |b| {
        b.iter(|| forecast(black_box(&s), 7, None))
    });
    let config = BacktestConfig::default();
    c.bench_function("backtest 120 days, 28 origins", |b| {
        b.iter(|| backtest(black_box(&s), &config))
    });
}

criterion_group!(benches, bench_forecast);
criterion_main!(benches);
