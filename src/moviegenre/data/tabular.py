"""Generic tables: delimited text (CSV/TSV/any delimiter), JSON Lines and Parquet, streamed."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from moviegenre.data.cells import (
    Layout,
    NotAGenreList,
    detect_layout,
    one_hot_genres,
    parse_genre_cell,
    parse_year,
)
from moviegenre.data.labels import LabelCells, LabelVocabulary, column_separator
from moviegenre.data.opening import first_line, open_text
from moviegenre.data.record import LoadResult, MovieRecord
from moviegenre.errors import MovieGenreError, optional_import
from moviegenre.genres import normalize_genres

SPLITS = ("train", "valid", "test")
DELIMITERS = (",", "\t", ";", "|")
# Rows looked at before the layout is fixed (to confirm 0/1 genre columns).
SAMPLE_ROWS = 50
# Raised from csv's 128 KiB default so long plots parse; a runaway quoted field beyond this
# is reported as broken quoting instead of eating the whole file.
FIELD_LIMIT = 16 * 1024 * 1024
# Parquet rows decoded to Python at once: the reader's peak memory, whatever the file's size.
PARQUET_BATCH = 1024
# Rows whose label cells decide a column's separator under an own vocabulary (docs/labels.md).
SEPARATOR_ROWS = 2000

SKIP_FIELDS = "wrong number of fields"
SKIP_QUOTING = "broken quoting"
SKIP_YEAR = "shifted columns (year field holds no date)"
SKIP_GENRE = "genre field is not a genre list"
SKIP_TRUNCATED = "truncated row (fields after the text are empty)"
SKIP_TEXT = "text field is not text"

GenreParser = Callable[[object], tuple[str, ...]]

# IMDb-style titles carry their year ("Heat (1995)", "Doom (2005/I)") and, for TV episodes,
# their series ('"Lost" (2004) {Pilot (#1.1)}'): used when a table has no year/series column.
_TITLE_YEAR = re.compile(r"\((\d{4})(?:/[IVXLCDM]+)?\)")
_TITLE_EPISODE = re.compile(r'^(".*"\s*\([^)]*\))\s*\{.*\}\s*$')


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that occurs most often outside quotes on the header line (',' on a tie)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class _LineTap:
    """Feeds lines to csv.reader and remembers the physical lines the current row used."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self.lines: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self.lines.append(line)
        return line


Parsed = tuple[list[str] | None, list[str]]


def _physical_rows(handle: IO[str], delimiter: str) -> Iterator[Parsed]:
    """(row, lines) for each parsed row; a row spanning lines whose quoting broke is re-parsed
    line by line, so one stray quote costs one row, not the rest of the file. None = unparseable.
    """
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    tap = _LineTap(handle)
    reader = csv.reader(tap, delimiter=delimiter)
    while True:
        tap.lines = []
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield from _reparse(tap.lines, delimiter)
            continue
        yield row, tap.lines


def _reparse(lines: Sequence[str], delimiter: str) -> Iterator[Parsed]:
    for line in lines:
        try:
            rows = list(csv.reader([line], delimiter=delimiter))
        except csv.Error:
            yield None, [line]
            continue
        yield (rows[0] if rows else []), [line]


def iter_delimited(
    path: Path,
    result: LoadResult,
    text_column: str | None = None,
    genre_column: str | None = None,
    genre_parser: GenreParser = parse_genre_cell,
    source: str | None = None,
    poster_column: str | None = None,
    vocabulary: LabelVocabulary | None = None,
) -> Iterator[MovieRecord]:
    """Stream records from a delimited text file; damaged rows are counted in `result`.

    vocabulary: how genre names become labels (None: TMDB's, through `genre_parser`).
    """
    with open_text(path) as handle:
        header_line = first_line(path)
        delimiter = sniff_delimiter(header_line)
        rows = _physical_rows(handle, delimiter)
        header: list[str] | None = None
        for row, _ in rows:
            if row and any(cell.strip() for cell in row):
                header = [cell.strip().lstrip("\ufeff") for cell in row]
                break
        if header is None:
            raise MovieGenreError(f"{path}: empty file; expected a header line and data rows")
        own = vocabulary is not None and not vocabulary.is_tmdb
        sample: list[Parsed] = []
        for item in rows:
            sample.append(item)
            if len(sample) >= (SEPARATOR_ROWS if own else SAMPLE_ROWS):
                break
        full = [r for r, _ in sample if r is not None and len(r) == len(header)]
        layout = detect_layout(
            header, str(path), text_column, genre_column, full[:SAMPLE_ROWS], poster_column, own
        )  # fmt: skip
        if own and layout.genre is not None:
            genre_parser = _own_parser(vocabulary, [r[layout.genre] for r in full])
        converter = _RowConverter(
            layout, result, genre_parser, source or path.stem, True, vocabulary
        )

        def all_rows() -> Iterator[Parsed]:
            yield from sample
            yield from rows

        for row, lines in all_rows():
            if row is None:
                result.skip(SKIP_QUOTING)
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank lines are no data
            if len(row) > len(header) and not any(c.strip() for c in row[len(header) :]):
                row = row[: len(header)]  # trailing delimiters
            if len(row) != len(header):
                if len(lines) > 1:
                    # A quote opened and closed lines later: the row ate its neighbours.
                    for sub_row, _ in _reparse(lines, delimiter):
                        record = converter.convert_row(sub_row, quoting_suspect=True)
                        if record is not None:
                            yield record
                    continue
                result.skip(SKIP_FIELDS)
                continue
            record = converter.convert(row)
            if record is not None:
                yield record


class _RowConverter:
    """Turns one row of cells into a record, or counts why it is damaged."""

    def __init__(
        self,
        layout: Layout,
        result: LoadResult,
        genre_parser: GenreParser,
        source: str,
        padded_rows: bool,
        vocabulary: LabelVocabulary | None = None,
    ) -> None:
        self.layout = layout
        self.vocabulary = vocabulary
        self.result = result
        self.genre_parser = genre_parser
        self.source = source
        self.number = 0
        # Named columns after the text, for spotting rows cut short after their text.
        self.after_text = [
            i
            for i, name in enumerate(layout.header)
            if i > layout.text and name.strip() and i not in layout.one_hot
        ]
        self.padded_rows = padded_rows
        # Genre cells repeat a lot ("Drama", "Comedy, Romance"): parse each distinct one once.
        self._genre_cache: dict[str, tuple[str, ...] | None] = {}

    def genres_of(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, str) or len(value) > 200:
            return self.genre_parser(value)
        if value not in self._genre_cache:
            if len(self._genre_cache) >= 50_000:  # bounded: constant memory on any file
                self._genre_cache.clear()
            try:
                self._genre_cache[value] = self.genre_parser(value)
            except NotAGenreList:
                self._genre_cache[value] = None
        genres = self._genre_cache[value]
        if genres is None:
            raise NotAGenreList("cached")
        return genres

    def convert_row(
        self, row: list[str] | None, quoting_suspect: bool = False
    ) -> MovieRecord | None:
        """Convert a re-parsed line: any field-count mismatch is broken quoting."""
        if row is None or not any(c.strip() for c in row):
            if row is None:
                self.result.skip(SKIP_QUOTING)
            return None
        width = len(self.layout.header)
        if len(row) > width and not any(c.strip() for c in row[width:]):
            row = row[:width]
        if len(row) != width:
            self.result.skip(SKIP_QUOTING if quoting_suspect else SKIP_FIELDS)
            return None
        return self.convert(row)

    def convert(self, row: Sequence[object]) -> MovieRecord | None:
        layout = self.layout
        self.number += 1

        def cell(index: int | None) -> object:
            return row[index] if index is not None and index < len(row) else None

        year = parse_year(cell(layout.year)) if layout.year is not None else ""
        if year is None:
            self.result.skip(SKIP_YEAR)
            return None
        genre_cell = cell(layout.genre)
        try:
            if layout.genre is not None:
                genres = self.genres_of(genre_cell)
            elif layout.one_hot:
                genres = one_hot_genres(
                    [_as_text(cell(i)) for i in range(len(row))], layout, self.vocabulary
                )
            else:
                genres = ()
        except NotAGenreList:
            self.result.skip(SKIP_GENRE)
            return None
        if (
            self.padded_rows
            and layout.genre is not None
            and not _as_text(genre_cell).strip()
            and len(self.after_text) >= 2
            and not any(_as_text(cell(i)).strip() for i in self.after_text)
        ):
            self.result.skip(SKIP_TRUNCATED)
            return None
        plot = cell(layout.text)
        if isinstance(plot, (list, dict, bytes)):
            self.result.skip(SKIP_TEXT)
            return None
        split = _as_text(cell(layout.split)).strip().lower()
        sources_cell = cell(layout.sources)
        if isinstance(sources_cell, (list, tuple)):
            sources = tuple(str(s) for s in sources_cell if str(s).strip())
        else:
            sources = tuple(s.strip() for s in _as_text(sources_cell).split("|") if s.strip())
        series = _as_text(cell(layout.series)).strip()
        title = _as_text(cell(layout.title)).strip()
        if layout.year is None and (match := _TITLE_YEAR.search(title)):
            year = match.group(1)
        if layout.series is None and (match := _TITLE_EPISODE.match(title)):
            series = match.group(1).strip()
        return MovieRecord(
            id=_as_text(cell(layout.id)).strip() or str(self.number),
            title=title,
            year=year,
            plot=_as_text(plot).strip(),
            genres=genres,
            split=split if split in SPLITS else None,
            sources=sources or (self.source,),
            series=series or None,
            poster=_as_text(cell(layout.poster)).strip() or None,
        )


def _own_parser(vocabulary: LabelVocabulary, cells: Sequence[object]) -> GenreParser:
    """A genre parser for an own vocabulary, splitting on the separator the cells use."""
    splitter = LabelCells(vocabulary, column_separator(cells))
    return lambda value: parse_genre_cell(value, splitter)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN from pandas-written files
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else str(value)
    return value if isinstance(value, str) else str(value)


def iter_objects(
    objects: Iterator[dict | None],
    header: Sequence[str],
    path: Path,
    result: LoadResult,
    text_column: str | None = None,
    genre_column: str | None = None,
    sample: Sequence[dict] = (),
    poster_column: str | None = None,
    vocabulary: LabelVocabulary | None = None,
) -> Iterator[MovieRecord]:
    """Records from a stream of JSON-like objects (JSON Lines, Parquet); None marks a bad line."""
    header = [str(h) for h in header]
    sample_rows = [[_as_text(obj.get(h)) for h in header] for obj in sample]
    own = vocabulary is not None and not vocabulary.is_tmdb
    layout = detect_layout(
        header, str(path), text_column, genre_column, sample_rows, poster_column, own
    )
    parser: GenreParser = parse_genre_cell
    if own and layout.genre is not None:
        parser = _own_parser(vocabulary, [obj.get(header[layout.genre]) for obj in sample])
    converter = _RowConverter(layout, result, parser, path.stem, False, vocabulary)
    for obj in objects:
        if obj is None:
            continue
        yield from _nonnull(converter.convert([obj.get(h) for h in header]))


def _nonnull(record: MovieRecord | None) -> Iterator[MovieRecord]:
    if record is not None:
        yield record


def iter_jsonl(
    path: Path,
    result: LoadResult,
    text_column: str | None = None,
    genre_column: str | None = None,
    poster_column: str | None = None,
    vocabulary: LabelVocabulary | None = None,
) -> Iterator[MovieRecord]:
    """Stream records from a JSON Lines file whose keys name the columns."""
    with open_text(path) as handle:
        first: dict | None = None
        for line in handle:
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    first = obj
                    break
                result.skip("invalid JSON" if obj is None else "line is not a JSON object")
        if first is None:
            raise MovieGenreError(f"{path}: no JSON object found; expected one object a line")

        def objects() -> Iterator[dict | None]:
            yield first
            for _, obj in json_objects(handle, result):
                yield obj

        yield from iter_objects(
            objects(), list(first), path, result, text_column, genre_column, [first],
            poster_column, vocabulary,
        )  # fmt: skip


def iter_parquet(
    path: Path,
    result: LoadResult,
    text_column: str | None = None,
    genre_column: str | None = None,
    poster_column: str | None = None,
    vocabulary: LabelVocabulary | None = None,
) -> Iterator[MovieRecord]:
    """Stream records from a Parquet file, batch by batch."""
    pa = optional_import("pyarrow", "parquet", "reading Parquet")
    pq = optional_import("pyarrow.parquet", "parquet", "reading Parquet")

    try:
        parquet = pq.ParquetFile(path)
        header = parquet.schema_arrow.names
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH)
        first = next(batches, None)
        first_rows = first.to_pylist() if first is not None else []
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise MovieGenreError(f"{path}: cannot read as Parquet ({_one_line(exc)})") from exc

    def objects() -> Iterator[dict | None]:
        yield from first_rows
        try:
            for batch in batches:
                yield from batch.to_pylist()
        except pa.ArrowException as exc:
            raise MovieGenreError(f"{path}: damaged Parquet file ({_one_line(exc)})") from exc

    yield from iter_objects(
        objects(), header, path, result, text_column, genre_column, first_rows[:SAMPLE_ROWS],
        poster_column, vocabulary,
    )  # fmt: skip


def wikipedia_genres(value: object) -> tuple[str, ...]:
    """The free-text Genre of the Wikipedia Movie Plots data ("comedy, drama", "unknown")."""
    text = _as_text(value).strip()
    if not text:
        return ()
    tokens = re.split(r"\s*(?:[,/;|]|\s&\s|\band\b)\s*", text)
    return normalize_genres(t.strip(" .-()[]'\"") for t in tokens if t.strip())


def json_objects(lines: Iterable[str], result: LoadResult) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each JSON object line; other non-blank lines are counted."""
    for line_number, line in enumerate(lines, start=1):
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
        yield line_number, obj
