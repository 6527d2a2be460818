"""The `catalogue` model type: the default for a catalogue's own labels, strong on small data.

Three views of a plot, each good where the others are weak, their probabilities averaged:

- a logistic regression per label on the frozen MiniLM vector of the plot (int8, ONNX Runtime,
  `moviegenre.encoders.minilm`) joined with the shipped fast model's 19 genre scores: what the
  project already knows about plots, carried over to new labels;
- a logistic regression per label on word 1-2 gram TF-IDF: the catalogue's own words and names;
- label voting among the plot's nearest training plots (cosine of the MiniLM vectors, weighted
  by exp(cosine / temperature)): rare labels with a handful of examples.

The three count alike; the defaults (C=2 on the MiniLM view, C=8 on TF-IDF, 40 neighbours at
temperature 0.1, equal weights) were chosen on a held-out sixth of Netflix's training titles
(docs/catalogue.md). Everything runs on NumPy, scikit-learn and ONNX Runtime:
no PyTorch to train or serve. The fast model's files are copied into the bundle (`prior/`), so
retraining the shipped models never changes a trained catalogue model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.encoders import minilm
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel, Predictor
from moviegenre.models.neighbours import neighbour_votes
from moviegenre.tensors import read_tensors, write_tensors

PRIORS = ("fast", "none")
PRIOR_DIR = "prior"  # where the bundle carries the fast model's files
VOCAB_FILE = "catalogue_vocab.json"
WEIGHTS_FILE = "weights.safetensors"
CONSTANT_LOGIT = 8.0  # a label absent (or everywhere) in training: a constant answer


def shipped_fast_model() -> Path:
    """The fast model's directory inside the installed package."""
    return Path(str(resources.files("moviegenre"))) / "fast_model"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _logit(probs: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(probs, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.log(clipped / (1 - clipped))


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))


def _fit_linear(
    x: Any, targets: np.ndarray, C: float, solver: str
) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per label: (labels, features) weights and (labels,) biases."""
    from sklearn.linear_model import LogisticRegression

    weights = np.zeros((targets.shape[1], x.shape[1]), dtype=np.float32)
    biases = np.zeros(targets.shape[1], dtype=np.float32)
    for column in range(targets.shape[1]):
        y = targets[:, column].astype(int)
        if y.min() == y.max():
            biases[column] = CONSTANT_LOGIT if y.max() else -CONSTANT_LOGIT
            continue
        # a label with one example still gets a (weak) model; its threshold is tuned on valid
        clf = LogisticRegression(C=C, solver=solver, max_iter=1000).fit(x, y)
        weights[column], biases[column] = clf.coef_[0], clf.intercept_[0]
    return weights, biases


class CatalogueGenreModel(GenreModel):
    """MiniLM (+ the fast model's genre scores) logistic regression, TF-IDF logistic regression
    and nearest-neighbour voting, averaged; for any label set (see the module docstring)."""

    model_type = "catalogue"

    def __init__(
        self,
        labels: Sequence[str],
        C: float = 2.0,
        tfidf_C: float = 8.0,
        min_df: int = 2,
        neighbours: int = 40,
        temperature: float = 0.1,
        weights: Sequence[float] = (1.0, 1.0, 1.0),
        prior: str = "fast",
        prior_scale: float = 0.25,
    ) -> None:
        super().__init__(labels)
        if prior not in PRIORS:
            raise MovieGenreError(f"catalogue option prior={prior!r}; expected one of {PRIORS}")
        if len(weights) != 3 or min(weights) < 0 or sum(weights) <= 0:
            raise MovieGenreError("catalogue option weights: three non-negative numbers")
        if neighbours < 1 or temperature <= 0:
            raise MovieGenreError("catalogue options: neighbours >= 1 and temperature > 0")
        self.C, self.tfidf_C, self.min_df = float(C), float(tfidf_C), int(min_df)
        self.neighbours, self.temperature = int(neighbours), float(temperature)
        self.weights = tuple(float(w) for w in weights)
        self.prior, self.prior_scale = prior, float(prior_scale)
        # learned state (fit / load_files)
        self.tensors: dict[str, np.ndarray] = {}
        self.vocabulary: list[str] = []
        self.prior_model: Predictor | None = None
        self.prior_config: dict[str, Any] = {}
        self.prior_source: Path | None = None  # the fast model's files, copied by save_files

    # ----- features ---------------------------------------------------------------------------
    def _load_prior(self, directory: Path, config: dict[str, Any], labels: list[str]) -> None:
        # the n-gram model (NumPy at prediction) sits below this type in the layers contract
        from moviegenre.models.ngram import NgramGenreModel

        self.prior_model = NgramGenreModel.load_files(directory, config, labels)
        self.prior_config = {"config": config, "labels": labels}
        self.prior_source = directory

    def _prior_features(self, plots: list[str]) -> np.ndarray:
        if self.prior == "none":
            return np.zeros((len(plots), 0), dtype=np.float32)
        if self.prior_model is None:  # fitting: the fast model shipped with this installation
            manifest = json.loads((shipped_fast_model() / "bundle.json").read_text("utf-8"))
            self._load_prior(shipped_fast_model(), manifest["config"], list(manifest["labels"]))
        assert self.prior_model is not None
        raw = self.prior_model.predict_raw(plots)
        return (_logit(raw) * self.prior_scale).astype(np.float32)

    def _embed(self, plots: list[str]) -> np.ndarray:
        return minilm.embed(plots)

    def _vectorizer(self, vocabulary: dict[str, int] | None = None, min_df: int = 1) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", min_df=min_df,
            vocabulary=vocabulary, dtype=np.float32,
        )  # fmt: skip

    def _tfidf(self, plots: list[str]) -> Any:
        vectorizer = self._vectorizer({t: i for i, t in enumerate(self.vocabulary)})
        vectorizer.idf_ = self.tensors["idf"]
        return vectorizer.transform(plots)

    # ----- training ---------------------------------------------------------------------------
    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> CatalogueGenreModel:
        plots = list(plots)
        targets = self._checked_targets(plots, targets)
        hard = (targets >= 0.5).astype(np.float32)
        vectors = minilm.embed(plots)
        joined = np.hstack([vectors, self._prior_features(plots)])
        emb_w, emb_b = _fit_linear(joined, hard, self.C, "lbfgs")
        # min_df counts training plots; a tiny catalogue may have no word twice
        min_df = self.min_df if len(plots) >= 10 * self.min_df else 1
        vectorizer = self._vectorizer(min_df=min_df)
        try:
            words = vectorizer.fit_transform(plots)
        except ValueError:  # no word at all (plots of punctuation): an empty vocabulary
            vectorizer, words = None, None
        if vectorizer is not None and words is not None:
            self.vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
            idf = vectorizer.idf_.astype(np.float32)
            tfidf_w, tfidf_b = _fit_linear(words, hard, self.tfidf_C, "liblinear")
        else:
            self.vocabulary, idf = [], np.zeros(0, dtype=np.float32)
            tfidf_w, tfidf_b = np.zeros((len(self.labels), 0), np.float32), emb_b.copy()
        self.tensors = {
            "emb_w": emb_w, "emb_b": emb_b, "idf": idf, "tfidf_w": tfidf_w, "tfidf_b": tfidf_b,
            # the neighbours: training vectors (float16 halves the bundle; cosine barely moves)
            "train_vectors": vectors.astype(np.float16), "train_labels": hard.astype(np.uint8),
        }  # fmt: skip
        return self

    # ----- prediction -------------------------------------------------------------------------
    def _neighbour_votes(self, vectors: np.ndarray) -> np.ndarray:
        train = self.tensors["train_vectors"].astype(np.float32)
        labels = self.tensors["train_labels"].astype(np.float32)
        return neighbour_votes(vectors, train, labels, self.neighbours, self.temperature)

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        if not self.tensors:
            raise MovieGenreError("this catalogue model is not fitted")
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        t = self.tensors
        vectors = self._embed(plots)
        joined = np.hstack([vectors, self._prior_features(plots)])
        parts = [_sigmoid(joined @ t["emb_w"].T + t["emb_b"])]
        logits = np.broadcast_to(t["tfidf_b"], (len(plots), len(self.labels)))
        if self.vocabulary:
            logits = np.asarray(self._tfidf(plots) @ t["tfidf_w"].T) + t["tfidf_b"]
        parts += [_sigmoid(logits), self._neighbour_votes(vectors)]
        mixed = sum(w * p for w, p in zip(self.weights, parts, strict=True)) / sum(self.weights)
        return np.asarray(mixed, dtype=np.float32)

    # ----- files ------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        if not self.tensors:
            raise MovieGenreError("cannot save an unfitted catalogue model")
        write_tensors(directory / WEIGHTS_FILE, self.tensors)
        (directory / VOCAB_FILE).write_text(json.dumps(self.vocabulary), encoding="utf-8")
        saved: dict[str, Any] = {
            "encoder": {"id": minilm.ENCODER_ID, "file": minilm.ONNX_FILE.name,
                        "sha256": minilm.encoder_checksum(), "max_length": minilm.MAX_LENGTH,
                        "overlap": minilm.OVERLAP},
        }  # fmt: skip
        if self.prior != "none":
            assert self.prior_source is not None
            (directory / PRIOR_DIR).mkdir()
            checksums = {}
            config = self.prior_config["config"]
            for name in (config["tokenizer"]["file"], config.get("weights", WEIGHTS_FILE)):
                shutil.copyfile(self.prior_source / name, directory / PRIOR_DIR / name)
                checksums[name] = _sha256(directory / PRIOR_DIR / name)
            saved["prior_model"] = {**self.prior_config, "sha256": checksums}
        return saved

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> CatalogueGenreModel:
        model = cls.from_params(labels, config)
        wanted = (config.get("encoder") or {}).get("sha256")
        if wanted and wanted != minilm.encoder_checksum():
            raise MovieGenreError(
                f"{directory}: this model was trained on another MiniLM encoder file than the "
                "installed one; install the moviegenre version it was trained with"
            )
        try:
            vocabulary = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MovieGenreError(
                f"{directory / VOCAB_FILE}: unreadable vocabulary ({exc})"
            ) from exc
        if not isinstance(vocabulary, list):
            raise MovieGenreError(f"{directory / VOCAB_FILE}: expected a JSON list of terms")
        k, v = len(labels), len(vocabulary)
        prior_width = 0
        if model.prior != "none":
            prior = config.get("prior_model") or {}
            if not isinstance(prior.get("config"), dict) or not isinstance(
                prior.get("labels"), list
            ):
                raise MovieGenreError(f"{directory}: the carried fast model's config is missing")
            model._load_prior(directory / PRIOR_DIR, prior["config"], list(prior["labels"]))
            prior_width = len(prior["labels"])
        expected = {
            "emb_w": (k, minilm.EMBEDDING_DIM + prior_width), "emb_b": (k,), "idf": (v,),
            "tfidf_w": (k, v), "tfidf_b": (k,),
        }  # fmt: skip
        model.tensors = read_tensors(directory / WEIGHTS_FILE, expected)
        train = model.tensors.get("train_vectors")
        votes = model.tensors.get("train_labels")
        if (
            train is None
            or votes is None
            or train.shape[1:] != (minilm.EMBEDDING_DIM,)
            or (votes.shape != (train.shape[0], k))
        ):
            raise MovieGenreError(f"{directory / WEIGHTS_FILE}: neighbour tables missing or wrong")
        model.vocabulary = vocabulary
        return model
