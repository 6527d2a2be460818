"""IMDb's plain-text plot.list and genres.list, and the movies_genres.csv layout built from them."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from moviegenre.data.opening import open_text
from moviegenre.data.record import LoadResult, MovieRecord
from moviegenre.files import atomic_writer
from moviegenre.genres import normalize_genres

_YEAR = re.compile(r"\((\d{4}|\?{4})(?:/[IVXLCDM]+)?\)")
_EPISODE = re.compile(r'^(".*"\s*\([^)]*\))\s*\{.*\}\s*$')
_SEPARATOR = re.compile(r"^-{5,}\s*$")


@dataclass(frozen=True)
class ImdbTitle:
    """One title joined from both lists: the IMDb title string, its plots and raw genres."""

    title: str
    plot: str
    genres: tuple[str, ...]  # IMDb's own names (Sci-Fi, Film-Noir, ...)
    series: str | None


def is_imdb_list(line: str) -> bool:
    """True for the first line of an IMDb list file (its CRC line or a list heading)."""
    return line.startswith("CRC: 0x") or "PLOT SUMMARIES LIST" in line or "GENRES LIST" in line


def title_kind(title: str) -> str:
    """One of "game", "suspended", "episode", "series" or "movie" (which includes (V) and (TV))."""
    if "{{SUSPENDED}}" in title:
        return "suspended"
    if re.search(r"\(VG\)\s*$", title):
        return "game"
    if title.startswith('"'):
        return "episode" if _EPISODE.match(title) else "series"
    return "movie"


def series_of(title: str) -> str | None:
    """The series of an episode title: '"Series" (2005) {Ep (#1.2)}' -> '"Series" (2005)'."""
    match = _EPISODE.match(title)
    return match.group(1).strip() if match else None


def year_of(title: str) -> str:
    match = _YEAR.search(title)
    return match.group(1) if match and match.group(1).isdigit() else ""


def parse_plot_list(path: Path, result: LoadResult) -> dict[str, list[str]]:
    """Title -> its plots in file order (each plot's PL: lines joined with spaces)."""
    plots: dict[str, list[str]] = defaultdict(list)
    title: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if title is not None and lines:
            plots[title].append(" ".join(lines))
        lines.clear()

    with open_text(path, encoding="latin-1") as handle:
        for raw in handle:
            line = raw.rstrip("\r\n")
            if line.startswith("MV:"):
                flush()
                title = line[3:].strip() or None
            elif line.startswith("PL:"):
                if title is None:
                    result.skip("plot line outside a title")
                    continue
                text = line[3:].strip()
                if text:
                    lines.append(text)
            elif line.startswith("BY:") or _SEPARATOR.match(line):
                flush()
                if _SEPARATOR.match(line):
                    title = None
    flush()
    return plots


def parse_genres_list(path: Path, result: LoadResult) -> dict[str, list[str]]:
    """Title -> its genres, from the data part of genres.list (after the GENRES LIST heading)."""
    before: dict[str, list[str]] = defaultdict(list)
    after: dict[str, list[str]] = defaultdict(list)
    current = before
    bad_before = bad_after = 0
    previous = ""
    with open_text(path, encoding="latin-1") as handle:
        for raw in handle:
            line = raw.rstrip("\r\n")
            if re.fullmatch(r"=+\s*", line) and "GENRES LIST" in previous:
                current, bad_after = after, 0
                previous = line
                continue
            previous = line
            if not line.strip():
                continue
            title, _, genre = line.rpartition("\t")
            title, genre = title.strip(), genre.strip()
            if not title or not genre:
                if current is after:
                    bad_after += 1
                else:
                    bad_before += 1
                continue
            if genre not in current[title]:
                current[title].append(genre)
    # Files without the heading are read whole; with it, the preamble above it is ignored.
    if after:
        if bad_after:
            result.skip_reasons["genre line without a title and a genre"] += bad_after
        return after
    if bad_before and before:
        result.skip_reasons["genre line without a title and a genre"] += bad_before
    return before


def join_imdb_lists(
    plot_path: str | Path, genres_path: str | Path, include_tv: bool = False
) -> tuple[list[ImdbTitle], LoadResult]:
    """Titles that have both a plot and a genre, in plot.list order, and what was left out."""
    result = LoadResult(path=str(plot_path), format="imdb-lists")
    plots = parse_plot_list(Path(plot_path), result)
    genres = parse_genres_list(Path(genres_path), result)
    titles: list[ImdbTitle] = []
    for title, title_plots in plots.items():
        kind = title_kind(title)
        if kind == "game":
            result.dropped["video game"] += 1
            continue
        if kind == "suspended":
            result.dropped["suspended title"] += 1
            continue
        if kind in ("series", "episode") and not include_tv:
            result.dropped[f"TV {kind} (use --include-tv)"] += 1
            continue
        if title not in genres:
            result.dropped["plot without a genre"] += 1
            continue
        titles.append(
            ImdbTitle(
                title=title,
                plot=" ".join(title_plots),
                genres=tuple(genres[title]),
                series=series_of(title),
            )
        )
    missing_plot = sum(1 for t in genres if t not in plots and title_kind(t) != "game")
    if missing_plot:
        result.dropped["genre without a plot"] += missing_plot
    return titles, result


def to_record(title: ImdbTitle) -> MovieRecord:
    return MovieRecord(
        id=hashlib.sha256(title.title.encode("utf-8")).hexdigest()[:12],
        title=title.title,
        year=year_of(title.title),
        plot=title.plot,
        genres=normalize_genres(title.genres),
        sources=("imdb",),
        series=title.series,
    )


def read_imdb_lists(
    plot_path: str | Path, genres_path: str | Path, include_tv: bool = False
) -> LoadResult:
    """Records from IMDb's plot.list and genres.list (plain or .gz, Latin-1)."""
    titles, result = join_imdb_lists(plot_path, genres_path, include_tv)
    result.records.extend(to_record(t) for t in titles)
    return result


def write_movies_genres(titles: Sequence[ImdbTitle], path: str | Path) -> list[str]:
    """Write the movies_genres.csv layout: UTF-8, tab-separated, title, plot, one 0/1 column per
    genre (IMDb's names, sorted). Returns the genre columns."""
    columns = sorted({g for t in titles for g in t.genres})
    with atomic_writer(path, newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["title", "plot", *columns])
        for row in _rows(titles, columns):
            writer.writerow(row)
    return columns


def _rows(titles: Iterable[ImdbTitle], columns: Sequence[str]) -> Iterator[list[str]]:
    for title in titles:
        own = set(title.genres)
        yield [title.title, title.plot, *("1" if c in own else "0" for c in columns)]
