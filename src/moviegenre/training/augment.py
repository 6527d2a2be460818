"""Extra plots for distillation: pieces of two training plots of one fold, for the teacher to label.

A student learns the teacher's function only where it sees the teacher's answers. The corpus has
about 12,000 training plots; made-up plots (a span of one plot's sentences followed by a span of
another's) show the student many more inputs, each labelled by the teacher. Both source plots come
from the same cross-fitting fold, so the fold model that labels the mix trained on neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from moviegenre.errors import MovieGenreError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(plot: str) -> list[str]:
    """A plot cut after each . ! or ? that a space follows (good enough to make pieces)."""
    return [s for s in _SENTENCE_END.split(plot.strip()) if s]


def _span(parts: list[str], rng: np.random.Generator) -> list[str]:
    """A random contiguous run of about half of `parts` (at least one)."""
    if len(parts) == 1:
        words = parts[0].split()
        if len(words) < 4:
            return parts
        size = int(rng.integers(len(words) // 3, len(words) // 2 + 1))
        start = int(rng.integers(0, len(words) - size + 1))
        return [" ".join(words[start : start + size])]
    size = int(rng.integers(1, (len(parts) + 1) // 2 + 1))
    start = int(rng.integers(0, len(parts) - size + 1))
    return parts[start : start + size]


def mixed_plots(
    plots: Sequence[str], fold: np.ndarray, per_plot: int, seed: int = 0
) -> tuple[list[str], np.ndarray]:
    """`per_plot` made-up plots for each plot: a span of its sentences, then a span of another
    plot's from the same fold. Returns (plots, fold of each), in a fixed order for a seed."""
    fold = np.asarray(fold)
    if len(fold) != len(plots):
        raise MovieGenreError("mixed_plots needs one fold per plot")
    if per_plot < 0:
        raise MovieGenreError(f"augmentation needs a count of 0 or more, not {per_plot}")
    rng = np.random.default_rng(seed)
    pieces = [sentences(p) or [p] for p in plots]
    members = {int(k): np.flatnonzero(fold == k) for k in np.unique(fold)}
    texts: list[str] = []
    folds: list[int] = []
    for _ in range(per_plot):
        for i in range(len(plots)):
            same = members[int(fold[i])]
            other = int(same[rng.integers(len(same))])
            texts.append(" ".join([*_span(pieces[i], rng), *_span(pieces[other], rng)]))
            folds.append(int(fold[i]))
    return texts, np.asarray(folds, dtype=np.int64)
