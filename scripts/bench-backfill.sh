#!/usr/bin/env bash
# Re-runnable figure for `generate --backfill` (issue 14): orders written per second by a
# backfill against the same number of live orders written unpaced (`--interval 0s`), on one
# fresh emulator, and the planner alone (criterion, no table). The emulator is the bottleneck
# for both writes, so the debug binary is used unless BENCH_PROFILE=release.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${BENCH_PORT:-4597}"
profile="${BENCH_PROFILE:-debug}"
scripts/local-aws start --port "$port" >/dev/null
trap 'scripts/local-aws stop --port "$port" >/dev/null' EXIT
if [ "$profile" = release ]; then cargo build --release --quiet --bin salesctl; else cargo build --quiet --bin salesctl; fi
bin="${CARGO_TARGET_DIR:-target}/$profile/salesctl"
export SALESCTL_LOCAL_ENDPOINT="http://127.0.0.1:$port" SALESCTL_STATE_DIR="$(mktemp -d)"
"$bin" --local up -o json >/dev/null 2>&1
echo "== live, unpaced: 5,000 new orders (plus updates and deletes)"
"$bin" --local generate --interval 0s --count 5000 -o json 2>&1 >/dev/null | tail -n 1
echo "== backfill: 28 days at about 180 orders a day (about 5,000 new orders)"
"$bin" --local generate --backfill 28d --orders-per-day 180 --seed 1 -o json 2>&1 >/dev/null | tail -n 1
echo "== the planner alone (criterion): planned orders per second"
cargo bench --quiet -p salesctl-core --bench backfill 2>/dev/null | grep -E "thrpt|time:" | head -4
