#!/usr/bin/env python3
"""The tutorial's Firehose transformation Lambda, re-implemented to time it beside salesctl's.

It does what the widely copied tutorial does, and less than salesctl: base64-decode each
record, json.loads it, read four NewImage fields (orderid, product_name, quantity and price,
the price through float()), json.dumps the row + "\\n", base64-encode it. Anything that raises
(every REMOVE: it has no NewImage) is answered ProcessingFailed. The Lambda runtime's own
json.loads of the event and json.dumps of the response are timed too, as the Rust figure
includes them.

Usage: tutorial_transform.py EVENT.json [--repeat N] [--rust-estimates criterion/.../estimates.json]
"""
import argparse
import base64
import json
import statistics
import time


def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        try:
            payload = json.loads(base64.b64decode(record["data"]))
            new_image = payload["dynamodb"]["NewImage"]
            row = {
                "orderid": new_image["orderid"]["S"],
                "product_name": new_image["product_name"]["S"],
                "quantity": int(new_image["quantity"]["N"]),
                "price": float(new_image["price"]["N"]),
            }
            data = base64.b64encode((json.dumps(row) + "\n").encode("utf-8")).decode("utf-8")
            output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
        except Exception:
            output.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
    return {"records": output}


def invoke(event_bytes):
    """What one Lambda invocation costs: parse the event, run the handler, serialize."""
    return json.dumps(lambda_handler(json.loads(event_bytes), None)).encode("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--rust-estimates", help="criterion estimates.json of the Rust run, to print the ratio")
    args = parser.parse_args()

    with open(args.event, "rb") as f:
        event_bytes = f.read()
    response = json.loads(invoke(event_bytes))
    results = [r["result"] for r in response["records"]]
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        invoke(event_bytes)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    mb = len(event_bytes) / 1e6
    python_mbps = mb / median
    print(f"python tutorial Lambda: {len(event_bytes):,} bytes, {len(results):,} records "
          f"({results.count('Ok'):,} Ok, {results.count('ProcessingFailed'):,} ProcessingFailed)")
    print(f"python tutorial Lambda: median {median * 1e3:.1f} ms of {args.repeat} runs = {python_mbps:.1f} MB/s")
    if args.rust_estimates:
        with open(args.rust_estimates) as f:
            rust_seconds = json.load(f)["median"]["point_estimate"] / 1e9
        rust_mbps = mb / rust_seconds
        print(f"salesctl transform:      median {rust_seconds * 1e3:.1f} ms = {rust_mbps:.1f} MB/s")
        print(f"ratio: {rust_mbps / python_mbps:.1f}x")


if __name__ == "__main__":
    main()
