"""The wheel ships the default model, and a fresh clone predicts without training."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from moviegenre.bundle import default_model_path, load_bundle

REPO = Path(__file__).resolve().parent.parent


def test_default_model_is_small_and_loads():
    path = default_model_path()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size < 8 * 1024 * 1024, f"default bundle is {size / 1e6:.1f} MB"
    model = load_bundle(path)
    assert len(model.labels) == 19
    probs = model.predict_proba(["A haunted house terrifies a family.", "!!!"])
    assert probs.shape == (2, 19) and ((probs >= 0) & (probs <= 1)).all()
    manifest = json.loads((path / "bundle.json").read_text())
    assert manifest["training"]["command"].startswith("moviegenre train")


@pytest.mark.slow
def test_wheel_contains_the_default_model(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True,
    )  # fmt: skip
    wheel = next(tmp_path.glob("moviegenre-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    bundle_files = {p.name for p in default_model_path().iterdir() if p.is_file()}
    assert {"bundle.json", "MODEL_CARD.md"} <= bundle_files
    for name in bundle_files:
        assert f"moviegenre/default_model/{name}" in names
    assert (
        "moviegenre/serving/templates/index.html" in names
        or not (REPO / "src/moviegenre/serving/templates/index.html").exists()
    )
