"""On-disk cache of frozen encoder vectors, one per plot text, kept only where a caller asks.

Serving never caches (it must not write to disk); `train --cache-dir`, the benchmark and the
distillation teacher pass a directory so that re-runs do not re-encode the corpus.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from moviegenre.files import atomic_path, write_text_atomic


def default_cache_dir() -> Path:
    """Where the benchmark keeps cached embeddings (outside the repository)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "moviegenre" / "embeddings"


def text_key(text: str) -> str:
    """The cache key of one plot text."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]


class EmbeddingStore:
    """Per-text cache of embeddings: .npy shards plus a JSON list of the texts' keys.

    `root/settings_key/` holds one pair of files per `add`; a shard half-written when a run died
    is ignored on read.
    """

    def __init__(self, root: Path, settings_key: str, dim: int) -> None:
        self.directory = Path(root) / settings_key
        self.dim = dim
        self.vectors: dict[str, np.ndarray] = {}
        if self.directory.is_dir():
            for keys_path in sorted(self.directory.glob("*.keys.json")):
                array_path = keys_path.with_name(keys_path.name[: -len(".keys.json")] + ".npy")
                try:
                    keys = json.loads(keys_path.read_text(encoding="utf-8"))
                    array = np.load(array_path, allow_pickle=False)
                except (OSError, ValueError):
                    continue  # a shard that was being written when a run died: ignore it
                if array.shape == (len(keys), dim):
                    self.vectors.update(zip(keys, array, strict=True))

    def add(self, keys: list[str], array: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:24]
        # The vectors first: a keys file only ever names a complete .npy file.
        with atomic_path(self.directory / f"{name}.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, array.astype(np.float32))
        write_text_atomic(self.directory / f"{name}.keys.json", json.dumps(keys))
        self.vectors.update(zip(keys, array, strict=True))


@functools.lru_cache(maxsize=8)
def open_store(root: str, settings_key: str, dim: int) -> EmbeddingStore:
    """The store for a directory and encoder settings, read from disk once per process."""
    return EmbeddingStore(Path(root), settings_key, dim)


def cached_vectors(
    root: str | Path,
    settings_key: str,
    dim: int,
    plots: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
) -> np.ndarray:
    """(n, dim) float32 vectors of `plots` from the store under `root`: each distinct text is
    encoded (by `encode`, a list of texts -> their vectors) once, across calls and runs."""
    store = open_store(str(Path(root).expanduser()), settings_key, dim)
    keys = [text_key(p) for p in plots]
    todo: dict[str, int] = {}  # each missing text once: its key -> its first plot
    for i, key in enumerate(keys):
        if key not in store.vectors:
            todo.setdefault(key, i)
    if todo:
        store.add(list(todo), np.asarray(encode([plots[i] for i in todo.values()])))
    if not keys:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([store.vectors[k] for k in keys]).astype(np.float32)
