#!/usr/bin/env bash
# Issue 5's figure: the same aggregate SQL over 400,000 flat rows of NDJSON in a local
# directory, salesctl's local engine (release build) vs DuckDB's read_json_auto, whole
# process each, best of 3, side by side. Target: salesctl at least as fast.
#
#   scripts/bench-query.sh            # generates the rows once into .local/bench-lake
#   BENCH_ROWS=100000 BENCH_DIR=/tmp/lake scripts/bench-query.sh
#
# DuckDB (PyPI) goes into its own venv, .local/bench-venv, for this comparison only.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${BENCH_ROWS:-400000}"
dir="${BENCH_DIR:-.local/bench-lake-$rows}"
runs="${BENCH_RUNS:-3}"
venv=.local/bench-venv

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  echo "installing duckdb into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  python3 scripts/duckdb_query.py generate "$dir" --rows "$rows"
  touch "$dir/.complete"
fi
cargo build --release --quiet --bin salesctl
bin="${CARGO_TARGET_DIR:-target}/release/salesctl"

sql="SELECT product_name, count(*) AS orders, sum(quantity) AS units, sum(total) AS revenue \
FROM orders_cdc WHERE cdc_event_type <> 'REMOVE' GROUP BY product_name ORDER BY revenue DESC, product_name"

# Best wall-clock seconds of $runs runs of the command, whole process.
best_of() {
  local best=""
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    local s
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    if [ -z "$best" ] || awk -v x="$s" -v y="$best" 'BEGIN { exit !(x < y) }'; then best="$s"; fi
  done
  echo "$best"
}

size=$(du -sh "$dir" | cut -f1)
files=$(find "$dir" -path '*/dt=*/hour=*/*' -type f | wc -l)
echo "== $rows rows, $files objects, $size of NDJSON in $dir; $(nproc) cores"
echo "SQL: $sql"
echo
echo "-- salesctl local engine answer (exact decimals):"
# sed reads its whole input (head would close the pipe early and, under pipefail, end the run).
"$bin" query --engine local --data "$dir" --output csv "$sql" 2>/dev/null | sed -n 1,5p
echo "-- duckdb answer (read_json_auto infers price/total as DOUBLE):"
"$venv/bin/python" scripts/duckdb_query.py query "$dir" "$sql" 2>&1 | sed -n 1,5p
echo

salesctl_s=$(best_of "$bin" query --engine local --data "$dir" --output csv "$sql")
duckdb_s=$(best_of "$venv/bin/python" scripts/duckdb_query.py query "$dir" "$sql")
python_s=$(best_of "$venv/bin/python" -c 'import duckdb')
echo "best of $runs, whole process:"
printf '  salesctl query --engine local : %s s\n' "$salesctl_s"
printf '  duckdb read_json_auto (python): %s s  (of which python + import duckdb: %s s)\n' "$duckdb_s" "$python_s"
awk -v s="$salesctl_s" -v d="$duckdb_s" 'BEGIN {
  printf "  ratio duckdb / salesctl: %.2fx -> %s\n", d / s, (s <= d ? "MET (salesctl at least as fast)" : "NOT MET")
}'
