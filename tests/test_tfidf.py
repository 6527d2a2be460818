"""The TF-IDF baseline: learns, round-trips without pickle, and reaches its score on the corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moviegenre.bundle import load_bundle
from moviegenre.data.dataset import label_set, split_records, target_matrix
from moviegenre.data.readers import read_data
from moviegenre.errors import MovieGenreError
from moviegenre.evaluation.metrics import compute_metrics
from moviegenre.models.tfidf import TfidfGenreModel
from moviegenre.training.train import train


def _splits(path):
    splits = split_records(read_data(path).usable())
    labels = label_set(splits["train"])
    data = {
        name: ([r.plot for r in rows], target_matrix(rows, labels)) for name, rows in splits.items()
    }
    return labels, data


@pytest.mark.parametrize(
    "options",
    [
        {"min_df": 1},
        {"min_df": 1, "classifier": "logreg", "C": 4.0},
        {"min_df": 1, "char_max_features": 0},
    ],
    ids=["default-svm", "logreg", "words-only"],
)
def test_learns_the_tiny_corpus_and_round_trips(tiny_corpus, tmp_path, options):
    out = train(tiny_corpus, "tfidf", tmp_path / "b", model_options=options)
    assert out.metrics["test"]["micro_f1"] > 0.85  # the fixture's genre cue words are unmistakable
    loaded = load_bundle(out.path)
    labels, data = _splits(tiny_corpus)
    plots = data["test"][0] + ["", "A plot with no word the model has seen: zyxw qqq."]
    np.testing.assert_array_equal(out.model.predict_proba(plots), loaded.predict_proba(plots))
    probs = loaded.predict_proba(plots)
    assert probs.shape == (len(plots), len(labels)) and probs.dtype == np.float32
    assert np.all((probs >= 0) & (probs <= 1))


def test_bundle_holds_no_pickle_and_both_vocabularies(tfidf_bundle):
    names = {p.name for p in tfidf_bundle.iterdir()}
    assert "weights.safetensors" in names and "tfidf_vocab.json" in names
    assert not any(n.endswith((".pkl", ".pickle", ".joblib", ".npz")) for n in names)
    vocab = json.loads((tfidf_bundle / "tfidf_vocab.json").read_text())
    assert set(vocab) == {"word", "char"}
    assert "ghost" in vocab["word"] and any(len(g) >= 4 for g in vocab["char"])


def test_svm_probabilities_are_calibrated_on_valid(tiny_corpus):
    labels, data = _splits(tiny_corpus)
    model = TfidfGenreModel(labels, classifier="svm", C=0.3, min_df=1)
    model.fit(*data["train"], *data["valid"])
    # Platt scaling replaced the identity sigmoid for every genre present in valid.
    assert np.all(model.platt_a > 0) and not np.allclose(model.platt_a, 1.0)
    probs = model.predict_proba(data["test"][0])
    decisions = (probs >= 0.5).astype(int)
    assert compute_metrics(data["test"][1], decisions, labels)["micro_f1"] > 0.85


def test_word_only_bundles_from_before_the_character_block_still_load(tfidf_bundle, tmp_path):
    """A bundle whose vocabulary file is a plain word list (the first TF-IDF format) loads."""
    model = load_bundle(tfidf_bundle)
    old = TfidfGenreModel(model.labels, char_max_features=0, min_df=1)
    old.word_vectorizer = model.word_vectorizer
    old.coef = model.coef[:, : len(model.word_vectorizer.vocabulary_)]
    old.intercept = model.intercept
    directory = tmp_path / "old"
    directory.mkdir()
    old.save_files(directory)
    vocab = json.loads((directory / "tfidf_vocab.json").read_text())
    (directory / "tfidf_vocab.json").write_text(json.dumps(vocab["word"]))
    config = {"max_features": 50000, "C": 4.0, "min_df": 1}
    again = TfidfGenreModel.load_files(directory, config, model.labels)
    plots = ["a haunted house full of ghosts", "a wacky prank"]
    np.testing.assert_allclose(again.predict_proba(plots), old.predict_proba(plots), rtol=1e-6)


def test_bad_options_and_unfitted_models_are_refused():
    with pytest.raises(MovieGenreError, match="classifier"):
        TfidfGenreModel(["A", "B"], classifier="forest")
    with pytest.raises(MovieGenreError, match="not fitted"):
        TfidfGenreModel(["A", "B"]).predict_proba(["a plot"])


@pytest.mark.slow
def test_default_baseline_reaches_its_score_on_the_corpus(corpus_path):
    result = train(corpus_path, "tfidf", None)
    test = result.metrics["test"]
    assert test["rows"] > 1000
    assert test["micro_f1"] >= 0.58
    assert test["macro_f1"] >= 0.50
