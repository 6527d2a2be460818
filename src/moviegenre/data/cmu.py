"""The CMU Movie Summary Corpus: plot_summaries.txt joined to movie.metadata.tsv by wiki id."""

from __future__ import annotations

import json
from pathlib import Path

from moviegenre.data.cells import NotAGenreList, parse_genre_cell, parse_year
from moviegenre.data.record import LoadResult, MovieRecord
from moviegenre.data.tabular import SKIP_FIELDS, SKIP_GENRE, SKIP_YEAR, open_text
from moviegenre.errors import MovieGenreError

PLOTS = "plot_summaries.txt"
METADATA = "movie.metadata.tsv"
METADATA_FIELDS = 9


def looks_like_plots(line: str) -> bool:
    """A plot_summaries.txt line: a numeric wiki id, a tab, the plot."""
    wiki_id, tab, plot = line.partition("\t")
    return bool(tab) and wiki_id.strip().isdigit() and "\t" not in plot.strip()


def looks_like_metadata(line: str) -> bool:
    """A movie.metadata.tsv line: nine tab-separated fields, the second a Freebase id."""
    fields = line.rstrip("\r\n").split("\t")
    return len(fields) == METADATA_FIELDS and fields[0].isdigit() and fields[1].startswith("/m/")


def cmu_paths(path: Path) -> tuple[Path, Path | None]:
    """(plot summaries, metadata or None) for a CMU directory or either of its two files."""
    folder = path if path.is_dir() else path.parent
    plots = folder / PLOTS
    metadata = folder / METADATA
    if not plots.is_file():
        raise MovieGenreError(
            f"{path}: the CMU Movie Summary Corpus needs {PLOTS} in {folder} (the plots)"
        )
    return plots, (metadata if metadata.is_file() else None)


def read_cmu(path: str | Path) -> LoadResult:
    """Records for every plot summary, with title, year and genres from the metadata."""
    plots_path, metadata_path = cmu_paths(Path(path))
    result = LoadResult(path=str(path), format="cmu")
    metadata: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    if metadata_path is not None:
        with open_text(metadata_path) as handle:
            for line in handle:
                if not line.strip():
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != METADATA_FIELDS:
                    result.skip(SKIP_FIELDS)
                    continue
                year = parse_year(fields[3])
                if year is None:
                    result.skip(SKIP_YEAR)
                    continue
                try:
                    genres = parse_genre_cell(_freebase_dict(fields[8]))
                except NotAGenreList:
                    result.skip(SKIP_GENRE)
                    continue
                metadata[fields[0].strip()] = (fields[2].strip(), year, genres)
    seen: set[str] = set()
    with open_text(plots_path) as handle:
        for line in handle:
            if not line.strip():
                continue
            wiki_id, tab, plot = line.rstrip("\r\n").partition("\t")
            wiki_id = wiki_id.strip()
            if not tab or not wiki_id.isdigit():
                result.skip("plot line without a wiki id and a tab")
                continue
            title, year, genres = metadata.get(wiki_id, ("", "", ()))
            seen.add(wiki_id)
            result.records.append(
                MovieRecord(
                    id=wiki_id,
                    title=title,
                    year=year,
                    plot=plot.strip(),
                    genres=genres,
                    sources=("cmu",),
                )
            )
    unplotted = sum(1 for wiki_id in metadata if wiki_id not in seen)
    if unplotted:
        result.dropped["metadata without a plot summary"] += unplotted
    return result


def _freebase_dict(cell: str) -> object:
    """The genres cell: a JSON object {"/m/02kdv5l": "Action", ...}; anything else is damage."""
    cell = cell.strip()
    if not cell:
        return {}
    try:
        value = json.loads(cell)
    except ValueError:
        raise NotAGenreList("invalid JSON") from None
    if not isinstance(value, dict):
        raise NotAGenreList("not a JSON object")
    return value
