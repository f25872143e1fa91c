"""tools/template_variant.py: `make lint` checks the template with its options turned on too."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import loads
from template_variant import with_defaults

REPO = Path(__file__).resolve().parents[2]


def test_given_the_template_when_snapstart_is_turned_on_then_only_that_default_changes() -> None:
    text = (REPO / "template.yaml").read_text(encoding="utf-8")

    variant = loads(with_defaults(text, {"OioiSnapStart": "true"}))
    original = loads(text)

    assert variant["Parameters"]["OioiSnapStart"]["Default"] == "true"
    assert original["Parameters"]["OioiSnapStart"]["Default"] == "false"
    variant["Parameters"]["OioiSnapStart"]["Default"] = "false"
    assert variant == original


def test_given_a_parameter_the_template_lacks_then_the_variant_is_refused() -> None:
    with pytest.raises(SystemExit, match="NoSuchOption"):
        with_defaults((REPO / "template.yaml").read_text(encoding="utf-8"), {"NoSuchOption": "true"})
