"""The n-gram model's prediction in NumPy and SciPy: per-plot (weighted) means of table rows as a
sparse product, the optional width-3 convolution, and the logits of the whole network."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SCORE_LIMIT = 20.0  # learned word scores are clipped to +-20 before exp (no overflow)


def mean_matrix(
    ids: np.ndarray, offsets: np.ndarray, columns: int, weights: np.ndarray | None = None
) -> sp.csr_matrix:
    """A (plots, columns) sparse matrix whose product with a table averages each plot's rows:
    equally, or in proportion to `weights` (one positive weight per id: exp of a learned score,
    so a softmax within the plot)."""
    counts = np.diff(offsets)
    if weights is None:
        row_weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
    else:
        row_weights = weights[ids]  # a copy: normalised in place below
        owner = np.repeat(np.arange(len(counts)), counts)
        row_weights /= np.bincount(owner, weights=row_weights, minlength=len(counts))[owner]
        row_weights = row_weights.astype(np.float32, copy=False)
    return sp.csr_matrix((row_weights, ids, offsets), shape=(len(counts), columns))


def score_weights(scores: np.ndarray) -> np.ndarray:
    """Learned word scores as averaging weights: exp of the score, clipped (no overflow)."""
    return np.exp(np.clip(scores, -SCORE_LIMIT, SCORE_LIMIT)).astype(np.float32, copy=False)


def prepared(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The network's arrays plus what prediction derives from them once, not per batch: the
    averaging weights of word and pair scores."""
    ready = dict(arrays)
    for kind in ("word", "pair"):
        if f"{kind}_score" in arrays:
            ready[f"{kind}_weight"] = score_weights(arrays[f"{kind}_score"])
    # the hidden layer as one product: [word mean | pair mean | 1] @ [w1_words; w1_pairs; b1]
    # (two products, their sum and the bias were three passes over a (plots, hidden) array)
    ready["w1_stacked"] = np.ascontiguousarray(
        np.vstack([arrays["w1_words"], arrays["w1_pairs"], arrays["b1"][None, :]]),
        dtype=np.float32,
    )
    return ready


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


def logits(ready: dict[str, np.ndarray], encoded: tuple[np.ndarray, ...]) -> np.ndarray:
    """The network's logits (plots, labels) from `prepared(arrays)` and encoded plots."""
    a = ready
    ids, offsets, pair_ids, pair_offsets = encoded
    words = mean_matrix(ids, offsets, len(a["word_table"]), a.get("word_weight"))
    pairs = mean_matrix(pair_ids, pair_offsets, len(a["pair_table"]), a.get("pair_weight"))
    dim = a["word_table"].shape[1]
    x = np.empty((len(offsets) - 1, 2 * dim + 1), dtype=np.float32)
    x[:, :dim], x[:, dim:-1], x[:, -1] = words @ a["word_table"], pairs @ a["pair_table"], 1.0
    hidden = x @ a["w1_stacked"]
    if "conv_w" in a:
        hidden += conv_max(a["word_table"][ids], offsets, a["conv_w"], a["conv_b"]) @ a["w1_conv"]
    np.maximum(hidden, 0.0, out=hidden)
    return hidden @ a["w2"] + a["b2"]
