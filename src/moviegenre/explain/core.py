"""What both explanation methods share: the plot's words, the result type, choosing genres."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Predictor

# Each plot word costs one extra row in the batch; 400 words covers all but the longest plots.
MAX_OCCLUDED_WORDS = 400
_TOKEN_SPAN = re.compile(r"\S+")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$", re.UNICODE)
# The units of a plot written without spaces (Chinese, Japanese, Thai): each letter, and runs of
# Latin letters or digits ("iPhone", "2049") whole.
_CHARACTER = re.compile(r"[A-Za-z0-9]+|[^\W_]")

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
    unit: str = "word"  # "character" for plots written without spaces
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
            "unit": self.unit,
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


def unit_spans(plot: str, unspaced: bool = False) -> list[WordSpan]:
    """The units an explanation weighs: the plot's words, or for a language written without
    spaces (`unspaced`) its characters (Latin runs and numbers whole)."""
    if not unspaced:
        return word_spans(plot)
    return [WordSpan(m.group(), m.start(), m.end()) for m in _CHARACTER.finditer(plot)]


def genre_indices(model: Predictor, genres: Sequence[str] | None) -> list[int]:
    if genres is None:
        return list(range(len(model.labels)))
    index = {g: i for i, g in enumerate(model.labels)}
    unknown = [g for g in genres if g not in index]
    if unknown:
        raise MovieGenreError(
            f"unknown genre {unknown[0]!r}; this model knows: {', '.join(model.labels)}"
        )
    return [index[g] for g in genres]


def top_words(
    explanation: dict[str, list[tuple[str, float]]], genre: str, k: int = 5
) -> list[tuple[int, str, float]]:
    """The k words that raise `genre` most, as (word position, word, weight), strongest first."""
    ranked = sorted(enumerate(explanation.get(genre, [])), key=lambda item: (-item[1][1], item[0]))
    return [(i, word, weight) for i, (word, weight) in ranked[:k] if weight > 0]
