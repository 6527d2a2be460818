"""Occlusion explanations, the `explain` command, and their faithfulness to the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from moviegenre.api import load_model
from moviegenre.cli.main import main
from moviegenre.errors import MovieGenreError
from moviegenre.explain.core import SAMPLE_PLOT, top_words
from moviegenre.explain.methods import benchmark_explain, faithfulness
from moviegenre.explain.occlusion import explain, remove_words
from moviegenre.models.base import GenreModel
from moviegenre.text.tokenizer import plot_words

HORROR_PLOT = "The young woman finds a ghost in the old city when life story must end."


class CountingModel(GenreModel):
    """A stub whose genre scores are simple word counts, so every weight is known exactly."""

    model_type = "counting"

    def __init__(self) -> None:
        super().__init__(["Good", "Bad"])
        self.calls: list[int] = []

    def fit(self, plots, targets, valid_plots=None, valid_targets=None):
        return self

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        self.calls.append(len(plots))
        rows = []
        for plot in plots:
            words = [w.lower() for w in plot_words(plot)]
            rows.append([0.5 + 0.1 * words.count("good"), 0.5 + 0.2 * words.count("bad")])
        return np.asarray(rows, dtype=np.float32)

    def save_files(self, directory: Path) -> dict:
        return {}

    @classmethod
    def load_files(cls, directory, config, labels):
        return cls()


@pytest.fixture(scope="module")
def tfidf_model(tfidf_bundle: Path) -> GenreModel:
    return load_model(tfidf_bundle)


def _records(path: Path, splits: tuple[str, ...]) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [r for r in rows if r["split"] in splits and len(plot_words(r["overview"])) >= 6]


# --- structure ------------------------------------------------------------------------------------


def test_every_genre_has_every_word_in_order(tfidf_model: GenreModel) -> None:
    plot = "A haunted house, a ghost -- and a wedding! Love (and blood) everywhere..."
    result = explain(tfidf_model, plot)
    assert list(result) == tfidf_model.labels
    for pairs in result.values():
        assert [w for w, _ in pairs] == plot_words(plot)
        assert all(isinstance(weight, float) and np.isfinite(weight) for _, weight in pairs)
    assert not result.truncated and result.explained_words == len(plot_words(plot))


def test_weights_are_exact_probability_differences_in_one_call() -> None:
    model = CountingModel()
    result = explain(model, "good, bad good; neutral bad.")
    assert model.calls == [6]  # the original and five variants, in a single batch
    assert [w for w, _ in result["Good"]] == ["good", "bad", "good", "neutral", "bad"]
    assert [w for _, w in result["Good"]] == pytest.approx([0.1, 0, 0.1, 0, 0], abs=1e-6)
    assert [w for _, w in result["Bad"]] == pytest.approx([0, 0.2, 0, 0, 0.2], abs=1e-6)


def test_logit_scale() -> None:
    result = explain(CountingModel(), "good stuff", scale="logit")
    expected = np.log(0.6 / 0.4) - 0.0  # logit(0.6) - logit(0.5)
    assert result["Good"][0][1] == pytest.approx(expected, abs=1e-5)
    assert result.scale == "logit"


def test_strong_genre_word_gets_the_top_weight(tfidf_model: GenreModel) -> None:
    result = explain(tfidf_model, HORROR_PLOT)
    words = [w for w, _ in result["Horror"]]
    weights = [w for _, w in result["Horror"]]
    assert words[int(np.argmax(weights))] == "ghost"
    assert max(weights) > 0
    # The same word does not raise a genre it has nothing to do with.
    comedy = dict(result["Comedy"])
    assert comedy["ghost"] < max(weights)
    assert top_words(result, "Horror", 1)[0][1] == "ghost"


def test_repeated_words_get_one_weight_each(tfidf_model: GenreModel) -> None:
    result = explain(tfidf_model, "ghost city ghost")
    assert [w for w, _ in result["Horror"]] == ["ghost", "city", "ghost"]


@pytest.mark.parametrize("plot", ["", "   ", "... -- !!! ?", "\n\t"])
def test_empty_and_punctuation_only_plots(plot: str) -> None:
    model = CountingModel()
    result = explain(model, plot)
    assert result == {"Good": [], "Bad": []}
    assert model.calls == []  # nothing to occlude, so the model is not even called


def test_long_plots_are_capped_and_say_so() -> None:
    model = CountingModel()
    plot = " ".join(["good"] * 450)
    result = explain(model, plot)
    assert len(result["Good"]) == 400 and result.truncated
    assert (result.total_words, result.explained_words) == (450, 400)
    assert model.calls == [401]
    small = explain(model, plot, max_words=10)
    assert len(small["Bad"]) == 10 and small.info()["truncated"] is True


def test_genre_subset_and_bad_options(tfidf_model: GenreModel) -> None:
    assert list(explain(tfidf_model, HORROR_PLOT, genres=["Horror"])) == ["Horror"]
    with pytest.raises(MovieGenreError, match="unknown genre"):
        explain(tfidf_model, HORROR_PLOT, genres=["Cowboys"])
    with pytest.raises(MovieGenreError, match="scale"):
        explain(tfidf_model, HORROR_PLOT, scale="odds")
    with pytest.raises(MovieGenreError, match="plot"):
        explain(tfidf_model, None)  # type: ignore[arg-type]


def test_remove_words() -> None:
    assert remove_words("A ghost, a house. The end", [1, 3]) == "A a The end"
    assert remove_words("one two", [1]) == "one"


def test_benchmark_reports_timings(tfidf_model: GenreModel) -> None:
    stats = benchmark_explain(tfidf_model, n=3)
    assert stats["words"] == len(plot_words(SAMPLE_PLOT)) == 60
    assert stats["runs"] == 3 and 0 < stats["median_ms"] <= stats["p95_ms"]


# --- command line --------------------------------------------------------------------------------


def test_cli_text_marks_top_words(tfidf_bundle: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["explain", "--model", str(tfidf_bundle), "--top", "2", "--genre", "Horror",
                 HORROR_PLOT])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "[[ghost]]" in out  # not a TTY: plain marks, no ANSI codes
    assert "\033[" not in out
    assert out.count("[[") == 2
    table = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert table[0][0] == "ghost" and float(table[0][1]) > 0


def test_cli_json(tfidf_bundle: Path, tfidf_model: GenreModel, capsys) -> None:
    code = main(["explain", "--model", str(tfidf_bundle), "--json", HORROR_PLOT])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["method"] == "occlusion" and "Horror" in payload["genres"]
    assert set(payload["scores"]) == set(tfidf_model.labels)
    assert set(payload["explanation"]) == set(tfidf_model.labels)
    for pairs in payload["explanation"].values():
        assert [w for w, _ in pairs] == plot_words(HORROR_PLOT)
    assert payload["truncated"] is False


def test_cli_reads_stdin_and_colours_marks_on_a_terminal(tfidf_bundle: Path, capsys, monkeypatch):
    import io

    from moviegenre.cli.explain_cmd import mark_plot

    monkeypatch.setattr("sys.stdin", io.StringIO(HORROR_PLOT))
    assert main(["explain", "--model", str(tfidf_bundle), "--json", "-"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [w for w, _ in payload["explanation"]["Horror"]] == plot_words(HORROR_PLOT)
    assert mark_plot("A ghost, boo.", {1}) == "A [[ghost]], boo."
    coloured = mark_plot("A ghost, boo.", {1, 2}, colour=True)
    assert coloured == "A \033[1;32mghost\033[0m, \033[1;32mboo\033[0m."


def test_cli_errors(tfidf_bundle: Path, capsys) -> None:
    assert main(["explain", "--model", str(tfidf_bundle), "--genre", "Cowboys", "x"]) == 2
    assert "Cowboys" in capsys.readouterr().err
    # The TF-IDF model has no embeddings to take gradients of: a clear error, not a traceback.
    assert main(["explain", "--model", str(tfidf_bundle), "--method", "gradients", "x"]) == 2
    assert "occlusion" in capsys.readouterr().err


# --- faithfulness --------------------------------------------------------------------------------


def test_faithfulness_on_fixture(tiny_corpus: Path, tfidf_model: GenreModel) -> None:
    plots = [r["overview"] for r in _records(tiny_corpus, ("valid", "test"))]
    assert len(plots) >= 50
    top, chance = faithfulness(tfidf_model, plots)
    assert top > chance
    assert top > 2 * chance  # the cue words carry the genre; random filler words barely matter


@pytest.mark.slow
@pytest.mark.shared_data
def test_faithfulness_on_corpus(corpus_path: Path) -> None:
    from moviegenre.bundle.bundle import default_model_path

    if (default_model_path() / "bundle.json").is_file():
        model = load_model()
    else:  # no shipped model yet: a small word TF-IDF model on part of the corpus's train split
        from moviegenre.data.dataset import label_set, split_records, target_matrix
        from moviegenre.data.readers import read_data
        from moviegenre.models.tfidf import TfidfGenreModel

        train_set = split_records(read_data(corpus_path).usable())["train"][:4000]
        labels = label_set(train_set)
        model = TfidfGenreModel(labels, C=1.0, max_features=10000, char_ngrams=None)
        model.fit([r.plot for r in train_set], target_matrix(train_set, labels))
    plots = [r["overview"] for r in _records(corpus_path, ("test",))][:60]
    assert len(plots) >= 50
    top, chance = faithfulness(model, plots)
    assert top > chance
