#!/usr/bin/env bash
# What the bench-*.sh scripts that run salesctl share, sourced first thing by each: the
# repository as working directory, a salesctl build, and a fresh emulator stopped on exit.
#
#   bench_build debug|release   builds salesctl; $bin is the binary
#   bench_emulator PORT         starts the emulator on PORT ($endpoint), which salesctl --local
#                               uses; stopped when the script exits, as $work (if set) is removed
#   bench_stack                 a fresh relay state directory, then `salesctl up` on the emulator
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "bench-lib.sh is sourced by the bench scripts, not run" >&2
  exit 2
fi
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=.local/venv/bin/python

bench_build() {
  local profile="$1"
  if [ "$profile" = release ]; then
    cargo build --release --quiet --bin salesctl
  else
    cargo build --quiet --bin salesctl
  fi
  bin="${CARGO_TARGET_DIR:-target}/$profile/salesctl"
}

bench_emulator() {
  port="$1"
  endpoint="http://127.0.0.1:$port"
  export SALESCTL_LOCAL_ENDPOINT="$endpoint"
  scripts/local-aws start --port "$port" >/dev/null
  trap bench_exit EXIT
}

bench_exit() {
  scripts/local-aws stop --port "$port" >/dev/null
  if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}

bench_stack() {
  SALESCTL_STATE_DIR="$(mktemp -d)"
  export SALESCTL_STATE_DIR
  "$bin" --local up -o json >/dev/null 2>&1
}
