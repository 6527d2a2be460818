"""ONNX Runtime models: parity with PyTorch, input order, tokenizers, threads, export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from moviegenre.bundle import load_bundle
from moviegenre.cli.main import main
from moviegenre.errors import MovieGenreError

EDGE_PLOTS = ["", "Ghost.", "zzzz qqqq unknown words only", "a haunted house " * 60]


def _plots(corpus: Path, n: int = 60) -> list[str]:
    lines = corpus.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line)["overview"] for line in lines]


def test_onnx_predictions_match_pytorch(lstm_onnx_bundle: Path, tiny_corpus: Path) -> None:
    onnx_model = load_bundle(lstm_onnx_bundle)  # auto: the export is used
    native = load_bundle(lstm_onnx_bundle, runtime="native")
    assert type(onnx_model).__name__ == "OnnxGenreModel"
    assert type(native).__name__ == "LSTMGenreModel"
    assert onnx_model.kind == "lstm"
    plots = _plots(tiny_corpus) + EDGE_PLOTS
    a, b = onnx_model.predict_proba(plots), native.predict_proba(plots)
    assert a.shape == (len(plots), len(onnx_model.labels)) and a.dtype == np.float32
    assert a.std() > 0.01  # outputs spread out, so a wrong graph would be visible
    assert np.max(np.abs(a - b)) < 1e-5
    assert (onnx_model.predict(plots) == native.predict(plots)).all()
    assert onnx_model.max_words == native.max_words


def test_length_sorted_batches_keep_input_order(lstm_onnx_bundle: Path, tiny_corpus: Path) -> None:
    model = load_bundle(lstm_onnx_bundle)
    plots = _plots(tiny_corpus, 40) + EDGE_PLOTS
    one_by_one = np.concatenate([model.predict_proba([p]) for p in plots])
    model.batch_size = 3  # many batches, each padded differently
    batched = model.predict_proba(plots)
    assert np.max(np.abs(batched - one_by_one)) < 1e-5
    order = np.random.default_rng(0).permutation(len(plots))
    shuffled = model.predict_proba([plots[i] for i in order])
    assert np.max(np.abs(shuffled - batched[order])) < 1e-5
    assert model.predict_proba([]).shape == (0, len(model.labels))


def test_onnx_model_is_only_a_predictor(lstm_onnx_bundle: Path, tmp_path: Path) -> None:
    from moviegenre.bundle import save_bundle
    from moviegenre.models import MODEL_TYPES
    from moviegenre.models.base import GenreModel, Predictor

    model = load_bundle(lstm_onnx_bundle)
    assert isinstance(model, Predictor) and not isinstance(model, GenreModel)
    assert not hasattr(model, "fit") and not hasattr(model, "save_files")
    assert "onnx" not in MODEL_TYPES  # not a model type one could train
    with pytest.raises(MovieGenreError, match="only predicts"):
        save_bundle(model, tmp_path / "again")  # type: ignore[arg-type]
    assert not (tmp_path / "again").exists()


def test_thread_count_comes_from_the_environment(
    lstm_onnx_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEGENRE_THREADS", "2")
    model = load_bundle(lstm_onnx_bundle)
    assert model.session.get_session_options().intra_op_num_threads == 2
    assert model.session.get_session_options().inter_op_num_threads == 1
    monkeypatch.setenv("MOVIEGENRE_THREADS", "many")
    with pytest.raises(MovieGenreError, match="MOVIEGENRE_THREADS"):
        load_bundle(lstm_onnx_bundle)


def test_runtime_onnx_requires_an_export(tfidf_bundle: Path) -> None:
    with pytest.raises(MovieGenreError, match="no ONNX export"):
        load_bundle(tfidf_bundle, runtime="onnx")


def test_corrupted_onnx_file_is_a_clear_error(lstm_onnx_bundle: Path, tmp_path: Path) -> None:
    from moviegenre.models.onnx_model import OnnxGenreModel

    copy = tmp_path / "b"
    shutil.copytree(lstm_onnx_bundle, copy)
    (copy / "model.onnx").write_bytes(b"not a graph")
    manifest = json.loads((copy / "bundle.json").read_text())
    with pytest.raises(MovieGenreError, match="model.onnx"):
        OnnxGenreModel.load_files(copy, manifest["config"], manifest["labels"])


def _wordpiece_bundle(tmp_path: Path) -> tuple[Path, object, object]:
    """A MiniLM-style bundle: HF tokenizers file and a graph taking input_ids/attention_mask."""
    torch = pytest.importorskip("torch")
    tokenizers = pytest.importorskip("tokenizers")
    from moviegenre.bundle import save_bundle
    from moviegenre.models.base import GenreModel

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ghost", "love", "alien", "house", "the", "a"]
    tok = tokenizers.Tokenizer(
        tokenizers.models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]")
    )
    tok.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    tok.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=True)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(len(words), 6)
            self.out = torch.nn.Linear(6, 3)

        def forward(self, input_ids, attention_mask):
            mask = attention_mask.unsqueeze(-1).float()
            pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1)
            return torch.sigmoid(self.out(pooled) * 4)

    torch.manual_seed(0)
    net = Net().eval()

    class Exported(GenreModel):
        model_type = "minilm"

        def fit(self, *a):
            raise NotImplementedError

        def predict_raw(self, plots):
            raise NotImplementedError

        def save_files(self, directory: Path) -> dict:
            tok.save(str(directory / "tokenizer.json"))
            ids = torch.tensor([[4, 5, 6], [4, 5, 0]])
            torch.onnx.export(
                net, (ids, (ids > 0).long()), str(directory / "model.onnx"),
                input_names=["input_ids", "attention_mask"], output_names=["probs"],
                dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                              "probs": {0: "b"}},
                opset_version=17, dynamo=False,
            )  # fmt: skip
            return {
                "onnx": "model.onnx",
                "tokenizer": {"type": "wordpiece", "file": "tokenizer.json", "max_len": 8},
            }

        @classmethod
        def load_files(cls, directory, config, labels):
            raise NotImplementedError

    out = save_bundle(Exported(["Horror", "Romance", "Science Fiction"]), tmp_path / "minilm")
    return out, net, tok


def test_wordpiece_tokenizer_bundles(tmp_path: Path) -> None:
    import torch

    path, net, tok = _wordpiece_bundle(tmp_path)
    model = load_bundle(path)
    assert model.kind == "minilm" and model.max_words == 8
    plots = ["The ghost house", "love love alien", "a " * 20 + "ghost", ""]
    got = model.predict_proba(plots)
    for plot, row in zip(plots, got, strict=True):
        ids = tok.encode(plot).ids[:8] or [1]
        with torch.no_grad():
            want = net(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0].numpy()
        np.testing.assert_allclose(row, want, atol=1e-5)


def test_export_command_adds_onnx_and_keeps_the_manifest(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from onnx_fixture import make_lstm_bundle

    bundle = make_lstm_bundle(tiny_corpus, tmp_path / "lstm", with_onnx=False)
    before = json.loads((bundle / "bundle.json").read_text())
    assert "onnx" not in before["config"] and not (bundle / "model.onnx").exists()
    native_probs = load_bundle(bundle).predict_proba(_plots(tiny_corpus, 30))

    assert main(["export", "--model", str(bundle), "--onnx", "--check-data", str(tiny_corpus)]) == 0
    out = capsys.readouterr().out
    assert "ONNX vs PyTorch max abs diff" in out
    diff = float(out.split("diff:")[1].split()[0])
    assert diff < 1e-4
    after = json.loads((bundle / "bundle.json").read_text())
    assert after["config"]["onnx"] == "model.onnx"
    for key in ("fingerprint", "metrics", "thresholds", "labels", "min_genres", "model_type"):
        assert after[key] == before[key]
    model = load_bundle(bundle)
    assert type(model).__name__ == "OnnxGenreModel"
    assert np.max(np.abs(model.predict_proba(_plots(tiny_corpus, 30)) - native_probs)) < 1e-5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lstm"]  # no staging left behind


def test_export_refuses_models_without_onnx(
    tfidf_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "tfidf"
    shutil.copytree(tfidf_bundle, copy)
    assert main(["export", "--model", str(copy), "--onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no ONNX export" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in tfidf_bundle.iterdir())


@pytest.mark.slow
@pytest.mark.shared_data
def test_onnx_parity_on_the_corpus_test_split(corpus_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from onnx_fixture import make_lstm_bundle

    from moviegenre.bundle.bundle import default_model_path

    rows = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines()]
    test_plots = [r["overview"] for r in rows if r["split"] == "test"]
    assert len(test_plots) > 1000
    bundles = [make_lstm_bundle(corpus_path, tmp_path / "lstm")]
    default = default_model_path()
    if (default / "bundle.json").is_file():
        config = json.loads((default / "bundle.json").read_text())["config"]
        if config.get("onnx"):
            bundles.append(default)
    for bundle in bundles:
        a = load_bundle(bundle, runtime="onnx").predict_proba(test_plots)
        b = load_bundle(bundle, runtime="native").predict_proba(test_plots)
        assert np.max(np.abs(a - b)) < 1e-4, bundle
