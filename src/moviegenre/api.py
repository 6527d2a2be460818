"""The small public Python API: load a model and predict genres with scores."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import overload

from moviegenre.models.base import Predictor
from moviegenre.prediction import Prediction, to_predictions

__all__ = ["Prediction", "load_model", "predict", "to_predictions"]


@lru_cache(maxsize=1)
def _default_model() -> Predictor:
    from moviegenre.bundle import load_bundle

    return load_bundle(None)


def load_model(path: str | Path | None = None, runtime: str = "auto") -> Predictor:
    """Load a model bundle; without a path, the shipped default model (loaded once per process)."""
    from moviegenre.bundle import load_bundle

    if path is None and runtime == "auto":
        return _default_model()
    return load_bundle(path, runtime=runtime)


@overload
def predict(plots: str, model: Predictor | str | Path | None = None) -> Prediction: ...
@overload
def predict(
    plots: Sequence[str], model: Predictor | str | Path | None = None
) -> list[Prediction]: ...


def predict(plots, model=None):
    """Predict genres for one plot (returns a Prediction) or a list of plots (returns a list)."""
    if not isinstance(model, Predictor):
        model = load_model(model)
    single = isinstance(plots, str)
    batch = [plots] if single else list(plots)
    results = to_predictions(model, batch, model.predict_proba(batch)) if batch else []
    return results[0] if single else results
