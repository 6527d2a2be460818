"""One entry point that reads any supported format into movie records."""

from __future__ import annotations

import json
from pathlib import Path

from moviegenre.data.corpus import looks_like_corpus, read_corpus
from moviegenre.data.record import LoadResult
from moviegenre.errors import MovieGenreError


def read_data(path: str | Path, **options) -> LoadResult:
    """Read movie records from `path`, detecting its format (corpus JSON Lines for now)."""
    path = Path(path)
    if not path.is_file():
        raise MovieGenreError(f"{path}: no such file")
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    try:
        obj = json.loads(first)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and looks_like_corpus(obj):
        return read_corpus(path)
    raise MovieGenreError(f"{path}: unknown format; expected the corpus JSON Lines file")
