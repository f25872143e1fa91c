"""`python -m bbctl <group> <command>`: discovers the command groups `bbctl/cmd_<group>.py`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bbctl", description="Plugsurfing backbone operator CLI")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    package = Path(__file__).resolve().parent
    for module in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if module.name.startswith("cmd_"):
            importlib.import_module(f"bbctl.{module.name}").register(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
