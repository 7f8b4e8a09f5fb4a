#!/usr/bin/env bash
# Re-runnable figure for the Firehose transform (issue 3): the same 6 MB event (about 5,600
# tutorial-sized records, generated deterministically by crates/salesctl-core/benches/transform.rs) through
# salesctl's transform (criterion, one core) and the tutorial's Python Lambda, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
event="$(mktemp -t salesctl-bench-event.XXXXXX.json)"
trap 'rm -f "$event"' EXIT

# The transform is in the pure core crate: benching it alone spares a release build of the
# AWS SDK and changes nothing in the code measured.
SALESCTL_BENCH_EVENT_OUT="$event" cargo bench --quiet --package salesctl-core --bench transform
cargo bench --package salesctl-core --bench transform -- 'transform/firehose_event_[0-9]+_records$'
estimates="$(ls -d "$target"/criterion/transform/firehose_event_*_records/new/estimates.json | grep -v partition_keys | head -1)"
python3 scripts/tutorial_transform.py "$event" --rust-estimates "$estimates"
