//! The linear-trend baseline: an ordinary least-squares line through daily revenue, with
//! its fit (slope, intercept, R², RMSE) and OLS prediction intervals. Pure.
//!
//! Why a linear trend and not Holt's smoothing for short histories: a local lake often holds
//! only a few days, too few to fit Holt's two smoothing constants honestly; a straight line
//! has no tuning knobs, says what it assumes, and R² tells the reader how much to trust it.
//! Its intervals use Student's t with n − 2 degrees of freedom, so three days give the very
//! wide bands that three days deserve. Days without sales between the first and the last
//! observed day count as zero revenue (no sales is a fact, not a gap). A projected value
//! below zero is shown as zero: revenue cannot be negative.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::{Spread, Z80, Z95};

/// The method, as shown next to the projection.
pub const METHOD: &str = "least-squares linear trend over daily revenue";

#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Days used, first to last observed day inclusive.
    pub days: usize,
    /// Revenue change per day.
    pub slope: f64,
    /// Fitted revenue on the first day.
    pub intercept: f64,
    /// Coefficient of determination; `None` when the series is flat or has one day.
    pub r_squared: Option<f64>,
    /// Root-mean-square error of the fit, in revenue units.
    pub rmse: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub fit: Fit,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The next `horizon` days after `last_day`, rounded to cents.
    pub days: Vec<(NaiveDate, Decimal)>,
}

/// Fits a line through the daily totals and projects `horizon` days past the last one.
/// Returns `None` when there is no day to fit. Days may come in any order and repeat (their
/// values are added).
pub fn project(observed: &[(NaiveDate, Decimal)], horizon: u32) -> Option<Projection> {
    let first_day = observed.iter().map(|(d, _)| *d).min()?;
    let last_day = observed.iter().map(|(d, _)| *d).max()?;
    let span = usize::try_from((last_day - first_day).num_days()).ok()? + 1;
    let mut series = vec![0.0_f64; span];
    for (day, value) in observed {
        let index = usize::try_from((*day - first_day).num_days()).ok()?;
        series[index] += value.to_f64().unwrap_or(0.0);
    }
    let fit = fit_line(&series);
    let days = (1..=horizon)
        .filter_map(|ahead| {
            let day = last_day.checked_add_days(Days::new(u64::from(ahead)))?;
            let x = (span - 1) as f64 + f64::from(ahead);
            let y = (fit.intercept + fit.slope * x).max(0.0);
            let value = Decimal::from_f64(y).unwrap_or_default().round_dp(2);
            Some((day, value))
        })
        .collect();
    Some(Projection {
        fit,
        first_day,
        last_day,
        days,
    })
}

/// Ordinary least squares of `series[i]` against `i`.
pub fn fit_line(series: &[f64]) -> Fit {
    let n = series.len();
    if n == 0 {
        return Fit {
            days: 0,
            slope: 0.0,
            intercept: 0.0,
            r_squared: None,
            rmse: 0.0,
        };
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = series.iter().sum::<f64>() / nf;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (i, y) in series.iter().enumerate() {
        let dx = i as f64 - mean_x;
        let dy = y - mean_y;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_x;
    let sse: f64 = series
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let e = y - (intercept + slope * i as f64);
            e * e
        })
        .sum();
    // A flat series (syy = 0) is fitted perfectly but "explains" nothing: R² is undefined.
    let r_squared = (n > 1 && syy > 0.0).then(|| (1.0 - sse / syy).clamp(0.0, 1.0));
    Fit {
        days: n,
        slope,
        intercept,
        r_squared,
        rmse: (sse / nf).sqrt(),
    }
}

/// Point forecasts and OLS prediction-interval half-widths for the `horizon` days after
/// `series`, with the fit and the residual standard error `s = sqrt(SSE / (n − 2))`. The
/// half-width at day x₀ is `t · s · sqrt(1 + 1/n + (x₀ − x̄)² / Sxx)`. `None` below three
/// days: with two a line fits exactly and says nothing about its error.
pub fn forecast_line(series: &[f64], horizon: usize) -> Option<(Fit, f64, Vec<Spread>)> {
    let n = series.len();
    if n < 3 || series.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let fit = fit_line(series);
    let nf = n as f64;
    let df = n - 2;
    let s = (fit.rmse * fit.rmse * nf / df as f64).sqrt();
    let mean_x = (nf - 1.0) / 2.0;
    let sxx = nf * (nf * nf - 1.0) / 12.0;
    let (t80, t95) = (student_t(df, Level::P80), student_t(df, Level::P95));
    let spreads = (0..horizon)
        .map(|k| {
            let x = nf + k as f64;
            let se = s * (1.0 + 1.0 / nf + (x - mean_x).powi(2) / sxx).sqrt();
            Spread {
                mean: fit.intercept + fit.slope * x,
                half80: t80 * se,
                half95: t95 * se,
            }
        })
        .collect();
    Some((fit, s, spreads))
}

/// The two central interval levels the forecasts show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    P80,
    P95,
}

/// Student's t quantile for a central interval at `level` with `df` degrees of freedom: the
/// printed table (to three decimals) up to 30, a Cornish–Fisher expansion about the normal
/// quantile beyond (within 1e-4 of the exact value there).
pub fn student_t(df: usize, level: Level) -> f64 {
    const T90: [f64; 30] = [
        3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.350,
        1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325, 1.323, 1.321, 1.319, 1.318, 1.316, 1.315,
        1.314, 1.313, 1.311, 1.310,
    ];
    const T975: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    let (table, z) = match level {
        Level::P80 => (&T90, Z80),
        Level::P95 => (&T975, Z95),
    };
    match df {
        0 => f64::INFINITY,
        1..=30 => table[df - 1],
        _ => {
            let v = df as f64;
            z + (z.powi(3) + z) / (4.0 * v)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn a_straight_line_is_recovered_and_extended() {
        let observed = [
            (day("2026-11-18"), dec("100.00")),
            (day("2026-11-19"), dec("110.00")),
            (day("2026-11-20"), dec("120.00")),
        ];
        let p = project(&observed, 7).unwrap();
        assert!((p.fit.slope - 10.0).abs() < 1e-9);
        assert!((p.fit.intercept - 100.0).abs() < 1e-9);
        assert_eq!(p.fit.r_squared.map(|r| (r * 1e9).round() / 1e9), Some(1.0));
        assert_eq!(p.days.len(), 7);
        assert_eq!(p.days[0], (day("2026-11-21"), dec("130.00")));
        assert_eq!(p.days[6], (day("2026-11-27"), dec("190.00")));
    }

    #[test]
    fn missing_days_count_as_zero_and_negative_projections_become_zero() {
        let observed = [
            (day("2026-11-18"), dec("300")),
            (day("2026-11-20"), dec("0")),
        ];
        let p = project(&observed, 7).unwrap();
        assert_eq!(p.fit.days, 3);
        assert!((p.fit.slope + 150.0).abs() < 1e-9);
        assert!(p.days.iter().all(|(_, v)| *v == Decimal::ZERO));
    }

    #[test]
    fn one_day_projects_flat_and_nothing_projects_nothing() {
        let p = project(&[(day("2026-11-20"), dec("42.50"))], 7).unwrap();
        assert_eq!(p.fit.r_squared, None);
        assert!(p.days.iter().all(|(_, v)| *v == dec("42.50")));
        assert_eq!(project(&[], 7), None);
    }

    #[test]
    fn line_intervals_follow_the_ols_formula() {
        // y = 1, 3, 2, 4: slope 0.8, intercept 1.3, residuals −0.3, 0.9, −0.9, 0.3 → SSE 1.8.
        let (fit, s, spreads) = forecast_line(&[1.0, 3.0, 2.0, 4.0], 2).unwrap();
        assert!((fit.slope - 0.8).abs() < 1e-12);
        assert!((fit.intercept - 1.3).abs() < 1e-12);
        assert!((s - (1.8_f64 / 2.0).sqrt()).abs() < 1e-12);
        // x₀ = 4: x̄ = 1.5, Sxx = 5 → se = s·sqrt(1 + 1/4 + 6.25/5) = s·sqrt(2.5).
        let se = s * 2.5_f64.sqrt();
        assert!((spreads[0].mean - 4.5).abs() < 1e-12);
        assert!((spreads[0].half95 - 4.303 * se).abs() < 1e-12);
        assert!((spreads[0].half80 - 1.886 * se).abs() < 1e-12);
        assert!(spreads[1].half95 > spreads[0].half95);
        assert!(forecast_line(&[1.0, 2.0], 3).is_none());
    }

    #[test]
    fn t_quantiles_approach_the_normal_ones() {
        assert_eq!(student_t(1, Level::P95), 12.706);
        assert_eq!(student_t(30, Level::P80), 1.310);
        // Exact t(0.975, 40) = 2.02108, t(0.90, 120) = 1.28865.
        assert!((student_t(40, Level::P95) - 2.02108).abs() < 1e-4);
        assert!((student_t(120, Level::P80) - 1.28865).abs() < 1e-4);
        assert!(student_t(31, Level::P95) < student_t(30, Level::P95));
        assert!((student_t(100_000, Level::P95) - Z95).abs() < 1e-4);
    }

    proptest! {
        #[test]
        fn any_series_projects_horizon_consecutive_non_negative_days(
            values in proptest::collection::vec(0u32..1_000_000, 1..60),
            horizon in 0u32..14,
        ) {
            let start = day("2026-01-01");
            let observed: Vec<(NaiveDate, Decimal)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (start + Days::new(i as u64), Decimal::new(i64::from(*v), 2)))
                .collect();
            let p = project(&observed, horizon).unwrap();
            prop_assert_eq!(p.days.len(), horizon as usize);
            for (i, (d, v)) in p.days.iter().enumerate() {
                prop_assert_eq!(*d, p.last_day + Days::new(i as u64 + 1));
                prop_assert!(*v >= Decimal::ZERO);
            }
            if let Some(r2) = p.fit.r_squared {
                prop_assert!((0.0..=1.0).contains(&r2));
            }
        }

        #[test]
        fn exact_lines_fit_with_zero_error(a in 0i32..10_000, b in -100i32..100, n in 2usize..40) {
            let series: Vec<f64> = (0..n).map(|i| f64::from(a) + f64::from(b) * i as f64).collect();
            let fit = fit_line(&series);
            prop_assert!((fit.slope - f64::from(b)).abs() < 1e-6);
            prop_assert!((fit.intercept - f64::from(a)).abs() < 1e-6);
            prop_assert!(fit.rmse < 1e-6);
        }
    }
}
