"""Scores by input on movies that have both a plot and a poster: plot, poster, plot + poster."""

from __future__ import annotations

from typing import Any

import numpy as np

from moviegenre.evaluation.metrics import (
    bootstrap_interval,
    compute_metrics,
    macro_f1_min_support,
    micro_f1,
)
from moviegenre.movie import Movie
from moviegenre.thresholds import decide

MODES: tuple[tuple[str, ...], ...] = (("plot",), ("poster",), ("plot", "poster"))
MIN_SUPPORT = 10  # "macro>=10": macro-F1 over the genres with at least 10 of these movies


def evaluate_by_inputs(model: Any, movies: Any) -> dict[str, dict[str, Any]]:
    """One metrics dict per input the model can answer from ("plot", "poster", "plot+poster"),
    each on the same movies with the model's thresholds for that input, and the paired bootstrap
    interval of plot+poster's gain over the plot alone.

    movies: plots, posters (files) and targets of the same movies (`data.posters.JoinedMovies`).
    """
    decisions: dict[str, np.ndarray] = {}
    rows: dict[str, dict[str, Any]] = {}
    for used in MODES:
        if not set(used) <= set(model.inputs):
            continue
        batch = [
            Movie(plot if "plot" in used else None, poster if "poster" in used else None)
            for plot, poster in zip(movies.plots, movies.posters, strict=True)
        ]
        probs = model.predict_movies(batch).probs
        decided = decide(probs, model.thresholds_for(used), model.min_genres)
        key = "+".join(used)
        found = compute_metrics(movies.targets, decided, model.labels)
        found["macro_f1_min10"] = macro_f1_min_support(movies.targets, decided, MIN_SUPPORT)
        found["macro_f1_min10_ci"] = bootstrap_interval(
            lambda t, d: macro_f1_min_support(t, d, MIN_SUPPORT), movies.targets, decided
        )
        rows[key], decisions[key] = found, decided
    if "plot" in decisions and "plot+poster" in decisions:
        gain = rows["plot+poster"]
        gain["micro_f1_gain_ci"] = bootstrap_interval(
            lambda t, a, b: micro_f1(t, b) - micro_f1(t, a),
            movies.targets, decisions["plot"], decisions["plot+poster"],
        )  # fmt: skip
        gain["macro_f1_min10_gain_ci"] = bootstrap_interval(
            lambda t, a, b: macro_f1_min_support(t, b, MIN_SUPPORT)
            - macro_f1_min_support(t, a, MIN_SUPPORT),
            movies.targets, decisions["plot"], decisions["plot+poster"],
        )  # fmt: skip
    return rows


def by_inputs_table(rows: dict[str, dict[str, Any]], movies: int) -> str:
    """A readable table of `evaluate_by_inputs`'s rows."""
    lines = [
        f"by input, on the {movies} movies of this split that have a poster "
        "(95% bootstrap intervals over movies):",
        f"{'inputs':<13}{'micro F1':>22}{'macro F1':>10}{'macro F1 (>=10)':>26}",
    ]
    for key, m in rows.items():
        low, high = m["micro_f1_ci"]
        mlow, mhigh = m["macro_f1_min10_ci"]
        lines.append(
            f"{key:<13}{m['micro_f1']:>8.3f} [{low:.3f}, {high:.3f}]{m['macro_f1']:>10.3f}"
            f"{m['macro_f1_min10']:>10.3f} [{mlow:.3f}, {mhigh:.3f}]"
        )
    gain = rows.get("plot+poster", {})
    if "micro_f1_gain_ci" in gain:
        a, b = gain["micro_f1_gain_ci"]
        c, d = gain["macro_f1_min10_gain_ci"]
        lines.append(
            f"plot+poster minus plot: micro F1 [{a:+.3f}, {b:+.3f}], "
            f"macro F1 (>=10) [{c:+.3f}, {d:+.3f}] (paired bootstrap)"
        )
    return "\n".join(lines)
