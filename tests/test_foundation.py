"""The core pieces: thresholds, tokenizer, bundle round trip and refusal of broken bundles."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from moviegenre.bundle import load_bundle
from moviegenre.errors import MovieGenreError
from moviegenre.genres import normalize_genre, normalize_genres
from moviegenre.text.tokenizer import Vocabulary, plot_words, tokenize
from moviegenre.thresholds import decide, tune_thresholds


def test_decide_always_returns_at_least_one_genre_unless_allowed_none():
    probs = np.array([[0.1, 0.2, 0.05], [0.9, 0.1, 0.8]], dtype=np.float32)
    thresholds = np.full(3, 0.5, dtype=np.float32)
    assert decide(probs, thresholds, 1).tolist() == [[0, 1, 0], [1, 0, 1]]
    assert decide(probs, thresholds, 0).tolist() == [[0, 0, 0], [1, 0, 1]]


def test_tuned_threshold_separates_a_separable_genre():
    probs = np.array([[0.1], [0.2], [0.3], [0.35], [0.6]])
    targets = np.array([[0], [0], [1], [1], [1]])
    threshold = tune_thresholds(probs, targets, "f1")[0]
    assert 0.2 < threshold <= 0.3
    assert 0.2 < tune_thresholds(probs, targets, "mcc")[0] <= 0.3


def test_genre_aliases_map_onto_tmdb_names_and_keep_unknown_ones():
    assert normalize_genre("Sci-Fi") == "Science Fiction"
    assert normalize_genre(" science_fiction ") == "Science Fiction"
    assert normalize_genre("Kaiju") == "Kaiju"
    assert normalize_genres(["drama", "Drama", "", "SCI-FI"]) == ("Drama", "Science Fiction")


def test_tokenizer_and_vocabulary_are_stable():
    assert tokenize("He doesn't run!") == ["he", "does", "n't", "run", "!"]
    vocab = Vocabulary.fit(["a ghost a ghost", "a ghost house"], min_count=2)
    assert vocab.tokens[:2] == ["<pad>", "<unk>"]
    ids, mask = vocab.encode_batch(["ghost house", ""], max_len=10)
    assert ids.shape == mask.shape == (2, 2)
    assert ids[0].tolist() == [vocab.index["ghost"], 1] and mask[1].tolist() == [1, 0]
    assert plot_words('"Run," she said.') == ["Run", "she", "said"]


def test_bundle_round_trip_gives_identical_probabilities(tfidf_bundle):
    model = load_bundle(tfidf_bundle)
    probs = model.predict_proba(["a haunted house full of ghost screams", "love and a kiss"])
    assert probs.shape == (2, len(model.labels))
    assert model.labels[int(probs[0].argmax())] == "Horror"
    assert model.labels[int(probs[1].argmax())] == "Romance"
    manifest = json.loads((tfidf_bundle / "bundle.json").read_text())
    assert manifest["metrics"]["valid"]["micro_f1"] > 0.8


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "weights.safetensors").unlink(), "missing"),
        (lambda d: (d / "weights.safetensors").write_bytes(b"\0" * 10), "corrupted"),
        (lambda d: (d / "evil.pkl").write_bytes(b"cos\nsystem\n"), ".pkl"),
        (lambda d: (d / "bundle.json").write_text("{"), "corrupted"),
    ],
)
def test_damaged_bundles_are_refused_with_a_clear_message(tfidf_bundle, tmp_path, damage, message):
    copy = tmp_path / "bundle"
    shutil.copytree(tfidf_bundle, copy)
    damage(copy)
    with pytest.raises(MovieGenreError, match=message):
        load_bundle(copy)


def test_a_newer_bundle_format_is_refused(tfidf_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(tfidf_bundle, copy)
    manifest = json.loads((copy / "bundle.json").read_text())
    manifest["format_version"] = 99
    (copy / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(MovieGenreError, match="newer"):
        load_bundle(copy)
