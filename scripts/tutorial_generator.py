"""The widely copied tutorial's order generator, with its sleep removed: one put_item per call.

Kept only as the baseline for scripts/bench-generate.sh. Usage: tutorial_generator.py ENDPOINT TABLE COUNT
"""
import random
import sys
import time
import uuid
from decimal import Decimal

import boto3


def generate_order_data():
    return {
        "orderid": str(uuid.uuid4()),
        "product_name": random.choice(["Laptop", "Phone", "Tablet", "Headphones", "Charger"]),
        "quantity": random.randint(1, 5),
        "price": Decimal(str(round(random.uniform(10.0, 500.0), 2))),
    }


def main() -> None:
    endpoint, table_name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    table = dynamodb.Table(table_name)
    started = time.perf_counter()
    for _ in range(count):
        table.put_item(Item=generate_order_data())
    elapsed = time.perf_counter() - started
    print(f"tutorial put_item loop: {count} orders in {elapsed:.2f}s = {count / elapsed:.0f} orders/s")


if __name__ == "__main__":
    main()
