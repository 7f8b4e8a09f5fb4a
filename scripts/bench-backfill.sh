#!/usr/bin/env bash
# Re-runnable figure for `generate --backfill` (issue 14): orders written per second by a
# backfill against the same number of live orders written unpaced (`--interval 0s`), on one
# fresh emulator, and the planner alone (criterion, no table). The emulator is the bottleneck
# for both writes, so the debug binary is used unless BENCH_PROFILE=release.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_emulator "${BENCH_PORT:-4597}"
bench_build "${BENCH_PROFILE:-debug}"
bench_stack
echo "== live, unpaced: 5,000 new orders (plus updates and deletes)"
"$bin" --local generate --interval 0s --count 5000 -o json 2>&1 >/dev/null | tail -n 1
echo "== backfill: 28 days at about 180 orders a day (about 5,000 new orders)"
"$bin" --local generate --backfill 28d --orders-per-day 180 --seed 1 -o json 2>&1 >/dev/null | tail -n 1
echo "== the planner alone (criterion): planned orders per second"
cargo bench --quiet -p salesctl-core --bench backfill 2>/dev/null | grep -E "thrpt|time:" | head -4
