"""Our corpus: ../shared/data/tmdb-overviews/movies.jsonl, with its own train/valid/test split."""

from __future__ import annotations

import json
from pathlib import Path

from moviegenre.data.record import LoadResult, MovieRecord
from moviegenre.genres import normalize_genres

SPLITS = ("train", "valid", "test")


def looks_like_corpus(first_object: dict) -> bool:
    """True when a JSON Lines object has the corpus's fields (overview, genres and split)."""
    return {"overview", "genres", "split"} <= set(first_object)


def read_corpus(path: str | Path) -> LoadResult:
    """Read the corpus JSON Lines file, keeping its split; damaged lines are skipped and counted."""
    result = LoadResult(path=str(path), format="corpus-jsonl")
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                result.skip("invalid JSON")
                continue
            if not isinstance(obj, dict):
                result.skip("line is not a JSON object")
                continue
            genres = obj.get("genres") or []
            if not isinstance(genres, list):
                result.skip("genre field is not a list")
                continue
            split = obj.get("split")
            result.records.append(
                MovieRecord(
                    id=str(obj.get("id") or line_number),
                    title=str(obj.get("title") or ""),
                    year=str(obj.get("year") or ""),
                    plot=str(obj.get("overview") or ""),
                    genres=normalize_genres(str(g) for g in genres),
                    split=split if split in SPLITS else None,
                    sources=tuple(obj.get("sources") or ()),
                )
            )
    return result
