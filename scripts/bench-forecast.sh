#!/usr/bin/env bash
# Re-runnable figure for the report's forecast (issue 14): backfill 90 days on a fresh emulator,
# relay them into the lake, and print the backtest table (model vs seasonal naive vs linear
# trend, per currency) and the chosen models.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
per_day="${BENCH_ORDERS_PER_DAY:-200}"
bench_emulator "${BENCH_PORT:-4594}"
bench_build debug
bench_stack
"$bin" --local generate --backfill 90d --orders-per-day "$per_day" --seed 42 -o json 2>&1 >/dev/null | tail -n 1
"$bin" --local relay --drain --buffer-mb 64 --buffer-interval 900s -o json 2>/dev/null
"$bin" --local report -o table --section forecast_model 2>/dev/null
"$bin" --local report -o table --section backtest 2>/dev/null
