"""Readers on fixtures in each real format, column detection, damaged rows, writers' round trip."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from moviegenre.data.readers import detect_format, iter_records, read_data
from moviegenre.data.record import MovieRecord
from moviegenre.data.split import assign_splits, movie_key
from moviegenre.data.writers import write_records
from moviegenre.errors import MovieGenreError
from moviegenre.genres import add_aliases, load_alias_file, normalize_genre, normalize_genres

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- generic tables -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('"[{""id"": 28, ""name"": ""Action""}, {""id"": 18, ""name"": ""Drama""}]"',
         ("Action", "Drama")),
        ('"[""Comedy"", ""Sci-Fi""]"', ("Comedy", "Science Fiction")),
        ('"[\'Drama\', \'Crime\']"', ("Drama", "Crime")),
        ('"[28, 10749]"', ("Action", "Romance")),
        ('"Action, Adventure, Science Fiction"', ("Action", "Adventure", "Science Fiction")),
        ("Horror|Mystery", ("Horror", "Mystery")),
        ('"Western; War"', ("Western", "War")),
        ("", ()),
    ],
)  # fmt: skip
def test_every_genre_cell_shape_is_read(tmp_path: Path, cell: str, expected: tuple) -> None:
    path = write(tmp_path / "m.csv", f"title,overview,genres\nA Film,A plot.,{cell}\n")
    result = read_data(path)
    assert result.skipped == 0
    assert [r.genres for r in result.records] == [expected]


def test_one_hot_columns_are_detected_and_other_columns_are_not_genres(tmp_path: Path) -> None:
    path = write(
        tmp_path / "onehot.csv",
        "Title,Description,Budget,Comedy,drama,Sci-Fi\n"
        "One,First plot.,100,1,0,1\nTwo,Second plot.,200,0,1,0\nThree,Third.,300,0,0,0\n",
    )
    result = read_data(path)
    assert [r.genres for r in result.records] == [("Comedy", "Science Fiction"), ("Drama",), ()]
    assert result.without_genres == 1 and result.skipped == 0


def test_delimiter_is_detected_whatever_the_extension(tmp_path: Path) -> None:
    for name, sep in (("a.csv", "\t"), ("b.txt", ";"), ("c.tsv", ","), ("d.dat", "|")):
        genres = "Drama" if sep != "|" else '"[""Drama""]"'
        text = f"summary{sep}genre{sep}year\nA quiet plot{sep}{genres}{sep}1999\n"
        result = read_data(write(tmp_path / name, text))
        assert [(r.plot, r.genres, r.year) for r in result.records] == [
            ("A quiet plot", ("Drama",), "1999")
        ], name


def test_column_options_override_detection(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "overview,blurb,tags,genres\nwrong,right plot,Horror,Comedy\n")
    default = read_data(path).records[0]
    assert (default.plot, default.genres) == ("wrong", ("Comedy",))
    chosen = read_data(path, text_column="BLURB", genre_column="tags").records[0]
    assert (chosen.plot, chosen.genres) == ("right plot", ("Horror",))
    with pytest.raises(MovieGenreError, match="no text column named 'nope'"):
        read_data(path, text_column="nope")


def test_title_year_and_release_date_are_detected(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv",
        "name,Release_Date,plot,genre\nHeat,15/12/1995,Cops and robbers.,Crime\n"
        "Alien,1979-05-25,In space.,Horror\nUndated,,Somewhere.,Drama\n",
    )
    records = read_data(path).records
    assert [(r.title, r.year) for r in records] == [
        ("Heat", "1995"), ("Alien", "1979"), ("Undated", "")
    ]  # fmt: skip


def test_damaged_rows_are_skipped_with_reasons_and_others_kept(tmp_path: Path) -> None:
    # Modelled on mymoviedb.csv: semicolons, padded columns, overviews broken across lines.
    header = "Release_Date;Title;Overview;Popularity;Vote_Count;Genre;Poster_Url;;\n"
    rows = [
        "1/3/2022;The Batman;Batman uncovers corruption.;3.8;1151;Crime, Mystery;http://x/a.jpg;;",
        "4/2/2022;Cut Short;The overview stops at a line break;;;;;;",  # truncated
        " rest of that overview; more; words;1.1;5;Drama;http://x/b.jpg;;",  # shifted
        "2/2/2020;Wrong Genre;Plot.;1.0;5;http://x/c.jpg;Drama;;",  # genre holds a URL
        "3/3/2020;Too Few;Plot.;1.0",  # wrong number of fields
        "5/5/2021;No Genre Yet;A well-formed row without genres.;2.0;7;;http://x/d.jpg;;",
        "6/6/2021;No Plot;;2.0;7;Comedy;http://x/e.jpg;;",
    ]
    path = write(tmp_path / "damaged.csv", header + "\n".join(rows) + "\n")
    result = read_data(path)
    assert [r.title for r in result.records] == ["The Batman", "No Genre Yet", "No Plot"]
    assert result.skip_reasons == {
        "truncated row (fields after the text are empty)": 1,
        "shifted columns (year field holds no date)": 1,
        "genre field is not a genre list": 1,
        "wrong number of fields": 1,
    }
    assert result.rows + result.skipped == len(rows)
    assert (result.without_genres, result.without_plot) == (1, 1)
    assert [r.title for r in result.usable()] == ["The Batman"]


def test_a_stray_quote_costs_one_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    lines = [
        "title,plot,genres",
        'Good One,"A plot, quoted",Drama',
        'Broken,"this quote never closes,Comedy',
    ]
    lines += [f"Movie {i},Plot number {i},Horror" for i in range(5)]
    path = write(tmp_path / "quotes.csv", "\n".join(lines) + "\n")  # fmt: skip
    result = read_data(path)
    assert [r.title for r in result.records] == ["Good One"] + [f"Movie {i}" for i in range(5)]
    assert result.skip_reasons == {"broken quoting": 1}


def test_latin1_and_gzip_tables_are_read(tmp_path: Path) -> None:
    text = "title;overview;genres\nAmélie;Une serveuse à Montmartre.;Comédie, Romance\n"
    latin = write(tmp_path / "latin.csv", text, encoding="latin-1")
    zipped = tmp_path / "zipped.csv.gz"
    zipped.write_bytes(gzip.compress(text.encode("utf-8")))
    for path in (latin, zipped):
        record = read_data(path).records[0]
        assert record.title == "Amélie" and record.plot == "Une serveuse à Montmartre."
        assert record.genres == ("Comédie", "Romance")


def test_gzip_cut_short_within_the_sniffed_start_is_a_clear_error(tmp_path: Path) -> None:
    # Detection decodes the first 64 KiB to guess the encoding; a file cut before that must
    # fail with the damaged-gzip message, not an EOFError traceback.
    text = "title,overview,genres\n" + "".join(f"M{i},Plot {i},Drama\n" for i in range(20000))
    packed = gzip.compress(text.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 20])
    with pytest.raises(MovieGenreError, match="damaged gzip file"):
        detect_format(path)


def test_generic_json_lines_and_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    objects = [
        {"name": "A", "description": "First.", "genre_ids": [28, 35], "release_date": "2001-01-01"},
        {"name": "B", "description": "Second.", "genre_ids": [], "release_date": None},
    ]
    jsonl = write(tmp_path / "m.jsonl", "\n".join(json.dumps(o) for o in objects) + "\n{oops\n")
    parquet = tmp_path / "m.parquet"
    pq.write_table(pa.Table.from_pylist(objects), parquet)
    for path, fmt in ((jsonl, "jsonl"), (parquet, "parquet")):
        result = read_data(path)
        assert result.format == fmt
        assert [(r.title, r.year, r.genres) for r in result.records] == [
            ("A", "2001", ("Action", "Comedy")), ("B", "", ())
        ]  # fmt: skip
    assert read_data(jsonl).skip_reasons == {"invalid JSON": 1}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_what_the_writer_writes_the_reader_reads_back(tmp_path: Path, suffix: str) -> None:
    records = [
        MovieRecord("m1", "Heat", "1995", 'Cops, robbers; and "quotes"\nover two lines.',
                    ("Crime", "Thriller"), "train", ("tmdb5000", "top10k")),
        MovieRecord("m2", "Kaiju!", "", "Über-monster stomps Tokyo.", ("Kaiju",), None, ("x",)),
        MovieRecord("m3", '"Lost" (2004) {Pilot (#1.1)}', "2004", "Plane crash.", (), "test",
                    ("imdb",), '"Lost" (2004)'),
        MovieRecord("m4", "No plot", "2020", "", ("Drama",), "valid", ("y",)),
    ]  # fmt: skip
    path = tmp_path / f"out{suffix}"
    assert write_records(records, path) == len(records)
    result = read_data(path)
    assert result.records == records
    assert result.skipped == 0
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was moved into place


def test_writer_rejects_unknown_extension_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(MovieGenreError, match=r"out\.xlsx.*expected one of"):
        write_records([], tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_iter_records_streams_in_order_and_counts_skips(tmp_path: Path) -> None:
    lines = ["plot,genres"] + [f"Plot {i},Drama" for i in range(1000)]
    lines.insert(500, "broken row,Drama,extra,fields")
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    stream = iter_records(path)
    first = next(iter(stream))
    assert first.plot == "Plot 0" and stream.result.skipped == 0 and stream.rows == 1
    stream = iter_records(path)
    plots = [r.plot for r in stream]
    assert plots == [f"Plot {i}" for i in range(1000)]
    assert stream.rows == 1000 and stream.result.skip_reasons == {"wrong number of fields": 1}
    assert stream.result.records == []  # streaming keeps nothing


# --- bad input ------------------------------------------------------------------------------


def test_bad_input_raises_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "")
    blank = write(tmp_path / "blank.csv", "\n  \n")
    no_text = write(tmp_path / "no_text.csv", "title,genres\nA,Drama\n")
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    fake_parquet = write(tmp_path / "fake.parquet", "PAR1 not really")
    cases = {
        tmp_path / "missing.csv": "no such file",
        empty: "empty file",
        blank: "empty file",
        no_text: "no text column",
        binary: "unknown format",
        fake_parquet: "cannot read as Parquet",
        tmp_path: "is a directory",
    }
    for path, message in cases.items():
        with pytest.raises(MovieGenreError) as caught:
            read_data(path)
        text = str(caught.value)
        assert message in text and str(path) in text and "\n" not in text


# --- our corpus -----------------------------------------------------------------------------


def test_corpus_keeps_its_split_and_sources(tiny_corpus: Path) -> None:
    result = read_data(tiny_corpus)
    assert result.format == "corpus-jsonl" and result.rows == 300
    assert sum(r.split == "train" for r in result.records) == 220
    assert all(r.sources == ("fixture",) for r in result.records)


# --- IMDb lists -----------------------------------------------------------------------------

MOVIES = {
    "Amélie (2001)": ("Comedy", "Romance"),
    "The Matrix (1999)": ("Action", "Science Fiction"),
    "Blade Runner (1982)": ("Science Fiction", "Thriller"),
    "Night Shift (2005/I)": ("Horror",),
    "A Christmas Carol (1999) (TV)": ("Drama", "Family", "Fantasy"),
    "Die Hard: Special Edition (2001) (V)": ("Documentary",),
    "Short One (2015)": ("Comedy", "Short"),
    "Double Indemnity (1944)": ("Crime", "Drama"),
}


@pytest.mark.parametrize("folder", ["imdb", "imdb_gz"])
def test_imdb_lists_keep_movies_with_plot_and_genre(folder: str) -> None:
    name = "plot.list" if folder == "imdb" else "plot.list.gz"
    result = read_data(FIXTURES / folder / name)
    assert result.format == "imdb-lists"
    assert {r.title: r.genres for r in result.records} == MOVIES
    assert result.dropped["video game"] == 1 and result.dropped["plot without a genre"] == 1
    amelie = result.records[0]
    assert amelie.year == "2001"
    # two plots, each of two PL: lines, joined in file order
    assert amelie.plot.startswith("Amélie is an innocent and naive girl in Paris")
    assert "discovers love. A shy waitress at a Montmartre café" in amelie.plot
    assert amelie.plot.endswith("risk her own happiness.")


def test_imdb_tv_titles_only_with_include_tv_and_episodes_carry_their_series() -> None:
    result = read_data(FIXTURES / "imdb" / "genres.list", include_tv=True)
    tv = {r.title: r.series for r in result.records if r.title not in MOVIES}
    assert tv == {
        '"Breaking Bad" (2008)': None,
        '"Breaking Bad" (2008) {Pilot (#1.1)}': '"Breaking Bad" (2008)',
        '"Breaking Bad" (2008) {Cat\'s in the Bag... (#1.2)}': '"Breaking Bad" (2008)',
        '"Mañana es para siempre" (2008)': None,
    }
    episodes = [r for r in result.records if r.series]
    assert len({movie_key(r) for r in episodes}) == 1  # one split key for the whole series
    assert len({r.split for r in assign_splits(episodes)}) == 1


def test_imdb_list_without_its_partner_is_an_error(tmp_path: Path) -> None:
    lone = tmp_path / "plot.list"
    lone.write_bytes((FIXTURES / "imdb" / "plot.list").read_bytes())
    with pytest.raises(MovieGenreError, match="needs its partner genres.list"):
        read_data(lone)


# --- CMU and Wikipedia ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["", "plot_summaries.txt", "movie.metadata.tsv"])
def test_cmu_corpus_is_detected_from_folder_or_either_file(target: str) -> None:
    result = read_data(FIXTURES / "cmu" / target)
    assert result.format == "cmu"
    by_id = {r.id: r for r in result.records}
    assert len(by_id) == 6
    mars = by_id["975900"]
    assert (mars.title, mars.year) == ("Ghosts of Mars", "2001")
    # Freebase names mapped: Supernatural -> Horror, Space western -> Science Fiction + Western
    assert set(mars.genres) == {
        "Thriller", "Science Fiction", "Horror", "Adventure", "Action", "Western"
    }  # fmt: skip
    assert set(by_id["3196793"].genres) == {"Mystery", "History", "Drama", "Crime"}
    assert by_id["261236"].genres == ("Drama", "World cinema")  # unmapped keeps its name
    assert by_id["18998739"].genres == ()  # a plot without metadata is read, without genres
    assert result.skip_reasons == {
        "wrong number of fields": 1, "plot line without a wiki id and a tab": 1
    }  # fmt: skip
    assert result.dropped == {"metadata without a plot summary": 1}


def test_wikipedia_movie_plots() -> None:
    result = read_data(FIXTURES / "wiki_movie_plots.csv")
    assert result.format == "wikipedia"
    got = {r.title: (r.year, r.genres) for r in result.records}
    assert got["Kansas Saloon Smashers"] == ("1901", ())  # "unknown" is no genre
    assert got["It Happened One Night"] == ("1934", ("Romance", "Comedy"))
    assert got["E.T. the Extra-Terrestrial"][1] == ("Science Fiction", "Family")
    assert got["Dilwale Dulhania Le Jayenge"][1] == ("Comedy", "Drama", "Romance")
    assert got["Amélie"][1] == ("Comedy", "Drama")
    assert got["Kaiju Night"][1] == ("kaiju",)
    night = next(r for r in result.records if r.title == "It Happened One Night")
    assert "\n" in night.plot  # a quoted multi-line plot stays one record
    assert result.without_plot == 1 and result.without_genres == 1 and result.skipped == 0


def test_detect_format_names_each_fixture() -> None:
    assert detect_format(FIXTURES / "imdb_gz" / "genres.list.gz") == "imdb-lists"
    assert detect_format(FIXTURES / "cmu") == "cmu"
    assert detect_format(FIXTURES / "wiki_movie_plots.csv") == "wikipedia"


# --- the alias table ------------------------------------------------------------------------


def test_alias_table_maps_sources_and_can_be_extended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviegenre import genres

    # The table is process-wide: give this test its own copy so no other test sees the aliases.
    monkeypatch.setattr(genres, "_ALIAS_TABLE", dict(genres._ALIAS_TABLE))
    assert normalize_genre("Film-Noir") == "Crime"
    assert normalize_genre("Musical") == "Music"
    assert normalize_genres(["Romantic comedy", "Comedy-drama"]) == ("Romance", "Comedy", "Drama")
    assert normalize_genres(["unknown", "Short"]) == ("Short",)
    assert normalize_genre("Wuxia Pian") == "Wuxia Pian"
    add_aliases({"Wuxia Pian": "Action", "Giallo": ["Horror", "Mystery"]})
    assert normalize_genres(["wuxia pian", "GIALLO"]) == ("Action", "Horror", "Mystery")
    table = write(tmp_path / "aliases.json", json.dumps({"Kung-Fu Comedy": ["Action", "Comedy"]}))
    load_alias_file(table)
    assert normalize_genres(["kung fu comedy"]) == ("Action", "Comedy")
    bad = write(tmp_path / "bad.json", json.dumps({"x": 3}))
    with pytest.raises(MovieGenreError, match="bad.json"):
        load_alias_file(bad)
