"""The fast n-gram model: its tokenizer, batch encoding, training, bundles, long plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moviegenre.bundle import load_bundle
from moviegenre.models.ngram import UNK_ID, NgramEncoder, NgramGenreModel, PairIndex
from moviegenre.text.tokenizer import PAD, PLOT_SEPARATOR, UNK, fast_word_stream, fast_words

GLOVE = Path(__file__).resolve().parent / "fixtures" / "glove_tiny_8d.txt"
# Small and quick: learns the tiny corpus in a few seconds on one thread.
TINY = {
    "embeddings": str(GLOVE), "glove_words": 20, "hidden": 16, "epochs": 15, "patience": 5,
    "batch_size": 16, "lr": 0.01, "embed_lr": 0.05, "seed": 0, "progress": False,
    "min_pair_count": 1,
}  # fmt: skip


def test_fast_words_drop_punctuation_fold_accents_and_lower_case() -> None:
    assert fast_words("Don't PANIC, it's the Café!") == [
        b"don",
        b"t",
        b"panic",
        b"it",
        b"s",
        b"the",
        b"cafe",
    ]
    # curly quotes and dashes separate words instead of gluing them
    assert fast_words("love\u2014and war \u201cnow\u201d") == [b"love", b"and", b"war", b"now"]
    assert fast_words("") == [] and fast_words("?!...") == []


def test_word_stream_is_each_plot_in_turn_and_never_merges_plots() -> None:
    plots = ["A ghost.", "", "Love in Paris", "Zürich, 1920"]
    expected: list[bytes] = []
    for i, plot in enumerate(plots):
        expected += ([PLOT_SEPARATOR] if i else []) + fast_words(plot)
    assert fast_word_stream(plots) == expected
    # a plot holding the separator byte itself cannot shift the other plots' boundaries
    hostile = ["one \x01 two", "three"]
    stream = fast_word_stream(hostile)
    assert stream.count(PLOT_SEPARATOR) == 1 and stream[-1] == b"three"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("ab Z-'.\u00e9\u0301\u2014\u201cé\u00a0ß\u4e2d\x01\n")),
            max_size=12,
        ),
        max_size=6,
    )
)
def test_word_stream_matches_plot_by_plot_whatever_the_characters(plots: list[str]) -> None:
    # the batch is folded to ASCII plot by plot; the words must be those of each plot alone
    expected: list[bytes] = []
    for i, plot in enumerate(plots):
        expected += ([PLOT_SEPARATOR] if i else []) + fast_words(plot)
    assert fast_word_stream(plots) == expected


def _encoder() -> NgramEncoder:
    words = [PAD, UNK, "a", "ghost", "in", "the", "house", "love"]
    v = len(words)
    pairs = np.sort(np.array([3 * v + 4, 5 * v + 6, 2 * v + 3], dtype=np.int64))  # ghost in...
    return NgramEncoder(words, pairs)


def test_batch_encoding_matches_one_plot_at_a_time_and_pairs_stay_inside_a_plot() -> None:
    encoder = _encoder()
    plots = ["A ghost in the house", "", "house a", "love ghost in", "zzz"]
    ids, offsets, pair_ids, pair_offsets = encoder.encode(plots)
    assert len(offsets) == len(pair_offsets) == len(plots) + 1
    for i, plot in enumerate(plots):
        alone = encoder.encode([plot])
        np.testing.assert_array_equal(ids[offsets[i] : offsets[i + 1]], alone[0])
        np.testing.assert_array_equal(pair_ids[pair_offsets[i] : pair_offsets[i + 1]], alone[2])
    assert ids[offsets[1] : offsets[2]].tolist() == [UNK_ID]  # an empty plot: one unknown word
    # known pairs: "a ghost", "ghost in", "the house" in plot 0, "ghost in" in plot 3; plot 2's
    # "house a" is unknown (and plot 0's last word never pairs with plot 2's first)
    assert np.diff(pair_offsets).tolist() == [3, 0, 0, 1, 0]


@pytest.fixture(scope="module")
def ngram_bundle(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("torch")
    from moviegenre.training.train import train

    out = tmp_path_factory.mktemp("ngram") / "bundle"
    return train(tiny_corpus, "ngram", out, model_options=TINY), out


def test_learns_the_tiny_corpus_and_round_trips(ngram_bundle) -> None:
    result, out = ngram_bundle
    assert result.metrics["valid"]["micro_f1"] > 0.8
    config = json.loads((out / "bundle.json").read_text())["config"]
    assert config["tokenizer"] == {"type": "ngram", "file": "vocab.json"}
    assert "onnx" not in config and "onnx_graph" not in config  # NumPy is the one runtime
    loaded = load_bundle(out)
    assert isinstance(loaded, NgramGenreModel) and loaded.max_words is None
    plots = ["A haunted house full of ghosts and blood.", "They fall in love at a wedding.", ""]
    np.testing.assert_allclose(
        loaded.predict_proba(plots), result.model.predict_proba(plots), atol=1e-6, rtol=0
    )
    # a plot's probabilities do not depend on the batch it comes in
    np.testing.assert_allclose(
        loaded.predict_proba(plots[1:2]), loaded.predict_proba(plots)[1:2], atol=1e-6, rtol=0
    )


def test_a_long_plot_is_read_whole(ngram_bundle) -> None:
    model = ngram_bundle[0].model
    head = "A young woman finds a city life story. " * 120  # about 1,000 words, no genre cue
    tail = " The ghost and the demon scream in the haunted house of blood." * 20
    other = " They kiss at the wedding, a love story of the heart and romance." * 20
    scores = model.predict_raw([head + tail, head + other])  # before calibration
    horror = model.labels.index("Horror")
    assert scores[0, horror] > scores[1, horror] + 0.05  # the last words still count


def test_learns_from_a_teacher(tiny_corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from moviegenre.training.train import train

    teacher = {"type": "tfidf", "options": {"classifier": "logreg", "char_max_features": 0}}
    result = train(tiny_corpus, "ngram", tmp_path / "b", model_options=TINY,
                   distill={"teacher": teacher, "alpha": 0.5, "folds": 3})  # fmt: skip
    assert result.metrics["valid"]["micro_f1"] > 0.8
    recorded = json.loads((tmp_path / "b" / "bundle.json").read_text())["training"]
    assert recorded["distillation"]["teacher"] == teacher


def test_a_corrupted_bundle_is_refused(ngram_bundle, tmp_path: Path) -> None:
    import shutil

    from moviegenre.errors import MovieGenreError

    _, out = ngram_bundle
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    manifest = json.loads((copy / "bundle.json").read_text())
    manifest["config"]["vocab_size"] += 1
    (copy / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(MovieGenreError, match="expected a list of"):
        load_bundle(copy)


def test_an_interrupted_run_resumes_to_the_same_weights(tiny_corpus: Path, tmp_path: Path,
                                                        monkeypatch) -> None:  # fmt: skip
    pytest.importorskip("torch")
    from moviegenre.data.dataset import label_set, split_records, target_matrix
    from moviegenre.data.readers import read_data
    from moviegenre.models import torch_loop

    splits = split_records(read_data(tiny_corpus).usable())
    labels = label_set(splits["train"])
    plots, y = [r.plot for r in splits["train"]], target_matrix(splits["train"], labels)
    valid = ([r.plot for r in splits["valid"]], target_matrix(splits["valid"], labels))
    options = {**TINY, "epochs": 4, "patience": 10}
    straight = NgramGenreModel(labels, **options).fit(plots, y, *valid)

    original, written = torch_loop.save_checkpoint, []

    def save_then_die(*args, **kwargs):
        path = original(*args, **kwargs)
        written.append(path)
        if len(written) == 2:
            raise KeyboardInterrupt  # killed right after epoch 2's checkpoint
        return path

    monkeypatch.setattr(torch_loop, "save_checkpoint", save_then_die)
    ckpt = str(tmp_path / "ckpt")
    with pytest.raises(KeyboardInterrupt):
        NgramGenreModel(labels, **options, checkpoint_dir=ckpt).fit(plots, y, *valid)
    monkeypatch.setattr(torch_loop, "save_checkpoint", original)
    resumed = NgramGenreModel(labels, **options, checkpoint_dir=ckpt, resume=True)
    resumed.fit(plots, y, *valid)
    for name, array in straight.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[name], array, err_msg=name)


def test_numpy_convolution_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    from moviegenre.models.ngram.kernels import conv_max

    torch.manual_seed(0)
    conv = torch.nn.Conv1d(4, 5, 3, padding=1)
    plots = [torch.randn(n, 4) for n in (1, 6, 3)]
    expected = torch.stack([torch.relu(conv(p.T.unsqueeze(0)))[0].amax(dim=1) for p in plots])
    weight = conv.weight.detach().numpy()
    flat = torch.cat(plots).numpy()
    got = conv_max(flat, np.array([0, 1, 7, 10]),
                   np.concatenate([weight[:, :, k].T for k in range(3)], axis=0),
                   conv.bias.detach().numpy())  # fmt: skip
    np.testing.assert_allclose(got, expected.detach().numpy(), atol=1e-5, rtol=0)


def test_the_convolution_branch_learns_and_round_trips(tiny_corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from moviegenre.training.train import train

    result = train(tiny_corpus, "ngram", tmp_path / "b", model_options={**TINY, "filters": 8})
    assert result.metrics["valid"]["micro_f1"] > 0.8
    loaded = load_bundle(tmp_path / "b")
    plots = ["A haunted house full of ghosts.", "Love at a wedding, a kiss.", ""]
    np.testing.assert_allclose(
        loaded.predict_proba(plots), result.model.predict_proba(plots), atol=1e-6, rtol=0
    )


def test_weighted_mean_is_a_softmax_of_scores_within_each_plot() -> None:
    from moviegenre.models.ngram.kernels import mean_matrix, score_weights

    ids = np.array([2, 3, 2, 4, 5], dtype=np.int64)
    offsets = np.array([0, 2, 2, 5], dtype=np.int64)  # plot 1 is empty (a plot without pairs)
    scores = np.array([0.0, 0.0, 0.0, np.log(3.0), 0.0, 0.0], dtype=np.float32)
    plain = mean_matrix(ids, offsets, 6).toarray()
    weighted = mean_matrix(ids, offsets, 6, score_weights(scores)).toarray()
    np.testing.assert_allclose(plain.sum(1), [1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(weighted.sum(1), [1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(weighted[0, [2, 3]], [0.25, 0.75], atol=1e-6)  # e^log3 = 3 of 4
    np.testing.assert_allclose(weighted[2], plain[2], atol=1e-6)  # equal scores: a plain mean


def test_learned_word_weights_train_and_round_trip(tiny_corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from moviegenre.training.train import train

    result = train(tiny_corpus, "ngram", tmp_path / "b",
                   model_options={**TINY, "word_weights": True})  # fmt: skip
    assert result.metrics["valid"]["micro_f1"] > 0.8
    model = result.model
    assert np.ptp(model.arrays["word_score"]) > 0  # the scores moved away from a plain mean
    loaded = load_bundle(tmp_path / "b")
    assert loaded.word_weights
    plots = ["A haunted house full of ghosts.", "Love at a wedding, a kiss.", ""]
    np.testing.assert_allclose(loaded.predict_proba(plots), model.predict_proba(plots),
                               atol=1e-6, rtol=0)  # fmt: skip


def test_int8_tables_halve_the_file_and_load_to_what_was_tuned(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    from safetensors.numpy import load_file

    from moviegenre.training.train import train

    options = {**TINY, "word_weights": True}
    train(tiny_corpus, "ngram", tmp_path / "half", model_options=options)
    small = train(tiny_corpus, "ngram", tmp_path / "int8",
                  model_options={**options, "int8_tables": True})  # fmt: skip
    stored = load_file(str(tmp_path / "int8" / "weights.safetensors"))
    assert stored["word_table"].dtype == np.int8 and stored["pair_table"].dtype == np.int8
    halves = load_file(str(tmp_path / "half" / "weights.safetensors"))
    assert stored["word_table"].nbytes * 2 == halves["word_table"].nbytes
    assert small.metrics["valid"]["micro_f1"] > 0.8
    loaded = load_bundle(tmp_path / "int8")
    plots = ["A haunted house full of ghosts.", "Love at a wedding, a kiss.", ""]
    # the thresholds were tuned on the int8-rounded tables: the loaded model is that model
    np.testing.assert_allclose(loaded.predict_proba(plots), small.model.predict_proba(plots),
                               atol=1e-6, rtol=0)  # fmt: skip


def test_row_quantisation_is_within_half_a_step_of_each_value() -> None:
    from moviegenre.tensors import dequantize_rows, quantize_rows

    table = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    table[3] = 0.0
    rows, scale = quantize_rows(table)
    back = dequantize_rows(rows, scale)
    assert rows.dtype == np.int8 and np.all(back[3] == 0.0)
    assert np.all(np.abs(back - table) <= scale[:, None] / 2 + 1e-7)
    assert np.all(np.abs(rows).max(axis=1)[np.arange(50) != 3] == 127)


def test_pair_index_finds_what_a_binary_search_finds_crowded_slots_included() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 10**9, size=5000))
    index = PairIndex(keys)
    assert index.crowded.any()  # some slots hold two keys: the fallback path runs below
    queries = np.concatenate([keys, rng.integers(-5, 10**9, size=20000), keys[::7] + 1])
    rng.shuffle(queries)
    position, found = index.find(queries)
    expected = np.isin(queries, keys)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(keys[position[found]], queries[found])
    tiny = PairIndex(np.array([3, 7], dtype=np.int64))  # a 16-slot table
    assert tiny.find(np.array([7, 3, 5, -1]))[1].tolist() == [True, True, False, False]
    empty_position, empty_found = PairIndex(np.zeros(0, dtype=np.int64)).find(np.array([0, 1]))
    assert not empty_found.any()
