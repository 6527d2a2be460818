"""TF-IDF n-grams with one-vs-rest logistic regression: the strong linear baseline (scikit-learn)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from moviegenre.bundle.bundle import read_tensors, write_tensors
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel


class TfidfGenreModel(GenreModel):
    """Word 1-2 gram TF-IDF features, one logistic regression per genre (class-balanced)."""

    model_type = "tfidf"

    def __init__(
        self, labels: Sequence[str], max_features: int = 50000, C: float = 4.0, min_df: int = 2
    ) -> None:
        super().__init__(labels)
        self.max_features, self.C, self.min_df = max_features, C, min_df
        self.vectorizer: TfidfVectorizer | None = None
        self.coef = np.zeros((len(self.labels), 0), dtype=np.float32)
        self.intercept = np.zeros(len(self.labels), dtype=np.float32)

    def _new_vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", min_df=self.min_df,
            max_features=self.max_features, vocabulary=vocabulary, dtype=np.float32,
        )  # fmt: skip

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> TfidfGenreModel:
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = self._new_vectorizer()
        features = self.vectorizer.fit_transform(plots)
        coefs, intercepts = [], []
        for column in range(targets.shape[1]):
            y = targets[:, column]
            if y.min() == y.max():  # a genre absent (or everywhere) in training: constant answer
                coefs.append(np.zeros(features.shape[1]))
                intercepts.append(8.0 if y.max() else -8.0)
                continue
            clf = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000)
            clf.fit(features, y)
            coefs.append(clf.coef_[0])
            intercepts.append(clf.intercept_[0])
        self.coef = np.asarray(coefs, dtype=np.float32)
        self.intercept = np.asarray(intercepts, dtype=np.float32)
        return self

    def predict_proba(self, plots: Sequence[str]) -> np.ndarray:
        if self.vectorizer is None:
            raise MovieGenreError("this TF-IDF model is not fitted")
        logits = self.vectorizer.transform(list(plots)) @ self.coef.T + self.intercept
        return (1.0 / (1.0 + np.exp(-np.asarray(logits)))).astype(np.float32)

    def save_files(self, directory: Path) -> dict[str, Any]:
        assert self.vectorizer is not None
        vocabulary = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        (directory / "tfidf_vocab.json").write_text(json.dumps(vocabulary), encoding="utf-8")
        write_tensors(
            directory / "weights.safetensors",
            {"idf": self.vectorizer.idf_.astype(np.float32), "coef": self.coef,
             "intercept": self.intercept},
        )  # fmt: skip
        return {"max_features": self.max_features, "C": self.C, "min_df": self.min_df}

    @classmethod
    def load_files(cls, directory: Path, config: dict[str, Any], labels: list[str]) -> TfidfGenreModel:
        model = cls(labels, **config)
        vocabulary = json.loads((directory / "tfidf_vocab.json").read_text(encoding="utf-8"))
        n = len(vocabulary)
        tensors = read_tensors(
            directory / "weights.safetensors",
            {"idf": (n,), "coef": (len(labels), n), "intercept": (len(labels),)},
        )
        model.vectorizer = model._new_vectorizer({w: i for i, w in enumerate(vocabulary)})
        model.vectorizer.idf_ = tensors["idf"]
        model.coef, model.intercept = tensors["coef"], tensors["intercept"]
        return model
