//! The backfill driver: each planned arrival becomes the generator's ops for one new order,
//! dated at the arrival, so a backfill writes what live generation would have written then.

use chrono::{DateTime, Utc};

use super::planner::ArrivalPlanner;
use crate::order::{OrderGenerator, PlannedOp};

/// The backfill driver: each arrival becomes one `plan_new_order(arrival)`, so inserts are
/// created at the arrival and updates are dated at it too (never before the order's own
/// last write, as `plan_update` takes the later of the two). Deletes carry the order as it
/// was last written. Acknowledge ops as they are written, as with live generation, so later
/// arrivals can update or delete them.
pub struct Backfill {
    planner: ArrivalPlanner,
    generator: OrderGenerator,
}

impl Backfill {
    pub fn new(planner: ArrivalPlanner, generator: OrderGenerator) -> Backfill {
        Backfill { planner, generator }
    }

    /// The operations for the next arrival, or `None` once the window is used up.
    pub fn next_ops(&mut self) -> Option<Vec<PlannedOp>> {
        self.next_timed().map(|(_, ops)| ops)
    }

    /// Like [`Backfill::next_ops`], with the arrival time the ops are dated at.
    pub fn next_timed(&mut self) -> Option<(DateTime<Utc>, Vec<PlannedOp>)> {
        let at = self.planner.next()?;
        Some((at, self.generator.plan_new_order(at)))
    }

    /// Records that `op` is durably written (see [`OrderGenerator::acknowledge`]).
    pub fn acknowledge(&mut self, op: PlannedOp) {
        self.generator.acknowledge(op);
    }

    /// Records that `op` failed for good (see [`OrderGenerator::forget`]).
    pub fn forget(&mut self, op: PlannedOp) {
        self.generator.forget(op);
    }

    /// Expected new orders in the window (see [`ArrivalPlanner::expected_total`]).
    pub fn expected_total(&self) -> f64 {
        self.planner.expected_total()
    }

    /// New orders planned so far.
    pub fn planned_orders(&self) -> u64 {
        self.planner.planned()
    }

    pub fn generator(&self) -> &OrderGenerator {
        &self.generator
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::TimeDelta;

    use super::*;
    use crate::backfill::DemandProfile;
    use crate::backfill::test_support::monday;
    use crate::order::{GeneratorConfig, OpKind};

    fn backfill(seed: u64, days: i64) -> Backfill {
        let start = monday();
        let p = DemandProfile {
            orders_per_day: 3_000.0,
            ..DemandProfile::default()
        };
        let planner = ArrivalPlanner::new(&p, start, start + TimeDelta::days(days), seed).unwrap();
        let generator = OrderGenerator::new(GeneratorConfig {
            seed: Some(seed),
            update_ratio: 0.3,
            delete_ratio: 0.05,
            run_tag: "h".into(),
        });
        Backfill::new(planner, generator)
    }

    #[test]
    fn backfill_ops_are_dated_at_their_arrival_and_never_before_the_order() {
        let mut b = backfill(21, 4);
        let end = monday() + TimeDelta::days(4);
        let mut last_write: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut kinds: HashMap<OpKind, usize> = HashMap::new();
        let mut last_at = monday();
        while let Some((at, ops)) = b.next_timed() {
            assert!(at >= last_at && at < end);
            last_at = at;
            assert_eq!(ops.last().map(|op| op.kind), Some(OpKind::Insert));
            for op in ops {
                let o = &op.order;
                *kinds.entry(op.kind).or_default() += 1;
                assert!(o.created_at <= o.updated_at, "{o:?}");
                assert!(o.created_at >= monday() && o.updated_at <= at);
                match op.kind {
                    OpKind::Insert => {
                        assert_eq!((o.created_at, o.updated_at), (at, at));
                        assert!(last_write.insert(o.order_id.clone(), at).is_none());
                    }
                    OpKind::Update => {
                        assert_eq!(o.updated_at, at);
                        let before = last_write.insert(o.order_id.clone(), at).unwrap();
                        assert!(before <= at);
                    }
                    OpKind::Delete => {
                        let before = last_write.remove(&o.order_id).unwrap();
                        assert_eq!(o.updated_at, before);
                    }
                }
                b.acknowledge(op);
            }
        }
        assert_eq!(b.planned_orders() as usize, kinds[&OpKind::Insert]);
        assert!(
            kinds[&OpKind::Update] > 1_000 && kinds[&OpKind::Delete] > 100,
            "{kinds:?}"
        );
    }

    #[test]
    fn backfill_is_deterministic_for_a_seed() {
        let (mut a, mut b) = (backfill(3, 1), backfill(3, 1));
        loop {
            let (x, y) = (a.next_ops(), b.next_ops());
            assert_eq!(x, y);
            let Some(ops) = x else { break };
            for op in ops {
                a.acknowledge(op.clone());
                b.acknowledge(op);
            }
        }
        assert!(a.planned_orders() > 1_000);
        assert!((a.expected_total() - b.expected_total()).abs() < 1e-9);
    }
}
