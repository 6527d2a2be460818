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

    def thresholds_for(self, inputs: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Prediction:
    """One movie's predicted genres, every genre's probability, whether the plot was cut,
    warnings ({"code", "message"}; empty when all is well, see `moviegenre.text.checks`), and
    what the answer was made from (`inputs`: "plot", "poster" or both)."""

    genres: list[str]
    scores: dict[str, float]
    truncated: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)
    inputs: tuple[str, ...] = ("plot",)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every surface answers with (API, CLI --json, predict --input lines)."""
        return {"genres": self.genres, "scores": self.scores, "truncated": self.truncated,
                "warnings": self.warnings, "inputs": list(self.inputs)}  # fmt: skip


def decide_by_inputs(
    model: Decider, probs: np.ndarray, inputs: Sequence[tuple[str, ...]] | None
) -> np.ndarray:
    """0/1 decisions, each row with the thresholds for what it was answered from."""
    if inputs is None or all(used == ("plot",) for used in inputs):
        return decide(probs, model.thresholds, model.min_genres)
    decisions = np.zeros(np.shape(probs), dtype=np.int8)
    for used in set(inputs):
        rows = [i for i, row_inputs in enumerate(inputs) if row_inputs == used]
        decisions[rows] = decide(probs[rows], model.thresholds_for(used), model.min_genres)
    return decisions


def to_predictions(
    model: Decider,
    plots: Sequence[str | None],
    probs: np.ndarray,
    inputs: Sequence[tuple[str, ...]] | None = None,
) -> list[Prediction]:
    """Package a model's probabilities for `plots` as Predictions, in input order.

    inputs: what each row was answered from (default: its plot); it picks the thresholds. A plot
    may be None where the row was answered from a poster alone; a row with a poster is answered
    even when its plot has no known word.

    Genres are those `decide` picks (thresholds, at least `min_genres`), most probable first,
    and none for a plot with no known word; scores are every label's probability rounded to 4
    decimals; warnings come from the model's input checker. Computed on the whole matrix:
    per-row NumPy calls cost more than the model itself on short plots.
    """
    probs = np.asarray(probs)
    if len(plots) == 0:
        return []
    chosen = decide_by_inputs(model, probs, inputs).astype(bool).tolist()
    used = [("plot",)] * len(plots) if inputs is None else [tuple(i) for i in inputs]
    order = np.argsort(-probs, axis=1).tolist()
    # A float32 times 10**4 is exact in float64, so np.round gives exactly Python's
    # round(float(p), 4) (ties included: both round half to even), about 10x faster.
    rounded = np.round(probs.astype(np.float64), 4).tolist()
    labels, limit = list(model.labels), model.max_words
    checks = [None if plot is None else model.input_checker.check(plot, limit) for plot in plots]
    return [
        Prediction(
            # a plot without one known word gets no genre (unless a poster speaks too): its
            # scores are only the model's guess for an empty plot, and its warnings say why
            genres=[labels[i] for i in ranked if picks[i]]
            if check is None or check.readable or "poster" in row_inputs
            else [],
            scores=dict(zip(labels, row, strict=True)),
            truncated=plot is not None and limit is not None and count_words(plot) > limit,
            warnings=[] if check is None else check.warnings,
            inputs=row_inputs,
        )
        for plot, row, picks, ranked, check, row_inputs in zip(
            plots, rounded, chosen, order, checks, used, strict=True
        )
    ]
