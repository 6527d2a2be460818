"""The small public Python API: load a model and predict genres with scores."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Predictor
from moviegenre.movie import Movie, movies_from
from moviegenre.prediction import Prediction, answer, to_predictions

__all__ = ["Movie", "Prediction", "answer", "load_model", "predict", "to_predictions"]


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
def predict(
    plots: str | None = None,
    model: Predictor | str | Path | None = None,
    *,
    poster: Any = None,
    language: str | None = None,
) -> Prediction: ...
@overload
def predict(
    plots: Sequence[str | None],
    model: Predictor | str | Path | None = None,
    *,
    posters: Sequence[Any] | None = None,
    language: str | Sequence[str | None] | None = None,
) -> list[Prediction]: ...


def predict(plots=None, model=None, *, poster=None, posters=None, language=None):
    """Predict genres for one movie (returns a Prediction) or a list of movies (returns a list).

    A movie is its plot, its poster (`poster=`: a file path, the image's bytes or an RGB array),
    or both; a list of plots takes `posters=`, a list of the same length (None where a movie has
    no poster; a plot may be None where there is one). Each answer's `inputs` says what it used:
    a model without a poster part answers from the plot alone. `language`: the plot's ISO 639-1
    code (one for every plot, or a list), for short or mixed plots; detected when not given.
    """
    if not isinstance(model, Predictor):
        model = load_model(model)
    single = plots is None or isinstance(plots, str)
    if single and posters is not None:
        raise MovieGenreError("one movie takes poster=..., a list of plots takes posters=[...]")
    if not single and poster is not None:
        raise MovieGenreError("a list of plots takes posters=[...], not poster=...")
    if single and plots is None and poster is None:
        raise MovieGenreError("give a plot, a poster, or both")
    if single:
        movies = [Movie(plots, poster, language if isinstance(language, str) else None)]
    else:
        plots = list(plots)
        languages = [language] * len(plots) if isinstance(language, str) else language
        movies = movies_from(plots, posters, languages)
    results = answer(model, movies)
    return results[0] if single else results
