"""Cross-fitted teacher probabilities: soft targets for distillation that no row earns in-sample."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def crossfit_teacher(
    plots: Sequence[str], targets: np.ndarray, folds: int = 5, seed: int = 0, C: float = 4.0
) -> np.ndarray:
    """Probabilities, shape (plots, labels), of a word TF-IDF (1-2 grams) + logistic regression
    teacher, each fold's rows scored by a teacher trained on the other folds.

    A teacher's in-sample probabilities copy the labels it memorised; cross-fitted ones carry what
    it learned about genres that go together, which is what a student gains from. A genre absent
    from a fold's training rows gets its prior (0) there.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    targets = np.asarray(targets)
    order = np.random.default_rng(seed).permutation(len(plots))
    out = np.zeros(targets.shape, dtype=np.float32)
    for fold in range(folds):
        held = order[fold::folds]
        kept = np.setdiff1d(order, held)
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                     max_features=100000)  # fmt: skip
        x_kept = vectorizer.fit_transform([plots[i] for i in kept])
        x_held = vectorizer.transform([plots[i] for i in held])
        for j in range(targets.shape[1]):
            y = targets[kept, j] >= 0.5
            if y.all() or not y.any():
                out[held, j] = float(y.mean())
                continue
            clf = LogisticRegression(C=C, max_iter=1000, solver="liblinear")
            out[held, j] = clf.fit(x_kept, y).predict_proba(x_held)[:, 1]
    return out
