"""The `minilm` model type: frozen all-MiniLM-L6-v2 plot vectors and a trained genre head."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.evaluation.metrics import tuned_micro_f1
from moviegenre.models.base import GenreModel
from moviegenre.models.minilm import heads
from moviegenre.models.minilm.encoder import (
    EMBEDDING_DIM,
    ENCODER_ID,
    ENCODER_PACKAGE,
    MAX_LENGTH,
    OVERLAP,
    check_window,
    embed_plots,
    encoder_config,
    encoder_dir,
    encoder_version,
    frozen_pooler,
    load_tokenizer,
)
from moviegenre.models.vector_cache import cached_vectors
from moviegenre.torch_device import resolve_device

log = logging.getLogger(__name__)

HEADS = ("auto", "logreg", "mlp")
LOGREG_C_GRID = (0.5, 2.0, 8.0)  # searched when head="auto"


class MiniLMGenreModel(GenreModel):
    """all-MiniLM-L6-v2 plot vectors (long plots read in overlapping chunks), encoder frozen, and a
    genre head: "logreg" (class-balanced logistic regression per genre), "mlp" (one hidden layer
    with dropout, trained through the PyTorch loop) or "auto" (both, kept by valid micro-F1).

    Only the head is trained and stored; the encoder comes from its package. cache_dir: keep
    embeddings there between runs (a run setting; off unless given).
    """

    model_type = "minilm"
    run_settings = frozenset({"device", "cache_dir"})

    def __init__(
        self,
        labels: Sequence[str],
        head: str = "auto",
        hidden: int = 1024,
        epochs: int | None = None,
        lr: float | None = None,
        C: float = 2.0,
        dropout: float = 0.5,
        seed: int = 0,
        max_length: int = MAX_LENGTH,
        overlap: int = OVERLAP,
        device: str = "auto",
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(labels)
        if head not in HEADS:
            raise MovieGenreError(
                f"minilm option head={head!r}; expected one of {', '.join(HEADS)}"
            )
        check_window(max_length, overlap)
        self.head, self.hidden, self.epochs, self.lr = head, int(hidden), epochs, lr
        self.C, self.dropout, self.seed = float(C), float(dropout), int(seed)
        self.max_length, self.overlap = int(max_length), int(overlap)
        self.device, self.cache_dir = device, cache_dir
        self.head_kind = "linear"  # learned: which head won, "linear" or "mlp"
        self.weights: dict[str, np.ndarray] = {}  # learned: the head, as arrays

    # ----- plot vectors -------------------------------------------------------------------------
    def _settings_key(self) -> str:
        settings = f"{ENCODER_ID}|{encoder_version()}|{self.max_length}|{self.overlap}|mean|l2"
        return hashlib.sha256(settings.encode()).hexdigest()[:16]

    def embed(self, plots: Sequence[str]) -> np.ndarray:
        """(n, 384) L2-normalised plot vectors from the frozen packaged encoder."""

        def encode(texts: list[str]) -> np.ndarray:
            path = str(encoder_dir())
            pooler = frozen_pooler(path).to(resolve_device(self.device))
            return embed_plots(
                pooler, load_tokenizer(path), texts, self.max_length, self.overlap,
                progress=len(texts) > 256,
            )  # fmt: skip

        plots = list(plots)
        if self.cache_dir is None:
            return encode(plots) if plots else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return cached_vectors(self.cache_dir, self._settings_key(), EMBEDDING_DIM, plots, encode)

    # ----- heads ------------------------------------------------------------------------------
    def _fit_logreg(self, x: np.ndarray, targets: np.ndarray, C: float) -> dict[str, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        coefs, intercepts = [], []
        for column in range(targets.shape[1]):
            y = targets[:, column]
            if y.min() == y.max():  # a genre absent (or everywhere) in training: constant answer
                coefs.append(np.zeros(x.shape[1]))
                intercepts.append(8.0 if y.max() else -8.0)
                continue
            clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
            clf.fit(x, y)
            coefs.append(clf.coef_[0])
            intercepts.append(clf.intercept_[0])
        return {"w": np.asarray(coefs, np.float32), "b": np.asarray(intercepts, np.float32)}

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> MiniLMGenreModel:
        targets = np.asarray(targets, dtype=np.float32)
        x = self.embed(plots)
        has_valid = valid_plots is not None and valid_targets is not None and len(valid_plots) > 0
        valid = (
            (self.embed(valid_plots), np.asarray(valid_targets, np.float32)) if has_valid else None
        )
        candidates: list[tuple[str, str, dict[str, np.ndarray]]] = []
        if self.head in ("auto", "logreg"):
            grid = LOGREG_C_GRID if self.head == "auto" and has_valid else (self.C,)
            for C in grid:
                candidates.append(("linear", f"logreg C={C}", self._fit_logreg(x, targets, C)))
        if self.head in ("auto", "mlp"):
            weights = heads.fit_mlp(
                x, targets, valid, tuned_micro_f1, hidden=self.hidden, dropout=self.dropout,
                lr=self.lr or 1e-3, epochs=self.epochs or 200, seed=self.seed,
            )  # fmt: skip
            candidates.append(("mlp", f"mlp hidden={self.hidden}", weights))
        self.head_kind, name, self.weights = candidates[0]
        if len(candidates) > 1:
            assert valid is not None
            best_score = -1.0
            for kind, name, weights in candidates:
                score = tuned_micro_f1(heads.sigmoid(heads.head_logits(kind, weights, valid[0])),
                                       valid[1])  # fmt: skip
                log.info("minilm head %s: valid micro-F1 %.4f", name, score)
                if score > best_score:
                    best_score, (self.head_kind, chosen, self.weights) = (
                        score,
                        (kind, name, weights),
                    )
            self.metadata["head_selected"] = chosen
        return self

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        if not self.weights:
            raise MovieGenreError("this MiniLM model is not fitted")
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return heads.sigmoid(heads.head_logits(self.head_kind, self.weights, self.embed(plots)))

    # ----- files ------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        if not self.weights:
            raise MovieGenreError("cannot save an unfitted MiniLM model")
        heads.save_head(directory, self.weights)
        return {
            "head_kind": self.head_kind,
            "encoder": encoder_config(self.max_length, self.overlap, weights="package"),
        }

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> MiniLMGenreModel:
        model = cls.from_params(labels, config)
        model.head_kind = config.get("head_kind", "linear")
        model.weights = heads.load_head(
            directory, model.head_kind, len(labels), model.hidden, EMBEDDING_DIM
        )
        wanted = (config.get("encoder") or {}).get("package_version")
        if wanted and wanted != encoder_version():
            raise MovieGenreError(
                f"{directory}: this bundle was trained on {ENCODER_PACKAGE} {wanted}, but "
                f"{encoder_version()} is installed; pip install {ENCODER_PACKAGE}=={wanted}"
            )
        return model
