"""Occlusion explanations: how much each plot word moves each genre, for any model and runtime."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.explain.core import (
    MAX_OCCLUDED_WORDS,
    Explanation,
    WordSpan,
    genre_indices,
    unit_spans,
    word_spans,
)
from moviegenre.models.base import Predictor, RoutesByLanguage
from moviegenre.movie import Movie
from moviegenre.text.checks import UNSPACED_LANGUAGES

SCALES = ("probability", "logit")
_EPS = 1e-6


def _without(plot: str, span: WordSpan) -> str:
    # Remove the whole whitespace-separated token and one adjacent space, so the variant reads as
    # the plot with that word never written (no double space, punctuation glued to it goes too).
    start, end = span.start, span.end
    if end < len(plot) and plot[end] == " ":
        end += 1
    elif start > 0 and plot[start - 1] == " ":
        start -= 1
    return plot[:start] + plot[end:]


def remove_words(plot: str, positions: Sequence[int]) -> str:
    """The plot with the plot words at `positions` (indexes into `plot_words(plot)`) removed."""
    spans = word_spans(plot)
    for index in sorted(set(positions), reverse=True):  # right to left keeps earlier spans valid
        plot = _without(plot, spans[index])
    return plot


def _to_scale(probs: np.ndarray, scale: str) -> np.ndarray:
    probs = probs.astype(np.float64)
    if scale == "logit":
        clipped = np.clip(probs, _EPS, 1.0 - _EPS)
        return np.log(clipped) - np.log1p(-clipped)
    return probs


def explain(
    model: Predictor,
    plot: str,
    *,
    genres: Sequence[str] | None = None,
    max_words: int = MAX_OCCLUDED_WORDS,
    scale: str = "probability",
    language: str | None = None,
) -> Explanation:
    """Weight every plot word for every genre by removing it and watching the genre's score.

    weight(word i, genre g) = p_g(plot) - p_g(plot without word i): positive means the word raises
    the genre. One `predict_proba` call scores the plot and all its one-word-removed variants, so
    it works the same for every model type and runtime (native, ONNX, ensembles).

    genres: restrict to these genres (default: every genre in `model.labels`).
    max_words: occlude at most the first this many plot words; the result says when it is cut.
    scale: "probability" (default) or "logit" differences.
    language: the plot's ISO 639-1 code (None: detected). A plot in a language written without
    spaces (zh, ja, th) is weighed character by character; a model that routes by language
    answers every variant with the path of the whole plot.
    """
    if not isinstance(plot, str):
        raise MovieGenreError(f"plot: expected text, got {type(plot).__name__}")
    if scale not in SCALES:
        raise MovieGenreError(f"scale: expected one of {', '.join(SCALES)}, got {scale!r}")
    if max_words < 1:
        raise MovieGenreError(f"max_words: expected a positive number, got {max_words}")
    chosen = genre_indices(model, genres)
    code = model.input_checker.language(plot, language)[0]
    unspaced = code in UNSPACED_LANGUAGES
    spans = unit_spans(plot, unspaced) if unspaced else word_spans(plot)
    result = Explanation({model.labels[g]: [] for g in chosen})
    result.scale, result.total_words = scale, len(spans)
    result.unit = "character" if unspaced else "word"
    route = model.input_checker.foreign(plot, language)
    # Words the model never reads (past its own length limit) cannot change its output; the
    # multilingual encoder reads a plot in another language whole.
    limit = min(max_words, model.max_words or max_words) if route is None else max_words
    spans = spans[:limit]
    result.explained_words = len(spans)
    if not spans:  # empty or punctuation-only plot: nothing to weigh, and no model call needed
        return result
    batch = [plot, *(_without(plot, span) for span in spans)]
    if isinstance(model, RoutesByLanguage):  # every variant on the whole plot's path
        probs = model.predict_movies([Movie(text, None, route or "en") for text in batch]).probs
    else:
        probs = model.predict_proba(batch)
    scores = _to_scale(np.asarray(probs), scale)
    deltas = scores[0][None, :] - scores[1:]  # (n words, n genres)
    for g in chosen:
        result[model.labels[g]] = [(span.word, float(deltas[i, g])) for i, span in enumerate(spans)]
    return result
