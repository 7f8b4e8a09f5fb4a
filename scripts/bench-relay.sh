#!/usr/bin/env bash
# Re-runnable figures for the local pipeline (issue 7), each on a fresh emulator:
#   1. write-to-queryable latency, p50/p99 over 1,000 orders at 50 orders/s, 1 s buffer;
#   2. relay --drain throughput on 20,000 changes, records per second.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
port="${BENCH_PORT:-4597}"
bench_build release
work="$(mktemp -d)"
fresh() {
  scripts/local-aws stop --port "$port" >/dev/null 2>&1 || true
  bench_emulator "$port"
  rm -f "$work/relay.json"
  "$bin" --local up --output json >/dev/null
}
trap bench_exit EXIT

echo "== 1. latency: 1,000 orders at 50/s, relay with a 1 s buffer"
fresh
"$bin" --local relay --state-dir "$work/relay-state" --buffer-interval 1s --poll 50ms --output json >"$work/relay.out" 2>&1 &
relay_pid=$!
# A watcher lists the lake every 50 ms; a row counts as queryable when its object is listed.
$py - "$SALESCTL_LOCAL_ENDPOINT" >"$work/latency.txt" <<'PY' &
import json, sys, time, boto3, datetime as dt
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
bucket = [b["Name"] for b in s3.list_buckets()["Buckets"] if "-lake-" in b["Name"]][0]
seen, lat, deadline = set(), [], time.time() + 90
while len(lat) < 1000 and time.time() < deadline:
    now = dt.datetime.now(dt.timezone.utc)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="orders/"):
        for obj in page.get("Contents", []):
            if obj["Key"] in seen:
                continue
            seen.add(obj["Key"])
            for line in s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().splitlines():
                created = dt.datetime.fromisoformat(json.loads(line)["created_at"].replace("Z", "+00:00"))
                lat.append((now - created).total_seconds())
    time.sleep(0.05)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"rows {len(lat)}: write-to-queryable latency p50 {pick(0.50):.3f}s  p99 {pick(0.99):.3f}s  max {lat[-1]:.3f}s")
PY
watcher_pid=$!
"$bin" --local generate --rate 50 --count 1000 --update-ratio 0 --delete-ratio 0 --output json >/dev/null 2>"$work/gen.err"
wait "$watcher_pid" || true
kill -INT "$relay_pid"; wait "$relay_pid" || true
cat "$work/latency.txt"

echo "== 2. throughput: relay --drain over 20,000 changes"
fresh
"$bin" --local generate --interval 0s --count 20000 --update-ratio 0 --delete-ratio 0 --output json >/dev/null 2>/dev/null
"$bin" --local relay --drain --state-dir "$work/relay-state" --output json

echo "== 3. the emulator's floor: reading the same 20,000 changes from the table's stream with boto3 alone"
$py - "$SALESCTL_LOCAL_ENDPOINT" <<'PY'
import sys, time, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
ddb, streams = boto3.client("dynamodb", **kw), boto3.client("dynamodbstreams", **kw)
arn = [t for t in [ddb.describe_table(TableName=n)["Table"] for n in ddb.list_tables()["TableNames"]] if t.get("LatestStreamArn")][0]["LatestStreamArn"]
started, n = time.time(), 0
for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while it:
        page = streams.get_records(ShardIterator=it, Limit=1000)
        n += len(page["Records"])
        it = page.get("NextShardIterator") if page["Records"] else None
took = time.time() - started
print(f"boto3 GetRecords alone: {n} records in {took:.2f}s = {n / took:.0f} records/s (the relay cannot beat this)")
PY
