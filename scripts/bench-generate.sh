#!/usr/bin/env bash
# Re-runnable figures for `salesctl generate` (issue 2), side by side on one fresh emulator:
#   1. 2,000 orders unpaced vs the tutorial's one-put_item-per-call loop (target: >= 5x);
#   2. --rate 50 for 20 s (target: 1,000 orders within 2%).
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_emulator "${BENCH_PORT:-4598}"
bench_build release

make_table() { # name key
  $py - "$endpoint" "$1" "$2" <<'PY'
import sys, boto3
endpoint, name, key = sys.argv[1:]
c = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
c.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
    KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
PY
}

echo "== 1. 2,000 orders, unpaced"
make_table tutorial orderid
make_table salesctl-orders order_id
tutorial=$($py scripts/tutorial_generator.py "$endpoint" tutorial 2000)
echo "$tutorial"
summary=$("$bin" --local generate --interval 0s --count 2000 --output json 2>&1 >/dev/null | tail -n 1)
echo "salesctl generate (orders schema, default update/delete ratios): $summary"
summary_t=$("$bin" --local generate --table tutorial --schema tutorial --interval 0s --count 2000 --update-ratio 0 --delete-ratio 0 --output json 2>&1 >/dev/null | tail -n 1)
echo "salesctl generate (tutorial schema, inserts only): $summary_t"
$py - "$tutorial" "$summary" "$summary_t" <<'PY'
import json, re, sys
base = float(re.search(r"= (\d+) orders/s", sys.argv[1]).group(1))
for label, line in (("orders schema", sys.argv[2]), ("tutorial schema", sys.argv[3])):
    rate = json.loads(line)["orders_per_second"]
    print(f"speed-up ({label}): {rate / base:.1f}x  ({rate:.0f} vs {base:.0f} orders/s)")
PY

echo "== 2. --rate 50 for 20 s"
set +e
timeout --preserve-status -s INT 20 "$bin" --local generate --rate 50 --output json 2>/tmp/bench-rate.err >/dev/null
code=$?
set -e
line=$(grep '^{' /tmp/bench-rate.err | tail -n 1)
echo "exit $code (130 = stopped by Ctrl-C): $line"
$py - "$line" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
n = s["inserted"]
print(f"inserted {n} in 20 s: {100 * (n - 1000) / 1000:+.2f}% from 1,000")
PY
