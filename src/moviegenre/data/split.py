"""A deterministic split by movie (normalised title + year; TV episodes by their series)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Sequence

from moviegenre.data.record import MovieRecord

# Fractions of train / valid / test, as in our corpus (80 / 10 / 10).
SPLIT_FRACTIONS = (("train", 0.8), ("valid", 0.1), ("test", 0.1))


def movie_key(record: MovieRecord) -> str:
    """What identifies one movie across rows and sources: an episode's series, else title+year."""
    if record.series:
        return "series:" + _normalise(record.series)
    return _normalise(record.title) + "|" + record.year.strip()


def _normalise(title: str) -> str:
    title = unicodedata.normalize("NFKD", title)
    title = "".join(ch for ch in title if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", " ", title).strip()


def split_of(key: str) -> str:
    """The split a movie key falls in: a stable hash, so every run and machine agrees."""
    value = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64
    cumulative = 0.0
    for name, fraction in SPLIT_FRACTIONS:
        cumulative += fraction
        if value < cumulative:
            return name
    return SPLIT_FRACTIONS[-1][0]


def assign_splits(records: Sequence[MovieRecord]) -> list[MovieRecord]:
    """Records with `split` filled in by movie key wherever they had none."""
    return [r if r.split else dataclasses.replace(r, split=split_of(movie_key(r))) for r in records]
