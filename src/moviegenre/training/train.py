"""Fit any model type on a data file, tune per-genre thresholds on valid, and write a bundle."""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.calibration import DEFAULT_METHOD
from moviegenre.data.dataset import fingerprint, label_set, split_records, target_matrix
from moviegenre.data.labels import apply_min_count, label_counts, load_vocabulary
from moviegenre.data.readers import read_data
from moviegenre.errors import MovieGenreError
from moviegenre.evaluation.metrics import calibration_metrics, compute_metrics
from moviegenre.models.base import GenreModel
from moviegenre.text.checks import InputChecker
from moviegenre.thresholds import decide
from moviegenre.training.build import build_model, recorded_command

log = logging.getLogger(__name__)


def _warn(message: str) -> None:
    print(f"moviegenre: warning: {message}", file=sys.stderr)


def _counts(records: Sequence[Any], labels: Sequence[str]) -> dict[str, int]:
    """Each label's number of movies in `records`, in the model's label order."""
    counts = label_counts(records)
    return {label: counts.get(label, 0) for label in labels}


@dataclass
class TrainResult:
    model: GenreModel
    metrics: dict[str, dict[str, Any]]  # split name -> metrics (thresholds tuned on valid)
    seconds: float
    path: Path | None


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without the per-genre table (what goes into manifests and leaderboards)."""
    return {k: v for k, v in metrics.items() if k not in ("per_genre", "per_genre_ece")}


def evaluate_split(model: GenreModel, plots: list[str], targets: np.ndarray) -> dict[str, Any]:
    """Decision metrics plus calibration metrics (ECE, Brier score, log loss) of one split.

    With a calibrator, `ece_uncalibrated` is the ECE of the model's own scores, for comparison.
    """
    raw = model.predict_raw(plots)
    probs = raw if model.calibrator is None else model.calibrator.transform(raw)
    decisions = decide(probs, model.thresholds, model.min_genres)
    result = compute_metrics(targets, decisions, model.labels)
    result.update(calibration_metrics(targets, probs, model.labels))
    if model.calibrator is not None:
        result["ece_uncalibrated"] = calibration_metrics(targets, raw, model.labels)["ece"]
    return result


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
    model.fit_decisions(list(valid_plots), valid_targets, metric, calibration)
    metrics = {"valid": evaluate_split(model, list(valid_plots), valid_targets)}
    for name, (plots, targets) in tests.items():
        metrics[name] = evaluate_split(model, list(plots), targets)
    return metrics


def train(
    data: str | Path,
    model_type: str,
    out: str | Path | None,
    *,
    model_options: dict[str, Any] | None = None,
    threshold_metric: str = "f1",
    calibration: str | None = DEFAULT_METHOD,
    min_genres: int = 1,
    reader_options: dict[str, Any] | None = None,
    command: str | None = None,
    is_writer: bool = True,
    distill: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    labels: str | Path | None = None,
) -> TrainResult:
    """Train `model_type` on the train split of `data`; only a writer (DDP rank 0) writes `out`.

    calibration: the method fitted per genre on valid (None: the model's own scores).
    distill: {"teacher": model spec (default DEFAULT_TEACHER), "alpha": weight of the hard labels
    (0.5), "folds": 5} trains on hard labels blended with the teacher's cross-fitted probabilities.
    cache_dir: where frozen MiniLM embeddings are kept between runs (the model and the teacher).
    labels: "tmdb" (None, the default), "as-written" or a label file (docs/labels.md). Under an
    own vocabulary the model learns every label of the file, even one seen once.
    """
    import os

    # Under torchrun every rank trains; only rank 0 writes the bundle.
    is_writer = is_writer and int(os.environ.get("RANK", "0")) == 0
    vocabulary = load_vocabulary(labels)
    loaded = read_data(data, labels=vocabulary, **(reader_options or {}))
    usable = loaded.usable()
    if not vocabulary.is_tmdb and not usable:
        column = (reader_options or {}).get("genre_column") or "genre"
        raise MovieGenreError(
            f"{data}: the {column} column holds no labels (no row with both a plot and a label)"
        )
    usable = apply_min_count(usable, vocabulary, warn=_warn)
    splits = split_records(usable)
    train_set, valid_set = splits["train"], splits["valid"]
    if not train_set:
        raise MovieGenreError(
            f"{data}: the training split is empty (no movie with a plot and genres)"
        )
    if not valid_set:
        raise MovieGenreError(f"{data}: the validation split is empty; thresholds need one")
    # TMDB: the genres of the training split, as always. An own vocabulary: every label of the
    # file, so a label with a single example (maybe in valid or test) is still the model's.
    label_names = label_set(train_set if vocabulary.is_tmdb else usable)
    model = build_model(model_type, label_names, model_options, cache_dir)
    started = time.perf_counter()
    targets = target_matrix(train_set, label_names)
    valid_plots, valid_targets = [r.plot for r in valid_set], target_matrix(valid_set, label_names)
    distilled = None
    train_plots = [r.plot for r in train_set]
    if distill is not None:
        from moviegenre.training.distill import distilled_targets

        train_plots, targets, distilled = distilled_targets(
            model, distill, label_names, train_set, targets, valid_plots, valid_targets, cache_dir
        )
    model.fit(train_plots, targets, valid_plots, valid_targets)
    seconds = time.perf_counter() - started
    model.min_genres = min_genres
    model.input_checker = InputChecker.fit(r.plot for r in train_set)
    test_set = splits.get("test") or []
    tests = {"test": ([r.plot for r in test_set], target_matrix(test_set, label_names))}
    metrics = tune_and_score(
        model, valid_plots, valid_targets, tests if test_set else {},
        metric=threshold_metric, min_genres=min_genres, calibration=calibration,
    )  # fmt: skip
    path = None
    if out is not None and is_writer:
        from moviegenre.bundle import save_bundle

        extra = {
            "fingerprint": fingerprint(train_set),
            "training": {
                "command": command or recorded_command(),
                "data": Path(data).name,
                "train_rows": len(train_set),
                "valid_rows": len(valid_set),
                "threshold_metric": threshold_metric,
                "calibration": calibration or "none",
                "seconds": round(seconds, 1),
                "machine": f"{platform.machine()}, {platform.python_implementation()} "
                f"{platform.python_version()}",
            },
            "metrics": {name: headline(m) for name, m in metrics.items()},
            "label_vocabulary": vocabulary.to_json(),
            "label_counts": {
                "train": _counts(train_set, label_names),
                "all": _counts(usable, label_names),
            },  # fmt: skip
        }
        if distilled is not None:
            extra["training"]["distillation"] = distilled
        path = save_bundle(model, out, extra=extra)
    return TrainResult(model=model, metrics=metrics, seconds=seconds, path=path)
