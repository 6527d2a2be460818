"""The small public Python API: load a model and predict genres with scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from moviegenre.models.base import GenreModel
from moviegenre.text.tokenizer import count_words
from moviegenre.training.thresholds import decide


@dataclass(frozen=True)
class Prediction:
    """One plot's predicted genres, every genre's probability, and whether the plot was cut."""

    genres: list[str]
    scores: dict[str, float]
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"genres": self.genres, "scores": self.scores, "truncated": self.truncated}


@lru_cache(maxsize=1)
def _default_model() -> GenreModel:
    from moviegenre.bundle import load_bundle

    return load_bundle(None)


def load_model(path: str | Path | None = None, runtime: str = "auto") -> GenreModel:
    """Load a model bundle; without a path, the shipped default model (loaded once per process)."""
    from moviegenre.bundle import load_bundle

    if path is None and runtime == "auto":
        return _default_model()
    return load_bundle(path, runtime=runtime)


def to_predictions(model: GenreModel, plots: Sequence[str], probs: np.ndarray) -> list[Prediction]:
    """Package a model's probabilities for `plots` as Prediction objects, in input order."""
    decisions = decide(probs, model.thresholds, model.min_genres)
    limit = model.max_words
    results = []
    for plot, row, chosen in zip(plots, probs, decisions, strict=True):
        order = np.argsort(-row)
        genres = [model.labels[i] for i in order if chosen[i]]
        scores = {model.labels[i]: round(float(row[i]), 4) for i in range(len(model.labels))}
        truncated = limit is not None and count_words(plot) > limit
        results.append(Prediction(genres=genres, scores=scores, truncated=truncated))
    return results


@overload
def predict(plots: str, model: GenreModel | str | Path | None = None) -> Prediction: ...
@overload
def predict(
    plots: Sequence[str], model: GenreModel | str | Path | None = None
) -> list[Prediction]: ...


def predict(plots, model=None):
    """Predict genres for one plot (returns a Prediction) or a list of plots (returns a list)."""
    if not isinstance(model, GenreModel):
        model = load_model(model)
    single = isinstance(plots, str)
    batch = [plots] if single else list(plots)
    results = to_predictions(model, batch, model.predict_proba(batch)) if batch else []
    return results[0] if single else results
