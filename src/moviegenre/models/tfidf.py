"""TF-IDF word and character n-grams with one linear classifier per genre: the strong baseline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.tensors import read_tensors, write_tensors

CLASSIFIERS = ("logreg", "svm")
# Files this model writes into a bundle (vocabularies as JSON, numbers as safetensors; no pickle).
VOCAB_FILE = "tfidf_vocab.json"
WEIGHTS_FILE = "weights.safetensors"


class TfidfGenreModel(GenreModel):
    """Word 1-2 gram and character 2-5 gram TF-IDF, one logistic regression or linear SVM per genre.

    The two feature blocks are fitted separately and stacked side by side (what scikit-learn's
    FeatureUnion does), so a bundle only needs each block's vocabulary and IDF weights. For the SVM,
    decision values become probabilities through Platt scaling fitted on the validation split: two
    numbers per genre, stored with the weights. Defaults (linear SVM, C=0.1, 50,000 word and
    100,000 character features) were chosen on the corpus's validation split; see
    docs/evaluation.md.
    """

    model_type = "tfidf"

    def __init__(
        self,
        labels: Sequence[str],
        # Chosen on the corpus's validation split (docs/evaluation.md): the linear SVM with
        # C=0.1 beat logistic regression and other C values, and fits fastest.
        classifier: str = "svm",
        C: float = 0.1,
        max_features: int = 50000,
        char_max_features: int = 100000,
        char_ngrams: Sequence[int] | None = (2, 5),
        min_df: int = 2,
        half: bool = False,
    ) -> None:
        super().__init__(labels)
        # float16 weights halve the bundle (for a compact shipped model); the model is rounded
        # right after fitting, so thresholds are tuned on exactly what is saved.
        self.half = bool(half)
        if classifier not in CLASSIFIERS:
            expected = ", ".join(CLASSIFIERS)
            raise MovieGenreError(f"unknown TF-IDF classifier {classifier!r}; expected: {expected}")
        self.classifier, self.C, self.min_df = classifier, float(C), int(min_df)
        self.max_features, self.char_max_features = int(max_features), int(char_max_features)
        # None (or 0 features) turns the character block off: the plain word baseline.
        self.char_ngrams = tuple(char_ngrams) if char_ngrams and char_max_features > 0 else None
        self.word_vectorizer: TfidfVectorizer | None = None
        self.char_vectorizer: TfidfVectorizer | None = None
        self.coef = np.zeros((len(self.labels), 0), dtype=np.float32)
        self.intercept = np.zeros(len(self.labels), dtype=np.float32)
        # Platt scaling, probability = sigmoid(a * score + b); (1, 0) for logistic regression.
        self.platt_a = np.ones(len(self.labels), dtype=np.float32)
        self.platt_b = np.zeros(len(self.labels), dtype=np.float32)

    def _word(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", min_df=self.min_df,
            max_features=self.max_features, vocabulary=vocabulary, dtype=np.float32,
        )  # fmt: skip

    def _char(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        assert self.char_ngrams is not None
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True, lowercase=True,
            strip_accents="unicode", min_df=self.min_df, max_features=self.char_max_features,
            vocabulary=vocabulary, dtype=np.float32,
        )  # fmt: skip

    def _features(self, plots: Sequence[str]) -> sp.csr_matrix:
        if self.word_vectorizer is None:
            raise MovieGenreError("this TF-IDF model is not fitted")
        plots = list(plots)
        blocks = [self.word_vectorizer.transform(plots)]
        if self.char_vectorizer is not None:
            blocks.append(self.char_vectorizer.transform(plots))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> TfidfGenreModel:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC
        from tqdm.auto import tqdm

        plots = list(plots)
        targets = np.asarray(targets)
        self.word_vectorizer = self._word()
        blocks = [self.word_vectorizer.fit_transform(plots)]
        if self.char_ngrams is not None:
            self.char_vectorizer = self._char()
            blocks.append(self.char_vectorizer.fit_transform(plots))
        features = sp.hstack(blocks, format="csr", dtype=np.float32)
        coefs, intercepts = [], []
        for column in tqdm(range(targets.shape[1]), desc="genres", unit="genre", leave=False):
            y = targets[:, column].astype(int)
            if y.min() == y.max():  # a genre absent (or everywhere) in training: constant answer
                coefs.append(np.zeros(features.shape[1]))
                intercepts.append(8.0 if y.max() else -8.0)
                continue
            if self.classifier == "svm":
                clf = LinearSVC(C=self.C, class_weight="balanced", max_iter=5000)
            else:
                # liblinear is the fastest solver for one binary problem on sparse features.
                clf = LogisticRegression(
                    C=self.C, class_weight="balanced", solver="liblinear", max_iter=1000
                )
            clf.fit(features, y)
            coefs.append(clf.coef_[0])
            intercepts.append(clf.intercept_[0])
        self.coef = np.asarray(coefs, dtype=np.float16 if self.half else np.float32)
        self.coef = self.coef.astype(np.float32)
        self.intercept = np.asarray(intercepts, dtype=np.float32)
        if self.classifier == "svm":
            if valid_plots is not None and valid_targets is not None and len(valid_plots):
                self._fit_platt(
                    self._scores(self._features(valid_plots)), np.asarray(valid_targets)
                )
            else:  # no held-out data: training scores are over-confident, but better than nothing
                self._fit_platt(self._scores(features), targets)
        return self

    def _scores(self, features: sp.csr_matrix) -> np.ndarray:
        return np.asarray(features @ self.coef.T + self.intercept, dtype=np.float64)

    def _fit_platt(self, scores: np.ndarray, targets: np.ndarray) -> None:
        """One-feature logistic regression per genre on held-out decision values (Platt, 1999)."""
        from sklearn.linear_model import LogisticRegression

        for column in range(scores.shape[1]):
            y = targets[:, column].astype(int)
            if y.min() == y.max():
                continue  # nothing to calibrate against; keep the identity sigmoid
            platt = LogisticRegression(C=1e4).fit(scores[:, column : column + 1], y)
            self.platt_a[column] = platt.coef_[0, 0]
            self.platt_b[column] = platt.intercept_[0]

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        logits = self._scores(self._features(plots)) * self.platt_a + self.platt_b
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))).astype(np.float32)

    def save_files(self, directory: Path) -> dict[str, Any]:
        if self.word_vectorizer is None:
            raise MovieGenreError("cannot save a TF-IDF model that is not fitted")
        vocabularies = {"word": _ordered(self.word_vectorizer)}
        tensors = {
            "word_idf": self.word_vectorizer.idf_.astype(np.float32),
            "coef": self.coef.astype(np.float16 if self.half else np.float32),
            "intercept": self.intercept,
            "platt_a": self.platt_a, "platt_b": self.platt_b,
        }  # fmt: skip
        if self.char_vectorizer is not None:
            vocabularies["char"] = _ordered(self.char_vectorizer)
            tensors["char_idf"] = self.char_vectorizer.idf_.astype(np.float32)
        (directory / VOCAB_FILE).write_text(json.dumps(vocabularies), encoding="utf-8")
        write_tensors(directory / WEIGHTS_FILE, tensors)
        return {}  # fixed file names; the bundle adds the hyper-parameters

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> TfidfGenreModel:
        model = cls.from_params(labels, config)
        path = directory / VOCAB_FILE
        try:
            vocabularies = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MovieGenreError(f"{path}: unreadable TF-IDF vocabulary ({exc})") from exc
        if isinstance(vocabularies, list):  # bundles from before the character block
            vocabularies = {"word": vocabularies}
        if not isinstance(vocabularies, dict) or not isinstance(vocabularies.get("word"), list):
            raise MovieGenreError(f"{path}: expected a JSON object with a 'word' vocabulary list")
        has_char = isinstance(vocabularies.get("char"), list)
        n_word = len(vocabularies["word"])
        n_char = len(vocabularies["char"]) if has_char else 0
        n, k = n_word + n_char, len(labels)
        expected = {"coef": (k, n), "intercept": (k,)}
        tensors = read_tensors(directory / WEIGHTS_FILE, expected)
        word_idf = tensors.get("word_idf", tensors.get("idf"))
        if word_idf is None or word_idf.shape != (n_word,):
            raise MovieGenreError(
                f"{directory / WEIGHTS_FILE}: word IDF weights missing or wrong size"
            )
        model.word_vectorizer = model._word(_index(vocabularies["word"]))
        model.word_vectorizer.idf_ = word_idf
        if has_char:
            if model.char_ngrams is None:
                model.char_ngrams = (2, 5)
            char_idf = tensors.get("char_idf")
            if char_idf is None or char_idf.shape != (n_char,):
                raise MovieGenreError(
                    f"{directory / WEIGHTS_FILE}: character IDF weights missing or wrong size"
                )
            model.char_vectorizer = model._char(_index(vocabularies["char"]))
            model.char_vectorizer.idf_ = char_idf
        else:
            model.char_ngrams = None
        model.coef = tensors["coef"].astype(np.float32)  # float16 on disk in compact bundles
        model.intercept = tensors["intercept"]
        model.platt_a = tensors.get("platt_a", np.ones(k, dtype=np.float32))
        model.platt_b = tensors.get("platt_b", np.zeros(k, dtype=np.float32))
        return model


def _ordered(vectorizer: TfidfVectorizer) -> list[str]:
    """The fitted vocabulary as a list, position = feature column."""
    return sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)


def _index(vocabulary: list[str]) -> dict[str, int]:
    return {term: i for i, term in enumerate(vocabulary)}
