"""Check `sam build` output: it targets Lambda's python3.13 on arm64, never the build host.

- every native extension is cp313 aarch64 (or abi3), none built for the host;
- every `.py` shipped, in the layer and in each function, has its bytecode beside it: a
  `__pycache__/<name>.cpython-313.pyc` of CPython 3.13, hash-based and unchecked, compiled from
  exactly that source. Lambda's code is read-only: a module without it is compiled on every cold
  start.

Runs on any Python 3.11+ (the dev venv): it reads the .pyc headers rather than importing them.

Usage: python tools/check_build.py .aws-sam/build
"""

from __future__ import annotations

import _imp
import sys
from pathlib import Path

TARGET_TAG = "cpython-313-aarch64-linux-gnu"
REQUIRED = ("pydantic_core",)

BYTECODE_TAG = "cpython-313"
# CPython 3.13's bytecode magic number (importlib.util.MAGIC_NUMBER on 3.13: b"\xf3\r\r\n"), the
# same for every 3.13.x. Its little-endian integer is the key of the source hash a hash-based .pyc
# carries (importlib.util.source_hash).
MAGIC_313 = (3571).to_bytes(2, "little") + b"\r\n"
_HASH_KEY_313 = int.from_bytes(MAGIC_313, "little")
_HASH_BASED, _CHECK_SOURCE = 0b01, 0b10  # PEP 552 flags of a .pyc header


def problems(build_dir: Path) -> list[str]:
    layer = build_dir / "SharedLayer" / "python"
    if not layer.is_dir():
        return [f"{layer} is missing: the shared layer was not built"]
    found: list[str] = []
    native = [path for path in layer.rglob("*.so") if ".abi3." not in path.name]
    found += [f"host or foreign binary: {path}" for path in native if TARGET_TAG not in path.name]
    for package in REQUIRED:
        if not any(TARGET_TAG in path.name for path in (layer / package).glob("*.so")):
            found.append(f"{package} has no {TARGET_TAG} extension")
    if not (layer / "backbone" / "__init__.py").is_file():
        found.append("the backbone package is missing from the layer")
    found += bytecode_problems(build_dir)
    return found


def bytecode_problems(build_dir: Path) -> list[str]:
    """Every .py under `build_dir` (every artifact sam built) without a matching cpython-313 .pyc."""
    found = []
    for source in sorted(build_dir.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        problem = _bytecode_problem(source)
        if problem:
            found.append(f"{source}: {problem}")
    return found


def _bytecode_problem(source: Path) -> str | None:
    cached = source.parent / "__pycache__" / f"{source.stem}.{BYTECODE_TAG}.pyc"
    if not cached.is_file():
        return f"no {BYTECODE_TAG} bytecode ({cached.name}): it would be compiled on every cold start"
    header = cached.read_bytes()[:16]
    if header[:4] != MAGIC_313:
        return f"{cached.name} is not CPython 3.13 bytecode (magic {header[:4]!r})"
    flags = int.from_bytes(header[4:8], "little")
    if flags != _HASH_BASED:
        return (
            f"{cached.name} is not unchecked-hash bytecode (flags {flags:#b}; compileall --invalidation-mode)"
        )
    if header[8:16] != _imp.source_hash(_HASH_KEY_313, source.read_bytes()):
        return f"{cached.name} was compiled from another version of the source (stale)"
    return None


def main(argv: list[str]) -> int:
    build_dir = Path(argv[1] if len(argv) > 1 else ".aws-sam/build")
    found = problems(build_dir)
    for line in found[:50]:
        print(f"check_build: {line}", file=sys.stderr)
    if len(found) > 50:
        print(f"check_build: ... and {len(found) - 50} more", file=sys.stderr)
    if not found:
        modules = sum(1 for path in build_dir.rglob("*.py") if "__pycache__" not in path.parts)
        print(
            f"check_build: layer targets {TARGET_TAG}; no host binaries; "
            f"{modules} modules, each with its {BYTECODE_TAG} unchecked-hash bytecode"
        )
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
