"""A disk cache of poster features, so training posters go through the image network once.

Features are keyed by the image's content (SHA-1 of its bytes) under a folder named after the
network file's digest: another network, or a changed image, never reuses stale features. The cache
grows in shards (a .npy matrix plus a .json list of keys, the .json written last), so a run cut
short keeps what it had finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moviegenre.images.features import FEATURES, PosterEncoder
from moviegenre.images.reader import PosterError, read_poster, read_poster_bytes

log = logging.getLogger(__name__)
SHARD_ROWS = 256


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class FeatureCache:
    """Poster features by image content, for one image network, kept in `directory`."""

    def __init__(self, directory: str | Path, encoder: PosterEncoder) -> None:
        self.encoder = encoder
        self.folder = Path(directory) / f"network-{_digest(encoder.path)}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.known: dict[str, np.ndarray] = {}
        for keys_file in sorted(self.folder.glob("shard-*.json")):
            try:
                keys = json.loads(keys_file.read_text(encoding="utf-8"))
                matrix = np.load(keys_file.with_suffix(".npy"), allow_pickle=False)
            except (OSError, ValueError) as exc:
                log.warning("%s: ignoring a damaged cache shard (%s)", keys_file, exc)
                continue
            if matrix.shape != (len(keys), FEATURES):
                log.warning("%s: ignoring a cache shard of the wrong shape", keys_file)
                continue
            self.known.update(zip(keys, matrix, strict=True))

    def _write_shard(self, keys: list[str], rows: list[np.ndarray]) -> None:
        number = len(list(self.folder.glob("shard-*.json")))
        stem = self.folder / f"shard-{number:05d}-{os.getpid()}"
        tmp = stem.with_name(stem.name + ".tmp.npy")
        np.save(tmp, np.stack(rows).astype(np.float32), allow_pickle=False)
        os.replace(tmp, stem.with_suffix(".npy"))
        tmp_json = stem.with_name(stem.name + ".tmp.json")
        tmp_json.write_text(json.dumps(keys), encoding="utf-8")
        os.replace(tmp_json, stem.with_suffix(".json"))  # the shard exists once its keys do

    def features(
        self, paths: Sequence[str | Path], progress: bool = True
    ) -> tuple[np.ndarray, dict[int, str]]:
        """(len(paths), 1280) features, and {row: error} for posters that could not be read.

        Rows with an error are left as zeros; callers drop them.
        """
        from tqdm import tqdm

        out = np.zeros((len(paths), FEATURES), dtype=np.float32)
        errors: dict[int, str] = {}
        pending: list[tuple[int, str, np.ndarray]] = []
        new_keys: list[str] = []
        new_rows: list[np.ndarray] = []

        def flush() -> None:
            if not pending:
                return
            encoded = self.encoder.encode([picture for _, _, picture in pending])
            for (row, key, _), vector in zip(pending, encoded, strict=True):
                out[row] = vector
                self.known[key] = vector
                new_keys.append(key)
                new_rows.append(vector)
            pending.clear()
            if len(new_keys) >= SHARD_ROWS:
                self._write_shard(new_keys, new_rows)
                new_keys.clear()
                new_rows.clear()

        bar = tqdm(paths, desc="poster features", unit="poster", disable=not progress,
                   file=sys.stderr, mininterval=2.0)  # fmt: skip
        for row, path in enumerate(bar):
            try:
                data = read_poster_bytes(path)
                key = hashlib.sha1(data).hexdigest()
                if key in self.known:
                    out[row] = self.known[key]
                    continue
                pending.append((row, key, read_poster(data)))
            except PosterError as exc:
                errors[row] = str(exc)
                continue
            if len(pending) >= 32:
                flush()
        flush()
        if new_keys:
            self._write_shard(new_keys, new_rows)
        return out, errors
