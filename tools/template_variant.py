"""Print template.yaml with some parameters' defaults changed, so that `make lint` checks the
template the way it deploys with an option turned on (cfn-lint, `sam validate --lint` and
checkov read defaults; checkov cannot evaluate conditions either way).

Usage: python tools/template_variant.py TEMPLATE NAME=VALUE [NAME=VALUE ...] > variant.yaml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def with_defaults(text: str, defaults: dict[str, str]) -> str:
    """`text` with the `Default:` line of each named parameter (a top-level `Parameters` entry
    indented two spaces, its properties four) set to the given value, quoted."""
    for name, value in defaults.items():
        pattern = re.compile(rf"(^  {re.escape(name)}:\n(?:    .*\n)*?    Default: ).*$", re.MULTILINE)
        text, count = pattern.subn(rf'\g<1>"{value}"', text)
        if count != 1:
            raise SystemExit(f"template_variant: parameter {name} with a Default found {count} times")
    return text


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not all("=" in arg for arg in argv[1:]):
        raise SystemExit(__doc__)
    defaults = dict(arg.split("=", 1) for arg in argv[1:])
    sys.stdout.write(with_defaults(Path(argv[0]).read_text(encoding="utf-8"), defaults))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
