"""The ensemble model type: simplex weights, member bundles, and the weighted mean it predicts."""

from __future__ import annotations

from math import comb
from pathlib import Path

import numpy as np
import pytest

from moviegenre.bundle import load_bundle
from moviegenre.bundle.bundle import member_directories
from moviegenre.errors import MovieGenreError
from moviegenre.models.ensemble import EnsembleGenreModel, simplex_grid
from moviegenre.training.train import train

PLOTS = ["A haunted house and a demon.", "They fall in love at a wedding.", "An alien robot."]


@pytest.mark.parametrize("members", [1, 2, 3, 4])
def test_simplex_grid_weights_sum_to_one(members: int) -> None:
    grid = simplex_grid(members, 0.1)
    assert len(grid) == comb(10 + members - 1, members - 1) == len(set(grid))
    assert all(abs(sum(w) - 1.0) < 1e-9 and min(w) >= 0 for w in grid)


def test_simplex_grid_refuses_uneven_step() -> None:
    with pytest.raises(MovieGenreError, match="step"):
        simplex_grid(2, 0.3)


@pytest.fixture(scope="module")
def ensemble(tfidf_bundle: Path, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("ensemble") / "bundle"
    members = [str(tfidf_bundle), {"type": "tfidf", "options": {"min_df": 1, "C": 0.05}}]
    return train(tiny_corpus, "ensemble", out, model_options={"members": members})


def test_ensemble_round_trip_is_weighted_mean_of_members(ensemble) -> None:
    loaded = load_bundle(ensemble.path)
    assert loaded.model_type == "ensemble"
    weights = np.asarray(loaded.weights)
    assert weights.shape == (2,) and abs(weights.sum() - 1.0) < 1e-9
    np.testing.assert_allclose(
        loaded.predict_proba(PLOTS), ensemble.model.predict_proba(PLOTS), atol=1e-7
    )
    members = [load_bundle(ensemble.path / "members" / str(i)) for i in range(2)]
    expected = sum(w * m.predict_proba(PLOTS) for w, m in zip(weights, members, strict=True))
    # the ensemble's own scores are the weighted mean; its calibrator then maps them
    np.testing.assert_allclose(loaded.predict_raw(PLOTS), expected, atol=1e-6)
    np.testing.assert_allclose(
        loaded.predict_proba(PLOTS), loaded.calibrator.transform(expected), atol=1e-6
    )
    assert ensemble.metrics["test"]["micro_f1"] > 0.8


def test_members_are_normal_bundles(ensemble, tfidf_bundle: Path) -> None:
    first = load_bundle(ensemble.path / "members" / "0")
    # a member given as a path is copied whole, with its own thresholds and metrics
    assert first.metadata["metrics"] == load_bundle(tfidf_bundle).metadata["metrics"]
    second = load_bundle(ensemble.path / "members" / "1")
    assert second.model_type == "tfidf"
    assert not np.allclose(second.thresholds, 0.5)  # trained inside fit, thresholds tuned


def test_fixed_weights_mix_members(ensemble) -> None:
    loaded = load_bundle(ensemble.path)
    a, b = (m.predict_proba(PLOTS) for m in loaded.members)
    assert not np.allclose(a, b)  # the two members really differ, so the mix is a real check
    loaded.weights = np.asarray([0.3, 0.7])
    np.testing.assert_allclose(loaded.predict_raw(PLOTS), 0.3 * a + 0.7 * b, atol=1e-6)


def test_member_missing_a_genre_is_refused(tfidf_bundle: Path) -> None:
    model = EnsembleGenreModel(["Horror", "Western"], members=[load_bundle(tfidf_bundle)])
    with pytest.raises(MovieGenreError, match="Western"):
        model.fit(PLOTS, np.zeros((3, 2), dtype=np.float32))


def test_member_paths_must_stay_inside_the_bundle(tmp_path: Path) -> None:
    for path in ("../elsewhere", "/etc", ""):
        config = {"members": [{"path": path, "model_type": "tfidf"}], "weights": [1.0]}
        with pytest.raises(MovieGenreError, match="leaves the bundle"):
            member_directories(tmp_path, config)
    config = {"members": [{"path": "members/0", "model_type": "tfidf"}], "weights": [1.0]}
    assert member_directories(tmp_path, config) == [tmp_path / "members" / "0"]
    with pytest.raises(MovieGenreError, match="sum to 1"):
        EnsembleGenreModel.load_files(
            tmp_path, {"members": [{"path": "members/0"}], "weights": [0.5]}, ["Horror", "Comedy"]
        )


@pytest.mark.parametrize("micro_noise", [0.0, 0.05, 1.0])
def test_weights_are_the_best_macro_among_the_near_best_micro(
    tfidf_bundle: Path, tiny_corpus: Path, tmp_path: Path, micro_noise: float
) -> None:
    members = [str(tfidf_bundle), {"type": "tfidf", "options": {"min_df": 1, "C": 0.05}}]
    options = {"members": members, "micro_noise": micro_noise, "step": 0.1}
    result = train(tiny_corpus, "ensemble", tmp_path / "b", model_options=options)
    search = result.model.search
    assert len(search) == 11 and {"valid_micro_f1", "valid_macro_f1"} <= search[0].keys()
    top = max(row["valid_micro_f1"] for row in search)
    near = [row for row in search if row["valid_micro_f1"] >= top - micro_noise]
    chosen = next(row for row in search if row["weights"] == list(result.model.weights))
    assert chosen in near
    assert chosen["valid_macro_f1"] == max(row["valid_macro_f1"] for row in near)
    assert load_bundle(tmp_path / "b").micro_noise == micro_noise  # kept in the bundle
