"""The layers of docs/architecture.md hold: the import contracts pass and catch a new cycle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the package under root/src with root/pyproject.toml's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_lint_imports_is_installed() -> None:
    # the test extra pins import-linter; without it the contracts below would not be checked
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} is missing: pip install -e '.[test]'"


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _package_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        ROOT / "src" / "moviegenre", root / "src" / "moviegenre",
        ignore=shutil.ignore_patterns("__pycache__", "default_model", "static", "templates"),
    )  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "line"),
    [
        # a lazy import inside a function is still an import: models would depend on training
        ("models/base.py", "def _late():\n    from moviegenre.training import train  # noqa\n"),
        # an import only for type checkers counts too: bundle would depend on serving
        (
            "bundle/card.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from moviegenre.serving.app import create_app  # noqa\n",
        ),
        # the two explanation methods importing each other
        ("explain/occlusion.py", "def _late():\n    from moviegenre.explain import gradients\n"),
    ],
)
def test_a_new_cycle_breaks_the_contracts(tmp_path: Path, module: str, line: str) -> None:
    root = _package_copy(tmp_path)
    path = root / "src" / "moviegenre" / module
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout


def _cycles(graph: grimp.ImportGraph, nodes: set[str]) -> list[set[str]]:
    """Strongly connected components with more than one node (Tarjan), among `nodes`."""
    edges = {
        n: {m for m in graph.find_modules_directly_imported_by(n) if m in nodes} for n in nodes
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def test_no_module_cycle_in_the_whole_package() -> None:
    """Independently of the contracts: no cycle among all modules, lazy imports included."""
    graph = grimp.build_graph("moviegenre", cache_dir=None)
    modules = {m for m in graph.modules if m.startswith("moviegenre")}
    assert "moviegenre.models.base" in modules and len(modules) > 50
    # a package's __init__ is its own node here; a cycle through it is a cycle too
    assert _cycles(graph, modules) == []
