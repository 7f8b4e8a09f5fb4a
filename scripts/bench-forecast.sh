#!/usr/bin/env bash
# Re-runnable figure for the report's forecast (issue 14): backfill 90 days on a fresh emulator,
# relay them into the lake, and print the backtest table (model vs seasonal naive vs linear
# trend, per currency) and the chosen models.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${BENCH_PORT:-4594}"
per_day="${BENCH_ORDERS_PER_DAY:-200}"
scripts/local-aws start --port "$port" >/dev/null
trap 'scripts/local-aws stop --port "$port" >/dev/null' EXIT
cargo build --quiet --bin salesctl
bin="$(pwd)/target/debug/salesctl"
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/debug/salesctl"
export SALESCTL_LOCAL_ENDPOINT="http://127.0.0.1:$port" SALESCTL_STATE_DIR="$(mktemp -d)"
"$bin" --local up -o json >/dev/null 2>&1
"$bin" --local generate --backfill 90d --orders-per-day "$per_day" --seed 42 -o json 2>&1 >/dev/null | tail -n 1
"$bin" --local relay --drain --buffer-mb 64 --buffer-interval 900s -o json 2>/dev/null
"$bin" --local report -o table --section forecast_model 2>/dev/null
"$bin" --local report -o table --section backtest 2>/dev/null
