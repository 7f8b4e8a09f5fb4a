#!/usr/bin/env bash
# Re-runnable figures for `salesctl reconcile` (issue 13): wall time and peak memory (max RSS)
# over a lake of N changes on a fresh emulator, for each N given (default: 10000 100000), so
# the growth with the number of changes shows. Changes = new orders + updates + deletes.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000 100000)
bench_build "${BENCH_PROFILE:-debug}"
for changes in "${sizes[@]}"; do
  bench_emulator "${BENCH_PORT:-4596}"
  bench_stack
  # generate's default shares (0.2 updates, 0.05 deletes): changes ~ 1.33 x new orders.
  orders=$(( changes * 100 / 133 ))
  "$bin" --local generate --interval 0s --count "$orders" -o json 2>&1 >/dev/null | tail -n 1
  "$bin" --local relay --drain --buffer-mb 64 --buffer-interval 900s -o json 2>/dev/null
  /usr/bin/time -f "reconcile: %e s wall, %M KiB max RSS" "$bin" --local reconcile -o json >/tmp/reconcile-bench.json
  grep '"table stream"' /tmp/reconcile-bench.json
  bench_exit
  trap - EXIT
done
