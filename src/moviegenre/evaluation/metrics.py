"""Multi-label metrics that say which average they are: micro, macro, weighted, samples, subset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, hamming_loss, precision_recall_fscore_support


def compute_metrics(
    targets: np.ndarray, decisions: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """Headline metrics plus a per-genre table, for 0/1 `targets` and `decisions` of one shape."""
    targets = np.asarray(targets).astype(int)
    decisions = np.asarray(decisions).astype(int)
    result: dict[str, Any] = {"rows": int(targets.shape[0])}
    for average in ("micro", "macro", "weighted", "samples"):
        p, r, f, _ = precision_recall_fscore_support(
            targets, decisions, average=average, zero_division=0
        )
        result[f"{average}_precision"] = float(p)
        result[f"{average}_recall"] = float(r)
        result[f"{average}_f1"] = float(f)
    result["subset_accuracy"] = float(np.mean(np.all(targets == decisions, axis=1)))
    result["hamming_loss"] = float(hamming_loss(targets, decisions))
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
    return float(f1_score(np.asarray(targets).astype(int), np.asarray(decisions).astype(int),
                          average="micro", zero_division=0))
