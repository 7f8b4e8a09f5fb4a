#!/usr/bin/env bash
# Re-runnable figure for `salesctl tail-cdc` (issue 4): 20,000 changes already on a two-shard
# stream, read and printed as JSON lines, against a straightforward boto3 consumer
# (get_records loop + TypeDeserializer, scripts/tail_boto3.py) on the same emulator.
# Usage: scripts/bench-tail.sh [changes] [runs]    (port: BENCH_PORT, default 4599)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
count="${1:-20000}"
runs="${2:-3}"
stream="bench-tail-cdc"
bench_build release
work="$(mktemp -d)"
bench_emulator "${BENCH_PORT:-4599}"
curl -s -X POST "$endpoint/moto-api/reset" >/dev/null

echo "== loading $count changes into a two-shard stream on $endpoint"
$py scripts/tail_boto3.py load "$endpoint" "$stream" "$count"

seconds() { # command... -> wall seconds on stdout, the command's stdout into $work/out
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/out"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

best_rust=""; best_py=""
for run in $(seq 1 "$runs"); do
  r=$(seconds "$bin" --local --stream "$stream" tail-cdc --output json)
  lines_r=$(wc -l <"$work/out")
  p=$(seconds "$py" scripts/tail_boto3.py consume "$endpoint" "$stream")
  lines_p=$(wc -l <"$work/out")
  if [ "$lines_r" != "$count" ] || [ "$lines_p" != "$count" ]; then
    echo "line counts differ from $count: salesctl $lines_r, boto3 $lines_p" >&2
    exit 1
  fi
  printf 'run %d: salesctl tail-cdc %.3f s, boto3 %.3f s\n' "$run" "$r" "$p"
  if [ -z "$best_rust" ] || (( $(echo "$r < $best_rust" | bc -l) )); then best_rust=$r; fi
  if [ -z "$best_py" ] || (( $(echo "$p < $best_py" | bc -l) )); then best_py=$p; fi
done
printf 'best of %d: salesctl %.3f s (%.0f changes/s), boto3 %.3f s (%.0f changes/s), speedup %.2fx\n' \
  "$runs" "$best_rust" "$(echo "$count / $best_rust" | bc -l)" "$best_py" "$(echo "$count / $best_py" | bc -l)" \
  "$(echo "$best_py / $best_rust" | bc -l)"
