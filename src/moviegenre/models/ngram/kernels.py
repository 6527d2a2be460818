"""The n-gram model's prediction in NumPy and SciPy: per-plot (weighted) means of table rows as a
sparse product, the optional width-3 convolution, and the logits of the whole network."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SCORE_LIMIT = 20.0  # learned word scores are clipped to +-20 before exp (no overflow)


def mean_matrix(
    ids: np.ndarray, offsets: np.ndarray, columns: int, scores: np.ndarray | None = None
) -> sp.csr_matrix:
    """A (plots, columns) sparse matrix whose product with a table averages each plot's rows:
    equally, or with `scores`, weighted by exp(score) of each id (a softmax within the plot)."""
    counts = np.diff(offsets)
    if scores is None:
        weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
    else:
        weights = np.exp(np.clip(scores[ids], -SCORE_LIMIT, SCORE_LIMIT))
        owner = np.repeat(np.arange(len(counts)), counts)
        weights /= np.bincount(owner, weights=weights, minlength=len(counts))[owner]
        weights = weights.astype(np.float32)
    return sp.csr_matrix((weights, ids, offsets), shape=(len(counts), columns))


def conv_max(
    x: np.ndarray, offsets: np.ndarray, weight: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """Width-3 convolution over each plot's word vectors (zeros beyond its ends), ReLU, and the
    maximum over the plot: x (tokens, D) in plot order, weight (3 D, filters)."""
    starts, ends = offsets[:-1], offsets[1:] - 1
    before = np.empty_like(x)
    before[1:] = x[:-1]
    before[starts] = 0.0
    after = np.empty_like(x)
    after[:-1] = x[1:]
    after[ends] = 0.0
    h = np.concatenate([before, x, after], axis=1) @ weight + bias
    np.maximum(h, 0.0, out=h)
    return np.maximum.reduceat(h, starts, axis=0)


def logits(arrays: dict[str, np.ndarray], encoded: tuple[np.ndarray, ...]) -> np.ndarray:
    """The network's logits (plots, labels) from its weights (`arrays`) and encoded plots."""
    a = arrays
    ids, offsets, pair_ids, pair_offsets = encoded
    words = mean_matrix(ids, offsets, len(a["word_table"]), a.get("word_score"))
    pairs = mean_matrix(pair_ids, pair_offsets, len(a["pair_table"]), a.get("pair_score"))
    words, pairs = words @ a["word_table"], pairs @ a["pair_table"]
    hidden = words @ a["w1_words"] + pairs @ a["w1_pairs"] + a["b1"]
    if "conv_w" in a:
        hidden += conv_max(a["word_table"][ids], offsets, a["conv_w"], a["conv_b"]) @ a["w1_conv"]
    np.maximum(hidden, 0.0, out=hidden)
    return hidden @ a["w2"] + a["b2"]
