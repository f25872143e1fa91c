"""The repository layout that Lambda, SAM and pytest all rely on stays consistent."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

REPO = Path(__file__).resolve().parents[2]
TEMPLATE: Any = load(str(REPO / "template.yaml"))
FUNCTIONS = {
    name: resource["Properties"]
    for name, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PYTHONPATH = PYPROJECT["tool"]["pytest"]["ini_options"]["pythonpath"]


def test_globals_target_python313_on_arm64_with_tracing_and_the_shared_layer() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    assert {"Ref": "SharedLayer"} in function_globals["Layers"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_template_function_then_its_folder_handler_and_build_are_in_place(name: str) -> None:
    props = FUNCTIONS[name]
    folder = REPO / props["CodeUri"]
    module, _, attribute = props["Handler"].rpartition(".")
    assert (folder / f"{module}.py").is_file(), f"{name}: {module}.py missing in {folder}"
    assert module == f"handler_{folder.name}", "handler modules are named after their folder"
    assert f"def {attribute}(" in (folder / f"{module}.py").read_text()
    assert TEMPLATE["Resources"][name]["Metadata"]["BuildMethod"] == "makefile"
    assert (folder / "Makefile").is_file()
    assert str(Path(props["CodeUri"].rstrip("/"))) in PYTHONPATH, "tests must import it as Lambda does"


def test_handler_module_names_are_unique() -> None:
    modules = [props["Handler"].rpartition(".")[0] for props in FUNCTIONS.values()]
    assert len(modules) == len(set(modules))


def test_layer_requirements_are_pinned() -> None:
    lines = (REPO / "layers/shared/requirements.txt").read_text().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert requirements
    assert all("==" in line for line in requirements), requirements
