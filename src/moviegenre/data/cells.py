"""Column detection and cell parsing shared by the tabular readers (genre lists, years)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from moviegenre.data.labels import LabelCells, LabelVocabulary, as_written, is_label
from moviegenre.errors import MovieGenreError
from moviegenre.genres import TMDB_GENRE_IDS, is_genre_name, normalize_genres

# Column names we recognise, compared after lower-casing and dropping spaces, '_', '-' and '/'.
TEXT_NAMES = ("plot", "overview", "description", "summary", "plotsummary", "synopsis", "text")
GENRE_NAMES = ("genres", "genre", "genreids", "genrenames", "genrelist")
TITLE_NAMES = ("title", "name", "movietitle", "primarytitle", "originaltitle")
YEAR_NAMES = ("year", "releaseyear", "releasedate", "released", "date", "startyear")
ID_NAMES = ("id", "movieid", "tmdbid", "imdbid", "wikiid", "wikipediaid")

# A genre cell longer than this is not a genre list (guards ast.literal_eval too).
MAX_GENRE_CELL = 10_000
# One genre name: short, a few words, no sentence or URL punctuation.
_GENRE_TOKEN = re.compile(r"[^\W\d_][\w '&./+()-]{0,39}", re.UNICODE)
_YEAR_CELL = re.compile(r"[\d\s/.:T+Z-]{4,40}")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_ONE_HOT = {"0": False, "1": True, "0.0": False, "1.0": True, "false": False, "true": True}


class NotAGenreList(ValueError):
    """A genre cell that holds something other than a list of genres."""


def column_key(name: str) -> str:
    return re.sub(r"[\s_\-/]+", "", str(name).strip().lstrip("\ufeff").lower())


def find_column(header: Sequence[str], candidates: Sequence[str]) -> int | None:
    """Index of the first header matching a candidate (in candidate order), else None."""
    keys = [column_key(h) for h in header]
    for candidate in candidates:
        if candidate in keys:
            return keys.index(candidate)
    return None


def named_column(header: Sequence[str], name: str, path: str, what: str) -> int:
    """Index of the column a user named (case-insensitive); MovieGenreError when absent."""
    keys = [column_key(h) for h in header]
    if column_key(name) in keys:
        return keys.index(column_key(name))
    shown = ", ".join(h for h in header if h.strip())[:300]
    raise MovieGenreError(f"{path}: no {what} column named {name!r}; the columns are: {shown}")


@dataclass(frozen=True)
class Layout:
    """Which columns of a table hold what (indices into the header)."""

    header: tuple[str, ...]
    text: int
    genre: int | None = None
    one_hot: tuple[int, ...] = ()
    title: int | None = None
    year: int | None = None
    id: int | None = None
    split: int | None = None
    sources: int | None = None
    series: int | None = None
    poster: int | None = None


def detect_layout(
    header: Sequence[str],
    path: str,
    text_column: str | None = None,
    genre_column: str | None = None,
    one_hot_values: Sequence[Sequence[str]] = (),
    poster_column: str | None = None,
    own_labels: bool = False,
) -> Layout:
    """Find the text, genre, title and year columns of a table from its header.

    `one_hot_values` are a few data rows, used to confirm that genre-named columns hold 0/1;
    with `own_labels` (a vocabulary other than TMDB's) any other 0/1 column is a label column.
    """
    header = tuple(str(h) for h in header)
    if text_column:
        text = named_column(header, text_column, path, "text")
    else:
        text = find_column(header, TEXT_NAMES)
        if text is None:
            keys = [column_key(h) for h in header]
            text = next(
                (i for i, k in enumerate(keys) if any(n in k for n in TEXT_NAMES[:4])), None
            )
        if text is None:
            raise MovieGenreError(
                f"{path}: no text column; expected a column named plot, overview, description"
                " or summary (or name one with --text-column)"
            )
    genre: int | None = None
    one_hot: tuple[int, ...] = ()
    if genre_column:
        genre = named_column(header, genre_column, path, "genre")
    else:
        genre = find_column(header, GENRE_NAMES)
        if genre is None:
            one_hot = _one_hot_columns(header, text, one_hot_values, own_labels)
    poster = named_column(header, poster_column, path, "poster") if poster_column else None
    taken = {text, genre, poster, *one_hot}

    def other(names: Sequence[str]) -> int | None:
        index = find_column(header, names)
        return None if index in taken else index

    return Layout(
        header=header,
        text=text,
        genre=genre,
        one_hot=one_hot,
        title=other(TITLE_NAMES),
        year=other(YEAR_NAMES),
        id=other(ID_NAMES),
        split=other(("split",)),
        sources=other(("sources",)),
        series=other(("series",)),
        poster=poster,
    )


def _one_hot_columns(
    header: Sequence[str], text: int, rows: Sequence[Sequence[str]], own_labels: bool = False
) -> tuple[int, ...]:
    """Columns named after a genre and holding only 0/1 in the sample rows (at least two).

    With `own_labels`, any column not named like a title, year, id or split may be one.
    """
    keys = [column_key(h) for h in header]
    # The original IMDb movies_genres.csv layout: title, plot, then one 0/1 column per genre.
    imdb_layout = keys[:2] == ["title", "plot"] and len(header) > 2
    reserved = {*TITLE_NAMES, *YEAR_NAMES, *ID_NAMES, "split", "sources", "series"}
    candidates = [
        i
        for i, name in enumerate(header)
        if i != text
        and name.strip()
        and (
            is_genre_name(name)
            or (imdb_layout and i >= 2)
            or (own_labels and keys[i] not in reserved)
        )
    ]

    def holds_flags(i: int) -> bool:
        return all(
            i >= len(row) or row[i].strip().lower() in _ONE_HOT or not row[i].strip()
            for row in rows
        )

    chosen = tuple(i for i in candidates if holds_flags(i))
    return chosen if len(chosen) >= 2 else ()


def parse_genre_cell(value: object, cells: LabelCells | None = None) -> tuple[str, ...]:
    """Canonical genres from one genre cell, whatever shape it has; NotAGenreList otherwise.

    Accepts a JSON or Python-literal list (of names, TMDB ids or {id, name} objects), a
    Freebase-style JSON object {"/m/..": "Drama"}, or a string delimited by , | or ;.
    With `cells` (a vocabulary other than TMDB's), a string is split on the column's separator
    and the names mapped by that vocabulary, not TMDB's alias table.
    """
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return _genres_from_items(value, cells)
    if isinstance(value, dict):
        return _genres_from_items(list(value.values()), cells)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NotAGenreList(f"a {type(value).__name__}")
    if isinstance(value, int):
        return _genres_from_items([value], cells)
    text = value.strip()
    if not text or text in ("[]", "{}"):
        return ()
    if len(text) > MAX_GENRE_CELL:
        raise NotAGenreList("too long")
    if text[0] in "[{(":
        parsed = _parse_literal(text)
        if isinstance(parsed, dict):
            return _genres_from_items(list(parsed.values()), cells)
        if isinstance(parsed, (list, tuple)):
            return _genres_from_items(list(parsed), cells)
        raise NotAGenreList("unparseable list")
    if cells is not None:
        return _genres_from_items(cells.split(text), cells)
    tokens = [t.strip() for t in re.split(r"[,|;]", text)]
    return _genres_from_items([t for t in tokens if t])


def _parse_literal(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:  # Python-literal lists ("['Drama', 'Crime']"); literal_eval evaluates no code
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise NotAGenreList("unparseable list") from None


def _genres_from_items(items: Sequence[object], cells: LabelCells | None = None) -> tuple[str, ...]:
    if cells is not None:
        return _own_labels(items, cells.vocabulary)
    names: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name", item.get("genre"))
        if isinstance(item, bool):
            raise NotAGenreList("a boolean")
        if isinstance(item, int):
            if item not in TMDB_GENRE_IDS:
                raise NotAGenreList(f"unknown TMDB genre id {item}")
            names.append(TMDB_GENRE_IDS[item])
            continue
        if not isinstance(item, str):
            raise NotAGenreList("an item that is not a genre name")
        name = " ".join(item.split())
        if name.isdigit() and int(name) in TMDB_GENRE_IDS:
            names.append(TMDB_GENRE_IDS[int(name)])
            continue
        if name and not _GENRE_TOKEN.fullmatch(name):
            raise NotAGenreList("an item that is not a genre name")
        names.append(name)
    return normalize_genres(names)


def _own_labels(items: Sequence[object], vocabulary: LabelVocabulary) -> tuple[str, ...]:
    """Labels as written (numbers too: an own vocabulary has no TMDB ids), then mapped."""
    names: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name", item.get("genre", item.get("label")))
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise NotAGenreList("an item that is not a label")
        name = as_written(item)
        if name and not is_label(name):
            raise NotAGenreList("an item that is not a label")
        names.append(name)
    return vocabulary.map(names)


def one_hot_genres(
    row: Sequence[str], layout: Layout, vocabulary: LabelVocabulary | None = None
) -> tuple[str, ...]:
    """Genres whose 0/1 column is set; NotAGenreList when a cell is neither 0 nor 1."""
    names = []
    for i in layout.one_hot:
        cell = row[i].strip().lower() if i < len(row) else ""
        if not cell:
            continue
        if cell not in _ONE_HOT:
            raise NotAGenreList("a one-hot genre cell that is not 0 or 1")
        if _ONE_HOT[cell]:
            names.append(layout.header[i])
    return vocabulary.map(names) if vocabulary is not None else normalize_genres(names)


def parse_year(value: object) -> str | None:
    """The year in a year or date cell ("" when empty); None when the cell holds no date."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value:  # NaN (pandas' empty cell) is "no year"
            return ""
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return str(value) if 1800 <= value <= 2099 else None
    if isinstance(getattr(value, "year", None), int):  # date / datetime objects
        return str(value.year)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return ""
    if not _YEAR_CELL.fullmatch(text):
        return None
    match = _YEAR.search(text)
    return match.group(1) if match else None
