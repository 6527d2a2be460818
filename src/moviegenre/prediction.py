"""The answer for one plot (`Prediction`) and the one function that makes it from probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from moviegenre.text.checks import InputChecker
from moviegenre.text.tokenizer import count_words
from moviegenre.thresholds import decide


class Decider(Protocol):
    """What turning probabilities into genres needs from a model."""

    labels: list[str]
    thresholds: np.ndarray
    min_genres: int
    max_words: int | None
    input_checker: InputChecker


@dataclass(frozen=True)
class Prediction:
    """One plot's predicted genres, every genre's probability, whether the plot was cut, and
    warnings ({"code", "message"}; empty when all is well, see `moviegenre.text.checks`)."""

    genres: list[str]
    scores: dict[str, float]
    truncated: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every surface answers with (API, CLI --json, predict --input lines)."""
        return {"genres": self.genres, "scores": self.scores, "truncated": self.truncated,
                "warnings": self.warnings}  # fmt: skip


def to_predictions(model: Decider, plots: Sequence[str], probs: np.ndarray) -> list[Prediction]:
    """Package a model's probabilities for `plots` as Predictions, in input order.

    Genres are those `decide` picks (thresholds, at least `min_genres`), most probable first,
    and none for a plot with no known word; scores are every label's probability rounded to 4
    decimals; warnings come from the model's input checker. Computed on the whole matrix:
    per-row NumPy calls cost more than the model itself on short plots.
    """
    probs = np.asarray(probs)
    if len(plots) == 0:
        return []
    chosen = decide(probs, model.thresholds, model.min_genres).astype(bool).tolist()
    order = np.argsort(-probs, axis=1).tolist()
    # A float32 times 10**4 is exact in float64, so np.round gives exactly Python's
    # round(float(p), 4) (ties included: both round half to even), about 10x faster.
    rounded = np.round(probs.astype(np.float64), 4).tolist()
    labels, limit = list(model.labels), model.max_words
    checks = [model.input_checker.check(plot, limit) for plot in plots]
    return [
        Prediction(
            # a plot without one known word gets no genre: its scores are only the model's
            # guess for an empty plot, and its warnings say why
            genres=[labels[i] for i in ranked if picks[i]] if check.readable else [],
            scores=dict(zip(labels, row, strict=True)),
            truncated=limit is not None and count_words(plot) > limit,
            warnings=check.warnings,
        )
        for plot, row, picks, ranked, check in zip(
            plots, rounded, chosen, order, checks, strict=True
        )
    ]
