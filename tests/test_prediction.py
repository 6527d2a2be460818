"""to_predictions: the one function that turns probabilities into answers, checked row by row."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from moviegenre.prediction import Prediction, to_predictions
from moviegenre.text.checks import InputChecker

LABELS = ["Action", "Comedy", "Drama", "Horror"]


def _reference(model: SimpleNamespace, plot: str, row: np.ndarray) -> Prediction:
    """The plain per-plot definition: thresholds (a plot with fewer than min_genres genres gets
    the top min_genres added), genres most probable first, Python's round()."""
    picked = {i for i, p in enumerate(row) if p >= model.thresholds[i]}
    ranked = sorted(range(len(row)), key=lambda i: (-row[i], i))
    if len(picked) < model.min_genres:  # too few: the top min_genres genres are added
        picked |= set(ranked[: model.min_genres])
    return Prediction(
        genres=[LABELS[i] for i in ranked if i in picked],
        scores={label: round(float(p), 4) for label, p in zip(LABELS, row, strict=True)},
        truncated=len(plot.split()) > model.max_words,
        warnings=model.input_checker.check(plot, model.max_words).warnings,
    )


@settings(max_examples=200, deadline=None)
@given(
    probs=arrays(
        np.float32,
        (3, 4),
        elements=st.floats(0, 1, width=32).map(lambda p: round(p * 64) / 64)
        | st.floats(0, 1, width=32),
    ),
    min_genres=st.integers(0, 2),
)
def test_matches_the_per_plot_definition(probs: np.ndarray, min_genres: int) -> None:
    # Multiples of 1/64 make exact ties between genres and exact 4-decimal rounding ties.
    model = SimpleNamespace(
        labels=LABELS,
        thresholds=np.array([0.5, 0.3, 0.6, 0.9], dtype=np.float32),
        min_genres=min_genres,
        max_words=3,
        input_checker=InputChecker(None),  # no vocabulary: only the length warnings
    )
    plots = ["one two", "one two three four", "a b c"]
    got = to_predictions(model, plots, probs)
    for plot, row, answer in zip(plots, probs, got, strict=True):
        expected = _reference(model, plot, row)
        assert answer.scores == expected.scores and answer.truncated == expected.truncated
        assert answer.warnings == expected.warnings
        # Genres of equal probability may come in either order (and either may fill the
        # min_genres quota): compare the probabilities, in order, and the thresholded genres.
        index = {label: i for i, label in enumerate(LABELS)}
        assert [row[index[g]] for g in answer.genres] == [row[index[g]] for g in expected.genres]
        assert {g for g in LABELS if row[index[g]] >= model.thresholds[index[g]]} <= set(
            answer.genres
        )
        assert list(answer.to_dict()) == [
            "genres", "scores", "truncated", "warnings", "inputs", "language"
        ]  # fmt: skip
        assert answer.inputs == ("plot",)


def test_no_plots_no_predictions() -> None:
    model = SimpleNamespace(labels=LABELS, thresholds=np.full(4, 0.5), min_genres=1, max_words=None)
    assert to_predictions(model, [], np.zeros((0, 4), dtype=np.float32)) == []
