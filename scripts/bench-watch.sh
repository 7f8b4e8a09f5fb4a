#!/usr/bin/env bash
# Re-runnable figures for `salesctl watch` (issue 13): its CPU use (share of one core, from
# /proc utime+stime) over 30 s idle, then over 30 s while `generate --rate 200` and the relay
# run, on a fresh emulator. JSON mode, so the figure is the sampling's cost, not the drawing's.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
seconds="${BENCH_SECONDS:-30}"
bench_emulator "${BENCH_PORT:-4595}"
bench_build "${BENCH_PROFILE:-debug}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; bench_exit' EXIT
bench_stack
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
"$bin" --local watch -o json --interval 2s >/tmp/watch-bench.jsonl 2>/dev/null &
watch=$!; pids+=("$watch")
sleep 3
t0=$(ticks "$watch"); sleep "$seconds"; t1=$(ticks "$watch")
echo "watch idle: $(echo "scale=2; 100 * ($t1 - $t0) / $hz / $seconds" | bc)% of one core"
"$bin" --local generate --rate 200 >/dev/null 2>&1 & pids+=("$!")
"$bin" --local relay --buffer-interval 2s >/dev/null 2>&1 & pids+=("$!")
sleep 5
t0=$(ticks "$watch"); sleep "$seconds"; t1=$(ticks "$watch")
echo "watch under generate --rate 200 + relay: $(echo "scale=2; 100 * ($t1 - $t0) / $hz / $seconds" | bc)% of one core"
tail -n 1 /tmp/watch-bench.jsonl
