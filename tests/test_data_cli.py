"""`moviegenre data` commands, run in-process: the shared raw files, the corpus, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from moviegenre.cli.main import main
from moviegenre.data.readers import read_data

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


def inspect_json(capsys: pytest.CaptureFixture, *args: str) -> dict:
    assert main(["data", "inspect", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one JSON object, nothing else on stdout
    return json.loads(out)


def data_lines(path: Path, delimiter: str) -> int:
    """Data records as Python's csv module counts them (header excluded)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle, delimiter=delimiter)) - 1


def test_inspect_tmdb_5000(raw_dir: Path, capsys: pytest.CaptureFixture) -> None:
    summary = inspect_json(capsys, str(raw_dir / "tmdb_5000_movies.csv"))
    assert summary["rows"] == 4803 and summary["skipped"] == 0
    assert set(summary["genres"]) >= {"Drama", "Science Fiction", "TV Movie"}
    assert summary["unmapped_genres"] == ["Foreign"]  # TMDB's retired genre keeps its name
    assert 0 < summary["without_genres"] < 100 and 0 < summary["without_plot"] < 10
    words = summary["plot_words"]
    assert words["min"] <= words["median"] <= words["max"] and 30 < words["mean"] < 80


def test_inspect_mymoviedb_counts_damaged_rows(raw_dir: Path, capsys: pytest.CaptureFixture):
    path = raw_dir / "mymoviedb.csv"
    summary = inspect_json(capsys, str(path))
    assert summary["rows"] + summary["skipped"] == data_lines(path, ";") == 9847
    # About 2% of the rows are damaged in the source.
    assert 100 < summary["skipped"] < 400
    assert sum(summary["skip_reasons"].values()) == summary["skipped"]
    assert summary["unmapped_genres"] == []


@pytest.mark.parametrize(
    ("name", "rows"), [("top10K-TMDB-movies.csv", 10000), ("movies_genre_onehot.csv", 9400)]
)
def test_other_raw_files_read_whole(raw_dir: Path, name: str, rows: int) -> None:
    result = read_data(raw_dir / name)
    assert result.rows == data_lines(raw_dir / name, ",") == rows and result.skipped == 0
    assert len(result.usable()) > 0.99 * rows
    assert {g for r in result.records for g in r.genres} <= {
        "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
        "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction",
        "TV Movie", "Thriller", "War", "Western",
    }  # fmt: skip


def test_onehot_columns_agree_with_the_genre_list(raw_dir: Path, tmp_path: Path) -> None:
    # The one-hot file carries its genres twice; reading only the 0/1 columns gives the same.
    path = raw_dir / "movies_genre_onehot.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    only_flags = tmp_path / "flags.csv"
    with open(only_flags, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(row[1:] for row in rows)
    from_list = [set(r.genres) for r in read_data(path).records]
    from_flags = [set(r.genres) for r in read_data(only_flags).records]
    assert from_list == from_flags


def test_corpus_rows_and_splits(corpus_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = inspect_json(capsys, str(corpus_path))
    assert summary["rows"] == 14756 and summary["skipped"] == 0
    assert summary["splits"] == {"train": 11825, "valid": 1472, "test": 1459}
    assert len(summary["genres"]) == 19 and summary["unmapped_genres"] == []


def test_inspect_human_output(capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "inspect", str(FIXTURES / "cmu")]) == 0
    out = capsys.readouterr().out
    assert "rows read:           6" in out
    assert "wrong number of fields" in out and "metadata without a plot summary" in out
    assert "unmapped genres:     World cinema" in out


def test_convert_then_inspect_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cmu.parquet"
    assert main(["data", "convert", str(FIXTURES / "cmu"), str(out)]) == 0
    assert "wrote 6 records" in capsys.readouterr().err
    assert read_data(out).records == read_data(FIXTURES / "cmu").records


def test_import_imdb_writes_the_movies_genres_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "movies_genres.csv"
    plots, genres = FIXTURES / "imdb" / "plot.list", FIXTURES / "imdb_gz" / "genres.list.gz"
    assert main(["data", "import-imdb", str(plots), str(genres), str(out)]) == 0
    assert "wrote 8 titles" in capsys.readouterr().err
    with open(out, encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle, delimiter="\t"))
    header = table[0]
    assert header[:2] == ["title", "plot"] and "Sci-Fi" in header and "Film-Noir" in header
    assert all(cell in ("0", "1") for row in table[1:] for cell in row[2:])
    matrix = {row[0]: {header[i] for i, c in enumerate(row) if i >= 2 and c == "1"}
              for row in table[1:]}  # fmt: skip
    assert matrix["Double Indemnity (1944)"] == {"Crime", "Drama", "Film-Noir"}
    # ... and the generic reader recognises that layout and maps IMDb's names.
    back = {r.title: r for r in read_data(out).records}
    assert back["Blade Runner (1982)"].genres == ("Science Fiction", "Thriller")
    assert back["Blade Runner (1982)"].year == "1982"
    assert set(back) == set(matrix)

    with_tv = tmp_path / "with_tv.tsv"
    assert main(["data", "import-imdb", str(plots), str(genres), str(with_tv), "--include-tv"]) == 0
    capsys.readouterr()
    episodes = [r for r in read_data(with_tv).records if r.series]
    assert {r.series for r in episodes} == {'"Breaking Bad" (2008)'} and len(episodes) == 2


def test_aliases_flag_extends_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviegenre import genres

    # The table is process-wide: give this test its own copy so no other test sees the alias.
    monkeypatch.setattr(genres, "_ALIAS_TABLE", dict(genres._ALIAS_TABLE))
    table = tmp_path / "aliases.json"
    table.write_text(json.dumps({"kaiju": ["Science Fiction", "Horror"]}), encoding="utf-8")
    path = str(FIXTURES / "wiki_movie_plots.csv")
    summary = inspect_json(capsys, path, "--aliases", str(table))
    assert summary["unmapped_genres"] == []
    assert summary["genres"]["Horror"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "inspect", "missing.csv"], "missing.csv: no such file"),
        (["data", "inspect", "{empty}"], "empty file"),
        (["data", "inspect", "{no_text}"], "no text column"),
        (["data", "inspect", "{unknown}"], "unknown format"),
        (["data", "inspect", "{no_text}", "--text-column", "blurb"], "no text column named"),
        (["data", "convert", "{no_text}", "out.xlsx"], "cannot write this extension"),
        (["data", "inspect", "{no_text}", "--aliases", "none.json"], "none.json"),
        (["data", "import-imdb", "{no_text}", "{no_text}", "out.csv"], "not an IMDb list"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    files = {
        "empty": tmp_path / "empty.csv",
        "no_text": tmp_path / "no_text.csv",
        "unknown": tmp_path / "blob.bin",
    }
    files["empty"].write_text("", encoding="utf-8")
    files["no_text"].write_text("title,genres\nA,Drama\n", encoding="utf-8")
    files["unknown"].write_bytes(bytes(range(256)))
    argv = [a.format(**files) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moviegenre: error: ")
    assert message in lines[0] and "Traceback" not in captured.err
