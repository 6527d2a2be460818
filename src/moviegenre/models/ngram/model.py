"""The `ngram` model type: the hyper-parameters, prediction (NumPy, through `kernels`), files;
`fit` hands the learning to `training` (PyTorch, imported only then)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.models.ngram.encoder import NgramEncoder
from moviegenre.models.ngram.kernels import logits, prepared
from moviegenre.tensors import dequantize_rows, quantize_rows, read_tensors, write_tensors
from moviegenre.text.embeddings import DEFAULT_EMBEDDINGS

WEIGHTS = "weights.safetensors"
VOCAB = "vocab.json"


class NgramGenreModel(GenreModel):
    """Mean word and word-pair embeddings (GloVe-initialised) -> one hidden layer -> sigmoids."""

    model_type = "ngram"
    accepts_soft_targets = True
    run_settings = frozenset({"device", "checkpoint_dir", "resume", "progress"})

    def __init__(
        self,
        labels: Sequence[str],
        *,
        embeddings: str | None = None,
        glove_words: int = 50000,
        min_count: int = 1,
        min_pair_count: int = 2,
        max_pairs: int = 200000,
        hidden: int = 512,
        filters: int = 0,
        word_weights: bool = False,
        dropout: float = 0.5,
        token_dropout: float = 0.1,
        lr: float = 2e-3,
        embed_lr: float = 2e-3,
        weight_decay: float = 0.01,
        batch_size: int = 32,
        epochs: int = 40,
        patience: int = 4,
        pos_weight_power: float = 0.5,
        pos_weight_max: float = 10.0,
        half: bool = True,
        int8_tables: bool = False,
        seed: int = 0,
        device: str = "cpu",
        checkpoint_dir: str | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        super().__init__(labels)
        self.embeddings, self.glove_words = embeddings, int(glove_words)
        self.min_count, self.min_pair_count = int(min_count), int(min_pair_count)
        self.max_pairs = int(max_pairs)
        self.filters = int(filters)
        # a learned score per word and pair: each plot's mean weights its tokens by softmax(score)
        # (a learned IDF: "the" can count for less than "vampire")
        self.word_weights = bool(word_weights)
        self.hidden, self.dropout, self.token_dropout = (
            int(hidden),
            float(dropout),
            float(token_dropout),
        )
        self.lr, self.embed_lr, self.weight_decay = float(lr), float(embed_lr), float(weight_decay)
        self.batch_size, self.epochs, self.patience = int(batch_size), int(epochs), int(patience)
        self.pos_weight_power, self.pos_weight_max = float(pos_weight_power), float(pos_weight_max)
        # float16 tables halve the bundle; weights are rounded right after training so thresholds
        # are tuned on exactly what is saved
        self.half = bool(half)
        # int8 rows with a scale each: half the bytes again (the word and pair tables are most
        # of the bundle); rounded right after training too
        self.int8_tables = bool(int8_tables)
        self.seed, self.device = int(seed), device
        self.checkpoint_dir, self.resume, self.progress = checkpoint_dir, bool(resume), progress
        self.encoder: NgramEncoder | None = None
        self.arrays: dict[str, np.ndarray] = {}  # float32 copies used by predict_proba
        self._prepared: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None
        self.training_info: dict[str, Any] = {}

    # --- vocabulary ----------------------------------------------------------------------------

    # --- prediction (NumPy) --------------------------------------------------------------------

    def _check(self) -> NgramEncoder:
        if self.encoder is None or not self.arrays:
            raise MovieGenreError("this n-gram model is not fitted")
        return self.encoder

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        encoder = self._check()
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        found = logits(self._prediction_arrays(), encoder.encode(plots))
        return (1.0 / (1.0 + np.exp(-np.clip(found, -50.0, 50.0)))).astype(np.float32)

    def _prediction_arrays(self) -> dict[str, np.ndarray]:
        # derived once per set of weights (refitting or loading replaces `arrays`)
        if self._prepared is None or self._prepared[0] is not self.arrays:
            self._prepared = (self.arrays, prepared(self.arrays))
        return self._prepared[1]

    @property
    def max_words(self) -> int | None:
        return None  # every token is read; cost grows with the plot's length only

    # --- training (PyTorch, in `training`) -----------------------------------------------------

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> NgramGenreModel:
        from moviegenre.models.ngram.training import fit_network

        plots = list(plots)
        targets = self._checked_targets(plots, targets)
        self.encoder, self.arrays, self.training_info = fit_network(
            self, plots, targets, valid_plots, valid_targets
        )
        return self

    # --- files ---------------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        # the GloVe file's name, not a path on the training machine
        params["embeddings"] = Path(self.embeddings).name if self.embeddings else DEFAULT_EMBEDDINGS
        return params

    def save_files(self, directory: Path) -> dict[str, Any]:
        encoder = self._check()
        directory = Path(directory)
        table_dtype = np.float16 if self.half else np.float32
        tensors = {k: v for k, v in self.arrays.items()}
        for table in ("word_table", "pair_table"):
            if self.int8_tables:
                tensors[table], tensors[f"{table}_scale"] = quantize_rows(tensors[table])
            else:
                tensors[table] = tensors[table].astype(table_dtype)
        tensors["pair_keys"] = encoder.pair_keys
        write_tensors(directory / WEIGHTS, tensors)
        os.chmod(directory / WEIGHTS, 0o644)  # safetensors writes a private temp file; share it
        (directory / VOCAB).write_text(json.dumps(encoder.words), encoding="utf-8")
        config: dict[str, Any] = {
            "weights": WEIGHTS,
            "tokenizer": {"type": "ngram", "file": VOCAB},
            "vocab_size": len(encoder.words),
            "pairs": len(encoder.pair_keys),
            "dim": int(self.arrays["word_table"].shape[1]),
            "training": dict(self.training_info),
        }
        return config

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> NgramGenreModel:
        directory = Path(directory)
        try:
            vocab_size, pairs = int(config["vocab_size"]), int(config["pairs"])
            dim, hidden = int(config["dim"]), int(config["hidden"])
            vocab_file = directory / config["tokenizer"]["file"]
        except (KeyError, TypeError, ValueError) as exc:
            raise MovieGenreError(f"{directory}: n-gram config is incomplete ({exc})") from exc
        try:
            words = json.loads(vocab_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MovieGenreError(f"{vocab_file}: unreadable vocabulary ({exc})") from exc
        if not isinstance(words, list) or len(words) != vocab_size:
            raise MovieGenreError(f"{vocab_file}: expected a list of {vocab_size} words")
        k = len(labels)
        expected = {
            "word_table": (vocab_size, dim), "pair_table": (max(pairs, 1), dim),
            "pair_keys": (pairs,), "w1_words": (dim, hidden), "w1_pairs": (dim, hidden),
            "b1": (hidden,), "w2": (hidden, k), "b2": (k,),
        }  # fmt: skip
        if config.get("word_weights"):
            expected |= {"word_score": (vocab_size,), "pair_score": (max(pairs, 1),)}
        filters = int(config.get("filters", 0))
        if filters:
            expected |= {"conv_w": (3 * dim, filters), "conv_b": (filters,),
                         "w1_conv": (filters, hidden)}  # fmt: skip
        if config.get("int8_tables"):
            expected |= {"word_table_scale": (vocab_size,), "pair_table_scale": (max(pairs, 1),)}
        tensors = read_tensors(directory / config.get("weights", WEIGHTS), expected)
        if config.get("int8_tables"):
            for table in ("word_table", "pair_table"):
                tensors[table] = dequantize_rows(tensors[table], tensors.pop(f"{table}_scale"))
        model = cls.from_params(labels, config)
        model.encoder = NgramEncoder(words, tensors["pair_keys"])
        model.arrays = {
            name: np.ascontiguousarray(tensors[name], dtype=np.float32)
            for name in expected
            if name in tensors and name != "pair_keys"
        }
        model.training_info = dict(config.get("training") or {})
        return model
