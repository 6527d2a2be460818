"""A catalogue's own labels: read as written or by a label file, then on every surface."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from moviegenre.cli.main import main
from moviegenre.data.labels import column_separator, load_vocabulary
from moviegenre.data.readers import read_data
from moviegenre.errors import MovieGenreError

COMMA = "Arts, Entertainment, and Culture"
SINGLE = "Lighthouse Tales"
TOPICS = {
    "Space Opera": ["starship", "galaxy", "alien", "planet", "orbit", "captain"],
    "Kitchen Drama": ["chef", "restaurant", "recipe", "kitchen", "dinner", "sauce"],
    COMMA: ["painter", "museum", "theatre", "gallery", "opera", "sculpture"],
    "Heist": ["vault", "robbery", "safe", "crew", "diamond", "bank"],
    "Coming of Age": ["teenager", "school", "summer", "friendship", "prom", "growing"],
}
LABELS = sorted([*TOPICS, SINGLE])


def write_catalogue(path: Path, titles: int = 60) -> Path:
    """`titles` tiny plots with "|"-separated own labels: one holds commas, one has one title."""
    rng = random.Random(7)
    filler = "the a of in and to with while their new old".split()
    rows = []
    for i in range(titles):
        labels = rng.sample(sorted(TOPICS), rng.choice([1, 1, 2]))
        words = [w for label in labels for w in rng.sample(TOPICS[label], 4)]
        words += rng.sample(filler, 4)
        rng.shuffle(words)
        rows.append((f"Title {i}", " ".join(words), "|".join(labels)))
    rows[7] = ("Title 7", "a lonely lighthouse keeper befriends a whale", f"{SINGLE}|Heist")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "description", "genres"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalogue(tmp_path_factory.mktemp("own") / "catalogue.csv")


@pytest.fixture(scope="module")
def own_bundle(catalogue: Path) -> Path:
    out = catalogue.parent / "model"
    args = ["train", "--data", str(catalogue), "--text-column", "description",
            "--genre-column", "genres", "--labels", "as-written", "--model-type", "tfidf",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    return out


def genres_of(path: Path, labels: str, **options: str) -> list[tuple[str, ...]]:
    return [r.genres for r in read_data(path, labels=labels, **options).records]


def test_separator_is_decided_per_column() -> None:
    assert column_separator(["Drama", f"{COMMA}|Music"]) == "|"
    assert column_separator(["A; B", "C, D"]) == ";"
    assert column_separator(["A, B", "C"]) == ","
    assert column_separator(['["A, B", "C"]', "D"]) == ","  # JSON lists carry their own split


def test_a_late_pipe_switches_the_column_to_pipes() -> None:
    from moviegenre.data.labels import AS_WRITTEN_VOCABULARY, LabelCells

    cells = LabelCells(AS_WRITTEN_VOCABULARY, ",")
    assert cells.split("Dramas, Comedies") == ["Dramas", "Comedies"]
    assert cells.split(f"{COMMA}| Music ") == [COMMA, "Music"]
    assert cells.split("Dramas, Comedies") == ["Dramas, Comedies"]  # "|" from now on


def test_as_written_keeps_labels_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "title,description,genres\n"
        f'a,one plot,"Pets|{COMMA}"\n'
        "b,two plot,Pets\n"
        f'c,three plot," {COMMA} |Heist"\n',
        encoding="utf-8",
    )
    assert genres_of(path, "as-written") == [("Pets", COMMA), ("Pets",), (COMMA, "Heist")]
    # TMDB's vocabulary, the default, is unchanged: it splits on commas and maps Heist to Crime.
    assert genres_of(path, "tmdb")[2] == ("Arts", "Entertainment", "and Culture", "Crime")


def test_as_written_reads_semicolons_json_lists_and_one_hot_columns(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text('description,genres\nx,"Kids\' TV; Docuseries"\ny,Dramas\n', encoding="utf-8")
    assert genres_of(semi, "as-written") == [("Kids' TV", "Docuseries"), ("Dramas",)]
    lists = tmp_path / "lists.jsonl"
    lists.write_text(json.dumps({"plot": "x", "genres": [COMMA, "Zines!"]}) + "\n")
    assert genres_of(lists, "as-written") == [(COMMA, "Zines!")]
    onehot = tmp_path / "onehot.csv"
    onehot.write_text("title,plot,Slow Cinema,Mumblecore\na,x,1,0\nb,y,1,1\n", encoding="utf-8")
    assert genres_of(onehot, "as-written") == [("Slow Cinema",), ("Slow Cinema", "Mumblecore")]


def test_label_file_maps_drops_and_keeps_only_its_labels(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "description,genres\nx,TV Dramas|Dramas|Movies\ny,tv comedies|Stand-Up\n", encoding="utf-8"
    )
    rules = tmp_path / "labels.json"
    rules.write_text(json.dumps({
        "labels": {"Drama": ["Dramas", "TV Dramas"], "Comedy": ["TV Comedies", "Stand-Up"]},
        "drop": ["Movies"],
    }))  # fmt: skip
    assert genres_of(path, str(rules)) == [("Drama",), ("Comedy",)]


def test_a_bundle_keeps_the_label_file_it_was_trained_with(tmp_path: Path) -> None:
    from moviegenre.data.labels import vocabulary_of

    rules = tmp_path / "labels.json"
    rules.write_text(json.dumps({
        "labels": {"Drama": ["TV Dramas"], "Comedy": []}, "drop": ["Movies"], "min_count": 3,
    }))  # fmt: skip
    kept = vocabulary_of({"label_vocabulary": load_vocabulary(rules).to_json()})
    assert kept.map(["tv  dramas", "Movies", "comedy", "Other"]) == ("Drama", "Comedy")
    assert (kept.min_count, kept.others) == (3, "drop")
    assert vocabulary_of({}).is_tmdb  # bundles from before label vocabularies


def test_bad_label_files_say_what_and_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"labels": {"A": ["b"],\n  "drop": [}\n')
    with pytest.raises(MovieGenreError, match=r"broken.json: line 2, column 12: not valid JSON"):
        load_vocabulary(broken)
    for table, message in (
        ({"labels": {"A": 3}}, "aliases must be a list"),
        ({"min_count": 0}, "min_count"),
        ({"below_min": "ignore"}, "below_min"),
        ({"lables": []}, "unknown key 'lables'"),
        ({"labels": {"A": ["x"], "B": ["X"]}}, "alias of both"),
    ):
        path = tmp_path / "rules.json"
        path.write_text(json.dumps(table))
        with pytest.raises(MovieGenreError, match=message):
            load_vocabulary(path)
    with pytest.raises(MovieGenreError, match="no such label file"):
        load_vocabulary(tmp_path / "missing.json")


def test_min_count_drops_with_a_warning_or_refuses(
    catalogue: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"min_count": 2, "others": "keep"}))
    out = tmp_path / "dropped"
    args = ["train", "--data", str(catalogue), "--text-column", "description",
            "--labels", str(rules), "--model-type", "tfidf", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"dropping labels with fewer than 2 examples: {SINGLE} (1)" in err
    assert SINGLE not in json.loads((out / "bundle.json").read_text())["labels"]
    rules.write_text(json.dumps({"min_count": 2, "others": "keep", "below_min": "error"}))
    refused = tmp_path / "refused"
    assert main([*args[:-1], str(refused)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{SINGLE} (1)" in err
    assert not refused.exists()


def test_a_label_column_with_no_labels_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("description,genres\na plot,\nanother plot,\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["train", "--data", str(path), "--genre-column", "genres", "--labels", "as-written",
            "--model-type", "tfidf", "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"moviegenre: error: {path}: the genres column holds no labels (no row with " \
        "both a plot and a label)"  # fmt: skip
    assert not out.exists()


def test_inspect_shows_each_choice(catalogue: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "inspect", str(catalogue), "--json"]) == 0
    choices = json.loads(capsys.readouterr().out)["label_choices"]
    assert sorted(choices["as-written"]["counts"]) == LABELS
    assert choices["as-written"]["counts"][SINGLE] == 1
    assert "Crime" in choices["tmdb"]["counts"] and COMMA not in choices["tmdb"]["counts"]
    assert main(["data", "inspect", str(catalogue)]) == 0
    text = capsys.readouterr().out
    assert f"labels with --labels as-written: {len(LABELS)}" in text
    assert re.search(rf"\n\s+1\s+{SINGLE}\n", text)


def test_training_keeps_every_label_and_the_card_counts_them(own_bundle: Path) -> None:
    manifest = json.loads((own_bundle / "bundle.json").read_text())
    assert manifest["labels"] == LABELS
    assert manifest["label_vocabulary"] == {"vocabulary": "as-written"}
    assert manifest["label_counts"]["all"][SINGLE] == 1
    card = (own_bundle / "MODEL_CARD.md").read_text()
    assert f"| {COMMA} | {manifest['label_counts']['train'][COMMA]} |" in card
    assert "catalogue.csv with that catalogue's own labels" in card


def test_predict_file_answers_in_the_catalogues_labels(
    own_bundle: Path, catalogue: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    args = ["predict", "--model", str(own_bundle), "--input", str(catalogue),
            "--text-column", "description", "--output", str(out)]  # fmt: skip
    assert main(args) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 60
    for line in lines:
        assert {"genres", "scores", "truncated", "warnings", "inputs"} <= set(line)
        assert sorted(line["scores"]) == LABELS and set(line["genres"]) <= set(LABELS)
    truth = genres_of(catalogue, "as-written")
    pairs = zip(lines, truth, strict=True)
    right = sum(set(line["genres"]) == set(labels) for line, labels in pairs)
    assert right >= 48  # the topic words give the labels away: 4 in 5 at least


def test_evaluate_reports_the_own_labels(
    own_bundle: Path, catalogue: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    report, metrics = tmp_path / "r.html", tmp_path / "r.json"
    args = ["evaluate", "--model", str(own_bundle), "--data", str(catalogue), "--split", "all",
            "--text-column", "description", "--report", str(report),
            "--json", str(metrics)]  # fmt: skip
    assert main(args) == 0
    assert "does not know" not in capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert sorted(result["per_genre"]) == LABELS and result["micro_f1"] > 0.8
    page = report.read_text()
    assert all(f"<td>{label}</td>" in page for label in LABELS)


def test_explain_takes_own_labels(own_bundle: Path, capsys: pytest.CaptureFixture) -> None:
    plot = "a painter visits the museum and the opera"
    assert main(["explain", "--model", str(own_bundle), "--genre", COMMA, plot]) == 0
    assert f"\n{COMMA} (" in capsys.readouterr().out
    assert main(["explain", "--model", str(own_bundle), "--genre", "Drama", plot]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "moviegenre: error: --genre 'Drama': unknown genre; this model knows: " + \
        "; ".join(LABELS)  # fmt: skip


def test_api_openapi_and_page_speak_the_models_labels(own_bundle: Path) -> None:
    from moviegenre.serving.app import create_app

    client = create_app(model_path=own_bundle).test_client()
    body = client.post("/api/v1/predict", json={"plot": "a chef cooks dinner"}).get_json()
    assert sorted(body["scores"]) == LABELS and body["genres"] == ["Kitchen Drama"]
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Result"]["properties"]["genres"]["items"]["enum"] == LABELS
    assert sorted(schemas["Scores"]["required"]) == LABELS
    page = client.post("/", data={"plot": "a chef cooks dinner"}).get_data(as_text=True)
    shown = re.findall(r'<span class="name">([^<]+)</span>', page)
    assert sorted(shown) == LABELS


def test_train_picks_the_own_labels_default(catalogue: Path, tmp_path: Path) -> None:
    from moviegenre.training.build import DEFAULT_OWN_LABELS_MODEL_TYPE

    out = tmp_path / "default"
    args = ["train", "--data", str(catalogue), "--text-column", "description",
            "--genre-column", "genres", "--labels", "as-written", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    manifest = json.loads((out / "bundle.json").read_text())
    assert manifest["model_type"] == DEFAULT_OWN_LABELS_MODEL_TYPE
