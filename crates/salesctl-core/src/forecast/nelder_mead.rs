//! A small derivative-free minimiser (Nelder–Mead downhill simplex) for fitting the
//! smoothing constants of the forecast models; no external optimisation crate needed.
//!
//! The one-step SSE of exponential smoothing is cheap, low-dimensional (3–4 parameters) and
//! not differentiable in closed form without extra recursions, which is the textbook case for
//! Nelder–Mead. Coefficients are the standard ones (reflection 1, expansion 2, contraction ½,
//! shrink ½) from Nelder & Mead (1965).

/// Where the search stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub evaluations: usize,
}

/// Minimises `f` from `start`, with an initial simplex of `step` along each axis. Stops when
/// the simplex's values agree to `tolerance` (absolute, plus relative to the best value) or
/// after `max_evaluations`. A non-finite value counts as +∞ so the simplex walks away from it.
pub fn minimize(
    f: impl Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    tolerance: f64,
    max_evaluations: usize,
) -> Minimum {
    let n = start.len();
    let evaluations = std::cell::Cell::new(0_usize);
    let eval = |x: &[f64]| {
        evaluations.set(evaluations.get() + 1);
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), eval(start)));
    for i in 0..n {
        let mut x = start.to_vec();
        x[i] += step;
        let v = eval(&x);
        simplex.push((x, v));
    }
    if n == 0 {
        let (x, value) = simplex.swap_remove(0);
        return Minimum {
            x,
            value,
            evaluations: evaluations.get(),
        };
    }
    let along = |from: &[f64], to: &[f64], t: f64| -> Vec<f64> {
        from.iter().zip(to).map(|(a, b)| a + t * (b - a)).collect()
    };
    loop {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let best = simplex[0].1;
        let worst = simplex[n].1;
        if evaluations.get() >= max_evaluations
            || (worst.is_finite() && worst - best <= tolerance * (1.0 + best.abs()))
        {
            break;
        }
        let mut centroid = vec![0.0; n];
        for (x, _) in &simplex[..n] {
            for (c, xi) in centroid.iter_mut().zip(x) {
                *c += xi / n as f64;
            }
        }
        let reflected = along(&centroid, &simplex[n].0, -1.0);
        let fr = eval(&reflected);
        if fr < best {
            let expanded = along(&centroid, &simplex[n].0, -2.0);
            let fe = eval(&expanded);
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
            continue;
        }
        if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
            continue;
        }
        // Contract towards the better of the worst point and its reflection.
        let (toward, f_toward) = if fr < worst {
            (reflected.clone(), fr)
        } else {
            (simplex[n].0.clone(), worst)
        };
        let contracted = along(&centroid, &toward, 0.5);
        let fc = eval(&contracted);
        if fc < f_toward {
            simplex[n] = (contracted, fc);
            continue;
        }
        let anchor = simplex[0].0.clone();
        for vertex in simplex.iter_mut().skip(1) {
            let x = along(&anchor, &vertex.0, 0.5);
            let v = eval(&x);
            *vertex = (x, v);
        }
    }
    let (x, value) = simplex.swap_remove(0);
    Minimum {
        x,
        value,
        evaluations: evaluations.get(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_shifted_quadratic() {
        let m = minimize(
            |x| (x[0] - 3.0).powi(2) + 10.0 * (x[1] + 1.0).powi(2),
            &[0.0, 0.0],
            1.0,
            1e-14,
            2_000,
        );
        assert!((m.x[0] - 3.0).abs() < 1e-4, "{m:?}");
        assert!((m.x[1] + 1.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn finds_the_rosenbrock_valley_floor() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(rosenbrock, &[-1.2, 1.0], 0.5, 1e-16, 5_000);
        assert!((m.x[0] - 1.0).abs() < 1e-3, "{m:?}");
        assert!((m.x[1] - 1.0).abs() < 1e-3, "{m:?}");
    }

    #[test]
    fn walks_away_from_nan_and_respects_the_budget() {
        let m = minimize(
            |x| {
                if x[0] < 0.0 {
                    f64::NAN
                } else {
                    (x[0] - 1.0).powi(2)
                }
            },
            &[0.5],
            1.0,
            0.0,
            40,
        );
        assert!(m.value.is_finite());
        assert!(m.evaluations <= 42);
    }
}
