"""Occlusion explanations: how much each plot word moves each genre, for any model and runtime."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel

# Each plot word costs one extra row in the batch; 400 words covers all but the longest plots.
MAX_OCCLUDED_WORDS = 400
SCALES = ("probability", "logit")
_TOKEN_SPAN = re.compile(r"\S+")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$", re.UNICODE)
_EPS = 1e-6

# A made-up 60-word synopsis: the benchmark's "one typical plot".
SAMPLE_PLOT = (
    "A retired detective is pulled back into the city's underworld when his estranged daughter "
    "vanishes after witnessing a murder. With a reluctant young hacker at his side, he follows a "
    "trail of stolen money, crooked police and old enemies, racing against time to find her "
    "before the killers do, while quietly confronting the choices that destroyed his family "
    "years ago."
)


class Explanation(dict):
    """genre -> [(word, weight), ...] in plot order, plus how the weights were made.

    It is a plain dict of lists for callers that only want the weights; the attributes say whether
    the plot was longer than what was explained (`truncated`: only the first `explained_words` of
    `total_words` plot words have weights).
    """

    method: str = "occlusion"
    scale: str = "probability"
    total_words: int = 0
    explained_words: int = 0

    @property
    def truncated(self) -> bool:
        return self.explained_words < self.total_words

    def info(self) -> dict[str, Any]:
        """The metadata as a JSON-ready dict (what the CLI and API add next to the weights)."""
        return {
            "method": self.method,
            "scale": self.scale,
            "total_words": self.total_words,
            "explained_words": self.explained_words,
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class WordSpan:
    """One plot word: its text (edge punctuation stripped) and the span of its token in the plot."""

    word: str
    start: int
    end: int


def word_spans(plot: str) -> list[WordSpan]:
    """The plot's words, exactly as `plot_words` returns them, with their token's character span."""
    spans = []
    for match in _TOKEN_SPAN.finditer(plot):
        word = _EDGE_PUNCT.sub("", match.group())
        if word:  # punctuation-only tokens ("—", "...") are not words and are never occluded
            spans.append(WordSpan(word, match.start(), match.end()))
    return spans


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


def _genre_indices(model: GenreModel, genres: Sequence[str] | None) -> list[int]:
    if genres is None:
        return list(range(len(model.labels)))
    index = {g: i for i, g in enumerate(model.labels)}
    unknown = [g for g in genres if g not in index]
    if unknown:
        raise MovieGenreError(
            f"unknown genre {unknown[0]!r}; this model knows: {', '.join(model.labels)}"
        )
    return [index[g] for g in genres]


def explain(
    model: GenreModel,
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
    chosen = _genre_indices(model, genres)
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


def top_words(
    explanation: dict[str, list[tuple[str, float]]], genre: str, k: int = 5
) -> list[tuple[int, str, float]]:
    """The k words that raise `genre` most, as (word position, word, weight), strongest first."""
    ranked = sorted(enumerate(explanation.get(genre, [])), key=lambda item: (-item[1][1], item[0]))
    return [(i, word, weight) for i, (word, weight) in ranked[:k] if weight > 0]


def benchmark_explain(
    model: GenreModel, n: int = 20, plot: str | None = None, method: str = "occlusion"
) -> dict[str, Any]:
    """Time explaining one plot (default: a 60-word synopsis) `n` times on one CPU thread.

    Returns median/p95/mean milliseconds; the first call is a warm-up and is not counted.
    """
    from moviegenre.compute import one_thread

    plot = SAMPLE_PLOT if plot is None else plot
    if method == "occlusion":
        run = lambda: explain(model, plot)  # noqa: E731
    elif method == "gradients":
        from moviegenre.explain.gradients import explain_gradients

        run = lambda: explain_gradients(model, plot)  # noqa: E731
    else:
        raise MovieGenreError(f"method: expected occlusion or gradients, got {method!r}")
    timings = []
    with one_thread():
        run()
        for _ in range(max(1, n)):
            started = time.perf_counter()
            run()
            timings.append((time.perf_counter() - started) * 1000.0)
    timings.sort()
    return {
        "method": method,
        "model_type": getattr(model, "model_type", type(model).__name__),
        "words": len(word_spans(plot)),
        "runs": len(timings),
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[min(len(timings) - 1, int(0.95 * len(timings)))], 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }
