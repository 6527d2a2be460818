"""The layers of docs/architecture.md hold: the import contracts pass and catch a new cycle."""

from __future__ import annotations

import ast
import os
import re
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


SRC = ROOT / "src" / "moviegenre"
# "moviegenre.models.ensemble:EnsembleGenreModel": a module loaded by name (importlib) is imported
LOADED_BY_NAME = re.compile(r"[\"'](moviegenre(?:\.\w+)+):\w+[\"']")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_cycle_counting_modules_loaded_by_name() -> None:
    """A registry that loads a module by name imports it; that module importing the registry
    back is a cycle, though import-linter cannot see it."""
    graph = grimp.build_graph("moviegenre", cache_dir=None)
    named = 0
    for path in SRC.rglob("*.py"):
        for target in LOADED_BY_NAME.findall(path.read_text(encoding="utf-8")):
            graph.add_import(importer=_module_name(path), imported=target)
            named += 1
    assert named >= 5  # the model registry names every model type
    modules = {m for m in graph.modules if m.startswith("moviegenre")}
    assert _cycles(graph, modules) == []


def _source_trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))]


def test_no_class_is_defined_inside_a_function() -> None:
    """Classes live at module level (a lazy dependency goes in a module imported lazily)."""
    inside = []
    for path, tree in _source_trees():
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inside += [
                    f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
                    for node in ast.walk(function)
                    if isinstance(node, ast.ClassDef)
                ]
    assert inside == []


def test_every_predict_method_has_one_parameter_list_per_name() -> None:
    """One entry point, one signature: `predict`, `predict_proba`, `predict_movies`... take the
    same parameters in every class of the package that defines them."""
    found: dict[str, dict[tuple[str, ...], list[str]]] = {}
    for path, tree in _source_trees():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for item in cls.body:
                if not isinstance(item, ast.FunctionDef):
                    continue
                if item.name != "predict" and not item.name.startswith("predict_"):
                    continue
                args = item.args
                params = tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
                params += tuple(f"*{a.arg}" for a in (args.vararg, args.kwarg) if a is not None)
                where = f"{path.relative_to(SRC)}:{item.lineno} {cls.name}"
                found.setdefault(item.name, {}).setdefault(params, []).append(where)
    assert {"predict", "predict_proba", "predict_raw", "predict_movies"} <= set(found)
    differing = {name: lists for name, lists in found.items() if len(lists) > 1}
    assert differing == {}


def test_no_source_file_is_longer_than_450_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path, _ in _source_trees()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}
