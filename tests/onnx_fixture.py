"""Builds a small LSTM bundle with an ONNX export (random seeded weights) for the ONNX tests."""

from __future__ import annotations

import json
from pathlib import Path


def make_lstm_bundle(corpus: Path, out: Path, with_onnx: bool = True) -> Path:
    """An untrained, deterministic LSTM bundle over the corpus vocabulary (save_bundle).

    Random weights are enough to compare runtimes; scaling them up makes the outputs spread over
    (0, 1) so a runtime mismatch would show.
    """
    import torch

    from moviegenre.bundle import save_bundle
    from moviegenre.models.lstm import BiLSTMNet, LSTMGenreModel
    from moviegenre.text.tokenizer import Vocabulary

    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    labels = sorted({g for row in rows for g in row["genres"]})
    vocab = Vocabulary.fit([row["overview"] for row in rows], min_count=1)
    torch.manual_seed(0)
    model = LSTMGenreModel(labels, hidden=8, max_len=40, with_onnx=with_onnx, device="cpu")
    net = BiLSTMNet(len(vocab), 16, 8, len(labels), dropout=0.0)
    with torch.no_grad():
        for param in net.parameters():
            param.mul_(3.0)
        weight = net.embedding.weight  # the bundle stores fp16 embeddings; round like fit() does
        weight.copy_(weight.to(torch.float16).to(weight.dtype))
    model.vocab, model.net, model.embed_dim = vocab, net.eval(), 16
    model.thresholds[:] = 0.5
    save_bundle(model, out, {"fingerprint": {"fixture": True}, "metrics": {"test": {"f1": 0.5}}})
    return out
