"""Property-based tests: readers never crash on arbitrary input and always return clean records."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviegenre.data.cells import NotAGenreList, parse_genre_cell
from moviegenre.data.readers import read_data
from moviegenre.data.record import MovieRecord
from moviegenre.data.writers import write_records
from moviegenre.errors import MovieGenreError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any Unicode, control characters (NUL, CR, form feed...) and surrogates-free text.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
field = st.one_of(
    any_text,
    st.sampled_from(["", "Drama", "[]", "['Comedy', 'Drama']", '[{"id": 28, "name": "Action"}]',
                     '"', '""', "1", "0", "2001-01-01", "\n", "\r\n", ";", ",", "\t", "|"]),
    st.builds(lambda c, n: c * n, st.sampled_from("x,\"\n"), st.integers(1000, 200_000)),
)  # fmt: skip


def check(path: Path) -> None:
    """Reading either works and gives clean records, or fails with MovieGenreError only."""
    try:
        result = read_data(path)
    except MovieGenreError as exc:
        assert "\n" not in str(exc)
        return
    assert result.rows == len(result.records) and result.skipped >= 0
    for record in result.records:
        assert isinstance(record, MovieRecord)
        for value in (record.id, record.title, record.year, record.plot):
            assert isinstance(value, str)
        assert isinstance(record.genres, tuple)
        assert all(isinstance(g, str) and g for g in record.genres)
        assert record.split in (None, "train", "valid", "test")


def check_bytes(name: str, data: bytes) -> None:
    # Hypothesis runs many examples per test, so each gets its own short-lived folder.
    with tempfile.TemporaryDirectory(prefix="mg-prop-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        check(path)


@SETTINGS
@given(
    header=st.lists(st.one_of(st.sampled_from(["plot", "genres", "title", "year", "Drama",
                                               "Comedy", "overview", "split"]), any_text),
                    min_size=1, max_size=6),
    rows=st.lists(st.lists(field, min_size=0, max_size=8), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)  # fmt: skip
def test_delimited_files_never_crash(header: list[str], rows: list[list[str]], delimiter: str):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    check_bytes("data.csv", buffer.getvalue().encode("utf-8", "surrogatepass"))


@SETTINGS
@given(
    data=st.binary(max_size=2000),
    name=st.sampled_from(["x.csv", "x.jsonl", "x.parquet", "plot.list", "x.tsv.gz"]),
)
def test_arbitrary_bytes_never_crash(data: bytes, name: str) -> None:
    check_bytes(name, data)


@SETTINGS
@given(lines=st.lists(st.one_of(
    st.dictionaries(st.sampled_from(["overview", "genres", "split", "title", "year", "plot",
                                     "genre_ids", "id"]),
                    st.one_of(field, st.none(), st.integers(), st.floats(allow_nan=True),
                              st.lists(st.one_of(any_text, st.integers()), max_size=3),
                              st.dictionaries(any_text, any_text, max_size=2)),
                    min_size=1),
    st.just("not json"), st.just("[1, 2]"),
), min_size=1, max_size=6))  # fmt: skip
def test_json_lines_never_crash(lines: list) -> None:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    check_bytes("x.jsonl", text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(cell=st.one_of(field, st.lists(st.one_of(any_text, st.integers(), st.none()))))
def test_genre_cells_parse_or_say_why(cell: object) -> None:
    try:
        genres = parse_genre_cell(cell)
    except NotAGenreList:
        return
    assert isinstance(genres, tuple) and all(isinstance(g, str) and g for g in genres)


record_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)
genre_name = st.from_regex(r"[A-Za-z][A-Za-z -]{0,15}[A-Za-z]", fullmatch=True)


@SETTINGS
@given(
    records=st.lists(st.builds(
        MovieRecord,
        id=st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
        title=record_text.map(str.strip),
        year=st.sampled_from(["", "1999", "2024"]),
        plot=st.text(st.characters(exclude_categories=("Cs",)), max_size=80).map(str.strip),
        genres=st.lists(genre_name, max_size=3, unique=True).map(tuple),
        split=st.sampled_from([None, "train", "valid", "test"]),
        sources=st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1,
                         max_size=2).map(tuple),
    ), min_size=1, max_size=5),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]),
)  # fmt: skip
def test_written_records_read_back(records: list[MovieRecord], suffix: str) -> None:
    from moviegenre.genres import normalize_genres

    # Writers store what readers canonicalise: compare against canonical genres.
    expected = [
        MovieRecord(r.id, r.title, r.year, r.plot, normalize_genres(r.genres), r.split, r.sources)
        for r in records
    ]
    with tempfile.TemporaryDirectory(prefix="mg-prop-") as folder:
        path = Path(folder) / ("out" + suffix)
        write_records(records, path)
        result = read_data(path)
    assert result.skipped == 0
    if suffix in (".csv", ".tsv"):
        # Text formats trim cells and drop control-character lines; compare what survives.
        expected = [
            MovieRecord(e.id, e.title.strip(), e.year, e.plot.strip(), e.genres, e.split,
                        e.sources)
            for e in expected
        ]  # fmt: skip
    assert result.records == expected
