"""`python -m simulator --port 8080`: serve the Plugsurfing stand-in until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from simulator.core import DEFAULT_API_KEY, DEFAULT_OIOI_KEY
from simulator.server import PlugsurfingSimulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 for containers)")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="expected Drive/EMP x-api-key")
    parser.add_argument("--oioi-key", default=DEFAULT_OIOI_KEY, help="expected OIOI Authorization key=")
    parser.add_argument("--seed", type=int, default=None, help="seed for generated ids")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sim = PlugsurfingSimulator(
        host=args.host, port=args.port, api_key=args.api_key, oioi_key=args.oioi_key, seed=args.seed
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with sim:
        log = logging.getLogger("simulator")
        log.warning("Plugsurfing simulator on %s", sim.base_url)
        log.warning("  DRIVE_API_BASE_URL=%s  OIOI_ENDPOINT_URL=%s", sim.drive_base_url, sim.oioi_url)
        stopping.wait()
    logging.getLogger("simulator").warning("Plugsurfing simulator stopped")


if __name__ == "__main__":
    main()
