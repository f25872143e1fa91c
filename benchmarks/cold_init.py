"""Cold init: how long a fresh interpreter takes to import each function's handler module.

For every function in template.yaml, the handler is imported in several fresh interpreters with the
environment the template gives it (so module-level clients and settings are really created), and
the median is printed next to the floor every Python Lambda that talks to AWS pays:
`import boto3; boto3.client("dynamodb")`, measured in the same run. Target: ≤ 1.3× the floor.

Usage: .venv/bin/python benchmarks/cold_init.py [--runs 7] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from devstack.template import Template

REPO = Path(__file__).resolve().parents[1]

TARGET = 1.3
FLOOR = 'import boto3; boto3.client("dynamodb")'
TIMER = "import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
BASE_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "PATH": os.environ.get("PATH", ""),
}


def time_import(code: str, env: dict[str, str], pythonpath: list[Path], runs: int) -> float:
    """Median seconds over `runs` fresh interpreters (one discarded warm-up writes .pyc files)."""
    full_env = {**BASE_ENV, **env, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    samples = []
    for _ in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(code=code)],
            env=full_env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples[1:])


def functions(template: Template) -> dict[str, tuple[str, Path, dict[str, str]]]:
    found = {}
    for name in template.of_type("AWS::Serverless::Function"):
        props = template.properties(name)
        env = {k: str(v) for k, v in (props.get("Environment", {}).get("Variables") or {}).items()}
        env["AWS_LAMBDA_FUNCTION_NAME"] = name
        module = str(props["Handler"]).rpartition(".")[0]
        found[name] = (module, template.resolve_path(str(props["CodeUri"])), env)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs per row")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    layer = REPO / "layers" / "shared"

    floor = time_import(FLOOR, {}, [layer], runs)
    rows = [("floor: boto3 + dynamodb client", floor)]
    for name, (module, folder, env) in sorted(functions(Template(REPO / "template.yaml")).items()):
        rows.append((name, time_import(f"import {module}", env, [folder, layer], runs)))

    print(f"\nCold init, median of {runs} fresh interpreters (Python {sys.version.split()[0]})\n")
    print("| function | import ms | ratio to floor | target ≤ 1.3× |")
    print("| --- | ---: | ---: | --- |")
    worst = 0.0
    for name, seconds in rows:
        ratio = seconds / floor
        worst = max(worst, ratio) if name != rows[0][0] else worst
        verdict = "" if name == rows[0][0] else ("ok" if ratio <= TARGET else "over")
        print(f"| {name} | {seconds * 1000:.0f} | {ratio:.2f}× | {verdict} |")
    print(f"\nworst function ratio: {worst:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
