"""One entry point that reads any supported format into movie records (whole or streamed)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from moviegenre.data.cmu import PLOTS, looks_like_metadata, looks_like_plots, read_cmu
from moviegenre.data.corpus import iter_corpus, looks_like_corpus
from moviegenre.data.imdb import is_imdb_list, read_imdb_lists
from moviegenre.data.labels import AS_WRITTEN, LabelVocabulary, load_vocabulary
from moviegenre.data.opening import first_line, open_binary, sniff_encoding
from moviegenre.data.record import LoadResult, MovieRecord
from moviegenre.data.tabular import (
    iter_delimited,
    iter_jsonl,
    iter_parquet,
    wikipedia_genres,
)
from moviegenre.errors import MovieGenreError

EXPECTED = (
    "expected CSV/TSV, JSON Lines, Parquet, our corpus, IMDb plot.list/genres.list,"
    " the CMU Movie Summary Corpus folder or the Wikipedia Movie Plots CSV"
)
OPTIONS = ("text_column", "genre_column", "include_tv", "poster_column", "labels")


def detect_format(path: str | Path) -> str:
    """The format of `path`: corpus-jsonl, jsonl, parquet, delimited, wikipedia, imdb-lists or
    cmu. MovieGenreError for a missing, empty or unrecognisable file."""
    path = Path(path)
    if path.is_dir():
        if (path / PLOTS).is_file():
            return "cmu"
        raise MovieGenreError(
            f"{path}: is a directory; expected a data file or a CMU corpus folder with {PLOTS}"
        )
    if not path.exists():
        raise MovieGenreError(f"{path}: no such file; {EXPECTED}")
    if not path.is_file():
        raise MovieGenreError(f"{path}: not a regular file; expected a data file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
        with open_binary(path) as handle:
            sample = handle.read(4096)
        line = first_line(path)  # reads further (the encoding is sniffed on 64 KiB)
    except (EOFError, zlib.error) as exc:
        raise MovieGenreError(f"{path}: damaged gzip file ({exc})") from exc
    except OSError as exc:
        raise MovieGenreError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if magic == b"PAR1":
        return "parquet"
    if not sample.strip():
        raise MovieGenreError(f"{path}: empty file; expected a header line and data rows")
    # Binary: NUL bytes in what is not UTF-8 (a NUL inside a UTF-8 plot is still text).
    if b"\0" in sample and sniff_encoding(sample) != "utf-8-sig":
        raise MovieGenreError(f"{path}: binary file of unknown format; {EXPECTED}")
    if is_imdb_list(line):
        return "imdb-lists"
    if looks_like_metadata(line) or (looks_like_plots(line) and path.name == PLOTS):
        return "cmu"
    if line.lstrip().startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return "corpus-jsonl" if looks_like_corpus(obj) else "jsonl"
    if looks_like_plots(line):
        return "cmu"
    if {"origin/ethnicity", "plot", "genre"} <= {c.strip().lower() for c in line.split(",")}:
        return "wikipedia"
    return "delimited"


class RecordStream:
    """Records of one file in order, read lazily; `result` counts skips as it goes.

    The format is detected (and bad input reported) when the stream is made, not on first use.
    Delimited text, JSON Lines, Parquet and the corpus stream in constant memory; IMDb lists
    and the CMU corpus are joins, read whole on first use.
    """

    def __init__(self, path: str | Path, **options: object) -> None:
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise TypeError(f"unknown reader option(s): {', '.join(sorted(unknown))}")
        self.path = Path(path)
        self.options = options
        labels = options.get("labels")
        self.vocabulary = (
            labels if isinstance(labels, LabelVocabulary) else load_vocabulary(labels)  # type: ignore[arg-type]
        )
        self.format = detect_format(self.path)
        self.result = LoadResult(path=str(path), format=self.format)
        self.rows = 0

    def __iter__(self) -> Iterator[MovieRecord]:
        try:
            for record in self._records():
                self.rows += 1
                yield record
        except (EOFError, zlib.error) as exc:  # a gzip file cut short or corrupted midway
            raise MovieGenreError(
                f"{self.path}: damaged gzip file ({' '.join(str(exc).split())})"
            ) from exc
        except OSError as exc:
            raise MovieGenreError(f"{self.path}: cannot read ({exc})") from exc

    def _records(self) -> Iterator[MovieRecord]:
        path, result = self.path, self.result
        text_column = self.options.get("text_column")
        genre_column = self.options.get("genre_column")
        poster_column = self.options.get("poster_column")
        vocabulary = self.vocabulary
        if self.format == "corpus-jsonl" and not poster_column and vocabulary.is_tmdb:
            yield from iter_corpus(path, result)
        elif self.format in ("jsonl", "corpus-jsonl"):
            yield from iter_jsonl(
                path, result, text_column, genre_column, poster_column, vocabulary
            )
        elif self.format == "parquet":
            yield from iter_parquet(
                path, result, text_column, genre_column, poster_column, vocabulary
            )
        elif self.format == "delimited":
            yield from iter_delimited(
                path, result, text_column, genre_column, poster_column=poster_column,
                vocabulary=vocabulary,
            )  # fmt: skip
        elif poster_column:
            raise MovieGenreError(f"{path}: --poster-column works with tables (CSV, TSV, JSON "
                                  "Lines, Parquet), not this format")  # fmt: skip
        elif self.format == "wikipedia":
            yield from self._relabelled(iter_delimited(
                path,
                result,
                text_column or "Plot",
                genre_column or "Genre",
                genre_parser=wikipedia_genres,
            ))  # fmt: skip
        else:
            loaded = self._load_joined()
            result.skip_reasons.update(loaded.skip_reasons)
            result.dropped.update(loaded.dropped)
            yield from self._relabelled(loaded.records)

    def _relabelled(self, records: Iterable[MovieRecord]) -> Iterator[MovieRecord]:
        """Formats whose readers name genres themselves: a label file's rules applied after."""
        if self.vocabulary.is_tmdb or self.vocabulary.name == AS_WRITTEN:
            yield from records
            return
        for record in records:
            yield replace(record, genres=self.vocabulary.map(record.genres))

    def _load_joined(self) -> LoadResult:
        if self.format == "cmu":
            return read_cmu(self.path)
        plot_path, genres_path = imdb_pair(self.path)
        return read_imdb_lists(plot_path, genres_path, bool(self.options.get("include_tv")))


def imdb_pair(path: Path) -> tuple[Path, Path]:
    """(plot.list, genres.list) for either one: the other is looked up in the same folder."""
    with open_binary(path) as handle:
        head = handle.read(1 << 16).decode("latin-1")
    is_plot = "PLOT SUMMARIES LIST" in head or "\nMV:" in head
    wanted = "genres.list" if is_plot else "plot.list"
    for name in (wanted, wanted + ".gz"):
        partner = path.parent / name
        if partner.is_file():
            return (path, partner) if is_plot else (partner, path)
    raise MovieGenreError(
        f"{path}: an IMDb list needs its partner {wanted} (or {wanted}.gz) in the same folder;"
        " or use `moviegenre data import-imdb PLOT_LIST GENRES_LIST OUT`"
    )


def iter_records(path: str | Path, **options: object) -> RecordStream:
    """Stream the records of `path` in order (see RecordStream); same options as read_data."""
    return RecordStream(path, **options)


def read_data(path: str | Path, **options: object) -> LoadResult:
    """Read movie records from `path`, detecting its format.

    Options: text_column / genre_column (tables: which column holds the plot / the genres),
    include_tv (IMDb lists: keep TV series and episodes), poster_column (tables: which column
    holds a poster image path, kept as the record's `poster`), labels (a LabelVocabulary, or
    "tmdb" (default), "as-written" or a label file's path: how genre names become labels, see
    docs/labels.md). Damaged rows are skipped and counted in `skip_reasons`; records without a
    plot or genres are kept (see `usable()`).
    """
    stream = RecordStream(path, **options)
    records = list(stream)
    result = stream.result
    result.records = records
    return result
