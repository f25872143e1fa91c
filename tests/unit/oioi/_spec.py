"""Helpers for the OIOI tests: the spec's examples live in `tests/fixtures/oioi/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "oioi"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    """Parsed the plain way (floats as float), as a partner's JSON library would."""
    return json.loads(fixture_text(name))
