"""From records to what models eat: splits, label sets and 0/1 target matrices."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from moviegenre.data.record import MovieRecord
from moviegenre.data.split import assign_splits
from moviegenre.errors import MovieGenreError


def split_records(records: Sequence[MovieRecord]) -> dict[str, list[MovieRecord]]:
    """Group usable records by split; data without a split of its own is split by movie."""
    if any(r.split is None for r in records):
        records = assign_splits(records)
    groups: dict[str, list[MovieRecord]] = {"train": [], "valid": [], "test": []}
    for record in records:
        groups.setdefault(record.split or "train", []).append(record)
    return groups


def label_set(records: Sequence[MovieRecord], min_count: int = 1) -> list[str]:
    """The genres a model will predict: every genre seen at least `min_count` times, sorted."""
    counts = Counter(g for r in records for g in r.genres)
    labels = sorted(g for g, c in counts.items() if c >= min_count)
    if len(labels) < 2:
        raise MovieGenreError(
            f"the training data has {len(labels)} genre(s); a genre model needs at least two"
        )
    return labels


def target_matrix(records: Sequence[MovieRecord], labels: Sequence[str]) -> np.ndarray:
    """(len(records), len(labels)) 0/1 matrix; genres outside `labels` are ignored."""
    index = {g: i for i, g in enumerate(labels)}
    targets = np.zeros((len(records), len(labels)), dtype=np.float32)
    for row, record in enumerate(records):
        for genre in record.genres:
            if genre in index:
                targets[row, index[genre]] = 1.0
    return targets


def unknown_genres(records: Sequence[MovieRecord], labels: Sequence[str]) -> Counter[str]:
    """Genres in `records` that a model with `labels` does not know (ignored, with a warning)."""
    known = set(labels)
    return Counter(g for r in records for g in r.genres if g not in known)


def fingerprint(records: Sequence[MovieRecord]) -> str:
    """SHA-256 over the training records (id, plot, genres): which data a model was trained on."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(record.id.encode())
        digest.update(b"\0" + record.plot.encode("utf-8", "replace") + b"\0")
        digest.update("|".join(record.genres).encode() + b"\n")
    return digest.hexdigest()
