"""What every training run returns and reports: the one result type, the one headline, and the
metrics of a split from a model's own scores (text, poster and assembled models alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.calibration import DEFAULT_METHOD
from moviegenre.evaluation.metrics import calibration_metrics, compute_metrics
from moviegenre.models.base import GenreModel, Stored
from moviegenre.thresholds import decide


@dataclass
class TrainResult:
    model: Stored
    metrics: dict[str, dict[str, Any]]  # split name -> metrics (thresholds tuned on valid)
    seconds: float
    path: Path | None


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without the per-genre tables (what goes into manifests, leaderboards and the
    summary `moviegenre train` prints)."""
    return {k: v for k, v in metrics.items() if k not in ("per_genre", "per_genre_ece")}


def evaluate_scores(
    model: Stored, raw: np.ndarray, targets: np.ndarray, columns: Sequence[int] | None = None
) -> dict[str, Any]:
    """Decision metrics plus calibration metrics (ECE, Brier score, log loss) of the model's own
    scores `raw` of one split, decided with its thresholds and calibrated with its calibrator.

    columns: score only these genres (a poster label source that cannot name the others).
    With a calibrator, `ece_uncalibrated` is the ECE of the model's own scores, for comparison.
    """
    probs = raw if model.calibrator is None else model.calibrator.transform(raw)
    decisions = decide(probs, model.thresholds, model.min_genres)
    keep = list(range(len(model.labels))) if columns is None else list(columns)
    names = [model.labels[j] for j in keep]
    targets = np.asarray(targets)[:, keep]
    result = compute_metrics(targets, decisions[:, keep], names)
    result.update(calibration_metrics(targets, probs[:, keep], names))
    if model.calibrator is not None:
        result["ece_uncalibrated"] = calibration_metrics(targets, raw[:, keep], names)["ece"]
    return result


def evaluate_split(model: GenreModel, plots: list[str], targets: np.ndarray) -> dict[str, Any]:
    """`evaluate_scores` of a text model on one split's plots."""
    return evaluate_scores(model, model.predict_raw(plots), targets)


def tune_and_score(
    model: GenreModel,
    valid_plots: Sequence[str],
    valid_targets: np.ndarray,
    tests: dict[str, tuple[Sequence[str], np.ndarray]],
    *,
    metric: str = "f1",
    min_genres: int = 1,
    calibration: str | None = DEFAULT_METHOD,
) -> dict[str, dict[str, Any]]:
    """Tune `model.thresholds` on valid (per genre, F1 or MCC) and fit its calibrator there
    (`GenreModel.fit_decisions`), then score with them.

    Returns the metrics of "valid" and of each named test set, in that order: decisions keep at
    least `min_genres` genres a plot. Tuning on valid and reporting on test is the honest order;
    the valid figures only show how much tuning flatters.
    """
    model.min_genres = min_genres
    # the valid plots are read once: the raw scores that tuned the decisions are scored too
    raw = model.fit_decisions(list(valid_plots), valid_targets, metric, calibration)
    metrics = {"valid": evaluate_scores(model, raw, valid_targets)}
    for name, (plots, targets) in tests.items():
        metrics[name] = evaluate_split(model, list(plots), targets)
    return metrics
