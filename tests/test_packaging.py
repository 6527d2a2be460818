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
    assert size <= 40 * 1024 * 1024, f"default bundle is {size / 1e6:.1f} MB"
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
    assert wheel.stat().st_size <= 50 * 1024 * 1024, f"the wheel is {wheel.stat().st_size} bytes"
    names = set(zipfile.ZipFile(wheel).namelist())
    root = default_model_path()
    listed = set(json.loads((root / "bundle.json").read_text())["files"])
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    # every file the manifest lists (members/* included) plus the manifest itself
    assert listed | {"bundle.json"} == on_disk
    assert any(name.startswith("members/") for name in listed)
    missing = sorted(n for n in on_disk if f"moviegenre/default_model/{n}" not in names)
    assert not missing, f"the wheel lacks {missing}"
    assert (
        "moviegenre/serving/templates/index.html" in names
        or not (REPO / "src/moviegenre/serving/templates/index.html").exists()
    )
