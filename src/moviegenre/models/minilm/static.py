"""Static word vectors from the MiniLM encoder: each word encoded alone, mean-pooled, PCA-reduced.

A fast model cannot run the encoder on every plot, but it can start from what the encoder knows
about each word: every word of a vocabulary goes through MiniLM on its own (its wordpieces in one
short sequence), its last hidden states are averaged as for a plot, and the 384-d vectors are
reduced by PCA to the width the fast model wants. Written as a GloVe text file (one word and its
numbers a line, most frequent words first), so any model that reads GloVe reads them
(`ngram --model-option embeddings=FILE`). Students distilled from a MiniLM teacher start closer
to it this way than from GloVe (docs/fast.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from moviegenre.errors import MovieGenreError
from moviegenre.models.minilm.encoder import (
    EMBEDDING_DIM,
    encoder_dir,
    frozen_pooler,
    load_tokenizer,
    pad_chunks,
)

WORD_BATCH = 1024
SPREAD = 0.4  # the standard deviation the vectors are scaled to (about GloVe 6B 50d's)


def encode_words(words: Sequence[str], progress: bool = False) -> np.ndarray:
    """(len(words), 384) float32: each word's mean-pooled MiniLM output, read on its own."""
    path = str(encoder_dir())
    tokenizer, pooler = load_tokenizer(path), frozen_pooler(path)
    ids = [tokenizer(w, truncation=True, max_length=16)["input_ids"] for w in words]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # little padding per batch
    batches: Iterable = range(0, len(order), WORD_BATCH)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="encoding words", unit="batch")
    out = np.zeros((len(words), EMBEDDING_DIM), dtype=np.float32)
    with torch.inference_mode():
        for start in batches:
            batch = order[start : start + WORD_BATCH]
            x, mask = pad_chunks([ids[i] for i in batch], tokenizer.pad_token_id)
            vectors, _ = pooler.chunk_vectors(x, mask)
            out[batch] = vectors.float().numpy()
    return out


def static_vectors(words: Sequence[str], dim: int, progress: bool = False) -> np.ndarray:
    """(len(words), dim) float32: `encode_words` centred, PCA-reduced and scaled to `SPREAD`."""
    from sklearn.decomposition import PCA

    if not 1 <= dim <= EMBEDDING_DIM:
        raise MovieGenreError(f"static vectors have 1 to {EMBEDDING_DIM} dimensions, not {dim}")
    if len(words) <= dim:
        raise MovieGenreError(f"{len(words)} words cannot give {dim} principal components")
    raw = encode_words(words, progress)
    reduced = PCA(n_components=dim, svd_solver="full").fit_transform(raw - raw.mean(axis=0))
    return (reduced / reduced.std() * SPREAD).astype(np.float32)


def write_static_vectors(path: str | Path, words: Sequence[str], dim: int,
                         progress: bool = False) -> Path:  # fmt: skip
    """`static_vectors` of `words` written (atomically) as a GloVe text file, in `words`' order."""
    from moviegenre.files import atomic_path

    if len(set(words)) != len(words) or any(not w or " " in w for w in words):
        raise MovieGenreError("static vectors need distinct words without spaces")
    vectors = static_vectors(words, dim, progress)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for word, row in zip(words, vectors, strict=True):
            handle.write(word + " " + " ".join(f"{x:.5f}" for x in row) + "\n")
    return path
