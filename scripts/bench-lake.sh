#!/usr/bin/env bash
# Issue 19's figures, side by side in one run: synthetic lakes of 1, 30 and 90 days of the same
# hourly volume (12 objects an hour of 116 changes: 30 days = 1,002,240 changes), in a
# directory (NDJSON and Parquet) and in the emulator's S3, then
#   (a) a one-day `salesctl query` over s3://…/orders/ on the emulator, first run, fresh cache;
#   (b) the same query on the directory lakes;
#   (c) `salesctl report --data DIR` on the 30-day lake: wall time and peak RSS;
#   (d) the lake's bytes, NDJSON vs Parquet, on the same rows;
#   (e) `salesctl trace ORDER` on the 30-day lake and `salesctl reconcile --since 1h`;
#   (f) a whole-lake query on the directory lakes (every object read): time and peak RSS,
#       which grow with the objects;
# printed as one markdown table. Lakes are written by examples/synthetic_lake.rs.
#
#   scripts/bench-lake.sh            # 1, 30, 90 days (release build)
#   scripts/bench-lake.sh --quick    # 1 and 3 days: try the script fast
#
# Environment: BENCH_PROFILE (release; debug to try it), BENCH_PORT (emulator, 4603),
# BENCH_DIR (directory lakes, kept between runs: .local/bench-lake-synthetic),
# BENCH_S3_FORMAT (parquet: the S3 lakes' encoding; json holds ~1.4 GB of NDJSON in the
# emulator's memory for 90 days, so check `free -m` first), BENCH_END (the lakes' last day,
# default today UTC, so the lakes' newest hours are where live orders and `--since 1h` look;
# the rest of today is written too), BENCH_SEED (1), BENCH_OBJECTS_PER_HOUR (12),
# BENCH_CHANGES_PER_OBJECT (116).
set -euo pipefail

# --- The verbs as measured: edit here when their flags change. ------------------------------
# Placeholders, filled in per run: @DATA@ the lake (a directory, or s3://bucket/orders/),
# @SQL@ the query, @ORDER@ an order id. The S3 lakes are on the emulator (--local, which
# SALESCTL_LOCAL_ENDPOINT points at this script's emulator); the 30-day S3 lake lives in the
# bench stack's lake bucket ($SALESCTL_BUCKET), where trace and reconcile look.
# shellcheck disable=SC2034 # read by name, in verb()
QUERY_S3_ARGS=(--local query --data @DATA@ -o csv @SQL@)
# shellcheck disable=SC2034
QUERY_DIR_ARGS=(query --data @DATA@ -o csv @SQL@)
# shellcheck disable=SC2034
REPORT_ARGS=(report --data @DATA@ -o json)
# shellcheck disable=SC2034 # -v: trace logs how many lake objects it searched
TRACE_ARGS=(--local -v trace @ORDER@ -o json)
# shellcheck disable=SC2034
RECONCILE_ARGS=(--local reconcile --since 1h -o json)
# A few live orders through the bench stack, so the streams hold their changes (and trace
# knows their hours) as on a live stack: written, then relayed into the 30-day S3 lake.
# shellcheck disable=SC2034
GENERATE_ARGS=(--local generate --interval 0s --count 20 --seed 7 -o json)
# shellcheck disable=SC2034
RELAY_ARGS=(--local relay --drain --buffer-interval 900s --lake-format @FORMAT@ -o json)
# ---------------------------------------------------------------------------------------------

days_list=(1 30 90)
case "${1:-}" in
  --quick) days_list=(1 3) ;;
  "") ;;
  *) echo "usage: scripts/bench-lake.sh [--quick]" >&2; exit 2 ;;
esac
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

profile="${BENCH_PROFILE:-release}"
lakes="${BENCH_DIR:-.local/bench-lake-synthetic}"
s3_format="${BENCH_S3_FORMAT:-parquet}"
end="${BENCH_END:-$(date -u +%F)}"
per_hour="${BENCH_OBJECTS_PER_HOUR:-12}"
per_object="${BENCH_CHANGES_PER_OBJECT:-116}"
gen_args=(--seed "${BENCH_SEED:-1}" --end "$end" --objects-per-hour "$per_hour" --changes-per-object "$per_object")
mid="${days_list[1]}" # the "30-day" lake of (c) and (e)
export SALESCTL_BUCKET=salesctl-bench-lake
sql="SELECT count(*), sum(total) FROM orders_cdc WHERE dt = '$end'"
whole_sql="SELECT count(*), sum(total) FROM orders_cdc"

echo "== building salesctl and the synthetic_lake example ($profile)" >&2
if [ "$profile" = release ]; then
  cargo build --release --quiet --bin salesctl --example synthetic_lake
else
  cargo build --quiet --bin salesctl --example synthetic_lake
fi
bin="target/$profile/salesctl"
gen="target/$profile/examples/synthetic_lake"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$lakes"

if /usr/bin/time -f %M -o "$work/probe" true 2>/dev/null; then gnu_time=1; else gnu_time=0; fi

# measure CMD...: runs CMD once, stdout to $work/out and stderr to $work/err; sets m_secs
# (wall seconds), m_rss (peak RSS in MB) and m_status (exit status). Never fails itself.
measure() {
  local t0 t1
  t0=$(date +%s%N)
  set +e
  if [ "$gnu_time" = 1 ]; then
    /usr/bin/time -f %M -o "$work/rss" "$@" >"$work/out" 2>"$work/err"
  else
    python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$work/rss" "$@" >"$work/out" 2>"$work/err"
  fi
  m_status=$?
  set -e
  t1=$(date +%s%N)
  m_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  m_rss=$(tail -n 1 "$work/rss" | awk '{ printf "%.0f", $1 / 1024 }')
}

# verb ARRAY-NAME DATA [SQL] [ORDER]: sets cmd to the binary and the verb's words, placeholders filled.
verb() {
  local -n words="$1"
  cmd=("$bin")
  local w
  for w in "${words[@]}"; do
    case "$w" in
      @DATA@) cmd+=("$2") ;;
      @SQL@) cmd+=("${3:-}") ;;
      @ORDER@) cmd+=("${4:-}") ;;
      @FORMAT@) cmd+=("$s3_format") ;;
      *) cmd+=("$w") ;;
    esac
  done
}

# A cell: "1.23 s", or "1.23 s, exit N: the last line of stderr".
cell_time() {
  if [ "$m_status" = 0 ]; then echo "$m_secs s"; else echo "$m_secs s, $(failed_cell)"; fi
}
failed_cell() {
  local why
  why=$(grep -v '^\s*$' "$work/err" | tail -n 1 | cut -c1-100 | tr '|' '/')
  if [ -z "$why" ]; then why=$(grep -v '^\s*$' "$work/out" | tail -n 1 | cut -c1-100 | tr '|' '/'); fi
  echo "exit $m_status: ${why:-no message}"
}

field() { # NAME SUMMARY-LINE -> the value of NAME=… in synthetic_lake's summary line
  sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# dir_lake DAYS FORMAT: the directory lake, kept between runs while the flags and the
# generator's build (so the transform's rows) are the same; prints the generator's summary line.
dir_lake() {
  local dir="$lakes/d$1-$2" want line
  want="${gen_args[*]} --days $1 --format $2 (synthetic_lake built $(stat -c %Y "$gen"))"
  if [ ! -f "$dir.done" ] || [ "$(head -n 1 "$dir.done")" != "$want" ]; then
    rm -rf "$dir" "$dir.done"
    echo "== writing the $1-day $2 lake into $dir" >&2
    line=$("$gen" "${gen_args[@]}" --days "$1" --format "$2" --dir "$dir")
    echo "$line" >&2
    printf '%s\n%s\n' "$want" "$line" >"$dir.done"
  fi
  sed -n 2p "$dir.done"
}

s3_url() { # DAYS -> the S3 lake of that many days
  if [ "$1" = "$mid" ]; then echo "s3://$SALESCTL_BUCKET/orders/"; else echo "s3://bench-lake-d$1/orders/"; fi
}

bench_emulator "${BENCH_PORT:-4603}"
echo "== emulator on $endpoint; the bench stack (lake bucket $SALESCTL_BUCKET)" >&2
stack_note=""
if ! "$bin" --local up -o json >"$work/up.out" 2>"$work/up.err"; then
  stack_note="salesctl up failed on the emulator: $(tail -n 1 "$work/up.err")"
  echo "$stack_note" >&2
fi

declare -A summary json_bytes parquet_bytes s3_secs dir_json_secs dir_parquet_secs answers gen_secs whole_json whole_parquet
# shellcheck disable=SC2034 # gen_secs is read by name, in per_day()
for d in "${days_list[@]}"; do
  summary[$d]=$(dir_lake "$d" json)
  json_bytes[$d]=$(field bytes "${summary[$d]}")
  parquet_summary=$(dir_lake "$d" parquet)
  parquet_bytes[$d]=$(field bytes "$parquet_summary")
  gen_secs[$d]="$(field seconds "${summary[$d]}") s / $(field seconds "$parquet_summary") s"
done
for d in "${days_list[@]}"; do
  echo "== writing the $d-day $s3_format lake into $(s3_url "$d")" >&2
  s3_summary=$(AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
    "$gen" "${gen_args[@]}" --days "$d" --format "$s3_format" --s3 "$(s3_url "$d")" \
    --endpoint-url "$endpoint")
  echo "$s3_summary" >&2
  if [ "$d" = "$mid" ]; then summary[s3]="$s3_summary"; fi
done
moto_rss=$(ps -o rss= -p "$(cat ".local/moto-$port.pid")" 2>/dev/null | awk '{ printf "%.0f MB", $1 / 1024 }' || true)

echo "== (a), (b) one-day query: $sql" >&2
for d in "${days_list[@]}"; do
  verb QUERY_S3_ARGS "$(s3_url "$d")" "$sql"
  SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
  s3_secs[$d]=$(cell_time)
  answers[$d]="s3 $(sed -n 2p "$work/out")"
  verb QUERY_DIR_ARGS "$lakes/d$d-json" "$sql"
  SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
  dir_json_secs[$d]=$(cell_time)
  answers[$d]+="; json $(sed -n 2p "$work/out")"
  verb QUERY_DIR_ARGS "$lakes/d$d-parquet" "$sql"
  SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
  dir_parquet_secs[$d]=$(cell_time)
  answers[$d]+="; parquet $(sed -n 2p "$work/out")"
  echo "   $d day(s): S3 ${s3_secs[$d]}, dir json ${dir_json_secs[$d]}, dir parquet ${dir_parquet_secs[$d]} (${answers[$d]})" >&2
done

echo "== (f) whole-lake query on the directory lakes: $whole_sql" >&2
# shellcheck disable=SC2034 # read by name, in per_day()
for d in "${days_list[@]}"; do
  for format in json parquet; do
    verb QUERY_DIR_ARGS "$lakes/d$d-$format" "$whole_sql"
    SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
    if [ "$m_status" = 0 ]; then cell="$m_secs s, $m_rss MB"; else cell="$m_secs s, $(failed_cell)"; fi
    if [ "$format" = json ]; then whole_json[$d]="$cell"; else whole_parquet[$d]="$cell"; fi
  done
  echo "   $d day(s): json ${whole_json[$d]}, parquet ${whole_parquet[$d]}" >&2
done

echo "== (c) report on the $mid-day directory lakes" >&2
report_cell() {
  verb REPORT_ARGS "$lakes/d$mid-$1"
  SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
  if [ "$m_status" = 0 ]; then echo "$m_secs s, $m_rss MB peak RSS"; else echo "$m_secs s, $(failed_cell)"; fi
}
report_json=$(report_cell json)
report_parquet=$(report_cell parquet)

echo "== (e) live orders, reconcile and trace on the $mid-day S3 lake" >&2
# searched_note: what trace logged about the lake objects it read (from $work/err).
searched_note() {
  grep -o -E "(lake searched: [0-9]+ objects? in the [0-9]+ hours?|searched the whole lake, [0-9]+ objects)" "$work/err" | tail -n 1 || true
}
live_order=""
verb GENERATE_ARGS ""
if "${cmd[@]}" >"$work/generate.out" 2>"$work/generate.err"; then
  live_order=$(grep -o -m 1 '"order_id":"[^"]*"' "$work/generate.out" | cut -d'"' -f4 || true)
  verb RELAY_ARGS ""
  "${cmd[@]}" >"$work/relay.out" 2>"$work/relay.err" || echo "relay failed: $(tail -n 1 "$work/relay.err")" >&2
else
  echo "generate failed: $(tail -n 1 "$work/generate.err")" >&2
fi
verb RECONCILE_ARGS "$(s3_url "$mid")"
SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
reconcile_cell=$(cell_time)
if [ -n "$live_order" ]; then
  verb TRACE_ARGS "$(s3_url "$mid")" "" "$live_order"
  SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
  trace_live_cell="$(cell_time); $live_order: $(grep -c '"stage":"lake"' "$work/out" || true) lake rows; $(searched_note)"
else
  trace_live_cell="not run: no live order (see above)"
fi
# A synthetic order: older than both streams' retention, as any order of a real 30-day lake.
order=$(field trace_order "${summary[s3]}")
order_changes=$(field trace_order_changes "${summary[s3]}")
order_hours=$(field trace_order_hours "${summary[s3]}")
verb TRACE_ARGS "$(s3_url "$mid")" "" "$order"
SALESCTL_CACHE_DIR="$(mktemp -d -p "$work")" measure "${cmd[@]}"
trace_old_cell="$(cell_time); $order: $(grep -c '"stage":"lake"' "$work/out" || true) of its $order_changes changes found, in $order_hours hours ($((${order_hours:-0} * per_hour)) objects); $(searched_note)"

# --- The table ----------------------------------------------------------------------------------
row() { # LABEL CELL... -> one markdown row
  local line="| $1 |"
  shift
  local c
  for c in "$@"; do line+=" $c |"; done
  echo "$line"
}
per_day() { # ARRAY-NAME -> its cell for each lake
  local -n values="$1"
  local d
  for d in "${days_list[@]}"; do printf '%s\n' "${values[$d]}"; done
}
only_mid() { # CELL -> the cell in the mid lake's column, "—" elsewhere
  local d
  for d in "${days_list[@]}"; do
    if [ "$d" = "$mid" ]; then printf '%s\n' "$1"; else echo "—"; fi
  done
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

declare -A lake_cells json_cells parquet_cells ratio_cells
# shellcheck disable=SC2034 # read by name, in per_day()
for d in "${days_list[@]}"; do
  lake_cells[$d]="$(field objects "${summary[$d]}") objects, $(field changes "${summary[$d]}") changes"
  json_cells[$d]=$(mib "${json_bytes[$d]}")
  parquet_cells[$d]=$(mib "${parquet_bytes[$d]}")
  ratio_cells[$d]=$(awk -v p="${parquet_bytes[$d]:-0}" -v j="${json_bytes[$d]:-1}" 'BEGIN { printf "%.3f", p / j }')
done

echo
echo "## Synthetic lakes: $per_hour objects an hour of $per_object changes, ending $end ($profile build, $(nproc) cores)"
echo
header="| what |"
rule="|---|"
for d in "${days_list[@]}"; do header+=" $d day$([ "$d" = 1 ] || echo s) |"; rule+="---|"; done
echo "$header"
echo "$rule"
mapfile -t cells < <(per_day lake_cells); row "lake" "${cells[@]}"
mapfile -t cells < <(per_day gen_secs); row "synthetic_lake into a directory, NDJSON / Parquet" "${cells[@]}"
mapfile -t cells < <(per_day json_cells); row "(d) bytes, NDJSON" "${cells[@]}"
mapfile -t cells < <(per_day parquet_cells); row "(d) bytes, Parquet (same rows)" "${cells[@]}"
mapfile -t cells < <(per_day ratio_cells); row "(d) Parquet / NDJSON" "${cells[@]}"
mapfile -t cells < <(per_day s3_secs); row "(a) one-day query, s3://…/orders/ on the emulator ($s3_format), first run" "${cells[@]}"
mapfile -t cells < <(per_day dir_json_secs); row "(b) one-day query, directory, NDJSON" "${cells[@]}"
mapfile -t cells < <(per_day dir_parquet_secs); row "(b) one-day query, directory, Parquet" "${cells[@]}"
mapfile -t cells < <(per_day whole_json); row "(f) whole-lake query, directory, NDJSON (time, peak RSS)" "${cells[@]}"
mapfile -t cells < <(per_day whole_parquet); row "(f) whole-lake query, directory, Parquet (time, peak RSS)" "${cells[@]}"
mapfile -t cells < <(only_mid "$report_json"); row "(c) report --data DIR, NDJSON" "${cells[@]}"
mapfile -t cells < <(only_mid "$report_parquet"); row "(c) report --data DIR, Parquet" "${cells[@]}"
mapfile -t cells < <(only_mid "$trace_live_cell"); row "(e) trace ORDER, a live order (S3 lake, $s3_format)" "${cells[@]}"
mapfile -t cells < <(only_mid "$trace_old_cell"); row "(e) trace ORDER, a synthetic order, in no stream" "${cells[@]}"
mapfile -t cells < <(only_mid "$reconcile_cell"); row "(e) reconcile --since 1h" "${cells[@]}"
echo
echo "SQL: \`$sql\`; answers (count, sum) per lake:"
for d in "${days_list[@]}"; do echo "- $d day$([ "$d" = 1 ] || echo s): ${answers[$d]}"; done
first="${days_list[0]}"
last="${days_list[${#days_list[@]} - 1]}"
awk -v a="${s3_secs[$first]%% *}" -v b="${s3_secs[$last]%% *}" -v f="$first" -v l="$last" 'BEGIN {
  if (a + 0 > 0 && b + 0 > 0) printf "S3 one-day query, %s-day / %s-day lake: %.2fx (target: at most 1.5x)\n", l, f, b / a
}'
if [ -n "$stack_note" ]; then echo "Note: $stack_note"; fi
echo "Emulator memory (RSS) with the S3 lakes loaded: ${moto_rss:-unknown}."
echo "Directory lakes kept in $lakes (remove it to rebuild)."
