"""Genre votes of a plot's nearest training plots (cosine of L2-normalised vectors)."""

from __future__ import annotations

import numpy as np


def neighbour_votes(
    vectors: np.ndarray,
    train: np.ndarray,
    labels: np.ndarray,
    neighbours: int,
    temperature: float,
    block: int = 512,
) -> np.ndarray:
    """(n, labels) votes of the `neighbours` most similar training rows, each weighted by
    exp(cosine / temperature) and normalised to sum to 1 over the neighbours.

    vectors and train are L2-normalised float32 rows; labels is the training rows' 0/1 matrix.
    Rows are scored `block` at a time to bound memory on big batches.
    """
    k = min(neighbours, len(train))
    votes = np.zeros((len(vectors), labels.shape[1]), dtype=np.float64)
    for start in range(0, len(vectors), block):
        similarity = vectors[start : start + block] @ train.T
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weight = np.exp(np.take_along_axis(similarity, top, axis=1) / temperature)
        votes[start : start + block] = np.einsum("nk,nkl->nl", weight, labels[top])
        votes[start : start + block] /= weight.sum(axis=1, keepdims=True)
    return votes
