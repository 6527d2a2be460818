"""The `minilm-head` model type: an MLP and nearest-neighbour votes on frozen int8 MiniLM vectors.

Plots are read whole by the ONNX MiniLM of `moviegenre.encoders.minilm` (no PyTorch). Two views
of the vector, averaged with `knn_weight`:

- a one-hidden-layer MLP (ReLU, one sigmoid per genre) trained with scikit-learn, its weights
  stored as safetensors and run in NumPy;
- genre votes of the `neighbours` nearest training plots (cosine, weights exp(cosine / T)); the
  training vectors are kept as int8 (cosine error under 0.01) to keep the bundle small.

The `best` tier's MiniLM member (benchmarks/best_tier.py chose the views and the weight on valid).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.encoders import minilm
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.models.neighbours import neighbour_votes
from moviegenre.tensors import read_tensors, write_tensors

WEIGHTS_FILE = "head.safetensors"
INT8_SCALE = 127.0  # the vectors are L2-normalised: every component is in [-1, 1]


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))


class MiniLMHeadGenreModel(GenreModel):
    """MLP + nearest-neighbour votes on frozen MiniLM vectors (see the module docstring)."""

    model_type = "minilm-head"
    run_settings = frozenset({"cache_dir"})

    def __init__(
        self,
        labels: Sequence[str],
        hidden: int = 512,
        neighbours: int = 40,
        temperature: float = 0.1,
        knn_weight: float = 0.6,
        seed: int = 0,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__(labels)
        if hidden < 1 or neighbours < 1 or temperature <= 0 or not 0 <= knn_weight <= 1:
            raise MovieGenreError(
                "minilm-head options: hidden >= 1, neighbours >= 1, temperature > 0, "
                "0 <= knn_weight <= 1"
            )
        self.hidden, self.neighbours = int(hidden), int(neighbours)
        self.temperature, self.knn_weight, self.seed = float(temperature), float(knn_weight), seed
        self.cache_dir = cache_dir  # encoder outputs kept between training runs (never serving)
        self.tensors: dict[str, np.ndarray] = {}
        self._train: tuple[np.ndarray, np.ndarray] | None = None  # float32 neighbours and labels

    # ----- vectors ------------------------------------------------------------------------------
    def _embed(self, plots: list[str]) -> np.ndarray:
        if self.cache_dir is None:
            return minilm.embed(plots)
        # one vector per plot text, kept across calls and runs (the frozen MiniLM's store): the
        # folds of a cross-fitted teacher and the rebuilds of a tier encode each plot once
        from moviegenre.models.vector_cache import cached_vectors

        settings = f"minilm-int8-{minilm.encoder_checksum()[:12]}-texts"
        return cached_vectors(self.cache_dir, settings, minilm.EMBEDDING_DIM, plots, minilm.embed)

    # ----- training -----------------------------------------------------------------------------
    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> MiniLMHeadGenreModel:
        return self.fit_vectors(self._embed(list(plots)), targets)

    def fit_vectors(self, vectors: np.ndarray, targets: np.ndarray) -> MiniLMHeadGenreModel:
        """Fit on MiniLM vectors already computed (an (n, 384) array) and 0/1 targets."""
        from sklearn.neural_network import MLPClassifier

        hard = (np.asarray(targets) >= 0.5).astype(np.int8)
        mlp = MLPClassifier(
            hidden_layer_sizes=(self.hidden,), alpha=1e-3, batch_size=min(128, len(vectors)),
            learning_rate_init=1e-3, max_iter=60, early_stopping=True, validation_fraction=0.1,
            n_iter_no_change=4, random_state=self.seed,
        ).fit(vectors, hard)  # fmt: skip
        self._train = None
        self.tensors = {
            "w1": mlp.coefs_[0].astype(np.float32), "b1": mlp.intercepts_[0].astype(np.float32),
            "w2": mlp.coefs_[1].astype(np.float32), "b2": mlp.intercepts_[1].astype(np.float32),
            "train_vectors": np.round(vectors * INT8_SCALE).astype(np.int8),
            "train_labels": hard.astype(np.uint8),
        }  # fmt: skip
        return self

    # ----- prediction ---------------------------------------------------------------------------
    def _votes(self, vectors: np.ndarray) -> np.ndarray:
        if self._train is None:  # unpacked once per process (43 MB for 28,000 plots)
            self._train = (
                self.tensors["train_vectors"].astype(np.float32) / INT8_SCALE,
                self.tensors["train_labels"].astype(np.float32),
            )
        train, labels = self._train
        return neighbour_votes(vectors, train, labels, self.neighbours, self.temperature, 256)

    def proba_from_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """(n, labels) scores from MiniLM vectors."""
        t = self.tensors
        hidden = np.maximum(vectors @ t["w1"] + t["b1"], 0.0)
        mlp = _sigmoid(hidden @ t["w2"] + t["b2"])
        mixed = (1 - self.knn_weight) * mlp + self.knn_weight * self._votes(vectors)
        return mixed.astype(np.float32)

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        if not self.tensors:
            raise MovieGenreError("this minilm-head model is not fitted")
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.proba_from_vectors(self._embed(plots))

    # ----- files --------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden, "neighbours": self.neighbours,
            "temperature": self.temperature, "knn_weight": self.knn_weight, "seed": self.seed,
        }  # fmt: skip

    def save_files(self, directory: Path) -> dict[str, Any]:
        if not self.tensors:
            raise MovieGenreError("cannot save an unfitted minilm-head model")
        write_tensors(directory / WEIGHTS_FILE, self.tensors)
        return {
            "weights": WEIGHTS_FILE,
            "train_rows": int(len(self.tensors["train_labels"])),
            "encoder": {"id": minilm.ENCODER_ID, "file": minilm.ONNX_FILE.name,
                        "sha256": minilm.encoder_checksum(), "max_length": minilm.MAX_LENGTH,
                        "overlap": minilm.OVERLAP},
        }  # fmt: skip

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> MiniLMHeadGenreModel:
        model = cls.from_params(labels, config)
        assert isinstance(model, MiniLMHeadGenreModel)
        wanted = (config.get("encoder") or {}).get("sha256")
        if wanted and wanted != minilm.encoder_checksum():
            raise MovieGenreError(
                f"{directory}: this model was trained on another MiniLM encoder file than the "
                "installed one; install the moviegenre version it was trained with"
            )
        rows, k, d = int(config.get("train_rows", 0)), len(labels), minilm.EMBEDDING_DIM
        model.tensors = read_tensors(
            directory / str(config.get("weights", WEIGHTS_FILE)),
            {"w1": (d, model.hidden), "b1": (model.hidden,), "w2": (model.hidden, k), "b2": (k,),
             "train_vectors": (rows, d), "train_labels": (rows, k)},
        )  # fmt: skip
        return model
