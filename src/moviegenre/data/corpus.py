"""Our corpus: ../shared/data/tmdb-overviews/movies.jsonl, with its own train/valid/test split."""

from __future__ import annotations

from collections.abc import Iterator
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
    result.records.extend(iter_corpus(path, result))
    return result


def iter_corpus(path: str | Path, result: LoadResult) -> Iterator[MovieRecord]:
    """Stream the corpus's records in file order, counting damaged lines in `result`."""
    from moviegenre.data.tabular import json_objects, open_text

    with open_text(Path(path)) as handle:
        for line_number, obj in json_objects(handle, result):
            genres = obj.get("genres") or []
            if not isinstance(genres, list) or not all(isinstance(g, str) for g in genres):
                result.skip("genre field is not a genre list")
                continue
            split = obj.get("split")
            sources = obj.get("sources") or ()
            series = obj.get("series")
            yield MovieRecord(
                id=str(obj.get("id") or line_number),
                title=_text(obj.get("title")),
                year=_text(obj.get("year")),
                plot=_text(obj.get("overview")),
                genres=normalize_genres(genres),
                split=split if split in SPLITS else None,
                sources=tuple(str(s) for s in sources) if isinstance(sources, list) else (),
                series=str(series) if series else None,
            )


def _text(value: object) -> str:
    return "" if value is None else str(value)
