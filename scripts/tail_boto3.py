#!/usr/bin/env python3
"""The boto3 side of scripts/bench-tail.sh.

  load ENDPOINT STREAM N   create a two-shard stream and put N Pipe-format changes into it
                           (put_records, partition key = order id), built from tests/fixtures
  consume ENDPOINT STREAM  a straightforward boto3 consumer: every shard from TRIM_HORIZON, a
                           get_records loop, TypeDeserializer on Keys/NewImage/OldImage, one
                           JSON line per change with the same fields as `salesctl tail-cdc`
"""
import base64
import datetime
import json
import pathlib
import re
import sys

import boto3
from boto3.dynamodb.types import TypeDeserializer

ROOT = pathlib.Path(__file__).resolve().parent.parent


def client(endpoint):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def load(endpoint, stream, count):
    kinesis = client(endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    fixtures = ROOT / "tests" / "fixtures"
    templates = [
        json.dumps(json.loads((fixtures / name).read_text()), separators=(",", ":"))
        for name in ("pipe-insert.json", "pipe-modify.json", "pipe-modify.json", "pipe-remove.json")
    ]
    batch = []
    for i in range(count):
        order_id = f"o-{i // 4:012d}"
        data = re.sub(r'"eventID":"[^"]*"', f'"eventID":"ev-{i:026d}"', templates[i % 4])
        data = data.replace("o-000000000042", order_id)
        batch.append({"Data": data.encode(), "PartitionKey": order_id})
        if len(batch) == 500 or i == count - 1:
            out = kinesis.put_records(StreamName=stream, Records=batch)
            if out.get("FailedRecordCount"):
                sys.exit(f"put_records failed for {out['FailedRecordCount']} records")
            batch = []


def consume(endpoint, stream):
    kinesis = client(endpoint)
    deserializer = TypeDeserializer()

    def plain(image):
        if image is None:
            return None
        return {name: deserializer.deserialize(value) for name, value in image.items()}

    out = sys.stdout
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            for record in page["Records"]:
                change = json.loads(record["Data"])
                ddb = change["dynamodb"]
                created = datetime.datetime.fromtimestamp(ddb["ApproximateCreationDateTime"], datetime.timezone.utc)
                line = {
                    "cdc_event_type": change["eventName"],
                    "cdc_event_id": change["eventID"],
                    "creation_datetime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "keys": plain(ddb.get("Keys")),
                    "new_image": plain(ddb.get("NewImage")),
                    "old_image": plain(ddb.get("OldImage")),
                    "shard_id": shard["ShardId"],
                    "sequence_number": record["SequenceNumber"],
                }
                # Decimals as strings: json cannot write Decimal, and float would lose digits.
                out.write(json.dumps(line, default=str) + "\n")
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    out.flush()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "consume":
        consume(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
