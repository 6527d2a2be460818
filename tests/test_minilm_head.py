"""The `minilm-head` model type: fit on vectors, save and load, the same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moviegenre.bundle import load_bundle, save_bundle
from moviegenre.errors import MovieGenreError
from moviegenre.models.minilm_head import MiniLMHeadGenreModel

LABELS = ["Comedy", "Horror", "Western"]
PLOTS = ["A ghost haunts a family in an old house.", "Two cowboys ride into a dusty town."]


def _fitted() -> MiniLMHeadGenreModel:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    targets = (rng.random((200, 3)) < 0.4).astype(np.float32)
    return MiniLMHeadGenreModel(LABELS, hidden=8, neighbours=5).fit_vectors(vectors, targets)


def test_round_trip_gives_the_same_answers(tmp_path: Path) -> None:
    model = _fitted()
    probs = model.predict_proba(PLOTS)  # the ONNX MiniLM reads the plots
    assert probs.shape == (2, 3) and np.all((probs >= 0) & (probs <= 1))
    again = load_bundle(save_bundle(model, tmp_path / "head"))
    np.testing.assert_allclose(again.predict_proba(PLOTS), probs, atol=1e-6)


def test_bad_options_and_unfitted_models_are_refused() -> None:
    with pytest.raises(MovieGenreError, match="knn_weight"):
        MiniLMHeadGenreModel(LABELS, knn_weight=2.0)
    with pytest.raises(MovieGenreError, match="not fitted"):
        MiniLMHeadGenreModel(LABELS).predict_raw(PLOTS)
