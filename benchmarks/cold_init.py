"""Cold init as Lambda pays it: how long CPython 3.13 takes to import each function's handler.

Lambda runs python3.13 with its code read-only: Python cannot write `__pycache__`, so a module
shipped without bytecode is compiled on every cold start. This benchmark builds a replica of what
`make build` ships, with the build's own rules (layers/shared/Makefile, functions/function.mk)
but the wheels of this machine's platform instead of arm64, so that it can run here, and times
fresh CPython 3.13 interpreters (`-I -B`: nothing but the artifacts on the path, no .pyc written
during the run) importing each handler with the environment the template and the Lambda runtime
give it (module-level clients and settings are really created, libraries take their in-Lambda
paths). Two columns, each measured the same way:

- as built: the replica with the bytecode the build ships;
- without bytecode: the same files, every `__pycache__` removed (as the layer shipped before).

Each is compared with the floor every Python Lambda that talks to AWS pays, `import boto3;
boto3.client("dynamodb")`, imported from the same copy of the layer and timed just before the
function, so each function is paired with its own floor and machine drift moves both alike.
Target: as built, every function ≤ 1.3× its floor. Time is the interpreter's CPU time by default
(`--clock wall` for wall time): importing is CPU work, and on a shared machine wall time also
measures the neighbours.

`--importtime` prints, instead, where each handler's import time goes (`python -X importtime`,
as built, median of the runs, scaled to the CPU time of the import): the top modules by their
own time, grouped by top-level package, per handler and over all of them.

`--libraries` adds rows for the libraries every handler uses (boto3, Powertools, pydantic, and
Powertools' batch or REST event handler), imported alone, measured the same way: what any handler
pays before our own code.

Usage: .venv/bin/python benchmarks/cold_init.py [--runs 5] [--quick] [--clock cpu|wall]
           [--python PYTHON313] [--importtime [--top 10]] [--only NAME ...] [--reuse] [--libraries]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.template import Template

REPO = Path(__file__).resolve().parents[1]
REPLICA = REPO / ".aws-sam" / "bench-cold-init"

TARGET = 1.3
FLOOR = 'import boto3; boto3.client("dynamodb")'
FLOOR_NAME = "floor: boto3 + dynamodb client"
# sys.path as Lambda has it: the function's folder (/var/task), then the layer (/opt/python).
TIMER = (
    "import sys; sys.path[:0] = {path!r}; import time; t0 = time.{clock}(); {code}; "
    "print(time.{clock}() - t0)"
)
# cpu: the interpreter's own CPU time (user + system), which other processes on a shared machine
# do not inflate as they do wall time; importing is CPU work (files come from the page cache).
CLOCKS = {"cpu": "process_time", "wall": "perf_counter"}
BASE_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "PATH": os.environ.get("PATH", ""),
}
COLUMNS = ("as built", "without bytecode")
# --libraries: what the libraries every handler uses cost before any of our code, measured the same
# way (boto3 imported, no client: a handler builds its clients on first use). If these alone come
# near the target, the rest of a handler's import cannot fit under it.
_STACK = (
    "import boto3; from aws_lambda_powertools import Logger, Metrics, Tracer; "
    'Tracer(patch_modules=["botocore"]); Logger(); Metrics(); '
    "from pydantic import BaseModel, Field, HttpUrl; "
    'BaseModel.model_config["defer_build"] = True; '
    'Settings = type("Settings", (BaseModel,), {"__annotations__": {"url": HttpUrl, "name": str}, '
    '"name": Field(min_length=1)}); Settings(url="https://example.com", name="x")'
)
LIBRARIES = {
    "libraries: boto3, Powertools Logger/Metrics/Tracer, a pydantic model": _STACK,
    "libraries: the same + BatchProcessor (SQS/stream handlers)": (
        f"{_STACK}; from aws_lambda_powertools.utilities.batch import BatchProcessor"
    ),
    "libraries: the same + APIGatewayRestResolver (REST handlers)": (
        f"{_STACK}; from aws_lambda_powertools.event_handler import APIGatewayRestResolver"
    ),
}


@dataclass(frozen=True)
class Function:
    name: str
    module: str  # the handler's module
    folder: Path  # its source folder (CodeUri)
    env: dict[str, str]


def find_python313() -> str:
    found = subprocess.run(
        ["sh", str(REPO / "tools" / "find_python313.sh")], capture_output=True, text=True, check=False
    )
    if found.returncode != 0 or not found.stdout.strip():
        raise SystemExit(
            f"cold_init: CPython 3.13 not found; {found.stderr.strip()} (set PYTHON313 or --python)"
        )
    return found.stdout.strip()


def build_replica(python313: str, functions: dict[str, Function]) -> dict[str, Path]:
    """What `make build` ships, for this machine's platform: `REPLICA/as built/<artifact>` with
    bytecode, `REPLICA/without bytecode/<artifact>` the same files without."""
    shutil.rmtree(REPLICA, ignore_errors=True)
    built = REPLICA / COLUMNS[0]
    make = ["make", "--no-print-directory", "-s", f"PYTHON313={python313}"]
    pip = f"PIP={sys.executable} -m pip"
    layer = built / "SharedLayer"
    layer.mkdir(parents=True)
    # PLATFORM_FLAGS empty: pip takes this machine's wheels for cp313 (the layer targets arm64).
    _quietly(
        [
            *make,
            "-C",
            str(REPO / "layers/shared"),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={layer}",
            pip,
            "PLATFORM_FLAGS=",
        ]
    )
    for name, function in functions.items():
        (built / name).mkdir()
        _quietly([*make, "-C", str(function.folder), f"build-{name}", f"ARTIFACTS_DIR={built / name}"])
    shutil.copytree(built, REPLICA / COLUMNS[1], ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    return {column: REPLICA / column for column in COLUMNS}


def _quietly(command: list[str]) -> None:
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"cold_init: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def lambda_runtime_env(name: str, handler: str, folder: Path, props: dict[str, object]) -> dict[str, str]:
    """The variables the Lambda runtime itself sets. They change what libraries do at import:
    the X-Ray SDK, seeing LAMBDA_TASK_ROOT, samples locally instead of building two botocore
    X-Ray clients for centralised sampling (~330 ms here), as it does in a real function."""
    return {
        "LAMBDA_TASK_ROOT": str(folder),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{props.get('Runtime', 'python3.13')}",
        "AWS_REGION": BASE_ENV["AWS_DEFAULT_REGION"],
        "_HANDLER": handler,
    }


def template_functions(template: Template) -> dict[str, Function]:
    found = {}
    for name in template.of_type("AWS::Serverless::Function"):
        props = template.properties(name)
        env = {k: str(v) for k, v in (props.get("Environment", {}).get("Variables") or {}).items()}
        folder = template.resolve_path(str(props["CodeUri"]))
        env |= lambda_runtime_env(name, str(props["Handler"]), folder, props)
        module = str(props["Handler"]).rpartition(".")[0]
        found[name] = Function(name, module, folder, env)
    return dict(sorted(found.items()))


def run313(
    python313: str, code: str, path: list[Path], env: dict[str, str], *flags: str, clock: str = "cpu"
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter as Lambda starts one: isolated (-I: only `path` and the interpreter's
    own library), and -B: it writes no .pyc, as it cannot on Lambda's read-only code."""
    script = TIMER.format(path=[str(p) for p in path], code=code, clock=CLOCKS[clock])
    done = subprocess.run(
        [python313, "-I", "-B", *flags, "-c", script],
        env={**BASE_ENV, **env},
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"cold_init: {code} failed under {python313}:\n{done.stderr}")
    return done


def time_import(python313: str, clock: str, code: str, path: list[Path], env: dict[str, str]) -> float:
    """Seconds one fresh interpreter takes to run `code` (an import), on `clock`."""
    return float(run313(python313, code, path, env, clock=clock).stdout.strip().splitlines()[-1])


def cases(
    functions: dict[str, Function], root: Path, libraries: bool = False
) -> dict[str, tuple[str, list[Path], dict[str, str]]]:
    layer = root / "SharedLayer" / "python"
    found = {FLOOR_NAME: (FLOOR, [layer], {})}
    for name, function in functions.items():
        found[name] = (f"import {function.module}", [root / name, layer], function.env)
    if libraries and functions:
        env = next(iter(functions.values())).env  # a function's environment: Powertools as in Lambda
        found |= {name: (code, [layer], env) for name, code in LIBRARIES.items()}
    return found


def measure(
    python313: str,
    functions: dict[str, Function],
    roots: dict[str, Path],
    runs: int,
    clock: str,
    libraries: bool = False,
) -> int:
    by_column = {column: cases(functions, root, libraries) for column, root in roots.items()}
    names = [name for name in by_column[COLUMNS[0]] if name != FLOOR_NAME]
    samples = {column: collections.defaultdict(list) for column in COLUMNS}
    floors = {column: collections.defaultdict(list) for column in COLUMNS}
    ratios = {column: collections.defaultdict(list) for column in COLUMNS}
    # The first round warms the OS file cache and is discarded. Then, pair by pair, each function
    # right after a floor from the same copy of the layer, its ratio taken against that floor.
    for round_ in range(runs + 1):
        for name in names:
            for column in COLUMNS:
                floor_case, case = by_column[column][FLOOR_NAME], by_column[column][name]
                floor = time_import(python313, clock, *floor_case)
                seconds = time_import(python313, clock, *case)
                if round_:
                    floors[column][name].append(floor)
                    samples[column][name].append(seconds)
                    ratios[column][name].append(seconds / floor)

    version = run313(python313, "import platform; print(platform.python_version())", [], {}).stdout.split()[0]
    print(f"\nCold init, CPython {version}, code read-only (no .pyc written), {clock} time, median of {runs}")
    print(f"fresh interpreters each; every function paired with its own floor ({FLOOR!r})")
    print("timed just before, from the same copy of the layer. Target: as built ≤ 1.3× the floor.\n")
    print(
        "| function | as built ms | its floor ms | ratio "
        "| without bytecode ms | its floor ms | ratio | as built ≤ 1.3× |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    worst = {column: 0.0 for column in COLUMNS}
    for name in names:
        cells = []
        for column in COLUMNS:
            ratio = statistics.median(ratios[column][name])
            if name in functions:
                worst[column] = max(worst[column], ratio)
            ms = statistics.median(samples[column][name]) * 1000
            floor_ms = statistics.median(floors[column][name]) * 1000
            cells += [f"{ms:,.0f}", f"{floor_ms:,.0f}", f"{ratio:.2f}×"]
        verdict = "ok" if statistics.median(ratios[COLUMNS[0]][name]) <= TARGET else "over"
        print(f"| {name} | {' | '.join(cells)} | {verdict} |")
    print(
        f"\nworst ratio as built: {worst[COLUMNS[0]]:.2f}× (target ≤ {TARGET}×); "
        f"without bytecode: {worst[COLUMNS[1]]:.2f}×"
    )
    return 0


def importtime(python313: str, functions: dict[str, Function], root: Path, runs: int, top: int) -> int:
    """Per handler (as built), the modules whose own import time is largest, grouped by top-level
    package, median of `runs` fresh interpreters; and the handler's total. Times are -X importtime's,
    scaled in each run to the CPU time of the whole import."""
    layer = root / "SharedLayer" / "python"
    print(
        f"\nImport time by top-level package (own time of its modules, ms), as built, median of {runs} runs\n"
    )
    overall: dict[str, float] = collections.defaultdict(float)
    overall_total = 0.0
    for name, function in functions.items():
        per_run: list[dict[str, float]] = []
        totals = []
        for _ in range(runs):
            out = run313(
                python313, f"import {function.module}", [root / name, layer], function.env, "-X", "importtime"
            )
            by_package: dict[str, float] = collections.defaultdict(float)
            total = 0.0
            for line in out.stderr.splitlines():
                if not line.startswith("import time:") or "self [us]" in line:
                    continue
                self_us, cumulative_us, module = line.removeprefix("import time:").split("|")
                by_package[module.strip().split(".")[0]] += int(self_us) / 1000
                if module.strip() == function.module:
                    total = int(cumulative_us) / 1000
            # -X importtime measures wall time, which other processes on a shared machine inflate:
            # scale this run's figures to the CPU time the same import took (the TIMER's output).
            scale = float(out.stdout.strip().splitlines()[-1]) * 1000 / total if total else 1.0
            per_run.append({package: ms * scale for package, ms in by_package.items()})
            totals.append(total * scale)
        packages = {package for run in per_run for package in run}
        medians = {
            package: statistics.median(run.get(package, 0.0) for run in per_run) for package in packages
        }
        ranked = sorted(medians.items(), key=lambda item: -item[1])[:top]
        listed = ", ".join(f"{package} {ms:.0f}" for package, ms in ranked)
        print(f"- {name} ({function.module}, {statistics.median(totals):.0f} ms): {listed}")
        for package, ms in medians.items():
            overall[package] += ms / len(functions)
        overall_total += statistics.median(totals) / len(functions)
    print(f"\nTop {top} over the {len(functions)} handlers (mean own import time per handler, CPU-scaled)\n")
    print("| package | ms | share of a handler's import |")
    print("| --- | ---: | ---: |")
    for package, ms in sorted(overall.items(), key=lambda item: -item[1])[:top]:
        print(f"| {package} | {ms:.0f} | {ms / overall_total:.0%} |")
    print(f"| (whole handler import) | {overall_total:.0f} | 100% |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 runs per row")
    parser.add_argument("--python", default=os.environ.get("PYTHON313") or None, help="a CPython 3.13")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu (default: the interpreter's CPU time) or wall",
    )
    parser.add_argument("--importtime", action="store_true", help="where import time goes, per handler")
    parser.add_argument("--top", type=int, default=10, help="packages listed per handler with --importtime")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these functions (template names)")
    parser.add_argument(
        "--libraries", action="store_true", help="also rows for the libraries alone (no code of ours)"
    )
    parser.add_argument("--reuse", action="store_true", help="reuse the replica of the last run")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    python313 = args.python or find_python313()
    functions = template_functions(Template(REPO / "template.yaml", {"Stage": "local"}))
    if args.only:
        functions = {name: functions[name] for name in args.only}
    if args.reuse and all((REPLICA / column).is_dir() for column in COLUMNS):
        roots = {column: REPLICA / column for column in COLUMNS}
    else:
        roots = build_replica(python313, functions)
    if args.importtime:
        return importtime(python313, functions, roots[COLUMNS[0]], runs, args.top)
    return measure(python313, functions, roots, runs, args.clock, args.libraries)


if __name__ == "__main__":
    raise SystemExit(main())
