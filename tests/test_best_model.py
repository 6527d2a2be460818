"""The shipped `best` tier: loads by name, answers without torch, refuses a changed member."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from no_torch import run_without_torch

from moviegenre import load_model
from moviegenre.bundle import load_bundle, save_bundle
from moviegenre.bundle.bundle import load_shipped_member, model_path, shipped_tier
from moviegenre.errors import MovieGenreError
from moviegenre.genres import TMDB_GENRES
from moviegenre.models.ensemble import EnsembleGenreModel

BEST = model_path("best")
PLOTS = [
    "A detective hunts a serial killer through the rainy streets of a corrupt city.",
    "Two friends fall in love during a summer in Paris, and sing about it.",
]
pytestmark = pytest.mark.skipif(
    not (BEST / "bundle.json").is_file(), reason="the best tier is not built in this checkout"
)


def test_best_answers_with_the_nineteen_genres() -> None:
    model = load_model("best")
    assert sorted(model.labels) == sorted(TMDB_GENRES)
    probs = model.predict_proba(PLOTS)
    assert probs.shape == (2, 19) and np.all((probs >= 0) & (probs <= 1))
    decisions = model.predict(PLOTS)
    assert set(np.unique(decisions)) <= {0, 1} and decisions.sum(axis=1).min() >= 1
    assert model.answer_calibrator is not None  # calibrated on valid
    assert shipped_tier(model.metadata["path"]) == "best"
    # routed by language like the default: members/0 the English ensemble, members/1 the
    # default's multilingual head; the default's and fast's parts are referred to, not copied
    manifest = json.loads((BEST / "bundle.json").read_text())
    assert manifest["model_type"] == "multilingual"
    assert {n.split("/")[1] for n in manifest["files"] if n.startswith("members/")} == {"0"}
    assert {
        "/".join(n.split("/")[:4]) for n in manifest["files"] if n.startswith("members/0/members/")
    } == {"members/0/members/0"}  # only the MiniLM head is inside
    assert manifest["config"]["members"][1]["shipped"] == "default"
    english = json.loads((BEST / "members" / "0" / "bundle.json").read_text())
    shipped = [m["shipped"] for m in english["config"]["members"] if "shipped" in m]
    assert shipped == ["default", "fast"]


def test_the_page_and_the_api_name_the_tier() -> None:
    from moviegenre.serving.app import create_app

    client = create_app(load_model("best")).test_client()
    assert client.get("/api/v1/model").get_json()["name"] == "best"
    body = client.post("/api/v1/predict", json={"plot": PLOTS[0]}).get_json()
    assert body["model"]["name"] == "best" and body["genres"]
    html = client.get("/").get_data(as_text=True)
    assert "the best model" in html[html.index("<footer") :]


def test_best_answers_without_torch() -> None:
    out = run_without_torch(
        """
        from moviegenre import load_model, predict
        model = load_model("best")
        answer = predict("A young wizard fights a dark lord at a school of magic.", model)
        print(type(model).__name__, len(model.labels), bool(answer.genres))
        """,
        timeout=300,
    )
    assert out.split() == ["MultilingualGenreModel", "19", "True"]


def test_a_changed_pinned_member_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "best"
    shutil.copytree(BEST, copy)
    manifest = json.loads((copy / "bundle.json").read_text())
    for entry in manifest["config"]["members"]:
        if entry.get("shipped") == "default":
            entry["manifest_sha256"] = "0" * 64  # as if the shipped default were rebuilt
    (copy / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(MovieGenreError, match="pinned at SHA-256 0000"):
        load_bundle(copy)


def test_a_shipped_member_is_saved_by_reference(tmp_path: Path) -> None:
    fast = load_shipped_member("fast")
    model = EnsembleGenreModel(fast.labels, members=[fast])
    model.fit(PLOTS, np.zeros((2, len(fast.labels)), dtype=np.float32))
    saved = save_bundle(model, tmp_path / "ref")
    assert not (saved / "members").exists()  # nothing copied
    again = load_bundle(saved)
    assert again.members[0].metadata["shipped"]["shipped"] == "fast"
    np.testing.assert_allclose(again.predict_proba(PLOTS), model.predict_proba(PLOTS), atol=1e-6)
    bad = json.loads((saved / "bundle.json").read_text())
    bad["config"]["members"][0]["part"] = "../default_model"
    (saved / "bundle.json").write_text(json.dumps(bad))
    with pytest.raises(MovieGenreError, match="leaves the shipped bundle"):
        load_bundle(saved)
