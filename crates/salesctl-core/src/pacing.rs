//! Rate control without drift: tick n is due at start + n x period, so a slow write delays
//! the next ticks but never lowers the long-run rate (pure: time is passed in).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Pacer {
    period: Duration,
    issued: u64,
}

impl Pacer {
    /// `period` zero means "as fast as possible": every tick is always due.
    pub fn new(period: Duration) -> Pacer {
        Pacer { period, issued: 0 }
    }

    /// A pacer for `per_second` ticks a second.
    pub fn per_second(per_second: f64) -> Pacer {
        Pacer::new(Duration::from_secs_f64(1.0 / per_second))
    }

    pub fn is_unpaced(&self) -> bool {
        self.period.is_zero()
    }

    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// When the next tick is due, measured from the start.
    pub fn next_due(&self) -> Duration {
        self.exact_offset(self.issued)
    }

    /// Takes up to `max` ticks that are due `elapsed` after the start; returns how many.
    /// The first tick is due at once.
    pub fn take_due(&mut self, elapsed: Duration, max: u64) -> u64 {
        let due = if self.is_unpaced() {
            max
        } else {
            let total_due = (elapsed.as_nanos() / self.period.as_nanos()) as u64 + 1;
            total_due.saturating_sub(self.issued).min(max)
        };
        self.issued += due;
        due
    }

    fn exact_offset(&self, tick: u64) -> Duration {
        // u128 arithmetic: no overflow and no accumulated rounding, whatever the tick.
        let nanos = self.period.as_nanos() * u128::from(tick);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn fifty_per_second_for_twenty_seconds_is_a_thousand() {
        let mut p = Pacer::per_second(50.0);
        let mut taken = 0;
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(20) {
            taken += p.take_due(t, u64::MAX);
            t += Duration::from_millis(7);
        }
        assert_eq!(taken, 1000);
    }

    #[test]
    fn a_late_caller_catches_up_in_one_go_but_never_runs_ahead() {
        let mut p = Pacer::new(Duration::from_millis(100));
        assert_eq!(p.take_due(Duration::ZERO, 25), 1);
        assert_eq!(p.take_due(Duration::from_millis(50), 25), 0);
        assert_eq!(p.take_due(Duration::from_millis(1_000), 25), 10);
        assert_eq!(p.next_due(), Duration::from_millis(1_100));
        assert_eq!(p.take_due(Duration::from_millis(1_050), 25), 0);
    }

    #[test]
    fn the_cap_defers_ticks_instead_of_dropping_them() {
        let mut p = Pacer::new(Duration::from_millis(10));
        assert_eq!(p.take_due(Duration::from_secs(1), 25), 25);
        assert_eq!(p.take_due(Duration::from_secs(1), 1_000), 101 - 25);
    }

    #[test]
    fn unpaced_gives_whatever_is_asked() {
        let mut p = Pacer::new(Duration::ZERO);
        assert!(p.is_unpaced());
        assert_eq!(p.take_due(Duration::ZERO, 25), 25);
        assert_eq!(p.issued(), 25);
    }

    proptest! {
        /// However irregularly the caller wakes, after time T exactly floor(T/period)+1 ticks
        /// have been issued: no drift, no loss, no burst beyond what is due.
        #[test]
        fn no_drift(period_us in 100u64..1_000_000, steps in proptest::collection::vec(0u64..3_000_000, 1..200)) {
            let period = Duration::from_micros(period_us);
            let mut p = Pacer::new(period);
            let mut t = Duration::ZERO;
            for step in steps {
                t += Duration::from_micros(step);
                p.take_due(t, u64::MAX);
                let expected = (t.as_nanos() / period.as_nanos()) as u64 + 1;
                prop_assert_eq!(p.issued(), expected);
                prop_assert!(p.next_due() > t);
            }
        }
    }
}
