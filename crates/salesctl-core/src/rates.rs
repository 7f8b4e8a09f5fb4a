//! The figures `salesctl watch` keeps while it runs: per-tick rates for sparklines, and
//! end-to-end latencies over a sliding window with their percentiles. Pure: time is passed in.

use std::collections::VecDeque;

/// Counts per tick, the newest last, at most `capacity` ticks.
#[derive(Debug, Clone)]
pub struct RateHistory {
    ticks: VecDeque<u64>,
    capacity: usize,
}

impl RateHistory {
    pub fn new(capacity: usize) -> RateHistory {
        RateHistory {
            ticks: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    /// Records what one tick counted.
    pub fn push(&mut self, count: u64) {
        if self.ticks.len() == self.capacity {
            self.ticks.pop_front();
        }
        self.ticks.push_back(count);
    }

    /// The counts, oldest first (what a sparkline draws).
    pub fn counts(&self) -> Vec<u64> {
        self.ticks.iter().copied().collect()
    }

    /// The newest tick's count per second, for ticks of `tick_seconds`.
    pub fn latest_per_second(&self, tick_seconds: f64) -> f64 {
        match self.ticks.back() {
            Some(count) if tick_seconds > 0.0 => *count as f64 / tick_seconds,
            _ => 0.0,
        }
    }

    /// The mean per second over the last `ticks` ticks (fewer when fewer were recorded).
    pub fn mean_per_second(&self, ticks: usize, tick_seconds: f64) -> f64 {
        let recent: Vec<u64> = self
            .ticks
            .iter()
            .rev()
            .take(ticks.max(1))
            .copied()
            .collect();
        if recent.is_empty() || tick_seconds <= 0.0 {
            return 0.0;
        }
        recent.iter().sum::<u64>() as f64 / (recent.len() as f64 * tick_seconds)
    }
}

/// Latency samples (milliseconds) stamped with when they were seen (epoch milliseconds),
/// kept for `window_millis`, at most `max_samples` (the oldest go first).
#[derive(Debug, Clone)]
pub struct LatencyWindow {
    samples: VecDeque<(i64, u64)>,
    window_millis: i64,
    max_samples: usize,
}

impl LatencyWindow {
    pub fn new(window_millis: i64, max_samples: usize) -> LatencyWindow {
        LatencyWindow {
            samples: VecDeque::new(),
            window_millis: window_millis.max(1),
            max_samples: max_samples.max(1),
        }
    }

    /// A latency seen at `at`; a negative latency (clock skew) counts as 0.
    pub fn add(&mut self, at: i64, latency_millis: i64) {
        if self.samples.len() == self.max_samples {
            self.samples.pop_front();
        }
        self.samples
            .push_back((at, u64::try_from(latency_millis).unwrap_or(0)));
    }

    /// Drops samples older than the window before `now`.
    pub fn prune(&mut self, now: i64) {
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now - at > self.window_millis)
        {
            self.samples.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The `p`-th percentile (0..=100) by nearest rank; `None` without samples.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut values: Vec<u64> = self.samples.iter().map(|(_, v)| *v).collect();
        values.sort_unstable();
        let rank = ((p.clamp(0.0, 100.0) / 100.0) * values.len() as f64).ceil() as usize;
        Some(values[rank.clamp(1, values.len()) - 1])
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rates_keep_the_newest_ticks() {
        let mut r = RateHistory::new(3);
        for c in [10, 20, 30, 40] {
            r.push(c);
        }
        assert_eq!(r.counts(), [20, 30, 40]);
        assert_eq!(r.latest_per_second(2.0), 20.0);
        assert_eq!(r.mean_per_second(2, 2.0), 17.5);
        assert_eq!(RateHistory::new(5).latest_per_second(1.0), 0.0);
    }

    #[test]
    fn percentiles_by_nearest_rank_over_the_window() {
        let mut w = LatencyWindow::new(60_000, 1000);
        for (i, v) in (1..=100).enumerate() {
            w.add(i as i64, v);
        }
        assert_eq!(w.percentile(50.0), Some(50));
        assert_eq!(w.percentile(99.0), Some(99));
        assert_eq!(w.percentile(100.0), Some(100));
        w.prune(60_050);
        assert_eq!(w.len(), 50);
        assert_eq!(w.percentile(0.0), Some(51));
        w.prune(1_000_000);
        assert_eq!(w.percentile(50.0), None);
    }

    proptest! {
        #[test]
        fn a_percentile_is_one_of_the_samples_and_ordered(values in proptest::collection::vec(-5i64..100_000, 1..200)) {
            let mut w = LatencyWindow::new(1_000, 10_000);
            for v in &values {
                w.add(0, *v);
            }
            let p50 = w.percentile(50.0).unwrap();
            let p99 = w.percentile(99.0).unwrap();
            prop_assert!(p50 <= p99);
            prop_assert!(values.iter().any(|v| u64::try_from(*v).unwrap_or(0) == p99));
        }
    }
}
