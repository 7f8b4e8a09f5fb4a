//! Planned orders per second for `generate --backfill`: the arrival planner alone, and the
//! Backfill driver end to end (arrivals, order plans with updates/deletes, acknowledgements).

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use salesctl_core::backfill::{ArrivalPlanner, Backfill, DemandProfile};
use salesctl_core::order::{GeneratorConfig, OrderGenerator};

const SEED: u64 = 0x5eed;

/// Ten days at 10,000 orders a day (default shape): about 100,000 new orders.
fn window() -> (DemandProfile, DateTime<Utc>, DateTime<Utc>) {
    let end = DateTime::from_timestamp(1_767_571_200, 0).expect("a valid time");
    let profile = DemandProfile {
        orders_per_day: 10_000.0,
        ..DemandProfile::default()
    };
    (profile, end - TimeDelta::days(10), end)
}

fn planner() -> ArrivalPlanner {
    let (profile, start, end) = window();
    ArrivalPlanner::new(&profile, start, end, SEED).expect("an in-range profile")
}

fn backfill() -> Backfill {
    let generator = OrderGenerator::new(GeneratorConfig {
        seed: Some(SEED),
        update_ratio: 0.2,
        delete_ratio: 0.05,
        run_tag: "bench".into(),
    });
    Backfill::new(planner(), generator)
}

/// Drains a backfill, acknowledging every op as a successful write would; returns the ops.
fn drain(mut backfill: Backfill) -> usize {
    let mut ops = 0;
    while let Some(batch) = backfill.next_ops() {
        ops += batch.len();
        for op in batch {
            backfill.acknowledge(black_box(op));
        }
    }
    ops
}

fn bench_backfill(c: &mut Criterion) {
    let orders = planner().count() as u64;
    let mut group = c.benchmark_group("backfill");
    group.throughput(Throughput::Elements(orders));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function(format!("arrivals_{orders}_orders"), |b| {
        b.iter(|| planner().fold(0i64, |acc, t| acc ^ black_box(t).timestamp_millis()))
    });
    group.bench_function(format!("driver_{orders}_orders"), |b| {
        b.iter(|| drain(backfill()))
    });
    group.finish();
}

criterion_group!(benches, bench_backfill);
criterion_main!(benches);
