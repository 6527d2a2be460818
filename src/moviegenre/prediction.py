"""The answer for one movie (`Prediction`), and the one road to it: `answer` (movies through the
model's entry point) and `to_predictions` (scores to genres, thresholds and warnings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import RoutesByLanguage
from moviegenre.movie import PLOT, POSTER, Inputs, Movie, Scored
from moviegenre.text.checks import InputChecker
from moviegenre.thresholds import decide


class Decider(Protocol):
    """What turning probabilities into genres needs from a model."""

    labels: list[str]
    thresholds: np.ndarray
    min_genres: int
    max_words: int | None
    input_checker: InputChecker

    def thresholds_for(self, inputs: Inputs) -> np.ndarray: ...


class Answerer(Decider, Protocol):
    """A model that can also score movies (every `Predictor`)."""

    def predict_movies(self, movies: Sequence[Movie]) -> Scored: ...


@dataclass(frozen=True)
class Prediction:
    """One movie's predicted genres, every genre's probability, whether the plot was cut,
    warnings ({"code", "message"}; empty when all is well, see `moviegenre.text.checks`), and
    what the answer was made from (`inputs`: "plot", "poster" or both), the plot's language
    (`language`: {"code": ISO 639-1, "confidence"}; None for a poster alone), and the per-genre
    thresholds it was decided with (`thresholds`, rounded like the scores: surfaces show them and
    never look them up again; not part of `to_dict`, whose shape every JSON answer keeps)."""

    genres: list[str]
    scores: dict[str, float]
    truncated: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)
    inputs: Inputs = (PLOT,)
    language: dict[str, Any] | None = None
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every surface answers with (API, CLI --json, predict --input lines)."""
        return {"genres": self.genres, "scores": self.scores, "truncated": self.truncated,
                "warnings": self.warnings, "inputs": list(self.inputs),
                "language": self.language}  # fmt: skip


Key = tuple[Inputs, str | None]  # (what a row used, the route it took: None for the usual one)


def _thresholds_by_key(model: Decider, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
    """The per-genre thresholds for each distinct (inputs, route) of a batch: a plot alone on the
    model's own path gets its thresholds; a row the model sent down another route (a plot in
    another language, `Scored.routes`) gets that route's."""
    out: dict[Key, np.ndarray] = {}
    for used, route in set(keys):
        if route is not None and isinstance(model, RoutesByLanguage):
            out[(used, route)] = model.thresholds_for_route(used, route)
        else:
            out[(used, route)] = model.thresholds if used == (PLOT,) else model.thresholds_for(used)
    return out


def to_predictions(
    model: Decider,
    movies: Sequence[Movie] | Sequence[str | None],
    scored: Scored | np.ndarray,
    inputs: Sequence[Inputs] | None = None,
) -> list[Prediction]:
    """Package a model's scores for `movies` as Predictions, in input order: the one function
    that turns probabilities into answers.

    scored: what `model.predict_movies(movies)` returned; the inputs each row used pick its
    thresholds, which the answer carries. The older call (plots, a probability matrix and
    optionally the inputs per row) still works. A row with a poster is answered even when its
    plot has no known word.

    Genres are those `decide` picks (thresholds, at least `min_genres`), most probable first,
    and none for a plot with no known word; scores are every label's probability rounded to 4
    decimals; warnings come from the model's input checker. Computed on the whole matrix:
    per-row NumPy calls cost more than the model itself on short plots.
    """
    if not isinstance(scored, Scored):
        probs = np.asarray(scored)
        scored = Scored(probs, [(PLOT,)] * len(probs) if inputs is None else list(inputs))
    plots = [m.plot if isinstance(m, Movie) else m for m in movies]
    probs = np.asarray(scored.probs)
    if len(plots) == 0:
        return []
    used = [tuple(i) for i in scored.inputs]
    routes = scored.routes if scored.routes is not None else [None] * len(used)
    keys: list[Key] = list(zip(used, routes, strict=True))
    by_key = _thresholds_by_key(model, keys)
    labels, limit = list(model.labels), model.max_words
    if len(by_key) == 1:  # the common case: one decision call for the whole batch
        chosen = decide(probs, by_key[keys[0]], model.min_genres)
    else:
        chosen = np.zeros(np.shape(probs), dtype=np.int8)
        for key, thresholds in by_key.items():
            rows = [i for i, row_key in enumerate(keys) if row_key == key]
            chosen[rows] = decide(probs[rows], thresholds, model.min_genres)
    # one dict per distinct key, shared by the rows decided with it
    shown = {
        key: dict(zip(labels, np.round(t.astype(np.float64), 4).tolist(), strict=True))
        for key, t in by_key.items()
    }
    picked = chosen.astype(bool).tolist()
    order = np.argsort(-probs, axis=1).tolist()
    # A float32 times 10**4 is exact in float64, so np.round gives exactly Python's
    # round(float(p), 4) (ties included: both round half to even), about 10x faster.
    rounded = np.round(probs.astype(np.float64), 4).tolist()
    # the language a caller stated for a movie (None: the input checker names it)
    stated = [m.language if isinstance(m, Movie) else None for m in movies]
    checks = [
        None if plot is None else model.input_checker.check(plot, limit, language)
        for plot, language in zip(plots, stated, strict=True)
    ]
    return [
        Prediction(
            # a plot without one known word gets no genre (unless a poster speaks too): its
            # scores are only the model's guess for an empty plot, and its warnings say why
            genres=[labels[i] for i in ranked if picks[i]]
            if check is None or check.readable or POSTER in row_inputs
            else [],
            scores=dict(zip(labels, row, strict=True)),
            # the check's own verdict: a multilingual model's encoder reads foreign plots whole
            truncated=check is not None and any(w["code"] == "truncated" for w in check.warnings),
            warnings=[] if check is None else check.warnings,
            inputs=row_inputs,
            language=None if check is None else check.language,
            thresholds=shown[key],
        )
        for row, picks, ranked, check, row_inputs, key in zip(
            rounded, picked, order, checks, used, keys, strict=True
        )
    ]


def answer(model: Answerer, movies: Sequence[Movie]) -> list[Prediction]:
    """The road of every surface: a batch of movies through the model's one entry point
    (`predict_movies`), then `to_predictions`. Refuses a movie with neither plot nor poster."""
    if any(not movie.inputs for movie in movies):
        raise MovieGenreError("every movie needs a plot, a poster, or both")
    if not movies:
        return []
    return to_predictions(model, movies, model.predict_movies(movies))
