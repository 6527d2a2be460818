"""The poster index: ../shared/data/posters/index.csv, one labelled poster image per row."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.genres import normalize_genres

COLUMNS = ("file", "genres", "label_source", "split")
LABEL_SOURCES = ("corpus", "movielens")


@dataclass(frozen=True)
class PosterRecord:
    """One poster: its image file, genres, where the genres come from, and its split."""

    id: str
    path: Path
    title: str
    genres: tuple[str, ...]
    label_source: str  # "corpus": the corpus movie's genres; "movielens": mapped MovieLens genres
    split: str
    corpus_id: str | None = None


def read_poster_index(path: str | Path) -> list[PosterRecord]:
    """Every row of a poster index CSV (image paths resolved against the index's folder)."""
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise MovieGenreError(f"{path}: cannot read the poster index ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise MovieGenreError(
                f"{path}: not a poster index (missing column(s) {', '.join(missing)})"
            )
        records = []
        for number, row in enumerate(reader, 2):
            source = (row.get("label_source") or "").strip()
            if source not in LABEL_SOURCES:
                raise MovieGenreError(f"{path}:{number}: unknown label_source {source!r}")
            records.append(
                PosterRecord(
                    id=(row.get("imdb_id") or str(number)).strip(),
                    path=path.parent / row["file"],
                    title=(row.get("title") or "").strip(),
                    genres=normalize_genres((row.get("genres") or "").split("|")),
                    label_source=source,
                    split=(row.get("split") or "").strip(),
                    corpus_id=(row.get("corpus_id") or "").strip() or None,
                )
            )
    return records


def looks_like_poster_index(path: str | Path) -> bool:
    """True when `path` is a CSV whose header has the poster index's columns."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    return all(c in header for c in COLUMNS)


@dataclass
class JoinedMovies:
    """Corpus movies that have a poster: plots, poster files, targets in the model's labels."""

    plots: list[str]
    posters: list[Path]
    targets: np.ndarray


def corpus_with_posters(
    data: str | Path, index: str | Path, labels: list[str], split: str
) -> JoinedMovies:
    """The corpus movies of `split` that have a corpus-labelled poster in the index, in index
    order (their genres are the corpus's; posters labelled from MovieLens are left out)."""
    from moviegenre.data.dataset import target_matrix
    from moviegenre.data.readers import read_data

    by_id = {r.id: r for r in read_data(data).usable()}
    plots, posters, records = [], [], []
    for poster in read_poster_index(index):
        movie = by_id.get(poster.corpus_id or "")
        if poster.label_source == "corpus" and movie is not None and movie.split == split:
            plots.append(movie.plot)
            posters.append(poster.path)
            records.append(movie)
    return JoinedMovies(plots, posters, target_matrix(records, labels))
