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
    word_spans,
)
from moviegenre.models.base import Predictor

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
) -> Explanation:
    """Weight every plot word for every genre by removing it and watching the genre's score.

    weight(word i, genre g) = p_g(plot) - p_g(plot without word i): positive means the word raises
    the genre. One `predict_proba` call scores the plot and all its one-word-removed variants, so
    it works the same for every model type and runtime (native, ONNX, ensembles).

    genres: restrict to these genres (default: every genre in `model.labels`).
    max_words: occlude at most the first this many plot words; the result says when it is cut.
    scale: "probability" (default) or "logit" differences.
    """
    if not isinstance(plot, str):
        raise MovieGenreError(f"plot: expected text, got {type(plot).__name__}")
    if scale not in SCALES:
        raise MovieGenreError(f"scale: expected one of {', '.join(SCALES)}, got {scale!r}")
    if max_words < 1:
        raise MovieGenreError(f"max_words: expected a positive number, got {max_words}")
    chosen = genre_indices(model, genres)
    spans = word_spans(plot)
    result = Explanation({model.labels[g]: [] for g in chosen})
    result.scale, result.total_words = scale, len(spans)
    # Words the model never reads (past its own length limit) cannot change its output.
    limit = min(max_words, model.max_words or max_words)
    spans = spans[:limit]
    result.explained_words = len(spans)
    if not spans:  # empty or punctuation-only plot: nothing to weigh, and no model call needed
        return result
    batch = [plot, *(_without(plot, span) for span in spans)]
    scores = _to_scale(np.asarray(model.predict_proba(batch)), scale)
    deltas = scores[0][None, :] - scores[1:]  # (n words, n genres)
    for g in chosen:
        result[model.labels[g]] = [(span.word, float(deltas[i, g])) for i, span in enumerate(spans)]
    return result
