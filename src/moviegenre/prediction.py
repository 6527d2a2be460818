"""The answer for one plot (`Prediction`) and the one function that makes it from probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from moviegenre.models.base import RoutesByLanguage
from moviegenre.text.checks import InputChecker
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
    what the answer was made from (`inputs`: "plot", "poster" or both), and the plot's language
    (`language`: {"code": ISO 639-1, "confidence"}; None for a poster alone)."""

    genres: list[str]
    scores: dict[str, float]
    truncated: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)
    inputs: tuple[str, ...] = ("plot",)
    language: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every surface answers with (API, CLI --json, predict --input lines)."""
        return {"genres": self.genres, "scores": self.scores, "truncated": self.truncated,
                "warnings": self.warnings, "inputs": list(self.inputs),
                "language": self.language}  # fmt: skip


def decide_by_inputs(
    model: Decider,
    probs: np.ndarray,
    inputs: Sequence[tuple[str, ...]] | None,
    foreign: Sequence[str | None] | None = None,
) -> np.ndarray:
    """0/1 decisions, each row with the thresholds for what it was answered from (and, for a
    model that routes by language, the plot's language: `foreign`, None for English)."""
    routed = isinstance(model, RoutesByLanguage) and foreign is not None and any(foreign)
    if not routed and (inputs is None or all(used == ("plot",) for used in inputs)):
        return decide(probs, model.thresholds, model.min_genres)
    used_rows = [("plot",)] * len(probs) if inputs is None else [tuple(i) for i in inputs]
    groups = [
        (used, foreign[i] is not None if routed and foreign is not None else False)
        for i, used in enumerate(used_rows)
    ]
    decisions = np.zeros(np.shape(probs), dtype=np.int8)
    for used, is_foreign in set(groups):
        rows = [i for i, group in enumerate(groups) if group == (used, is_foreign)]
        if is_foreign and isinstance(model, RoutesByLanguage) and foreign is not None:
            thresholds = model.thresholds_for_language(used, foreign[rows[0]])
        else:
            thresholds = model.thresholds_for(used)
        decisions[rows] = decide(probs[rows], thresholds, model.min_genres)
    return decisions


def to_predictions(
    model: Decider,
    plots: Sequence[str | None],
    probs: np.ndarray,
    inputs: Sequence[tuple[str, ...]] | None = None,
    languages: Sequence[str | None] | None = None,
) -> list[Prediction]:
    """Package a model's probabilities for `plots` as Predictions, in input order.

    languages: ISO 639-1 codes the caller states, per plot (None: detected by the input checker).

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
    limit = model.max_words
    stated = [None] * len(plots) if languages is None else list(languages)
    checks = [
        None if plot is None else model.input_checker.check(plot, limit, lang)
        for plot, lang in zip(plots, stated, strict=True)
    ]
    foreign = None
    if isinstance(model, RoutesByLanguage):
        foreign = [
            None if plot is None else model.input_checker.foreign(plot, lang)
            for plot, lang in zip(plots, stated, strict=True)
        ]
    chosen = decide_by_inputs(model, probs, inputs, foreign).astype(bool).tolist()
    used = [("plot",)] * len(plots) if inputs is None else [tuple(i) for i in inputs]
    order = np.argsort(-probs, axis=1).tolist()
    # A float32 times 10**4 is exact in float64, so np.round gives exactly Python's
    # round(float(p), 4) (ties included: both round half to even), about 10x faster.
    rounded = np.round(probs.astype(np.float64), 4).tolist()
    labels = list(model.labels)
    return [
        Prediction(
            # a plot without one known word gets no genre (unless a poster speaks too): its
            # scores are only the model's guess for an empty plot, and its warnings say why
            genres=[labels[i] for i in ranked if picks[i]]
            if check is None or check.readable or "poster" in row_inputs
            else [],
            scores=dict(zip(labels, row, strict=True)),
            # the check's own verdict: a multilingual model's encoder reads foreign plots whole
            truncated=check is not None and any(w["code"] == "truncated" for w in check.warnings),
            warnings=[] if check is None else check.warnings,
            inputs=row_inputs,
            language=None if check is None else check.language,
        )
        for plot, row, picks, ranked, check, row_inputs in zip(
            plots, rounded, chosen, order, checks, used, strict=True
        )
    ]


def answer(
    model: Any,
    plots: Sequence[str | None],
    posters: Sequence[Any] | None = None,
    languages: Sequence[str | None] | None = None,
) -> list[Prediction]:
    """Predictions for rows of plots (and posters), with the languages a caller states (ISO
    639-1 codes, None: detect): a model that routes by language answers each plot with the
    member for the stated language; every answer names it."""
    if languages is not None and len(languages) != len(plots):
        raise ValueError(f"got {len(plots)} plots but {len(languages)} languages")
    if isinstance(model, RoutesByLanguage) and languages is not None:
        probs, used = model.predict_inputs(plots, posters, languages)  # type: ignore[call-arg]
    elif posters is None:
        probs, used = model.predict_proba(list(plots)), None
    else:
        probs, used = model.predict_inputs(plots, posters)
    return to_predictions(model, plots, probs, used, languages)
