"""Per-genre decision thresholds, tuned on the validation split, and the at-least-one-genre rule."""

from __future__ import annotations

import numpy as np

THRESHOLD_GRID = np.round(np.arange(0.02, 0.96, 0.01), 2)


def stored_thresholds(thresholds: np.ndarray) -> list[float]:
    """Thresholds as a bundle writes them: the shortest decimals that read back as the same
    float32. Fixed decimal places are not enough: a calibrator that squeezes low scores towards 0
    maps a threshold to 1e-4 or less, where rounding would make some scores fire that did not."""
    return [float(str(t)) for t in np.asarray(thresholds, dtype=np.float32)]


def decide(probs: np.ndarray, thresholds: np.ndarray, min_genres: int = 1) -> np.ndarray:
    """0/1 decisions from probabilities; rows with under `min_genres` get their top genres."""
    probs = np.asarray(probs, dtype=np.float32)
    decisions = (probs >= thresholds[None, :]).astype(np.int8)
    if min_genres > 0 and probs.shape[1] > 0:
        short = decisions.sum(axis=1) < min_genres
        if short.any():
            k = min(min_genres, probs.shape[1])
            top = np.argsort(-probs[short], axis=1)[:, :k]
            rows = np.nonzero(short)[0]
            decisions[rows[:, None], top] = 1
    return decisions


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _mcc(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    num = tp * tn - fp * fn
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def tune_thresholds(probs: np.ndarray, targets: np.ndarray, metric: str = "f1") -> np.ndarray:
    """Per genre, the grid threshold maximising F1 (or Matthews correlation) on validation data.

    Genres with no positive example in `targets` keep 0.5: nothing can be learnt about them.
    """
    if metric not in ("f1", "mcc"):
        raise ValueError(f"unknown threshold metric {metric!r}; expected 'f1' or 'mcc'")
    probs = np.asarray(probs, dtype=np.float64)
    targets = np.asarray(targets).astype(bool)
    grid = THRESHOLD_GRID[:, None, None]
    predicted = probs[None, :, :] >= grid  # (grid, n, labels)
    positive = targets[None, :, :]
    tp = (predicted & positive).sum(axis=1).astype(np.float64)
    fp = (predicted & ~positive).sum(axis=1).astype(np.float64)
    fn = (~predicted & positive).sum(axis=1).astype(np.float64)
    tn = (~predicted & ~positive).sum(axis=1).astype(np.float64)
    score = _f1(tp, fp, fn) if metric == "f1" else _mcc(tp, fp, fn, tn)
    best = THRESHOLD_GRID[np.argmax(score, axis=0)].astype(np.float32)
    best[targets.sum(axis=0) == 0] = 0.5
    return best


def tune_thresholds_joint(
    probs: np.ndarray,
    targets: np.ndarray,
    min_genres: int = 1,
    macro_weight: float = 1.0,
    passes: int = 3,
) -> np.ndarray:
    """Per-genre thresholds maximising micro-F1 + macro_weight x macro-F1 of the final decisions.

    Per-genre F1 tuning lets rare, hard genres (most of a poster's) fire on weak evidence, which
    costs micro-F1 more than it buys them; micro-F1 alone silences them. Here each genre's
    threshold is chosen in turn (coordinate ascent from the per-genre F1 ones) for the joint
    score of the decisions, the at-least-`min_genres` rule included. Genres without a positive
    example are left out of the macro average.
    """
    probs = np.asarray(probs, dtype=np.float32)
    targets = np.asarray(targets).astype(bool)
    present = targets.any(axis=0)
    thresholds = tune_thresholds(probs, targets)

    def score(candidate: np.ndarray) -> float:
        decided = decide(probs, candidate, min_genres).astype(bool)
        tp = (decided & targets).sum(axis=0).astype(np.float64)
        wrong = (decided ^ targets).sum(axis=0).astype(np.float64)
        micro = 2 * tp.sum() / max(2 * tp.sum() + wrong.sum(), 1.0)
        per_genre = np.where(2 * tp + wrong > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)
        macro = float(per_genre[present].mean()) if present.any() else 0.0
        return micro + macro_weight * macro

    best = score(thresholds)
    grid = np.append(THRESHOLD_GRID, 1.01).astype(np.float32)  # 1.01: the genre never fires alone
    for _ in range(passes):
        improved = False
        for j in range(probs.shape[1]):
            keep = thresholds[j]
            for value in grid:
                thresholds[j] = value
                found = score(thresholds)
                if found > best + 1e-9:
                    best, keep, improved = found, value, True
            thresholds[j] = keep
        if not improved:
            break
    return thresholds
