"""Warnings: plots out of the model's reach (unknown words, another language, too short, cut) are
flagged on every answer, and ordinary English plots are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviegenre.text.checks import MIN_WORDS, InputChecker

# Three plots each in French, German, Spanish and gibberish (shared with benchmarks/warnings.py).
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


@pytest.mark.parametrize("plot", SAMPLES["French"] + SAMPLES["German"] + SAMPLES["Spanish"])
def test_french_german_and_spanish_plots_get_not_english(shipped_checker, plot: str) -> None:
    found = shipped_checker.check(plot)
    assert "not_english" in codes(found)
    message = next(w["message"] for w in found.warnings if w["code"] == "not_english")
    assert any(name in message for name in ("French", "German", "Spanish"))


@pytest.mark.parametrize("plot", SAMPLES["gibberish"])
def test_gibberish_gets_unknown_words_and_is_unreadable(shipped_checker, plot: str) -> None:
    found = shipped_checker.check(plot)
    assert "unknown_words" in codes(found)
    assert "not_english" not in codes(found)  # not a language at all
    assert found.readable is False


def test_an_english_plot_gets_no_warning(shipped_checker) -> None:
    found = shipped_checker.check(ENGLISH, max_words=200)
    assert found.warnings == [] and found.readable


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
