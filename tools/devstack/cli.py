"""Command line: `run` the stack in the foreground; `fire`, `invoke`, `resources` talk to a
running one through its admin API."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

DEFAULT_API = os.environ.get("DEVSTACK_API", "http://127.0.0.1:3000")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole stack in the foreground (Ctrl-C stops it)")
    run.add_argument("--template", type=Path, default=Path("template.yaml"))
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--api-port", type=int, default=3000, help="0 picks a free port")
    run.add_argument("--aws-port", type=int, default=5000, help="0 picks a free port")
    run.add_argument("--sim-port", type=int, default=8080, help="0 picks a free port")
    run.add_argument("--wait-speedup", type=float, default=1.0, help="divide Step Functions waits by this")
    run.add_argument("--ready-file", type=Path, help="write the endpoints here as JSON once up")
    run.add_argument("--no-simulator", action="store_true", help="do not start the Plugsurfing simulator")
    run.add_argument("--no-schedules", action="store_true", help="schedules fire only on demand")
    run.add_argument("--stack-name", default="backbone-local")
    run.add_argument("--region", default="eu-west-1")
    run.add_argument("--pool-size", type=int, default=2, help="warm workers per function at most")
    run.add_argument("--powertools-dev", action="store_true", help="POWERTOOLS_DEV=true (pretty logs)")
    run.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter override (repeatable)",
    )
    run.add_argument(
        "--enforce-iam",
        action="store_true",
        help="each function runs under a role made of its template policies; moto denies the rest",
    )
    run.add_argument("--log-level", default="INFO")

    fire = commands.add_parser("fire", help="fire a function's schedule now")
    fire.add_argument("function")
    fire.add_argument("event", nargs="?")
    fire.add_argument("--input", type=Path, help="JSON file used as the event instead")
    fire.add_argument("--api", default=DEFAULT_API)

    invoke = commands.add_parser("invoke", help="invoke a function with an event")
    invoke.add_argument("function")
    invoke.add_argument("--event", type=Path, help="JSON file (default: {})")
    invoke.add_argument("--api", default=DEFAULT_API)

    resources = commands.add_parser("resources", help="logical id -> physical id of everything created")
    resources.add_argument("--api", default=DEFAULT_API)
    return parser


def _run(args: argparse.Namespace) -> int:
    from devstack.stack import LocalStack, Options  # noqa: PLC0415 - moto is heavy; only `run` needs it

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)-18s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    overrides = dict(item.split("=", 1) for item in args.parameter)
    options = Options(
        template=args.template,
        host=args.host,
        api_port=args.api_port,
        aws_port=args.aws_port,
        sim_port=args.sim_port,
        wait_speedup=args.wait_speedup,
        ready_file=args.ready_file,
        simulator=not args.no_simulator,
        schedules=not args.no_schedules,
        stack_name=args.stack_name,
        region=args.region,
        parameter_overrides=overrides,
        pool_size=args.pool_size,
        powertools_dev=args.powertools_dev,
        enforce_iam=args.enforce_iam,
    )
    stop = threading.Event()
    # Explicit handlers: a shell starting us in the background leaves SIGINT ignored otherwise.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stack = LocalStack(options)
    code = 0
    try:
        stack.start()
        print("devstack is up; Ctrl-C stops it", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    except Exception:
        logging.getLogger("devstack").exception("devstack failed")
        code = 1
    finally:
        stack.stop()
    # Everything is stopped and flushed; skip tearing down moto's thousands of modules, which
    # takes seconds and would only delay freeing the terminal (and every e2e teardown).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _call(method: str, url: str, body: Any = None) -> int:
    try:
        response = httpx.request(method, url, json=body, timeout=120)
    except httpx.HTTPError as exc:
        print(f"cannot reach the local stack at {url}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(response.json(), indent=2))
    if response.status_code >= 400:
        return 1
    failed = isinstance(response.json(), dict) and response.json().get("status") in ("error", "timeout")
    return 1 if failed else 0


def _load(path: Path | None) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path else None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    api = args.api.rstrip("/")
    if args.command == "fire":
        path = f"{api}/_local/schedules/{args.function}" + (f"/{args.event}" if args.event else "")
        return _call("POST", path, _load(args.input))
    if args.command == "invoke":
        return _call("POST", f"{api}/_local/invoke/{args.function}", _load(args.event) or {})
    return _call("GET", f"{api}/_local/resources")
