"""Multi-label metrics that say which average they are: micro, macro, weighted, samples, subset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    hamming_loss,
    precision_recall_curve,
    precision_recall_fscore_support,
)

AVERAGES = ("micro", "macro", "weighted", "samples")

# What each headline figure averages over; printed next to the numbers and written into reports.
AVERAGE_NOTES: dict[str, str] = {
    "micro": "pooled over every (movie, genre) decision: frequent genres weigh most",
    "macro": "unweighted mean over genres: rare genres count as much as Drama",
    "weighted": "mean over genres weighted by each genre's support",
    "samples": "F1 of each movie's genre set, averaged over movies",
    "subset_accuracy": "share of movies whose predicted genre set is exactly right",
    "hamming_loss": "share of wrong (movie, genre) decisions; lower is better",
    "micro_f1_ci": "95% bootstrap interval of micro-F1 (movies resampled with replacement)",
}

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def compute_metrics(
    targets: np.ndarray,
    decisions: np.ndarray,
    labels: Sequence[str],
    *,
    bootstrap: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, Any]:
    """Headline metrics, a bootstrap interval for micro-F1 and a per-genre table.

    `targets` and `decisions` are 0/1 matrices of one shape (movies x genres). Keys name their
    average: `micro_f1`, `macro_f1`, `weighted_f1`, `samples_f1` (and the same for precision and
    recall), `subset_accuracy`, `hamming_loss`, `micro_f1_ci` ([low, high], omitted when
    `bootstrap` is 0) and `per_genre` (precision, recall, F1 and support of each genre).
    """
    targets = np.asarray(targets).astype(int)
    decisions = np.asarray(decisions).astype(int)
    if targets.shape != decisions.shape or targets.ndim != 2:
        raise ValueError(
            f"targets {targets.shape} and decisions {decisions.shape} must be matrices of one shape"
        )
    result: dict[str, Any] = {"rows": int(targets.shape[0])}
    for average in AVERAGES:
        p, r, f, _ = precision_recall_fscore_support(
            targets, decisions, average=average, zero_division=0
        )
        result[f"{average}_precision"] = float(p)
        result[f"{average}_recall"] = float(r)
        result[f"{average}_f1"] = float(f)
    result["subset_accuracy"] = float(np.mean(np.all(targets == decisions, axis=1)))
    result["hamming_loss"] = float(hamming_loss(targets, decisions))
    if bootstrap > 0 and targets.shape[0] > 0:
        result["micro_f1_ci"] = bootstrap_micro_f1(targets, decisions, resamples=bootstrap)
    p, r, f, support = precision_recall_fscore_support(
        targets, decisions, average=None, zero_division=0
    )
    result["per_genre"] = {
        label: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    return result


def micro_f1(targets: np.ndarray, decisions: np.ndarray) -> float:
    """Micro-averaged F1 (every genre decision of every movie counts once)."""
    return float(
        f1_score(
            np.asarray(targets).astype(int),
            np.asarray(decisions).astype(int),
            average="micro",
            zero_division=0,
        )
    )


def tuned_micro_f1(probs: np.ndarray, targets: np.ndarray) -> float:
    """Micro-F1 after tuning per-genre thresholds on these very plots (at least one genre each).

    How a candidate is scored on valid data while training (early stopping, ensemble weights,
    MiniLM head choice): `train()` will tune the final model's thresholds the same way.
    """
    from moviegenre.thresholds import decide, tune_thresholds

    return micro_f1(targets, decide(probs, tune_thresholds(probs, targets), 1))


def bootstrap_micro_f1(
    targets: np.ndarray,
    decisions: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> list[float]:
    """Percentile bootstrap interval [low, high] for micro-F1, resampling movies (rows).

    Micro-F1 only needs the pooled true/false positive and false negative counts, so each resample
    is a weighted sum of per-movie counts: one (resamples x movies) multinomial weight matrix times
    three count vectors, instead of a Python loop over resamples.
    """
    targets = np.asarray(targets).astype(bool)
    decisions = np.asarray(decisions).astype(bool)
    n = targets.shape[0]
    if n == 0:
        raise ValueError("cannot bootstrap an empty set of movies")
    counts = np.stack(
        [
            (targets & decisions).sum(axis=1),  # true positives per movie
            (~targets & decisions).sum(axis=1),  # false positives
            (targets & ~decisions).sum(axis=1),  # false negatives
        ],
        axis=1,
    ).astype(np.float64)
    rng = np.random.default_rng(seed)
    # How many times each movie is drawn in each resample (n draws with replacement).
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    tp, fp, fn = (weights @ counts).T
    denom = 2 * tp + fp + fn
    scores = np.where(denom > 0, 2 * tp / np.maximum(denom, 1e-12), 0.0)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return [float(low), float(high)]


def precision_recall_curves(
    targets: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-genre precision-recall curve data, with the operating point of each tuned threshold.

    For each genre with at least one positive movie: `precision`, `recall` (lists, as
    sklearn.metrics.precision_recall_curve gives them), `average_precision`, `support`, and, when
    `thresholds` are given, `threshold` with the `operating_precision` / `operating_recall` that
    thresholding the probabilities at it gives. Genres with no positive movie are left out: their
    curve is undefined.
    """
    targets = np.asarray(targets).astype(int)
    probs = np.asarray(probs, dtype=np.float64)
    curves: dict[str, dict[str, Any]] = {}
    for i, label in enumerate(labels):
        y = targets[:, i]
        if y.sum() == 0:
            continue
        precision, recall, _ = precision_recall_curve(y, probs[:, i])
        curve: dict[str, Any] = {
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "average_precision": float(average_precision_score(y, probs[:, i])),
            "support": int(y.sum()),
        }
        if thresholds is not None:
            threshold = float(thresholds[i])
            chosen = probs[:, i] >= threshold
            true_positives = int((chosen & (y == 1)).sum())
            curve["threshold"] = threshold
            curve["operating_precision"] = true_positives / chosen.sum() if chosen.any() else 0.0
            curve["operating_recall"] = true_positives / int(y.sum())
        curves[label] = curve
    return curves


CALIBRATION_BINS = 10
CALIBRATION_NOTES: dict[str, str] = {
    "ece": "expected calibration error: 10 equal-width bins over every (movie, genre) "
    "probability, mean |observed rate - mean probability| weighted by bin size; lower is better",
    "brier": "mean squared error of every (movie, genre) probability; lower is better",
    "log_loss": "mean negative log-likelihood of every (movie, genre) probability (binary, "
    "probabilities clipped to [1e-7, 1 - 1e-7]); lower is better",
}


def reliability_table(
    targets: np.ndarray, probs: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, float | int]]:
    """Per equal-width bin of probability: count, mean probability and observed positive rate."""
    t = np.asarray(targets, dtype=np.float64).reshape(-1)
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    # bin i holds [i/bins, (i+1)/bins); a probability of exactly 1 falls in the last bin
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(index, minlength=bins)
    total_p = np.bincount(index, weights=p, minlength=bins)
    total_t = np.bincount(index, weights=t, minlength=bins)
    return [
        {
            "low": i / bins,
            "high": (i + 1) / bins,
            "count": int(count[i]),
            "mean_probability": float(total_p[i] / count[i]) if count[i] else 0.0,
            "observed_rate": float(total_t[i] / count[i]) if count[i] else 0.0,
        }
        for i in range(bins)
    ]


def expected_calibration_error(
    targets: np.ndarray, probs: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """ECE over every score in `probs` pooled (equal-width bins)."""
    table = reliability_table(targets, probs, bins)
    n = sum(row["count"] for row in table)
    if n == 0:
        return 0.0
    return float(
        sum(row["count"] * abs(row["observed_rate"] - row["mean_probability"]) for row in table) / n
    )


def calibration_metrics(
    targets: np.ndarray, probs: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """ECE, Brier score and log loss over every genre score, plus ECE per genre.

    Keys: `ece`, `brier`, `log_loss`, `per_genre_ece` ({genre: ECE of its column}).
    """
    t = np.asarray(targets, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 2:
        raise ValueError(f"targets {t.shape} and probabilities {p.shape} must be one shape")
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    return {
        "ece": expected_calibration_error(t, p),
        "brier": float(np.mean((p - t) ** 2)),
        "log_loss": float(-np.mean(t * np.log(clipped) + (1 - t) * np.log1p(-clipped))),
        "per_genre_ece": {
            label: expected_calibration_error(t[:, j], p[:, j]) for j, label in enumerate(labels)
        },
    }


def macro_f1_min_support(targets: np.ndarray, decisions: np.ndarray, min_support: int) -> float:
    """Macro-F1 over the genres with at least `min_support` positive movies ("macro>=10")."""
    targets, decisions = targets.astype(bool), decisions.astype(bool)
    keep = targets.sum(axis=0) >= min_support
    tp = (targets & decisions).sum(axis=0)[keep]
    fp = (~targets & decisions).sum(axis=0)[keep]
    fn = (targets & ~decisions).sum(axis=0)[keep]
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    return float(f1.mean()) if f1.size else 0.0


def bootstrap_interval(
    score: Callable[..., float],
    *matrices: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> list[float]:
    """Percentile bootstrap interval of `score(*matrices)`, resampling movies (rows) together.

    For a paired comparison pass a score of the difference, e.g.
    `lambda t, a, b: micro_f1(t, b) - micro_f1(t, a)`: both answers are judged on the same
    resampled movies, so the interval is of the gain itself.
    """
    n = matrices[0].shape[0]
    if n == 0:
        raise ValueError("cannot bootstrap an empty set of movies")
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        scores.append(score(*(m[rows] for m in matrices)))
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return [float(low), float(high)]
