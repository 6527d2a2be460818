"""The code stays ruff clean (lint and format), so style never drifts between contributors."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command):
    # The venv's ruff first: the test runner may run from a venv that is not activated.
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    proc = subprocess.run(
        [ruff, *command, "src", "tests", "benchmarks"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


# Dependencies every serving or test install has: a broken install must fail, not skip.
ALWAYS_INSTALLED = {"numpy", "flask", "waitress", "onnxruntime", "sklearn", "PIL", "schemathesis",
                    "hypothesis", "safetensors", "pyarrow", "grimp"}  # fmt: skip
CLOCKS = {"time", "monotonic", "perf_counter"}


def _test_trees():
    for path in sorted((REPO / "tests").glob("*.py")):
        yield path.name, ast.parse(path.read_text(encoding="utf-8"))


def test_tests_import_no_other_test_and_no_private_name():
    found = []
    for name, tree in _test_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("test_"):
                    found.append(f"{name}: from {node.module}")  # shared helpers: *_fixture.py
                private = [a.name for a in node.names if a.name.startswith("_")]
                if node.module.startswith("moviegenre") and private:
                    found.append(f"{name}: {node.module} {private}")
            elif isinstance(node, ast.Import):
                found += [
                    f"{name}: import {a.name}" for a in node.names if a.name.startswith("test_")
                ]
    assert found == []


def test_no_importorskip_of_an_installed_dependency_and_no_clock_in_an_assert():
    found = []
    for name, tree in _test_trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "importorskip"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).split(".")[0] in ALWAYS_INSTALLED
            ):
                found.append(f"{name}:{node.lineno} importorskip({node.args[0].value!r})")
            if isinstance(node, ast.Assert):  # speed is measured by benchmarks/, not asserted
                clocks = [
                    n.func.attr
                    for n in ast.walk(node)
                    if isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and n.func.attr in CLOCKS
                ]
                found += [f"{name}:{node.lineno} assert on time.{c}()" for c in clocks]
    assert found == []
