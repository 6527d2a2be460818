"""Small training options the model tests share: quick to train on the tiny corpus."""

from __future__ import annotations

from pathlib import Path

GLOVE = Path(__file__).resolve().parent / "fixtures" / "glove_tiny_8d.txt"
# the BiLSTM: learns the tiny corpus in seconds on one thread
LSTM_TINY = {
    "embeddings": str(GLOVE), "hidden": 8, "epochs": 6, "batch_size": 16, "lr": 0.02,
    "embed_lr": 0.01, "patience": 3, "seed": 0, "device": "cpu", "progress": False,
    "min_count": 1,
}  # fmt: skip
# a fast teacher for distillation
TFIDF_TEACHER = {
    "type": "tfidf", "options": {"classifier": "logreg", "C": 4, "char_max_features": 0}
}  # fmt: skip
