"""Distillation targets: hard labels blended with a teacher's cross-fitted probabilities."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from moviegenre.data.record import MovieRecord
from moviegenre.data.split import movie_key
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.training.build import build_model

log = logging.getLogger(__name__)

# The default teacher: the two fast models whose errors differ most from the LSTM's (a frozen
# sentence encoder and word n-grams), combined by an ensemble whose weights are tuned on valid.
DEFAULT_TEACHER: dict[str, Any] = {
    "type": "ensemble",
    "options": {
        "members": [
            {"type": "minilm", "options": {"head": "mlp"}},
            {"type": "tfidf", "options": {"classifier": "logreg", "C": 4, "char_max_features": 0}},
        ]
    },
}


def fold_of(record: MovieRecord, folds: int, seed: int = 0) -> int:
    """A movie's fold from a stable hash of its key, so episodes of one series share a fold."""
    digest = hashlib.sha256(f"{seed}|{movie_key(record)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % folds


def cross_fitted_probs(
    teacher: dict[str, Any],
    labels: Sequence[str],
    records: Sequence[MovieRecord],
    targets: np.ndarray,
    valid_plots: Sequence[str],
    valid_targets: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Teacher probabilities for every training movie from a teacher that never trained on it.

    A teacher scoring its own training data would mostly repeat the hard labels (it has fitted
    them); k-fold cross-fitting gives each movie the probabilities of a model trained on the other
    folds, which is what the teacher would say about a movie it had not seen.
    cache_dir: where a teacher that embeds plots (frozen MiniLM) keeps them, so each plot is
    encoded once for all folds; a temporary directory when None.
    """
    if folds < 2:
        raise MovieGenreError(f"distillation needs at least 2 folds, not {folds}")
    fold = np.array([fold_of(r, folds, seed) for r in records])
    if len(set(fold.tolist())) < folds:
        raise MovieGenreError(
            f"distillation: {len(records)} training movies cannot fill {folds} folds"
        )
    plots = [r.plot for r in records]
    probs = np.zeros(targets.shape, dtype=np.float32)
    with contextlib.ExitStack() as stack:
        if cache_dir is None:
            cache_dir = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="moviegenre-embeddings-")
            )
        for k in tqdm(range(folds), desc="teacher folds", unit="fold"):
            inside, held_out = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            model = build_model(teacher["type"], list(labels), teacher.get("options"), cache_dir)
            model.fit([plots[i] for i in inside], targets[inside], valid_plots, valid_targets)
            probs[held_out] = model.predict_proba([plots[i] for i in held_out])
    return probs


def soft_targets(hard: np.ndarray, teacher_probs: np.ndarray, alpha: float) -> np.ndarray:
    """alpha * hard labels + (1 - alpha) * teacher probabilities (BCE accepts targets in [0, 1])."""
    if not 0.0 <= alpha <= 1.0:
        raise MovieGenreError(f"distillation alpha must be between 0 and 1, not {alpha}")
    return (alpha * hard + (1.0 - alpha) * teacher_probs).astype(np.float32)


def distilled_targets(
    model: GenreModel,
    settings: dict[str, Any],
    labels: Sequence[str],
    records: Sequence[MovieRecord],
    targets: np.ndarray,
    valid_plots: Sequence[str],
    valid_targets: np.ndarray,
    cache_dir: str | Path | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Soft targets for `model` from train()'s `distill` settings, and what to record about them."""
    if not model.accepts_soft_targets:
        raise MovieGenreError(
            f"model type {model.model_type!r} cannot learn from a teacher's probabilities; "
            "distillation works with: lstm"
        )
    unknown = set(settings) - {"teacher", "alpha", "folds", "seed"}
    if unknown:
        raise MovieGenreError(f"unknown distillation setting(s): {', '.join(sorted(unknown))}")
    teacher = settings.get("teacher") or DEFAULT_TEACHER
    alpha, folds = float(settings.get("alpha", 0.5)), int(settings.get("folds", 5))
    seed = int(settings.get("seed", 0))
    started = time.perf_counter()
    probs = cross_fitted_probs(
        teacher, labels, records, targets, valid_plots, valid_targets, folds, seed, cache_dir
    )
    record = {"teacher": teacher, "alpha": alpha, "folds": folds, "seed": seed,
              "teacher_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    log.info("distillation: teacher %s cross-fitted in %.0f s", teacher["type"],
             record["teacher_seconds"])  # fmt: skip
    return soft_targets(targets, probs, alpha), record
