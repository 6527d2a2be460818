"""Integrated gradients: exact on a linear bag-of-embeddings net, complete on the BiLSTM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from torch import nn  # noqa: E402

from moviegenre.cli.main import main  # noqa: E402
from moviegenre.errors import MovieGenreError  # noqa: E402
from moviegenre.explain.gradients import explain_gradients, supports_gradients  # noqa: E402
from moviegenre.explain.occlusion import explain  # noqa: E402
from moviegenre.models.base import Predictor, TokenGradients  # noqa: E402
from moviegenre.text.tokenizer import PAD, UNK, Vocabulary, plot_words  # noqa: E402

LABELS = ["Horror", "Romance"]
TOKENS = [PAD, UNK, "ghost", "love", "the", "house", "n't", "do"]


class BagNet(nn.Module):
    """logits = W . sum of token embeddings: linear, so integrated gradients are exact."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(TOKENS), 2, padding_idx=0)
        self.out = nn.Linear(2, len(LABELS), bias=True)
        with torch.no_grad():
            table = {UNK: [0.1, 0.1], "ghost": [3.0, 0.0], "love": [0.0, 2.0], "the": [0.0, 0.0],
                     "house": [0.5, -0.5], "n't": [-1.0, 0.0], "do": [0.0, 0.0]}  # fmt: skip
            for token, vector in table.items():
                self.embedding.weight[TOKENS.index(token)] = torch.tensor(vector)
            self.out.weight.copy_(torch.eye(2))
            self.out.bias.fill_(-1.0)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out((self.embedding(ids) * mask.unsqueeze(-1)).sum(dim=1))


class BagModel(Predictor, TokenGradients):
    """A predictor declaring the capability `explain_gradients` needs: net, embedding, vocab."""

    def __init__(self, max_len: int = 100) -> None:
        super().__init__(LABELS)
        self.net, self.vocab, self.max_len = BagNet(), Vocabulary(TOKENS), max_len

    def gradient_parts(self):
        return self.net, self.net.embedding, self.vocab, self.max_len

    def predict_raw(self, plots):
        ids, mask = self.vocab.encode_batch(plots, self.max_len)
        with torch.no_grad():
            logits = self.net(torch.from_numpy(ids), torch.from_numpy(mask))
        return torch.sigmoid(logits).numpy()


def test_linear_net_attributions_are_exact() -> None:
    plot = "The ghost, the (love) house... ghost!"
    result = explain_gradients(BagModel(), plot, steps=8)
    assert list(result) == LABELS and result.method == "gradients" and result.scale == "logit"
    assert [w for w, _ in result["Horror"]] == plot_words(plot)
    # Edge punctuation is read by the model (unknown id, +0.1 each) but belongs to no word.
    assert [w for _, w in result["Horror"]] == pytest.approx([0, 3, 0, 0, 0.5, 3], abs=1e-4)
    assert [w for _, w in result["Romance"]] == pytest.approx([0, 0, 0, 2, -0.5, 0], abs=1e-4)


def test_word_with_several_tokens_sums_them() -> None:
    result = explain_gradients(BagModel(), "ghost don't", genres=["Horror"])
    assert list(result) == ["Horror"]
    assert result["Horror"] == [("ghost", pytest.approx(3.0, abs=1e-4)),
                                ("don't", pytest.approx(-1.0, abs=1e-4))]  # fmt: skip


def test_token_limit_and_empty_plots() -> None:
    model = BagModel(max_len=3)
    result = explain_gradients(model, "ghost love house ghost love")
    assert [w for w, _ in result["Horror"]] == ["ghost", "love", "house"]
    assert result.truncated and result.total_words == 5
    for plot in ("", "... !!", "  "):
        assert explain_gradients(model, plot) == {"Horror": [], "Romance": []}


def test_models_without_embeddings_are_refused(tfidf_bundle: Path) -> None:
    from moviegenre.api import load_model

    model = load_model(tfidf_bundle)
    assert not supports_gradients(model) and supports_gradients(BagModel())
    with pytest.raises(MovieGenreError, match="occlusion"):
        explain_gradients(model, "a ghost")
    with pytest.raises(MovieGenreError, match="steps"):
        explain_gradients(BagModel(), "a ghost", steps=1)


@pytest.fixture(scope="module")
def tiny_lstm():
    """The real BiLSTM network with small random weights (no training: only the maths matters)."""
    from moviegenre.models.lstm import BiLSTMNet, LSTMGenreModel

    torch.manual_seed(0)
    model = LSTMGenreModel(LABELS, hidden=6, device="cpu", with_onnx=False, progress=False)
    model.vocab = Vocabulary(TOKENS)
    model.embed_dim = 4
    model.net = BiLSTMNet(len(TOKENS), 4, 6, len(LABELS)).eval()
    return model


def test_lstm_attributions_add_up_to_the_logit_change(tiny_lstm) -> None:
    plot = "the ghost love house do the ghost"
    result = explain_gradients(tiny_lstm, plot, steps=64)
    ids, mask = tiny_lstm.vocab.encode_batch([plot], 100)
    with torch.no_grad():
        logits = tiny_lstm.net(torch.from_numpy(ids), torch.from_numpy(mask))[0]
        empty = tiny_lstm.net(torch.zeros_like(torch.from_numpy(ids)), torch.from_numpy(mask))[0]
    for g, genre in enumerate(LABELS):
        total = sum(w for _, w in result[genre])
        # Integrated gradients' completeness: every token is a word here, so the words carry it all.
        assert total == pytest.approx(float(logits[g] - empty[g]), abs=0.02)
    assert not tiny_lstm.net.training


def test_lstm_occlusion_and_cli(tiny_lstm, tmp_path: Path, capsys) -> None:
    from moviegenre.bundle import save_bundle

    plot = "ghost love the house"
    assert len(explain(tiny_lstm, plot)["Romance"]) == 4  # occlusion works on any model
    bundle = save_bundle(tiny_lstm, tmp_path / "lstm")
    code = main(["explain", "--model", str(bundle), "--method", "gradients", "--json", plot])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["method"] == "gradients"
    direct = explain_gradients(tiny_lstm, plot)
    for genre in LABELS:
        got = [w for _, w in payload["explanation"][genre]]
        assert got == pytest.approx([w for _, w in direct[genre]], abs=1e-3)
    code = main(["explain", "--model", str(bundle), "--method", "gradients", "--top", "1", plot])
    out = capsys.readouterr().out
    assert code == 0 and "Method: gradients" in out and out.count("[[") == out.count("]]") >= 1
