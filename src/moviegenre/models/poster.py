"""The `poster` model type: one logistic regression per genre over the image network's features."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.images.features import FEATURES, PosterEncoder
from moviegenre.models.base import Assembled
from moviegenre.movie import POSTER, Movie, Scored
from moviegenre.tensors import read_tensors, write_tensors

NETWORK_FILE = "network.onnx"
HEAD_FILE = "head.safetensors"
_POSTERS_ONLY = (
    "this model reads posters only; give one for every movie: predict_proba(plots, posters=[...])"
)


def as_pictures(posters: Sequence[Any]) -> list[np.ndarray]:
    """Decoded RGB pictures from posters given as arrays, bytes or file paths."""
    from moviegenre.images.reader import read_poster

    return [p if isinstance(p, np.ndarray) else read_poster(p) for p in posters]


class PosterGenreModel(Assembled):
    """Genres from a poster: frozen EfficientNet-Lite0 features (ONNX Runtime) and a linear head.

    Trained from a poster index (`moviegenre train --model-type poster`, see
    `training/poster_models.py`): features are standardised, then each genre gets its own
    L2-regularised logistic regression, fitted on the posters whose label source knows that genre.
    An `Assembled` model, not a `GenreModel`: it learns from image features (`fit_features`),
    never from plots, and its image network is trained elsewhere.
    """

    model_type = "poster"
    inputs = ("poster",)
    # where the image network file is: the bundle stores the file itself, not this path
    run_settings = frozenset({"network"})

    def __init__(self, labels: Sequence[str], C: float = 0.003, network: str | None = None) -> None:
        super().__init__(labels)
        self.C = float(C)
        self.network = network
        self.encoder = PosterEncoder(network) if network else None
        self.mean = np.zeros(FEATURES, dtype=np.float32)
        self.scale = np.ones(FEATURES, dtype=np.float32)
        self.coef: np.ndarray | None = None  # (labels, features)
        self.intercept: np.ndarray | None = None  # (labels,)

    # ----- training ------------------------------------------------------------------------------
    def fit_features(
        self, features: np.ndarray, targets: np.ndarray, known: np.ndarray | None = None
    ) -> PosterGenreModel:
        """Fit the head on (n, 1280) features and (n, labels) 0/1 targets.

        known: (n, labels) booleans, False where a poster's label source cannot name that genre
        (MovieLens has no History or TV Movie): such posters are left out of that genre's fit
        rather than counted as negatives.
        """
        from sklearn.linear_model import LogisticRegression

        features = np.asarray(features, dtype=np.float64)
        known = np.ones(targets.shape, dtype=bool) if known is None else known.astype(bool)
        self.mean = features.mean(axis=0).astype(np.float32)
        self.scale = (features.std(axis=0) + 1e-6).astype(np.float32)
        x = (features - self.mean) / self.scale
        coef = np.zeros((len(self.labels), FEATURES), dtype=np.float32)
        intercept = np.full(len(self.labels), -10.0, dtype=np.float32)  # unseen genre: never
        for j in range(len(self.labels)):
            rows = known[:, j]
            y = targets[rows, j] > 0.5
            if y.all() or not y.any():
                continue
            head = LogisticRegression(C=self.C, max_iter=500, tol=1e-3)
            head.fit(x[rows], y)
            coef[j], intercept[j] = head.coef_[0], head.intercept_[0]
        self.coef, self.intercept = coef, intercept
        return self

    # ----- prediction ----------------------------------------------------------------------------
    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities from (n, 1280) image features (calibrated when the model has
        a calibrator)."""
        if self.coef is None or self.intercept is None:
            raise MovieGenreError("this poster model is not fitted")
        x = (np.asarray(features, dtype=np.float32) - self.mean) / self.scale
        logits = x @ self.coef.T + self.intercept
        probs = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
        return probs if self.calibrator is None else self.calibrator.transform(probs)

    def features(self, posters: Sequence[Any]) -> np.ndarray:
        if self.encoder is None:
            raise MovieGenreError("this poster model has no image network")
        return self.encoder.encode(as_pictures(posters))

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        raise MovieGenreError(_POSTERS_ONLY)  # plots alone say nothing to this model

    def predict_movies(self, movies: Sequence[Movie]) -> Scored:
        """Probabilities from the movies' posters (arrays, bytes or file paths); plots are not
        read."""
        if any(movie.poster is None for movie in movies):
            raise MovieGenreError(_POSTERS_ONLY)
        if not movies:
            return Scored(np.zeros((0, len(self.labels)), dtype=np.float32), [])
        probs = self.proba_from_features(self.features([movie.poster for movie in movies]))
        return Scored(probs, [(POSTER,)] * len(movies))

    # ----- files ---------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        if self.coef is None or self.intercept is None or self.encoder is None:
            raise MovieGenreError("cannot save an unfitted poster model")
        shutil.copyfile(self.encoder.path, directory / NETWORK_FILE)
        write_tensors(directory / HEAD_FILE, {
            "mean": self.mean, "scale": self.scale, "coef": self.coef,
            "intercept": self.intercept,
        })  # fmt: skip
        return {"network": NETWORK_FILE, "network_name": "efficientnet-lite0"}

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> PosterGenreModel:
        directory = Path(directory)
        network = directory / str(config.get("network") or NETWORK_FILE)
        if network.parent != directory:
            raise MovieGenreError(f"{directory}: the image network must sit inside the bundle")
        model = cls.from_params(labels, config)
        model.network = str(network)
        model.encoder = PosterEncoder(network)
        n = len(labels)
        head = read_tensors(directory / HEAD_FILE, {
            "mean": (FEATURES,), "scale": (FEATURES,), "coef": (n, FEATURES), "intercept": (n,),
        })  # fmt: skip
        model.mean, model.scale = head["mean"], head["scale"]
        model.coef, model.intercept = head["coef"], head["intercept"]
        return model
