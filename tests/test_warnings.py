"""Warnings: plots out of the model's reach (unknown words, another language, too short, cut) are
flagged on every answer, and ordinary English plots are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviegenre.text.checks import MIN_WORDS, InputChecker

# Three plots each in French, German, Spanish and gibberish (shared with
# benchmarks/answer_warnings.py).
SAMPLES = json.loads(
    (Path(__file__).parent / "fixtures" / "out_of_reach_plots.json").read_text(encoding="utf-8")
)
ENGLISH = (
    "A retired hitman is pulled back into the criminal underworld when gangsters kill the dog "
    "his late wife left him, and he sets out to take revenge on everyone responsible."
)


def codes(result) -> list[str]:
    return [w["code"] for w in result.warnings]


@pytest.fixture(scope="module")
def shipped_checker() -> InputChecker:
    """The shipped model's checker: words of the real training split."""
    from moviegenre.api import load_model

    checker = load_model().input_checker
    assert checker.known is not None and len(checker.known) > 10_000
    return checker


FOREIGN = SAMPLES["French"] + SAMPLES["German"] + SAMPLES["Spanish"]
GREEK = "Ένας ντετέκτιβ ερευνά μια σειρά από φόνους σε μια μικρή πόλη της επαρχίας."


@pytest.mark.parametrize("plot", FOREIGN)
def test_an_english_only_model_warns_not_english(shipped_checker, plot: str) -> None:
    found = InputChecker(shipped_checker.known).check(plot)  # the same words, English only
    assert "not_english" in codes(found)
    message = next(w["message"] for w in found.warnings if w["code"] == "not_english")
    assert any(name in message for name in ("French", "German", "Spanish"))


@pytest.mark.parametrize("plot", FOREIGN)
def test_the_multilingual_default_names_covered_languages_without_warning(
    shipped_checker, plot: str
) -> None:
    found = shipped_checker.check(plot)
    assert found.warnings == [] and found.readable
    assert found.language is not None and found.language["code"] in ("fr", "de", "es")
    assert found.language["confidence"] >= 0.5


def test_an_uncovered_language_gets_unsupported_language_naming_it(shipped_checker) -> None:
    found = shipped_checker.check(GREEK)
    warning = next(w for w in found.warnings if w["code"] == "unsupported_language")
    assert warning["language"] == "el" and "(el)" in warning["message"]
    assert found.readable and found.language["code"] == "el"


def test_a_stated_language_replaces_detection(shipped_checker) -> None:
    found = shipped_checker.check(ENGLISH, language="es")
    assert found.language == {"code": "es", "confidence": 1.0}


def test_unspaced_languages_are_measured_in_characters(shipped_checker) -> None:
    found = shipped_checker.check("一个年轻的女孩在一座闹鬼的房子里发现了她家族的黑暗秘密。")
    assert found.warnings == [] and found.language["code"] == "zh"
    short = shipped_checker.check("鬼屋", language="zh")
    assert "2 characters" in short.warnings[0]["message"]


@pytest.mark.parametrize("plot", SAMPLES["gibberish"])
def test_gibberish_gets_unknown_words_and_is_unreadable(shipped_checker, plot: str) -> None:
    found = shipped_checker.check(plot)
    assert "unknown_words" in codes(found)
    assert "not_english" not in codes(found)  # not a language at all
    assert found.readable is False


def test_an_english_plot_gets_no_warning(shipped_checker) -> None:
    found = shipped_checker.check(ENGLISH, max_words=200)
    assert found.warnings == [] and found.readable
    assert found.language is not None and found.language["code"] == "en"


def test_length_warnings() -> None:
    checker = InputChecker(["ghost", "house", "family"])
    short = checker.check("ghost house")
    assert codes(short) == ["too_short"]
    assert "2 words" in short.warnings[0]["message"]
    assert "too_short" not in codes(checker.check(" ".join(["ghost"] * MIN_WORDS)))
    cut = checker.check("ghost " * 30, max_words=10)
    assert codes(cut) == ["truncated"]
    assert "first 10 of the plot's 30 words" in cut.warnings[0]["message"]


def test_digits_and_symbols_are_unreadable() -> None:
    found = InputChecker(["ghost"]).check("12345 !!! 678 ???")
    assert found.readable is False
    assert "unknown_words" in codes(found)


def test_without_known_words_only_length_is_checked() -> None:
    found = InputChecker(None).check("zzz qqq")
    assert codes(found) == ["too_short"] and found.readable


def test_known_words_are_fitted_on_repeated_words_and_round_trip(tmp_path: Path) -> None:
    checker = InputChecker.fit(["The ghost haunts the house.", "A ghost story, once."])
    assert checker.known == {"the", "ghost"}
    name = checker.save(tmp_path)
    assert InputChecker.load(tmp_path / name).known == checker.known
    (tmp_path / "bad.json").write_text(json.dumps({"not": "a list"}))
    with pytest.raises(ValueError):
        InputChecker.load(tmp_path / "bad.json")


# --- every surface carries the warnings ---------------------------------------------------------
GIBBERISH = SAMPLES["gibberish"][0]
FRENCH = SAMPLES["French"][0]


@pytest.fixture(scope="module")
def shipped_client():
    from moviegenre.api import load_model
    from moviegenre.serving.app import create_app

    return create_app(model=load_model()).test_client()


def test_python_api_answers_an_unreadable_plot_with_no_genre_and_a_warning() -> None:
    from moviegenre.api import predict

    result = predict(GIBBERISH)
    assert result.genres == [] and len(result.scores) == 19
    assert [w["code"] for w in result.warnings] == ["unknown_words"]
    assert predict(ENGLISH).warnings == [] and predict(ENGLISH).genres


def test_cli_text_and_json_show_warnings(capsys) -> None:
    from moviegenre.cli.main import main

    assert main(["predict", GIBBERISH]) == 0
    text = capsys.readouterr().out
    assert "genres: (none)" in text and "warning (unknown_words):" in text
    assert main(["predict", "--json", GREEK]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [w["code"] for w in body["warnings"]] == ["unsupported_language"]
    assert body["language"]["code"] == "el"
    assert main(["predict", FRENCH]) == 0
    text = capsys.readouterr().out
    assert "language: fr (" in text and "warning" not in text


def test_predict_input_lines_carry_warnings(tmp_path: Path) -> None:
    from moviegenre.cli.main import main

    source = tmp_path / "plots.jsonl"
    rows = [{"id": "en", "plot": ENGLISH}, {"id": "fr", "plot": FRENCH},
            {"id": "gib", "plot": GIBBERISH}, {"id": "short", "plot": "A heist."},
            {"id": "el", "plot": GREEK}]  # fmt: skip
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--input", str(source), "--output", str(out), "--quiet"]) == 0
    lines = {line["id"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert lines["en"]["warnings"] == [] and lines["en"]["language"]["code"] == "en"
    assert lines["fr"]["warnings"] == [] and lines["fr"]["language"]["code"] == "fr"
    assert [w["code"] for w in lines["el"]["warnings"]] == ["unsupported_language"]
    assert lines["gib"]["genres"] == [] and lines["gib"]["warnings"][0]["code"] == "unknown_words"
    assert [w["code"] for w in lines["short"]["warnings"]] == ["too_short"]


def test_api_answers_warnings_with_status_200(shipped_client) -> None:
    response = shipped_client.post("/api/v1/predict", json={"plots": [ENGLISH, GIBBERISH]})
    assert response.status_code == 200
    english, gibberish = response.get_json()["results"]
    assert english["warnings"] == [] and english["genres"]
    assert gibberish["genres"] == [] and gibberish["warnings"][0]["code"] == "unknown_words"
    single = shipped_client.post("/api/v1/predict", json={"plot": GREEK}).get_json()
    assert single["warnings"][0]["code"] == "unsupported_language"
    assert single["warnings"][0]["language"] == "el" and "Greek" in single["warnings"][0]["message"]
    french = shipped_client.post("/api/v1/predict", json={"plot": FRENCH}).get_json()
    assert french["warnings"] == [] and french["language"]["code"] == "fr"


def test_openapi_describes_every_warning_code(shipped_client) -> None:
    from moviegenre.text.checks import WARNING_CODES

    spec = shipped_client.get("/api/v1/openapi.json").get_json()
    warning = spec["components"]["schemas"]["Warning"]
    assert warning["properties"]["code"]["enum"] == list(WARNING_CODES)
    assert all(f"`{code}`" in warning["description"] for code in WARNING_CODES)
    for name in ("Result", "SinglePredictResponse"):
        assert "warnings" in spec["components"]["schemas"][name]["required"]


def test_model_info_states_the_calibration(shipped_client) -> None:
    info = shipped_client.get("/api/v1/model").get_json()
    assert info["calibration"]["method"] == "beta" and info["calibration"]["fitted_on"] == "valid"
    assert 0 < info["calibration"]["test_ece"] <= 0.02


def test_page_shows_warnings_above_the_bars_and_says_calibrated(shipped_client) -> None:
    page = shipped_client.post("/", data={"plot": GREEK}).get_data(as_text=True)
    assert "probability (calibrated on validation data)" in page
    warning = page.index('data-code="unsupported_language"')
    assert warning < page.index('id="bars"')
    assert "looks like Greek" in page
    clean = shipped_client.post("/", data={"plot": ENGLISH}).get_data(as_text=True)
    assert 'id="warnings" class="warnings" hidden' in clean
