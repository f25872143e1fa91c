"""Whitelist push: building the rfid-post body against a raw read of the same keys.

For 1k, 10k and 100k whitelisted keys in ChargingKeysTable (moto in-process, table built from
template.yaml, loaded with batch_write_item) this measures, in the same run:

- raw read: the push's own query, paginated (Whitelist index, `whitelist = ENABLED AND validTo >=
  now`, Limit = page size), items touched and dropped;
- build: the same read through KeyStore.iter_whitelist_pages plus normalise, skip invalid,
  de-duplicate, sort, serialise and hash (backbone.whitelist.build);
- send: the built list through the shared OioiClient.post_rfids to a local HTTP stub.

Wall times are the best of `--repeat` runs, raw read and build alternating; peak memory is a
separate tracemalloc pass (tracing slows everything down, so it never shares a run with timing).
Targets: build <= 1.3x the raw read, build peak <= 3x the payload bytes, linear growth (build
overhead per key flat across sizes).

moto is not DynamoDB's speed model: its GSI query re-sorts the whole partition with Python-level
comparisons on every page (17 s per 1000-key page at 100k keys), and its response serialiser
walks the botocore model per attribute (about 2 ms per item). DynamoDB serves a page in time
proportional to the page, and its serialisation costs the client nothing. So after loading, the
table is frozen: index pages come from a snapshot sorted once with moto's own key order, and
Query responses are written as the JSON they are on the wire. Request parsing, key conditions,
projection, botocore's parsing and boto3's deserialisation are unchanged. The first size checks
that these pages equal moto's own, page by page. And the emulated table lives in this process's
heap, where every garbage collection would walk it (a Lambda's heap never holds the table), so
it is frozen out of the collector (gc.freeze) once loaded.

Usage: .venv/bin/python benchmarks/whitelist_push.py [--quick] [--sizes 1000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import gc
import json
import os
import random
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "shared")]
for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(name, value)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from boto3.dynamodb.conditions import Key  # noqa: E402
from cfnlint.decode.cfn_yaml import load  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.dynamodb.comparisons import OpDefault  # noqa: E402
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table  # noqa: E402
from moto.dynamodb.responses import DynamoResult  # noqa: E402

from backbone.keys.aws import KeyStore  # noqa: E402
from backbone.partners.oioi_client import OioiClient  # noqa: E402
from backbone.timeutil import FAR_FUTURE, to_storage  # noqa: E402
from backbone.whitelist.build import build_whitelist  # noqa: E402

TIME_TARGET = 1.3
MEMORY_TARGET = 3.0
PARTNER = "partner-identifier-benchmark"
TABLE = "ChargingKeysTable"


# --- setup ---------------------------------------------------------------------------------------


def create_table(session: boto3.Session) -> Any:
    """ChargingKeysTable exactly as template.yaml declares it (keys, GSIs, projections)."""
    props = json.loads(json.dumps(load(str(REPO / "template.yaml"))["Resources"][TABLE]["Properties"]))
    wanted = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    session.client("dynamodb").create_table(TableName=TABLE, **{k: props[k] for k in wanted})
    return session.resource("dynamodb").Table(TABLE)


def load_keys(session: boto3.Session, count: int, seed: int) -> float:
    """`count` whitelisted keys (mostly 7-byte UIDs, some 4-byte, ~0.1% stored non-normalised);
    seconds taken. batch_write_item, 25 items per call."""
    rng = random.Random(seed)
    client = session.client("dynamodb")
    far = to_storage(FAR_FUTURE)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for number in range(count):
        uid = f"{rng.getrandbits(56):014X}" if rng.random() < 0.8 else f"{rng.getrandbits(32):08X}"
        if number % 1000 == 999:
            uid = uid.lower()  # a legacy spelling the push must normalise
        item = {
            "uid": {"S": uid},
            "keyIdentifier": {"S": uid.lower()},
            "visualNumber": {"S": f"DE-8PS-{number:09d}"},
            "state": {"S": "ACTIVE"},
            "enabled": {"BOOL": True},
            "whitelist": {"S": "ENABLED"},
            "validTo": {"S": far},
            "validFrom": {"S": "2024-01-01T00:00:00.000Z"},
            "version": {"N": "0"},
        }
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25:
            _write(client, batch)
            batch = []
    if batch:
        _write(client, batch)
    return time.perf_counter() - started


def _write(client: Any, batch: list[dict[str, Any]]) -> None:
    request = {TABLE: batch}
    while request:
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


# --- moto: a frozen index served like DynamoDB serves it -----------------------------------------


class FrozenIndexPages:
    """Serve GSI query pages from a snapshot sorted once, and Query responses as plain JSON
    (see the module docstring). Only forward index queries are served here; anything else is
    moto's own."""

    def __init__(self) -> None:
        self._query = Table.query
        self._result = DynamoResult.execute_result
        self._snapshots: dict[tuple[int, str, str], _Snapshot] = {}

    def __enter__(self) -> None:
        frozen = self

        def query(table: Table, *args: Any, **kwargs: Any) -> Any:
            return frozen.query(table, *args, **kwargs)

        def execute_result(result: DynamoResult, context: Any) -> Any:
            if context.operation_model.name != "Query":
                return frozen._result(result, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(result.result)

        Table.query = query  # type: ignore[method-assign]
        DynamoResult.execute_result = execute_result  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        Table.query = self._query  # type: ignore[method-assign]
        DynamoResult.execute_result = self._result  # type: ignore[method-assign]

    def query(self, table: Table, hash_key: Any, range_comparison: Any, range_objs: Any, limit: Any,
              exclusive_start_key: Any, scan_index_forward: bool, projection_expressions: Any,
              index_name: str | None = None, consistent_read: bool = False, filter_expression: Any = None,
              **filter_kwargs: Any) -> Any:  # fmt: skip
        filtered = filter_expression is not None and not isinstance(filter_expression, OpDefault)
        if index_name is None or not scan_index_forward or filtered or projection_expressions:
            return self._query(table, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                               scan_index_forward, projection_expressions, index_name, consistent_read,
                               filter_expression, **filter_kwargs)  # fmt: skip
        snapshot = self._snapshot(table, index_name, hash_key)
        start = 0
        if exclusive_start_key:
            position = (
                exclusive_start_key[snapshot.range_attr]["S"],
                exclusive_start_key[table.hash_key_attr]["S"],
            )
            start = bisect.bisect_right(snapshot.order, position)
        results: list[Any] = []
        size = 0
        last_key = None
        for number in range(start, len(snapshot.items)):
            if len(results) == limit or size + snapshot.sizes[number] > RESULT_SIZE_LIMIT:
                last_key = table._get_last_evaluated_key(snapshot.items[number - 1], index_name)
                break
            range_value = snapshot.items[number].attrs[snapshot.range_attr]
            if range_comparison and not range_value.compare(range_comparison, range_objs):
                continue
            results.append(snapshot.projected[number])
            size += snapshot.sizes[number]
        return results, len(results), last_key

    def _snapshot(self, table: Table, index_name: str, hash_key: Any) -> _Snapshot:
        """The partition in moto's index order, projected and sized once."""
        cache_key = (id(table), index_name, str(hash_key.value))
        if cache_key not in self._snapshots:
            index = table.get_index(index_name)
            hash_attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
            range_attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE")
            items = [
                item
                for item in table.all_items()
                if item.attrs.get(hash_attr) == hash_key and item.attrs.get(range_attr) is not None
            ]
            items = table.sorted_items([hash_attr, table.hash_key_attr], [range_attr, None], items)
            self._snapshots[cache_key] = _Snapshot(
                range_attr=range_attr,
                items=items,
                order=[(item.attrs[range_attr].value, item.hash_key.value) for item in items],
                sizes=[item.size() for item in items],
                projected=[SimpleNamespace(attrs=dict(index.project(item).attrs)) for item in items],
            )
        return self._snapshots[cache_key]


@dataclass
class _Snapshot:
    range_attr: str
    items: list[Any]
    order: list[tuple[str, str]]
    sizes: list[int]
    projected: list[Any]
    """Only `.attrs` of a projected item is read when moto writes the response."""


# --- what is measured ----------------------------------------------------------------------------


def raw_read(table: Any, now: datetime, page_size: int) -> int:
    """The push's query, paginated; items touched, nothing kept."""
    moment = to_storage(now)
    arguments: dict[str, Any] = {
        "IndexName": "Whitelist",
        "KeyConditionExpression": Key("whitelist").eq("ENABLED") & Key("validTo").gte(moment),
        "Limit": page_size,
    }
    count = 0
    while True:
        page = table.query(**arguments)
        for item in page.get("Items", []):
            count += len(item["uid"]) > 0
        if "LastEvaluatedKey" not in page:
            return count
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def build(table: Any, now: datetime, page_size: int) -> Any:
    return build_whitelist(KeyStore(table).iter_whitelist_pages(now, page_size), PARTNER)


def check_snapshot(table: Any, now: datetime, page_size: int) -> None:
    """The frozen pages equal moto's own, page by page (same items, same LastEvaluatedKey)."""

    def pages() -> list[tuple[list[str], Any]]:
        found, arguments = [], {}
        while True:
            page = table.query(
                IndexName="Whitelist",
                KeyConditionExpression=Key("whitelist").eq("ENABLED") & Key("validTo").gte(to_storage(now)),
                Limit=page_size,
                **arguments,
            )
            found.append(([item["uid"] for item in page["Items"]], page.get("LastEvaluatedKey")))
            if "LastEvaluatedKey" not in page:
                return found
            arguments = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    moto_pages = pages()
    with FrozenIndexPages():
        frozen = pages()
    if frozen != moto_pages:
        raise SystemExit("the frozen index snapshot does not answer like moto: benchmark invalid")


class _Stub(BaseHTTPRequestHandler):
    """OIOI endpoint stub: answers rfid-post with the number of UIDs received."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = json.dumps({"rfid": {"processed": len(body["rfid-post"]["rfids"])}, "result": {"code": 0}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def stub_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v4/request"
    finally:
        server.shutdown()
        server.server_close()


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    return min(timed(run)[0] for _ in range(repeat))


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one run. CPU time is what other processes
    on a shared machine cannot inflate."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def peak_bytes(run: Callable[[], Any]) -> int:
    """tracemalloc peak of `run`, above what was allocated before it started."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- report --------------------------------------------------------------------------------------


def measure(count: int, page_size: int, repeat: int, verify: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        table = create_table(session)
        setup = load_keys(session, count, seed=count)
        if verify:
            check_snapshot(table, now, page_size)
        with FrozenIndexPages(), stub_endpoint() as endpoint:
            raw_read(table, now, page_size)  # builds the snapshot, warms both paths
            built = build(table, now, page_size)
            gc.collect()
            gc.freeze()  # the emulated table is not in a Lambda's heap: keep it out of GC passes
            raw_s = build_s = raw_cpu = build_cpu = float("inf")
            # Alternate, so drift hits both alike; small sizes get more runs (noise is larger there).
            for _ in range(max(repeat, 20_000 // count)):
                wall, cpu = timed(lambda: raw_read(table, now, page_size))
                raw_s, raw_cpu = min(raw_s, wall), min(raw_cpu, cpu)
                wall, cpu = timed(lambda: build(table, now, page_size))
                build_s, build_cpu = min(build_s, wall), min(build_cpu, cpu)
            pages = list(KeyStore(table).iter_whitelist_pages(now, page_size))
            own_s = best_of(repeat, lambda: build_whitelist(pages, PARTNER))
            client = OioiClient(endpoint, "bench-key", read_timeout=120)
            send_s = best_of(repeat, lambda: client.post_rfids(built.uids(), PARTNER))
            raw_peak = peak_bytes(lambda: raw_read(table, now, page_size))
            build_peak = peak_bytes(lambda: build(table, now, page_size))
            send_peak = peak_bytes(lambda: client.post_rfids(built.uids(), PARTNER))
            client.close()
            gc.unfreeze()
    payload = len(built.payload)
    return {
        "keys": count,
        "uids": built.count,
        "setup_s": setup,
        "raw_s": raw_s,
        "build_s": build_s,
        "ratio": build_s / raw_s,
        "cpu_ratio": build_cpu / raw_cpu,
        "own_us": own_s / count * 1e6,
        "overhead_us": (build_s - raw_s) / count * 1e6,
        "payload": payload,
        "raw_peak": raw_peak,
        "build_peak": build_peak,
        "memory_ratio": build_peak / payload,
        "added_ratio": max(0, build_peak - raw_peak) / payload,
        "send_s": send_s,
        "send_peak": send_peak,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| keys | setup (load) | raw read | build | build / raw | build / raw (CPU) | our work per key "
        "| payload | "
        "raw read peak | build peak | build peak / payload | (build - raw) peak / payload | "
        "send to stub | send peak |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['keys']:,} | {r['setup_s']:.1f} s | {r['raw_s'] * 1000:.0f} ms "
            f"| {r['build_s'] * 1000:.0f} ms "
            f"| {r['ratio']:.2f}x {_mark(r['ratio'] <= TIME_TARGET)} "
            f"| {r['cpu_ratio']:.2f}x {_mark(r['cpu_ratio'] <= TIME_TARGET)} | {r['own_us']:.1f} µs "
            f"| {_kb(r['payload'])} | {_kb(r['raw_peak'])} | {_kb(r['build_peak'])} "
            f"| {r['memory_ratio']:.2f}x {_mark(r['memory_ratio'] <= MEMORY_TARGET)} "
            f"| {r['added_ratio']:.2f}x "
            f"| {r['send_s'] * 1000:.0f} ms | {_kb(r['send_peak'])} |"
        )
    return "\n".join(lines)


def _kb(value: int) -> str:
    return f"{value / 1024:,.0f} KiB"


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k keys only")
    parser.add_argument("--sizes", help="comma-separated key counts (default 1000,10000,100000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per phase, at least (best counts)")
    parser.add_argument(
        "--page-size", type=int, default=1000, help="Limit per query (the function's default)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else "1000,10000,100000")).split(",")]
    rows = []
    for number, count in enumerate(sizes):
        print(f"measuring {count:,} keys...", file=sys.stderr, flush=True)
        rows.append(measure(count, args.page_size, args.repeat, verify=number == 0))
        print(f"  setup (batch_write_item into moto) took {rows[-1]['setup_s']:.1f} s", file=sys.stderr)
    print(f"\nWhitelist push build vs raw paginated read (page size {args.page_size}, moto in-process)\n")
    print(table(rows))
    per_key = [row["own_us"] for row in rows]
    print(
        f"\nTargets: build <= {TIME_TARGET}x raw read; build peak <= {MEMORY_TARGET}x payload; "
        f"linear: our work (normalise, dedupe, sort, serialise, hash over fetched pages) per key "
        f"{' / '.join(f'{value:.1f}' for value in per_key)} µs ({max(per_key) / min(per_key):.2f}x spread)."
    )
    print(
        "Peaks include moto's own allocations for the pages it serves (same in both columns) and one "
        "page of parsed items; the send goes through OioiClient.post_rfids, which takes a list of str."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
