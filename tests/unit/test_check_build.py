"""tools/check_build.py: a build whose shipped modules lack their cpython-313 bytecode fails."""

from __future__ import annotations

import _imp
import importlib.util
import py_compile
import sys
from pathlib import Path
from typing import Any

import check_build  # tools/ is on pytest's pythonpath
import pytest


def _pyc(
    source: bytes, *, magic: bytes = check_build.MAGIC_313, flags: int = 0b01, key_source: bytes | None = None
) -> bytes:
    """A .pyc header as CPython 3.13's compileall writes it (PEP 552), and a dummy body."""
    digest = _imp.source_hash(int.from_bytes(check_build.MAGIC_313, "little"), key_source or source)
    return magic + flags.to_bytes(4, "little") + digest + b"\xe3body"


def _write(path: Path, text: str, pyc: bytes | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if pyc is not None:
        cached = path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc"
        cached.parent.mkdir(exist_ok=True)
        cached.write_bytes(pyc)


def _build(root: Path, **pycs: bytes | None) -> Path:
    """A sam build folder: the layer (backbone, a cp313 aarch64 pydantic_core) and one function,
    each module with unchecked-hash 3.13 bytecode unless `pycs` says otherwise."""
    files = {
        "SharedLayer/python/backbone/__init__.py": '"""core"""\n',
        "SharedLayer/python/pydantic_core/__init__.py": "VERSION = 1\n",
        "Function/handler_x.py": "def handler(event, context):\n    return event\n",
    }
    for relative, text in files.items():
        name = Path(relative).stem
        _write(root / relative, text, pycs.get(name, _pyc(text.encode())))
    (root / "SharedLayer/python/pydantic_core/_core.cpython-313-aarch64-linux-gnu.so").write_bytes(b"")
    return root


def test_given_unchecked_hash_313_bytecode_for_every_module_then_the_build_passes(tmp_path: Path) -> None:
    assert check_build.problems(_build(tmp_path)) == []
    assert check_build.main(["check_build", str(tmp_path)]) == 0


def test_given_a_function_module_without_bytecode_then_the_build_fails_naming_it(tmp_path: Path) -> None:
    found = check_build.problems(_build(tmp_path, handler_x=None))
    assert len(found) == 1
    assert "handler_x.py" in found[0]
    assert "no cpython-313 bytecode" in found[0]
    assert check_build.main(["check_build", str(tmp_path)]) == 1


def test_given_a_layer_module_without_bytecode_then_the_build_fails(tmp_path: Path) -> None:
    found = check_build.problems(_build(tmp_path, __init__=None))
    assert len(found) == 2  # backbone/__init__.py and pydantic_core/__init__.py
    assert all("no cpython-313 bytecode" in line for line in found)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"magic": (3495).to_bytes(2, "little") + b"\r\n"}, "not CPython 3.13 bytecode"),  # 3.11's
        ({"flags": 0}, "not unchecked-hash"),  # timestamp-based: file times in the zip decide
        ({"flags": 0b11}, "not unchecked-hash"),  # checked-hash: every import reads and hashes the source
        ({"key_source": b"an older source"}, "another version of the source"),
    ],
    ids=["python-3.11", "timestamp", "checked-hash", "stale"],
)
def test_given_wrong_bytecode_then_the_build_fails(
    tmp_path: Path, header: dict[str, Any], expected: str
) -> None:
    text = "def handler(event, context):\n    return event\n"
    found = check_build.problems(_build(tmp_path, handler_x=_pyc(text.encode(), **header)))
    assert len(found) == 1, found
    assert "handler_x.py" in found[0]
    assert expected in found[0]


@pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="compares with what CPython 3.13 itself writes")
def test_given_what_python_313_itself_compiles_then_only_unchecked_hash_passes(tmp_path: Path) -> None:
    assert importlib.util.MAGIC_NUMBER == check_build.MAGIC_313
    build = _build(tmp_path, handler_x=None)
    handler = build / "Function/handler_x.py"
    py_compile.compile(
        str(handler), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True
    )
    assert check_build.problems(build) == []
    py_compile.compile(str(handler), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP, doraise=True)
    assert "not unchecked-hash" in check_build.problems(build)[0]
