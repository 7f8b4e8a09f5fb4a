#!/usr/bin/env python3
"""Helpers for scripts/bench-query.sh (issue 5's figure).

  duckdb_query.py generate DIR [--rows N] [--seed S]
      writes N flat rows (DESIGN.md section 2) as NDJSON under DIR/dt=YYYY-MM-DD/hour=HH/,
      one object per hour named like Firehose's (no extension), like the lake holds them.
  duckdb_query.py query DIR SQL
      runs SQL with DuckDB, `orders_cdc` being read_json_auto over DIR's files with hive
      partitioning (dt, hour); prints the rows as CSV and DuckDB's own time on stderr.

`generate` needs only the standard library; `query` needs duckdb (PyPI), which the bench
installs into .local/bench-venv. DuckDB is a comparison point only, never a test dependency.
"""

import argparse
import os
import random
import sys
import time
import uuid

PRODUCTS = [
    ("Laptop", "computers", 79_900, 249_900),
    ("Monitor", "computers", 14_900, 89_900),
    ("Keyboard", "accessories", 1_999, 17_900),
    ("Mouse", "accessories", 999, 9_900),
    ("Headphones", "audio", 2_999, 39_900),
    ("Speaker", "audio", 3_999, 29_900),
    ("Smartphone", "phones", 19_900, 139_900),
    ("Phone Case", "phones", 999, 4_999),
    ("Tablet", "computers", 24_900, 119_900),
    ("Smartwatch", "wearables", 12_900, 79_900),
    ("USB-C Cable", "accessories", 599, 2_999),
    ("Webcam", "accessories", 3_999, 19_900),
]
REGIONS = [("us", "USD"), ("eu", "EUR"), ("uk", "GBP")]
STATUSES = ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]


def cents(value):
    return f"{value // 100}.{value % 100:02d}"


def generate(directory, rows, seed):
    rng = random.Random(seed)
    hours = 48
    per_hour = rows // hours
    extra = rows - per_hour * hours
    sequence = 10**20
    written = 0
    for h in range(hours):
        day = f"2026-11-{19 + h // 24:02d}"
        hour = f"{h % 24:02d}"
        folder = os.path.join(directory, f"dt={day}", f"hour={hour}")
        os.makedirs(folder, exist_ok=True)
        name = f"salesctl-orders-1-{day}-{hour}-00-00-{uuid.UUID(int=rng.getrandbits(128))}"
        count = per_hour + (1 if h < extra else 0)
        lines = []
        for i in range(count):
            sequence += 1
            product, category, low, high = PRODUCTS[rng.randrange(len(PRODUCTS))]
            region, currency = REGIONS[rng.randrange(len(REGIONS))]
            quantity = rng.randint(1, 5)
            price = rng.randint(low, high)
            r = rng.random()
            event = "INSERT" if r < 0.70 else ("MODIFY" if r < 0.92 else "REMOVE")
            second = i * 3600 // max(count, 1)
            stamp = f"{day}T{hour}:{second // 60:02d}:{second % 60:02d}"
            order = f"ord-{rng.randrange(rows):08d}"
            lines.append(
                "{"
                f"\"order_id\":\"{order}\",\"customer_id\":\"cust-{rng.randrange(5000):05d}\","
                f"\"product_name\":\"{product}\",\"category\":\"{category}\",\"quantity\":{quantity},"
                f"\"price\":{cents(price)},\"total\":{cents(price * quantity)},\"currency\":\"{currency}\","
                f"\"region\":\"{region}\",\"status\":\"{STATUSES[rng.randrange(len(STATUSES))]}\","
                f"\"created_at\":\"{stamp}.000Z\",\"updated_at\":\"{stamp}.000Z\","
                f"\"cdc_event_type\":\"{event}\",\"cdc_event_id\":\"{uuid.UUID(int=rng.getrandbits(128))}\","
                f"\"cdc_sequence_number\":\"{sequence}\",\"creation_datetime\":\"{stamp}Z\","
                f"\"is_deleted\":{'true' if event == 'REMOVE' else 'false'}"
                "}\n"
            )
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.writelines(lines)
        written += count
    print(f"wrote {written} rows in {hours} objects under {directory}", file=sys.stderr)


def query(directory, sql):
    import duckdb  # only needed here

    started = time.perf_counter()
    con = duckdb.connect()
    pattern = os.path.join(directory, "*", "*", "*")
    con.execute(
        f"CREATE VIEW orders_cdc AS SELECT * FROM read_json_auto('{pattern}', hive_partitioning = true)"
    )
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    elapsed = time.perf_counter() - started
    print(",".join(names))
    for row in rows:
        print(",".join("" if v is None else str(v) for v in row))
    print(f"duckdb {duckdb.__version__}: {len(rows)} rows in {elapsed:.3f} s (in-process)", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("--rows", type=int, default=400_000)
    g.add_argument("--seed", type=int, default=5)
    q = sub.add_parser("query")
    q.add_argument("dir")
    q.add_argument("sql")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.dir, args.rows, args.seed)
    else:
        query(args.dir, args.sql)


if __name__ == "__main__":
    main()
