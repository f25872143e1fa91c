"""Poison CDRs: what a hostile or broken session-post costs ingestion, against a normal one.

Each case is a session-post the receiver answers 0 for (the intake contract), delivered to
CdrIngestFunction's real handler alone in its SQS batch, on moto in-process. For each: the
median CPU time per delivery and the peak Python allocation (tracemalloc) during it, both beside
the normal CDR measured in the same run. Target: every poison <= 2x the time and <= +10 MB.

Cases: 400 numbers `1e999999` in an extra member (the canonical form used to expand each to a
million digits: ~800 MB, 8 s), ~60 KiB of 38-digit numbers, a body nested to the 32-level bound,
a 50,000-character user identifier, and every field sloppy at once (flagged for review).

Usage: .venv/bin/python benchmarks/cdr_poison.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # flagged CDRs log a warning each

from cdr_ingest import Bench, Context, sqs_events  # the same harness as the throughput benchmark
from moto import mock_aws

from backbone.cdr.envelope import CdrEnvelope

TIME_TARGET = 2.0
MEMORY_TARGET_MB = 10.0
RECEIVED = datetime(2026, 3, 1, 17, 5, tzinfo=UTC)


def session_post(
    session_id: str, *, extra: str = "", uid: str = "04523022AA4881", sloppy: bool = False
) -> str:
    energy, cost, currency, evse = (
        ('"16.5"', '"14.32"', "eur", "DE8PS*E1") if sloppy else ("16.5", "14.32", "EUR", "DE*8PS*E1")
    )
    stop = "yesterday" if sloppy else "2026-03-01T17:00:00+01:00"
    return (
        f'{{"user": {{"identifier": "{uid}", "identifier-type": "rfid"}}, "session-id": "{session_id}", '
        f'"connector-id": "{evse}", "session-interval": {{"start": "2026-03-01T11:00:00+01:00", '
        f'"stop": "{stop}"}}, "energy-consumed": {energy}, '
        f'"calculated-cost": {{"amount": {cost}, "currency": "{currency}"}}, '
        f'"partner-identifier": "bench-partner-identifier-00"{extra}}}'
    )


NORMAL, NORMAL_LARGE = "normal CDR", "normal CDR with ~60 KiB of text in an extra member"
CASES: dict[str, Callable[[str], str]] = {
    NORMAL: session_post,
    NORMAL_LARGE: lambda sid: session_post(sid, extra=', "x": "' + "abcdefghij" * 6000 + '"'),
    "400 x 1e999999 in an extra member": lambda sid: session_post(
        sid, extra=', "x": [' + ", ".join(["1e999999"] * 400) + "]"
    ),
    "~60 KiB of 38-digit numbers": lambda sid: session_post(
        sid, extra=', "x": [' + ", ".join(["1234567890123456789012345678901234567.8"] * 1400) + "]"
    ),
    "nested 31 levels (the bound is 32)": lambda sid: session_post(
        sid, extra=', "x": ' + "[" * 30 + "]" * 30
    ),
    "50,000-character user identifier": lambda sid: session_post(sid, uid="A" * 50_000),
    "every field sloppy (flagged)": lambda sid: session_post(sid, sloppy=True),
}


def measure(bench: Bench, build: Callable[[str], str], name: str, rounds: int) -> tuple[float, float]:
    """Median CPU ms per delivery and peak MB allocated during one delivery."""
    times, peaks = [], []
    for round_ in range(rounds):
        envelope = CdrEnvelope(
            source="oioi", partner_id="cpo-00", received_at=RECEIVED, raw=build(f"{name[:6]}-{round_}")
        )
        [event] = sqs_events([envelope], 1)
        tracemalloc.start()
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            failures = bench.handler(event, Context())["batchItemFailures"]
        times.append(time.process_time() - started)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
        if failures:
            raise SystemExit(f"{name}: the handler reported a failure")
    return 1000 * statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds per case instead of 21")
    rounds = 5 if parser.parse_args().quick else 21
    with mock_aws():
        bench = Bench()
        bench.use_table(bench.table("poison"))
        measure(bench, CASES[NORMAL], "warm-up", 3)
        results = {name: measure(bench, build, name, rounds) for name, build in CASES.items()}
        stored = len(bench.snapshot("poison"))
    baselines = {NORMAL: results[NORMAL], NORMAL_LARGE: results[NORMAL_LARGE]}
    print(
        f"\nPoison CDRs through CdrIngestFunction, moto in-process (Python {sys.version.split()[0]}), ",
        end="",
    )
    print(f"median of {rounds} deliveries each\n")
    print(
        "| case | CPU ms | peak MB | baseline (same size) | time vs baseline | memory vs baseline | target |"
    )
    print("|---|---:|---:|---|---:|---:|---|")
    missed = 0
    for name, (ms, mb) in results.items():
        base = NORMAL_LARGE if "KiB" in name else NORMAL
        base_ms, base_mb = baselines[base]
        met = ms / base_ms <= TIME_TARGET and mb - base_mb <= MEMORY_TARGET_MB
        missed += not met
        target = "baseline" if name in baselines else ("met" if met else "MISSED")
        shown = "-" if name in baselines else base
        print(
            f"| {name} | {ms:.2f} | {mb:.2f} | {shown} | {ms / base_ms:.2f}x | {mb - base_mb:+.2f} MB ",
            end="",
        )
        print(f"| {target} |")
    print(f"\n{stored} CDRs stored (every delivery answered 0 at the edge is stored); target: ", end="")
    print(f"<= {TIME_TARGET}x the time, <= +{MEMORY_TARGET_MB:.0f} MB")
    if stored != len(CASES) * rounds + 3:
        raise SystemExit("a poison CDR was not stored")
    if missed:
        print(f"{missed} case(s) missed the target")


if __name__ == "__main__":
    main()
