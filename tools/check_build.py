"""Check `sam build` output: every native extension targets Lambda (cp313, aarch64), never the host.

Usage: python tools/check_build.py .aws-sam/build
"""

from __future__ import annotations

import sys
from pathlib import Path

TARGET_TAG = "cpython-313-aarch64-linux-gnu"
REQUIRED = ("pydantic_core",)


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
    return found


def main(argv: list[str]) -> int:
    build_dir = Path(argv[1] if len(argv) > 1 else ".aws-sam/build")
    found = problems(build_dir)
    for line in found:
        print(f"check_build: {line}", file=sys.stderr)
    if not found:
        print(f"check_build: layer targets {TARGET_TAG}; no host binaries")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
