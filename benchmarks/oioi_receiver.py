"""rfid-verify on the warm path: the whole receiver handler against one raw DynamoDB GetItem.

A charging station waits on rfid-verify, so the handler (API Gateway event with authorizer
context -> Powertools resolver -> parse, permission check, validation -> one GetItem -> answer,
logging, metrics and partner-health bookkeeping included) should cost little more than the
GetItem it cannot avoid. Both
run in this process against the same moto backend, alternating call by call so machine noise
hits both alike. Target: handler median <= 1.3x the GetItem median.

Cold init of the authorizer and receiver is measured by benchmarks/cold_init.py.

Usage: .venv/bin/python benchmarks/oioi_receiver.py [--iterations 2000] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "shared"), str(REPO / "functions" / "oioi_receiver")]
TARGET = 1.3
UID = "04523022AA4881"

os.environ.update(
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    CHARGING_KEYS_TABLE="ChargingKeysTable",
    STATIONS_TABLE="StationsTable",
    CDR_QUEUE_URL="https://sqs.eu-west-1.amazonaws.com/123456789012/CdrQueue",
    PARTNER_ACTIVITY_TABLE="PartnerActivityTable",  # partner health on, as deployed
    POWERTOOLS_METRICS_NAMESPACE="Bench",
    POWERTOOLS_SERVICE_NAME="oioi-receiver",
    POWERTOOLS_TRACE_DISABLED="true",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
import handler_oioi_receiver  # noqa: E402
from moto import mock_aws  # noqa: E402

from backbone.aws.attributes import to_attributes  # noqa: E402
from backbone.aws.clients import CONFIGS  # noqa: E402
from backbone.keys.models import ChargingKey, KeyState  # noqa: E402


class Context:
    function_name = "oioi-receiver"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:oioi-receiver"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 25_000


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 iterations")
    args = parser.parse_args()
    iterations = 200 if args.quick else args.iterations

    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="ChargingKeysTable",
            AttributeDefinitions=[{"AttributeName": "uid", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "uid", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName="PartnerActivityTable",
            AttributeDefinitions=[{"AttributeName": "partnerId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "partnerId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        key = ChargingKey(
            uid=UID, keyIdentifier="8148aa22305204", visualNumber="V1", enabled=True, state=KeyState.ACTIVE
        )
        dynamodb.put_item(TableName="ChargingKeysTable", Item=to_attributes(key.to_item()))

        event = json.loads((REPO / "events" / "oioi" / "rfid-verify.json").read_text())
        event["body"] = json.dumps({"rfid-verify": {"rfid": UID}})
        raw = boto3.client("dynamodb", config=CONFIGS["api"])  # same client settings as the handler's

        def handler_call() -> None:
            response = handler_oioi_receiver.handler(event, Context())
            assert response["statusCode"] == 200, response

        def get_item() -> None:
            raw.get_item(TableName="ChargingKeysTable", Key={"uid": {"S": UID}})

        handler_times: list[float] = []
        get_times: list[float] = []
        # Logs and EMF metrics go to stdout in Lambda too: keep their cost, not their noise.
        with contextlib.redirect_stdout(io.StringIO()) as sink:
            for _ in range(50):  # warm both paths (clients, caches, imports)
                handler_call()
                get_item()
            for _ in range(iterations):
                handler_times.append(timed(handler_call))
                get_times.append(timed(get_item))
                sink.seek(0)
                sink.truncate()

        noted = dynamodb.scan(TableName="PartnerActivityTable")["Items"]
        assert noted, "partner health noted nothing: the benchmark would not measure it"

    handler_median, get_median = statistics.median(handler_times), statistics.median(get_times)
    ratio = handler_median / get_median
    python = sys.version.split()[0]
    print(f"\nrfid-verify, warm, {len(handler_times)} calls each, moto in-process (Python {python})\n")
    print("| path | median µs | p90 µs | ratio to GetItem | target ≤ 1.3x |")
    print("| --- | ---: | ---: | ---: | --- |")
    baseline = f"{get_median * 1e6:.0f} | {percentile(get_times, 0.9) * 1e6:.0f}"
    print(f"| raw GetItem (baseline) | {baseline} | 1.00x | |")
    verdict = "ok" if ratio <= TARGET else "over"
    print(
        f"| handler: API Gateway event -> answer | {handler_median * 1e6:.0f} | "
        f"{percentile(handler_times, 0.9) * 1e6:.0f} | {ratio:.2f}x | {verdict} |"
    )
    print(f"\nhandler overhead over the GetItem: {(handler_median - get_median) * 1e6:.0f} µs per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
