"""Distillation targets: hard labels blended with a teacher's cross-fitted probabilities."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from moviegenre.data.record import MovieRecord
from moviegenre.data.split import movie_key
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.training.augment import mixed_plots
from moviegenre.training.build import build_model

log = logging.getLogger(__name__)

# The default teacher: a frozen sentence encoder, word + character n-grams and a BiLSTM, whose
# errors differ most from a student's, weighted on valid. Cross-fitted on the corpus (valid
# micro-F1 of the fold models): MiniLM + MLP head 0.628, TF-IDF linear SVM (word 1-2 and character
# 2-5 grams) 0.632; MiniLM with the SVM 0.652-0.654; with a BiLSTM on hard labels beside them
# 0.660 (weights 0.3 / 0.4 / 0.3); a second BiLSTM seed adds nothing. See docs/fast.md.
DEFAULT_TEACHER: dict[str, Any] = {
    "type": "ensemble",
    "options": {
        "members": [
            {"type": "minilm", "options": {"head": "mlp"}},
            {"type": "tfidf", "options": {}},
            {"type": "lstm", "options": {}},
        ]
    },
}


def fold_of(record: MovieRecord, folds: int, seed: int = 0) -> int:
    """A movie's fold from a stable hash of its key, so episodes of one series share a fold."""
    digest = hashlib.sha256(f"{seed}|{movie_key(record)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % folds


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def _spec_key(spec: dict[str, Any]) -> dict[str, Any]:
    """What identifies a teacher member: its type and options, less the settings of one run
    (progress bars, device, checkpoints), which do not change what it learns."""
    from moviegenre.models import model_class

    options = dict(spec.get("options") or {})
    try:
        ignored = model_class(spec["type"], options).run_settings
    except MovieGenreError:  # a type this build does not know: every option counts
        ignored = frozenset()
    return {"type": spec["type"], "options": {k: v for k, v in options.items() if k not in ignored}}


def _member_folds(
    spec: dict[str, Any],
    labels: Sequence[str],
    plots: Sequence[str],
    fold: np.ndarray,
    targets: np.ndarray,
    valid_plots: Sequence[str],
    valid_targets: np.ndarray,
    teacher_cache: Path | None,
    cache_dir: str | Path,
    extra_plots: Sequence[str] = (),
    extra_fold: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One model spec cross-fitted: (held-out probabilities of every training movie, the fold
    models' mean probabilities on valid, probabilities of the extra plots, each from the model
    of its fold). With `teacher_cache`, each fold is kept as it finishes, so an interrupted run
    resumes at the next fold and a second run reuses all of them.
    cache_dir: where a member that embeds plots keeps them (each plot encoded once)."""
    from moviegenre.files import atomic_path

    folds = int(fold.max()) + 1
    held = np.zeros(targets.shape, dtype=np.float32)
    valid = np.zeros((len(valid_plots), targets.shape[1]), dtype=np.float32)
    extra = np.zeros((len(extra_plots), targets.shape[1]), dtype=np.float32)
    extra_fold = np.zeros(0, dtype=np.int64) if extra_fold is None else np.asarray(extra_fold)
    key = _digest(_spec_key(spec), list(labels), fold, targets, list(plots), list(valid_plots))
    if len(extra_plots):  # the same folds with extra plots: a key of their own
        key = _digest(key, extra_fold, list(extra_plots))
    for k in tqdm(range(folds), desc=f"teacher {spec['type']} folds", unit="fold"):
        inside, held_out = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        extra_k = np.flatnonzero(extra_fold == k)
        path = teacher_cache / f"{spec['type']}-{key}-fold{k}.npz" if teacher_cache else None
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as stored:
                held[held_out], valid_k = stored["held_out"], stored["valid"]
                if len(extra_k):
                    extra[extra_k] = stored["extra"]
        else:
            started = time.perf_counter()
            model = build_model(spec["type"], list(labels), spec.get("options"), cache_dir)
            model.fit([plots[i] for i in inside], targets[inside], valid_plots, valid_targets)
            # the model of fold k trained on no movie of fold k, nor on any piece of one
            scored = model.predict_proba(
                [plots[i] for i in held_out] + [extra_plots[i] for i in extra_k]
            )
            held[held_out], extra[extra_k] = scored[: len(held_out)], scored[len(held_out) :]
            valid_k = model.predict_proba(valid_plots) if len(valid_plots) else valid[:0]
            log.info("teacher %s fold %d: %.0f s", spec["type"], k, time.perf_counter() - started)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                    np.savez(handle, held_out=held[held_out], valid=valid_k, extra=extra[extra_k])
        valid += valid_k / folds
    return held, valid, extra


def _best_weights(
    valid_probs: Sequence[np.ndarray], valid_targets: np.ndarray, step: float
) -> tuple[np.ndarray, float]:
    """Simplex weights with the best valid micro-F1 after per-genre threshold tuning (as the
    ensemble model type chooses its weights)."""
    from moviegenre.evaluation.metrics import tuned_micro_f1
    from moviegenre.models.ensemble import simplex_grid

    best, best_score = None, -1.0
    for weights in simplex_grid(len(valid_probs), step):
        probs = sum(w * p for w, p in zip(weights, valid_probs, strict=True))
        score = tuned_micro_f1(probs, valid_targets)
        if score > best_score + 1e-9:
            best, best_score = np.asarray(weights), float(score)
    return best, best_score


@dataclass
class TeacherAnswers:
    """What a cross-fitted teacher says: about each training movie, and about made-up plots."""

    train: np.ndarray  # (training movies, labels), each from a fold model that never saw it
    extra_plots: list[str] = field(default_factory=list)  # made-up plots (augment > 0)
    extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


def cross_fitted_teacher(
    teacher: dict[str, Any],
    labels: Sequence[str],
    records: Sequence[MovieRecord],
    targets: np.ndarray,
    valid_plots: Sequence[str],
    valid_targets: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    teacher_cache: str | Path | None = None,
    report: dict[str, Any] | None = None,
    augment: int = 0,
) -> TeacherAnswers:
    """Teacher probabilities for every training movie from a teacher that never trained on it.

    A teacher scoring its own training data would mostly repeat the hard labels (it has fitted
    them); k-fold cross-fitting gives each movie the probabilities of a model trained on the other
    folds, which is what the teacher would say about a movie it had not seen.

    An ensemble teacher whose members are specs is cross-fitted member by member, and the members
    are then weighted once, by valid micro-F1 over the fold models' mean valid probabilities: each
    member's folds can be cached (`teacher_cache`) and reused by any teacher that includes it.
    cache_dir: where a teacher that embeds plots (frozen MiniLM) keeps them, so each plot is
    encoded once for all folds; a temporary directory when None.
    `report` (a dict) receives the member weights and their valid micro-F1.
    augment: made-up plots per training movie (`training/augment.py`), labelled by the fold model
    that trained on neither of their two sources.
    """
    if folds < 2:
        raise MovieGenreError(f"distillation needs at least 2 folds, not {folds}")
    fold = np.array([fold_of(r, folds, seed) for r in records])
    if len(set(fold.tolist())) < folds:
        raise MovieGenreError(
            f"distillation: {len(records)} training movies cannot fill {folds} folds"
        )
    plots = [r.plot for r in records]
    extra_plots, extra_fold = mixed_plots(plots, fold, augment, seed)
    options = dict(teacher.get("options") or {})
    members = options.get("members")
    by_member = (
        teacher["type"] == "ensemble"
        and isinstance(members, list)
        and all(isinstance(m, dict) for m in members)
    )
    specs = members if by_member else [teacher]
    cache = Path(teacher_cache).expanduser() if teacher_cache is not None else None
    valid_targets = np.asarray(valid_targets)
    held, valid, extra = [], [], []
    with contextlib.ExitStack() as stack:
        if cache_dir is None:
            cache_dir = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="moviegenre-embeddings-")
            )
        for spec in specs:
            h, v, e = _member_folds(
                spec, labels, plots, fold, targets, valid_plots, valid_targets, cache, cache_dir,
                extra_plots, extra_fold,
            )  # fmt: skip
            held.append(h)
            valid.append(v)
            extra.append(e)
    weights = np.ones(1)
    if by_member:
        weights, score = _best_weights(valid, valid_targets, float(options.get("step", 0.1)))
        if report is not None:
            report["member_weights"] = [round(float(w), 3) for w in weights]
            report["teacher_valid_micro_f1"] = round(score, 4)
        log.info("teacher member weights %s (valid micro-F1 %.4f)", weights.tolist(), score)

    def blend(parts: list[np.ndarray]) -> np.ndarray:
        return sum(w * p for w, p in zip(weights, parts, strict=True)).astype(np.float32)

    return TeacherAnswers(train=blend(held), extra_plots=extra_plots, extra=blend(extra))


def cross_fitted_probs(*args: Any, **kwargs: Any) -> np.ndarray:
    """The teacher's held-out probabilities of the training movies alone:
    `cross_fitted_teacher(...).train`, with the same arguments."""
    return cross_fitted_teacher(*args, **kwargs).train


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
) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """What `model` trains on under train()'s `distill` settings: (plots, soft targets, what to
    record). The plots are the training movies' then, with `augment`, the made-up ones, whose
    targets are the teacher's alone (they have no labels of their own)."""
    if not model.accepts_soft_targets:
        raise MovieGenreError(
            f"model type {model.model_type!r} cannot learn from a teacher's probabilities; "
            "distillation works with: lstm, ngram"
        )
    unknown = set(settings) - {"teacher", "alpha", "folds", "seed", "teacher_cache", "augment"}
    if unknown:
        raise MovieGenreError(f"unknown distillation setting(s): {', '.join(sorted(unknown))}")
    teacher = settings.get("teacher") or DEFAULT_TEACHER
    alpha, folds = float(settings.get("alpha", 0.5)), int(settings.get("folds", 5))
    seed, augment = int(settings.get("seed", 0)), int(settings.get("augment", 0))
    started = time.perf_counter()
    report: dict[str, Any] = {}
    answers = cross_fitted_teacher(
        teacher, labels, records, targets, valid_plots, valid_targets, folds, seed,
        cache_dir=cache_dir, teacher_cache=settings.get("teacher_cache"), report=report,
        augment=augment,
    )  # fmt: skip
    record = {"teacher": teacher, "alpha": alpha, "folds": folds, "seed": seed,
              "augment": augment, **report,
              "teacher_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    log.info("distillation: teacher %s cross-fitted in %.0f s", teacher["type"],
             record["teacher_seconds"])  # fmt: skip
    plots = [r.plot for r in records] + answers.extra_plots
    soft = soft_targets(targets, answers.train, alpha)
    if len(answers.extra_plots):
        soft = np.concatenate([soft, answers.extra.astype(np.float32)])
    return plots, soft, record
