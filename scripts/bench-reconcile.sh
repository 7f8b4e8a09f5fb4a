#!/usr/bin/env bash
# Re-runnable figures for `salesctl reconcile` (issue 13): wall time and peak memory (max RSS)
# over a lake of N changes on a fresh emulator, for each N given (default: 10000 100000), so
# the growth with the number of changes shows. Changes = new orders + updates + deletes.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${BENCH_PORT:-4596}"
profile="${BENCH_PROFILE:-debug}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000 100000)
if [ "$profile" = release ]; then cargo build --release --quiet --bin salesctl; else cargo build --quiet --bin salesctl; fi
bin="$(pwd)/target/$profile/salesctl"
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/$profile/salesctl"
for changes in "${sizes[@]}"; do
  scripts/local-aws start --port "$port" >/dev/null
  export SALESCTL_LOCAL_ENDPOINT="http://127.0.0.1:$port" SALESCTL_STATE_DIR="$(mktemp -d)"
  "$bin" --local up -o json >/dev/null 2>&1
  # generate's default shares (0.2 updates, 0.05 deletes): changes ~ 1.33 x new orders.
  orders=$(( changes * 100 / 133 ))
  "$bin" --local generate --interval 0s --count "$orders" -o json 2>&1 >/dev/null | tail -n 1
  "$bin" --local relay --drain --buffer-mb 64 --buffer-interval 900s -o json 2>/dev/null
  /usr/bin/time -f "reconcile: %e s wall, %M KiB max RSS" "$bin" --local reconcile -o json >/tmp/reconcile-bench.json
  grep '"table stream"' /tmp/reconcile-bench.json
  scripts/local-aws stop --port "$port" >/dev/null
done
