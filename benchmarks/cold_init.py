"""Cold init: how long a fresh interpreter takes to import each function's handler module.

For every function in template.yaml, the handler is imported in fresh interpreters with the
environment the template and the Lambda runtime give it (so module-level clients and settings are
really created, and libraries take their in-Lambda paths), and compared with the floor every
Python Lambda that talks to AWS pays: `import boto3; boto3.client("dynamodb")`, timed in the same
rounds. Target: ≤ 1.3× the floor.

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
FLOOR_NAME = "floor: boto3 + dynamodb client"
TIMER = "import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
BASE_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "PATH": os.environ.get("PATH", ""),
}


def time_import(code: str, env: dict[str, str], pythonpath: list[Path]) -> float:
    """Seconds one fresh interpreter takes to run `code` (an import)."""
    full_env = {**BASE_ENV, **env, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(code=code)],
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def lambda_runtime_env(name: str, handler: str, folder: Path, props: dict[str, object]) -> dict[str, str]:
    """The variables the Lambda runtime itself sets. They change what libraries do at import:
    the X-Ray SDK, seeing LAMBDA_TASK_ROOT, samples locally instead of building two botocore
    X-Ray clients for centralised sampling (~330 ms here), as it does in a real function."""
    return {
        "LAMBDA_TASK_ROOT": str(folder),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{props.get('Runtime', 'python3.13')}",
        "AWS_REGION": BASE_ENV["AWS_DEFAULT_REGION"],
        "_HANDLER": handler,
    }


def functions(template: Template) -> dict[str, tuple[str, Path, dict[str, str]]]:
    found = {}
    for name in template.of_type("AWS::Serverless::Function"):
        props = template.properties(name)
        env = {k: str(v) for k, v in (props.get("Environment", {}).get("Variables") or {}).items()}
        folder = template.resolve_path(str(props["CodeUri"]))
        env |= lambda_runtime_env(name, str(props["Handler"]), folder, props)
        module = str(props["Handler"]).rpartition(".")[0]
        found[name] = (module, folder, env)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs per row")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    layer = REPO / "layers" / "shared"

    cases = {FLOOR_NAME: (FLOOR, {}, [layer])}
    template = Template(REPO / "template.yaml", {"Stage": "local"})
    for name, (module, folder, env) in sorted(functions(template).items()):
        cases[name] = (f"import {module}", env, [folder, layer])
    # Pairs: each function right after a floor import, its ratio taken against that floor, so a
    # machine that speeds up or slows down during the run moves both sides of a ratio alike.
    # The first round is discarded (it writes .pyc files).
    floor_case = cases.pop(FLOOR_NAME)
    samples: dict[str, list[float]] = {name: [] for name in [FLOOR_NAME, *cases]}
    ratios: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(runs + 1):
        for name, case in cases.items():
            floor, seconds = time_import(*floor_case), time_import(*case)
            if round_ == 0:
                continue
            samples[FLOOR_NAME].append(floor)
            samples[name].append(seconds)
            ratios[name].append(seconds / floor)

    print(f"\nCold init, median of {runs} fresh interpreters each (Python {sys.version.split()[0]})\n")
    print("| function | import ms | ratio to the floor timed just before | target ≤ 1.3× |")
    print("| --- | ---: | ---: | --- |")
    worst = 0.0
    print(f"| {FLOOR_NAME} | {statistics.median(samples[FLOOR_NAME]) * 1000:.0f} | 1.00× |  |")
    for name in cases:
        ratio = statistics.median(ratios[name])
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= TARGET else "over"
        print(f"| {name} | {statistics.median(samples[name]) * 1000:.0f} | {ratio:.2f}× | {verdict} |")
    print(f"\nworst function ratio: {worst:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
