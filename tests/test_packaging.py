"""The wheel ships the default model, and a fresh clone predicts without training."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from moviegenre.bundle import default_model_path, load_bundle
from moviegenre.bundle.bundle import SHIPPED_MODELS, model_path

REPO = Path(__file__).resolve().parent.parent


def test_default_model_is_small_and_loads():
    path = default_model_path()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size <= 40 * 1024 * 1024, f"default bundle is {size / 1e6:.1f} MB"
    model = load_bundle(path)
    assert len(model.labels) == 19
    probs = model.predict_proba(["A haunted house terrifies a family.", "!!!"])
    assert probs.shape == (2, 19) and ((probs >= 0) & (probs <= 1)).all()
    manifest = json.loads((path / "bundle.json").read_text())
    # the multilingual default is built around the English bundle `moviegenre train` made
    assert manifest["model_type"] == "multilingual"
    assert manifest["training"]["command"] == "bash scripts/build_default_model.sh"
    english = json.loads((path / "members" / "0" / "bundle.json").read_text())
    assert english["training"]["command"].startswith("moviegenre train")
    # its plot ensemble refers to the shipped fast model by name and checksum: not a copy
    text = json.loads((path / "members/0/members/0/bundle.json").read_text())
    assert {"shipped": "fast"}.items() <= text["config"]["members"][-1].items()
    assert not (path / "members/0/members/0/members/2").exists()


def test_the_fast_model_is_shipped_beside_the_default_and_named_by_fast(tmp_path, monkeypatch):
    fast = model_path("fast")
    assert fast.parent == default_model_path().parent and fast != default_model_path()
    assert model_path(None) == default_model_path() == model_path("default")
    size = sum(p.stat().st_size for p in fast.rglob("*") if p.is_file())
    assert size <= 40 * 1024 * 1024, f"fast bundle is {size / 1e6:.1f} MB"
    model = load_bundle("fast")
    assert model.kind == "ngram" and model.max_words is None  # reads long plots whole
    assert model.labels == load_bundle(None).labels
    assert model.calibrator is not None  # calibrated on valid, as the default
    manifest = json.loads((fast / "bundle.json").read_text())
    assert manifest["training"]["distillation"]["teacher"]["type"] == "ensemble"
    # a folder of that name where the command runs is a path, not the shipped model
    (tmp_path / "fast").mkdir()
    monkeypatch.chdir(tmp_path)
    assert model_path("fast") == Path("fast")


@pytest.mark.slow
def test_wheel_contains_the_shipped_models(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True,
    )  # fmt: skip
    wheel = next(tmp_path.glob("moviegenre-*.whl"))
    # every tier in one wheel stays under 100 MB (the three tiers' issue; best adds about 8 MB)
    assert wheel.stat().st_size <= 100 * 1024 * 1024, f"the wheel is {wheel.stat().st_size} bytes"
    names = set(zipfile.ZipFile(wheel).namelist())
    for name, folder in SHIPPED_MODELS.items():
        root = model_path(name)
        listed = set(json.loads((root / "bundle.json").read_text())["files"])
        on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        # every file the manifest lists (members/* included) plus the manifest itself
        assert listed | {"bundle.json"} == on_disk, name
        missing = sorted(n for n in on_disk if f"moviegenre/{folder}/{n}" not in names)
        assert not missing, f"the wheel lacks {missing}"
    # the MiniLM encoder on ONNX Runtime and its tokenizer (the catalogue model reads plots with it)
    assert {
        "moviegenre/encoders/minilm-l6-int8.onnx",
        "moviegenre/encoders/minilm-tokenizer.json",
    } <= names
    assert any(name.startswith("members/") for name in json.loads(
        (default_model_path() / "bundle.json").read_text())["files"])  # fmt: skip
    assert (
        "moviegenre/serving/templates/index.html" in names
        or not (REPO / "src/moviegenre/serving/templates/index.html").exists()
    )


def test_the_serving_install_leaves_out_reports_and_parquet():
    import re
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}

    serving = names(project["dependencies"])
    assert not serving & {"matplotlib", "pyarrow", "torch"}, serving
    extras = project["optional-dependencies"]
    assert "matplotlib" in names(extras["report"]) and "pyarrow" in names(extras["parquet"])
    assert {"report", "parquet"} <= set(re.findall(r"\w+", extras["all"][0].split("[", 1)[1]))


def test_a_missing_extra_is_a_one_line_error_with_the_install_hint(tmp_path, monkeypatch, capsys):
    from moviegenre.cli.main import main

    source = tmp_path / "movies.csv"
    source.write_text("title,overview,genres\nA,A ghost haunts a house.,Horror\n")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the serving install had no pyarrow
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert main(["data", "convert", str(source), str(tmp_path / "movies.parquet")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "pip install 'moviegenre[parquet]'" in error
    assert not (tmp_path / "movies.parquet").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    from moviegenre.errors import MovieGenreError
    from moviegenre.evaluation.report import load_pyplot

    with pytest.raises(MovieGenreError, match=r"moviegenre\[report\]"):
        load_pyplot()
