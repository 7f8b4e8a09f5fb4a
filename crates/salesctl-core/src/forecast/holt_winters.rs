//! Additive Holt-Winters, ETS(A,A,A) or damped ETS(A,Ad,A): the recursions, fitting the
//! smoothing constants by one-step SSE, point forecasts and their analytic forecast variance.
//!
//! Reference: R. J. Hyndman & G. Athanasopoulos, *Forecasting: Principles and Practice*, 3rd
//! ed. (OTexts, 2021), §8.3 (Holt-Winters' additive method, and its damped form) and §8.7
//! (the ETS(A,A,A) state space model and Table 8.8's forecast variance), which quotes the
//! class-1 formula of Hyndman, Koehler, Ord & Snyder, *Forecasting with Exponential
//! Smoothing* (Springer, 2008), ch. 6:
//!
//! ```text
//! level   ℓ_t = α(y_t − s_{t−m}) + (1 − α)(ℓ_{t−1} + φ b_{t−1})
//! trend   b_t = β*(ℓ_t − ℓ_{t−1}) + (1 − β*) φ b_{t−1}
//! season  s_t = γ(y_t − ℓ_{t−1} − φ b_{t−1}) + (1 − γ) s_{t−m}
//! mean    ŷ_{t+h|t} = ℓ_t + (φ + φ² + … + φ^h) b_t + s_{t+h−m(k+1)},  k = ⌊(h − 1)/m⌋
//! var     σ_h² = σ² [1 + Σ_{j=1}^{h−1} c_j²],  c_j = α + αβ*(φ + … + φ^j) + γ·[j mod m = 0]
//! ```
//!
//! `beta` here is always FPP's β* (the trend's own smoothing constant, 0 < β* < 1); the state
//! space form's β is α·β*. φ = 1 is the undamped method. The initial states are not
//! optimised: they come from a classical decomposition of the first (up to four) whole
//! seasons, which keeps the search to 3–4 dimensions and a fit of 120 days to a few
//! milliseconds.

use super::nelder_mead;

/// The smoothing constants of one fitted model (see the module doc for the equations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HwParams {
    pub alpha: f64,
    /// FPP's β*, not the state space β (= α·β*).
    pub beta: f64,
    pub gamma: f64,
    /// Damping; 1.0 for the undamped method.
    pub phi: f64,
}

/// The states after some day: `season[k]` is the seasonal term of the (k+1)-th day after it,
/// so the next day's term is always `season[0]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HwState {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
}

/// A model fitted to a series.
#[derive(Debug, Clone, PartialEq)]
pub struct HoltWinters {
    pub params: HwParams,
    /// States before the first day (from the decomposition).
    pub initial: HwState,
    /// States after the last day: where forecasts start.
    pub last: HwState,
    /// In-sample sum of squared one-step errors.
    pub sse: f64,
    /// Standard deviation of the one-step errors, `sqrt(SSE / (n − smoothing constants))`.
    pub sigma: f64,
    /// Days fitted.
    pub n: usize,
    /// Corrected Akaike criterion, used only to choose between damped and undamped.
    pub aicc: f64,
}

/// Whether to use a damped trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damping {
    Undamped,
    Damped,
    /// Fit both, keep the lower AICc (FPP3 §8.6's way of choosing among ETS models).
    Auto,
}

const ALPHA_RANGE: (f64, f64) = (1e-4, 0.9999);
const BETA_RANGE: (f64, f64) = (1e-4, 0.9999);
/// As a share of 1 − α: FPP3 §8.3 restricts 0 ≤ γ ≤ 1 − α.
const GAMMA_SHARE_RANGE: (f64, f64) = (1e-4, 0.9999);
/// FPP3 §8.4: φ below 0.8 damps so hard it hardly differs from no trend; above 0.98 it is
/// indistinguishable from the undamped model.
const PHI_RANGE: (f64, f64) = (0.8, 0.98);

impl HwState {
    /// Classical decomposition of the first `min(4, n / m)` whole seasons (at least two):
    /// a line through the season means gives the level and the trend, the mean detrended
    /// value of each position in the season its seasonal term (summing to zero).
    /// `None` when there are fewer than two seasons or `m` is 0.
    pub fn initial(values: &[f64], m: usize) -> Option<HwState> {
        if m == 0 || values.len() < 2 * m {
            return None;
        }
        let seasons = (values.len() / m).min(4);
        let means: Vec<f64> = (0..seasons)
            .map(|k| values[k * m..(k + 1) * m].iter().sum::<f64>() / m as f64)
            .collect();
        let centre = |k: usize| (k * m) as f64 + (m as f64 - 1.0) / 2.0;
        let mean_x = (0..seasons).map(centre).sum::<f64>() / seasons as f64;
        let mean_y = means.iter().sum::<f64>() / seasons as f64;
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for (k, y) in means.iter().enumerate() {
            sxx += (centre(k) - mean_x).powi(2);
            sxy += (centre(k) - mean_x) * (y - mean_y);
        }
        let slope = sxy / sxx;
        let intercept = mean_y - slope * mean_x;
        let mut season = vec![0.0; m];
        for (i, y) in values[..seasons * m].iter().enumerate() {
            season[i % m] += (y - (intercept + slope * i as f64)) / seasons as f64;
        }
        let centring = season.iter().sum::<f64>() / m as f64;
        season.iter_mut().for_each(|s| *s -= centring);
        // The state "before day 0", so that its one-step forecast is the line at day 0.
        Some(HwState {
            level: intercept - slope,
            trend: slope,
            season,
        })
    }

    /// Observes one day: updates the states and returns the one-step error y − ŷ.
    pub fn update(&mut self, p: &HwParams, y: f64) -> f64 {
        let s_old = self.season[0];
        let damped_trend = p.phi * self.trend;
        let base = self.level + damped_trend;
        let error = y - (base + s_old);
        let level = p.alpha * (y - s_old) + (1.0 - p.alpha) * base;
        let trend = p.beta * (level - self.level) + (1.0 - p.beta) * damped_trend;
        let s_new = p.gamma * (y - base) + (1.0 - p.gamma) * s_old;
        self.level = level;
        self.trend = trend;
        self.season.rotate_left(1);
        if let Some(last) = self.season.last_mut() {
            *last = s_new;
        }
        error
    }

    /// Point forecasts for the next `horizon` days.
    pub fn forecast(&self, p: &HwParams, horizon: usize) -> Vec<f64> {
        let m = self.season.len();
        let mut damping_sum = 0.0;
        let mut phi_power = 1.0;
        (0..horizon)
            .map(|k| {
                phi_power *= p.phi;
                damping_sum += phi_power;
                self.level + damping_sum * self.trend + self.season[k % m]
            })
            .collect()
    }
}

/// Runs the recursions over `values` from `initial`; returns the end states and the SSE.
pub fn filter(values: &[f64], initial: &HwState, p: &HwParams) -> (HwState, f64) {
    let mut state = initial.clone();
    let sse = values
        .iter()
        .map(|y| state.update(p, *y).powi(2))
        .sum::<f64>();
    (state, sse)
}

/// The SSE alone, as [`filter`] computes it, for the optimiser's hundreds of calls: a ring
/// index instead of rotating the season and no allocation, which matters in debug builds.
fn sse(values: &[f64], initial: &HwState, p: &HwParams) -> f64 {
    let mut season = [0.0; 64];
    let m = initial.season.len();
    if m > season.len() {
        return filter(values, initial, p).1;
    }
    season[..m].copy_from_slice(&initial.season);
    let (mut level, mut trend, mut at, mut total) = (initial.level, initial.trend, 0, 0.0);
    for &y in values {
        let s_old = season[at];
        let damped_trend = p.phi * trend;
        let base = level + damped_trend;
        let error = y - (base + s_old);
        total += error * error;
        let new_level = p.alpha * (y - s_old) + (1.0 - p.alpha) * base;
        trend = p.beta * (new_level - level) + (1.0 - p.beta) * damped_trend;
        level = new_level;
        season[at] = p.gamma * (y - base) + (1.0 - p.gamma) * s_old;
        at = if at + 1 == m { 0 } else { at + 1 };
    }
    total
}

/// The h-step forecast variances for h = 1..=horizon, given the one-step variance `sigma2`
/// (Hyndman et al. 2008 class 1; FPP3 Table 8.8 for ETS(A,A,A) and ETS(A,Ad,A)).
pub fn forecast_variances(p: &HwParams, m: usize, sigma2: f64, horizon: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(horizon);
    let mut sum_c2 = 0.0;
    let mut damping_sum = 0.0;
    let mut phi_power = 1.0;
    for h in 1..=horizon {
        out.push(sigma2 * (1.0 + sum_c2));
        // c_j for j = h, needed from the next horizon on.
        phi_power *= p.phi;
        damping_sum += phi_power;
        let seasonal = if m > 0 && h.is_multiple_of(m) {
            p.gamma
        } else {
            0.0
        };
        let c = p.alpha + p.alpha * p.beta * damping_sum + seasonal;
        sum_c2 += c * c;
    }
    out
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn within((lo, hi): (f64, f64), u: f64) -> f64 {
    lo + (hi - lo) * logistic(u)
}

fn unwithin((lo, hi): (f64, f64), v: f64) -> f64 {
    logit(((v - lo) / (hi - lo)).clamp(1e-6, 1.0 - 1e-6))
}

/// Maps the optimiser's unconstrained coordinates onto admissible constants, so every
/// point Nelder–Mead tries satisfies FPP's restrictions and no penalty term is needed.
fn params_from(u: &[f64]) -> HwParams {
    let alpha = within(ALPHA_RANGE, u[0]);
    HwParams {
        alpha,
        beta: within(BETA_RANGE, u[1]),
        gamma: (1.0 - alpha) * within(GAMMA_SHARE_RANGE, u[2]),
        phi: u.get(3).map_or(1.0, |v| within(PHI_RANGE, *v)),
    }
}

/// Fits ETS(A,A,A) with season length `m` by minimising in-sample one-step SSE: a coarse
/// grid picks a start, Nelder–Mead refines it, and a restart from the result guards against
/// the simplex collapsing early. `None` with fewer than two whole seasons or non-finite
/// values.
pub fn fit(values: &[f64], m: usize, damping: Damping) -> Option<HoltWinters> {
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let initial = HwState::initial(values, m)?;
    let fit_one = |damped: bool| fit_with(values, &initial, damped);
    match damping {
        Damping::Undamped => Some(fit_one(false)),
        Damping::Damped => Some(fit_one(true)),
        Damping::Auto => {
            let (a, b) = (fit_one(false), fit_one(true));
            Some(if b.aicc < a.aicc { b } else { a })
        }
    }
}

fn fit_with(values: &[f64], initial: &HwState, damped: bool) -> HoltWinters {
    let sse_at = |u: &[f64]| sse(values, initial, &params_from(u));
    let mut best: Option<(Vec<f64>, f64)> = None;
    for alpha in [0.05, 0.2, 0.5] {
        for beta in [0.01, 0.1] {
            for gamma_share in [0.05, 0.3] {
                let mut u = vec![
                    unwithin(ALPHA_RANGE, alpha),
                    unwithin(BETA_RANGE, beta),
                    unwithin(GAMMA_SHARE_RANGE, gamma_share),
                ];
                if damped {
                    u.push(unwithin(PHI_RANGE, 0.9));
                }
                let v = sse_at(&u);
                if best.as_ref().is_none_or(|(_, b)| v < *b) {
                    best = Some((u, v));
                }
            }
        }
    }
    let (mut u, _) = best.unwrap_or_default();
    for step in [1.0, 0.3] {
        u = nelder_mead::minimize(sse_at, &u, step, 1e-9, 300).x;
    }
    let params = params_from(&u);
    let (last, sse) = filter(values, initial, &params);
    let n = values.len();
    let k = if damped { 4 } else { 3 };
    let sigma = (sse / n.saturating_sub(k).max(1) as f64).sqrt();
    HoltWinters {
        params,
        initial: initial.clone(),
        last,
        sse,
        sigma,
        n,
        aicc: aicc(sse, n, k + 1),
    }
}

/// AICc for Gaussian additive errors up to a constant shared by all models on the same data
/// (FPP3 §8.6). `k` counts the estimated constants and σ; the initial states are left out
/// because they are computed, not searched, and are the same for both candidates.
fn aicc(sse: f64, n: usize, k: usize) -> f64 {
    let (nf, kf) = (n as f64, k as f64);
    // A perfect fit (SSE 0) would give −∞; a tiny floor keeps the comparison total.
    let aic = nf * (sse.max(1e-300) / nf).ln() + 2.0 * kf;
    if n > k + 1 {
        aic + 2.0 * kf * (kf + 1.0) / (nf - kf - 1.0)
    } else {
        f64::INFINITY
    }
}

impl HoltWinters {
    /// Point forecasts and forecast variances for the next `horizon` days.
    pub fn forecast(&self, horizon: usize) -> Vec<(f64, f64)> {
        let means = self.last.forecast(&self.params, horizon);
        let variances = forecast_variances(
            &self.params,
            self.last.season.len(),
            self.sigma * self.sigma,
            horizon,
        );
        means.into_iter().zip(variances).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    /// Two steps of the FPP3 §8.3 component equations, worked by hand with m = 7.
    #[test]
    fn recursions_match_a_hand_worked_example() {
        let p = HwParams {
            alpha: 0.5,
            beta: 0.2,
            gamma: 0.3,
            phi: 1.0,
        };
        let mut state = HwState {
            level: 100.0,
            trend: 2.0,
            season: vec![10.0, -5.0, 0.0, 3.0, -4.0, 1.0, -5.0],
        };
        // Day 1, y = 115. ŷ = ℓ + b + s = 100 + 2 + 10 = 112, e = 3.
        //   ℓ = 0.5(115 − 10) + 0.5(102) = 52.5 + 51 = 103.5
        //   b = 0.2(103.5 − 100) + 0.8·2 = 0.7 + 1.6 = 2.3
        //   s = 0.3(115 − 102) + 0.7·10 = 3.9 + 7 = 10.9 (used again 7 days on)
        let e1 = state.update(&p, 115.0);
        assert!(close(e1, 3.0));
        assert!(close(state.level, 103.5));
        assert!(close(state.trend, 2.3));
        assert!(close(state.season[6], 10.9));
        assert!(close(state.season[0], -5.0));
        // Day 2, y = 98. ŷ = 103.5 + 2.3 − 5 = 100.8, e = −2.8.
        //   ℓ = 0.5(98 + 5) + 0.5(105.8) = 51.5 + 52.9 = 104.4
        //   b = 0.2(104.4 − 103.5) + 0.8·2.3 = 0.18 + 1.84 = 2.02
        //   s = 0.3(98 − 105.8) + 0.7(−5) = −2.34 − 3.5 = −5.84
        let e2 = state.update(&p, 98.0);
        assert!(close(e2, -2.8));
        assert!(close(state.level, 104.4));
        assert!(close(state.trend, 2.02));
        assert!(close(state.season[6], -5.84));
        assert!(close(state.season[5], 10.9));
        // Forecasts: ℓ + h·b + the season of that weekday.
        // h = 1: 104.4 + 2.02 + 0 ; h = 6: 104.4 + 12.12 + 10.9 ; h = 8: 104.4 + 16.16 + 0.
        let f = state.forecast(&p, 8);
        assert!(close(f[0], 106.42));
        assert!(close(f[5], 127.42));
        assert!(close(f[6], 104.4 + 14.14 - 5.84));
        assert!(close(f[7], 120.56));
    }

    /// Cross-check against statsmodels 0.15.0, `ExponentialSmoothing(y, trend="add",
    /// seasonal="add", seasonal_periods=7, initialization_method="known", initial_level=100,
    /// initial_trend=2, initial_seasonal=[10, -5, 0, 3, -4, 1, -5])` fitted with
    /// `smoothing_level=0.5, smoothing_trend=0.2, smoothing_seasonal=0.3, optimized=False`
    /// (and `damping_trend=0.9` for the damped run): its `sse` and `forecast(8)`.
    /// At h = 7 = m that class uses s_{T−m} instead of FPP's s_T (statsmodels issue #9538,
    /// fixed after 0.15.0), so the h = 7 values are from statsmodels' state space `ETSModel`
    /// ("AAA", `smoothing_trend` = α·β* = 0.1), which agrees with FPP and with every other
    /// value here. The variance ratios σ_h²/σ² are that `ETSModel`'s `forecast_variance`.
    #[test]
    fn matches_statsmodels_on_fixed_constants_and_initial_states() {
        let y = [
            112., 98., 105., 110., 96., 108., 90., 118., 101., 109., 115., 99., 112., 94., 121.,
            104.,
        ];
        let initial = HwState {
            level: 100.0,
            trend: 2.0,
            season: vec![10.0, -5.0, 0.0, 3.0, -4.0, 1.0, -5.0],
        };
        let cases = [
            (
                1.0,
                410.4287554932045,
                [
                    109.50850509373927,
                    113.09689755610766,
                    100.97730422679606,
                    111.58546889473243,
                    98.96108925465603,
                    123.1312888247377,
                    106.03349897904705,
                    111.71963430471797,
                ],
            ),
            (
                0.9,
                382.3530102651173,
                [
                    109.16295868850862,
                    112.62959775187969,
                    100.38235511518218,
                    110.80832777325298,
                    97.97032224508719,
                    121.8846824519758,
                    104.54007857047019,
                    109.89071937404343,
                ],
            ),
        ];
        let variance_ratios = [
            [1.0, 1.36, 1.85, 2.49, 3.3, 4.3, 5.51, 7.76, 9.45],
            [
                1.0,
                1.3481,
                1.798341,
                2.35172821,
                3.0070346501,
                3.761429386581,
                4.610965991130613,
                6.222679496015797,
                7.247996762112796,
            ],
        ];
        for ((phi, sse, expected), ratios) in cases.into_iter().zip(variance_ratios) {
            let p = HwParams {
                alpha: 0.5,
                beta: 0.2,
                gamma: 0.3,
                phi,
            };
            let (last, got_sse) = filter(&y, &initial, &p);
            assert!(close(got_sse, sse), "φ = {phi}: SSE {got_sse}");
            let f = last.forecast(&p, 8);
            for (h, (got, want)) in f.iter().zip(expected).enumerate() {
                assert!(
                    close(*got, want),
                    "φ = {phi}, h = {}: {got} vs {want}",
                    h + 1
                );
            }
            let v = forecast_variances(&p, 7, 1.0, 9);
            for (h, (got, want)) in v.iter().zip(ratios).enumerate() {
                assert!(
                    close(*got, want),
                    "variance, φ = {phi}, h = {}: {got}",
                    h + 1
                );
            }
        }
    }

    #[test]
    fn the_damped_recursions_match_a_hand_worked_step() {
        let p = HwParams {
            alpha: 0.5,
            beta: 0.2,
            gamma: 0.3,
            phi: 0.9,
        };
        let mut state = HwState {
            level: 100.0,
            trend: 2.0,
            season: vec![10.0, -5.0, 0.0, 3.0, -4.0, 1.0, -5.0],
        };
        // ŷ = 100 + 0.9·2 + 10 = 111.8, e = 3.2
        // ℓ = 0.5·105 + 0.5·101.8 = 103.4 ; b = 0.2·3.4 + 0.8·1.8 = 2.12
        // s = 0.3(115 − 101.8) + 7 = 10.96
        let e = state.update(&p, 115.0);
        assert!(close(e, 3.2));
        assert!(close(state.level, 103.4));
        assert!(close(state.trend, 2.12));
        assert!(close(state.season[6], 10.96));
        // h = 1: 103.4 + 0.9·2.12 − 5 ; h = 2: 103.4 + (0.9 + 0.81)·2.12 + 0
        let f = state.forecast(&p, 2);
        assert!(close(f[0], 103.4 + 1.908 - 5.0));
        assert!(close(f[1], 103.4 + 1.71 * 2.12));
    }

    /// σ_h² / σ² by hand: c_j = α + αβ*j + γ[j mod 7 = 0] with α = 0.5, β* = 0.2, γ = 0.3.
    #[test]
    fn forecast_variance_follows_the_class_one_formula() {
        let p = HwParams {
            alpha: 0.5,
            beta: 0.2,
            gamma: 0.3,
            phi: 1.0,
        };
        let v = forecast_variances(&p, 7, 4.0, 9);
        let c = |j: usize| 0.5 + 0.1 * j as f64 + if j.is_multiple_of(7) { 0.3 } else { 0.0 };
        let mut expected = 1.0;
        for (h, got) in v.iter().enumerate() {
            assert!(close(*got, 4.0 * expected), "h = {}", h + 1);
            expected += c(h + 1).powi(2);
        }
        // Spelled out: h = 1 → σ²; h = 2 → σ²(1 + 0.6²); h = 3 → σ²(1 + 0.36 + 0.49).
        assert!(close(v[0], 4.0));
        assert!(close(v[1], 4.0 * 1.36));
        assert!(close(v[2], 4.0 * 1.85));
        // c_7 = 0.5 + 0.7 + 0.3 = 1.5 enters at h = 8.
        let before = v[7] / 4.0 - v[6] / 4.0;
        assert!(close(before, 1.5 * 1.5));
    }

    #[test]
    fn the_decomposition_recovers_an_exact_trend_and_season() {
        let pattern = [5.0, -3.0, 0.0, 2.0, 1.0, -4.0, -1.0];
        let values: Vec<f64> = (0..28)
            .map(|i| 50.0 + 1.5 * i as f64 + pattern[i % 7])
            .collect();
        let s = HwState::initial(&values, 7).unwrap();
        assert!(close(s.trend, 1.5));
        assert!(close(s.level, 50.0 - 1.5));
        for (got, want) in s.season.iter().zip(pattern) {
            assert!(close(*got, want));
        }
        // With exact data the recursions never err, whatever the constants.
        let p = params_from(&[0.0, 0.0, 0.0]);
        let (_, sse) = filter(&values, &s, &p);
        assert!(sse < 1e-18);
    }

    #[test]
    fn fitting_a_noiseless_series_forecasts_it_exactly() {
        let pattern = [5.0, -3.0, 0.0, 2.0, 1.0, -4.0, -1.0];
        let at = |i: usize| 50.0 + 1.5 * i as f64 + pattern[i % 7];
        let values: Vec<f64> = (0..35).map(at).collect();
        let m = fit(&values, 7, Damping::Undamped).unwrap();
        for (h, (mean, _)) in m.forecast(10).into_iter().enumerate() {
            assert!((mean - at(35 + h)).abs() < 1e-6, "h = {}: {mean}", h + 1);
        }
    }

    #[test]
    fn the_fast_sse_agrees_with_the_recursions() {
        let values: Vec<f64> = (0..50).map(|i| ((i * 7919) % 97) as f64).collect();
        let initial = HwState::initial(&values, 7).unwrap();
        for u in [
            [0.0, 0.0, 0.0, 0.0],
            [-3.0, 2.0, 1.0, -1.0],
            [4.0, -4.0, -2.0, 3.0],
        ] {
            for p in [params_from(&u[..3]), params_from(&u)] {
                let (_, slow) = filter(&values, &initial, &p);
                assert!(close(sse(&values, &initial, &p), slow), "{p:?}");
            }
        }
    }

    #[test]
    fn fitted_constants_respect_the_restrictions() {
        let values: Vec<f64> = (0..60)
            .map(|i| 100.0 + ((i * 37) % 11) as f64 * 3.0 + if i % 7 == 5 { 40.0 } else { 0.0 })
            .collect();
        for damping in [Damping::Undamped, Damping::Damped, Damping::Auto] {
            let m = fit(&values, 7, damping).unwrap();
            let p = m.params;
            assert!(p.alpha > 0.0 && p.alpha < 1.0);
            assert!(p.beta > 0.0 && p.beta < 1.0);
            assert!(p.gamma > 0.0 && p.gamma < 1.0 - p.alpha);
            assert!((0.8..=1.0).contains(&p.phi));
            assert!(m.sigma.is_finite() && m.sigma > 0.0);
        }
        assert!(fit(&values[..13], 7, Damping::Auto).is_none());
        assert!(fit(&[f64::NAN; 20], 7, Damping::Auto).is_none());
    }
}
