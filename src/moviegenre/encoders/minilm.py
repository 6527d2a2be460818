"""all-MiniLM-L6-v2 on ONNX Runtime: int8 graph and tokenizer in the wheel, no PyTorch needed.

The graph (written by scripts/export_minilm_onnx.py from the packaged encoder) maps padded
wordpiece ids and their mask to each chunk's mean-pooled last hidden states. Plots are read as
`models/minilm/encoder.py` reads them: whole, in overlapping windows of at most 256 wordpieces,
the windows averaged weighted by their length, then L2-normalised, so a 350-word plot is read to
the end. Tokenization uses the `tokenizers` library on the encoder's own tokenizer.json.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.onnx_sessions import make_session

HERE = Path(__file__).resolve().parent
ONNX_FILE = HERE / "minilm-l6-int8.onnx"
TOKENIZER_FILE = HERE / "minilm-tokenizer.json"
ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_LENGTH = 256  # the encoder's max_seq_length, as in models/minilm/encoder.py
OVERLAP = 32


@functools.lru_cache(maxsize=1)
def encoder_checksum() -> str:
    """SHA-256 of the shipped graph (a bundle records it: its features depend on these weights)."""
    return hashlib.sha256(ONNX_FILE.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from tokenizers import Tokenizer

    if not TOKENIZER_FILE.is_file():
        raise MovieGenreError(f"{TOKENIZER_FILE}: the MiniLM tokenizer is missing from the package")
    tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
    # the file asks for truncation to 128 and padding to 128; we chunk and pad ourselves
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    if not ONNX_FILE.is_file():
        raise MovieGenreError(f"{ONNX_FILE}: the MiniLM ONNX encoder is missing from the package")
    return make_session(ONNX_FILE)  # threads: $MOVIEGENRE_THREADS (default 1)


def special_ids() -> tuple[int, int, int]:
    """The [CLS], [SEP] and [PAD] ids of the encoder's vocabulary."""
    tokenizer = _tokenizer()
    cls_id, sep_id, pad_id = (int(tokenizer.token_to_id(t)) for t in ("[CLS]", "[SEP]", "[PAD]"))
    return cls_id, sep_id, pad_id


def chunk_ids(
    token_ids: Sequence[int], cls_id: int, sep_id: int, max_length: int = MAX_LENGTH,
    overlap: int = OVERLAP,
) -> list[list[int]]:  # fmt: skip
    """[CLS] .. [SEP] windows of at most `max_length` ids covering every wordpiece; consecutive
    windows share `overlap` wordpieces (the torch encoder in models/minilm reads plots this way)."""
    window = max_length - 2
    stride = max(1, window - overlap)
    starts = [0]
    while starts[-1] + window < len(token_ids):
        starts.append(starts[-1] + stride)
    return [[cls_id, *token_ids[s : s + window], sep_id] for s in starts]


def tokenize(plots: Sequence[str]) -> list[list[int]]:
    """Each plot's wordpiece ids, without special tokens and without truncation."""
    return [e.ids for e in _tokenizer().encode_batch(list(plots), add_special_tokens=False)]


def embed(plots: Sequence[str], max_length: int = MAX_LENGTH) -> np.ndarray:
    """(n, 384) float32 L2-normalised plot vectors (mean over wordpieces of all chunks)."""
    plots = list(plots)
    if not plots:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    cls_id, sep_id, _ = special_ids()
    chunks = [chunk_ids(ids, cls_id, sep_id, max_length) for ids in tokenize(plots)]
    flat = [c for per_plot in chunks for c in per_plot]
    owner = np.array([p for p, per_plot in enumerate(chunks) for _ in per_plot])
    lengths = np.array([len(c) for c in flat], dtype=np.float32)
    session = _session()
    # One chunk per call: the int8 graph quantizes activations with one scale per call, so a
    # batch would make a plot's vector depend on its neighbours (cosine down to 0.987); alone,
    # the same plot always gets the same vector, for 15% more time.
    pooled = np.zeros((len(flat), EMBEDDING_DIM), dtype=np.float32)
    for row, chunk in enumerate(flat):
        ids = np.asarray([chunk], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        pooled[row] = session.run(None, feed)[0][0]
    # chunks weighted by their length: up to the overlaps, the mean over the plot's wordpieces
    total = np.zeros((len(plots), EMBEDDING_DIM), dtype=np.float64)
    np.add.at(total, owner, pooled * lengths[:, None])
    norms = np.linalg.norm(total, axis=1, keepdims=True)
    return (total / np.maximum(norms, 1e-12)).astype(np.float32)
