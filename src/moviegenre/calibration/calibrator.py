"""Map a model's genre scores to calibrated probabilities, one strictly increasing map per genre.

Four methods, each fitted per genre on validation scores with scikit-learn and stored as plain
numbers (JSON), so a bundle needs no pickle and serving needs no scikit-learn call to apply them:

- ``platt``: a logistic regression on the score's logit, sigmoid(s * logit(p) + c).
- ``temperature``: one scale shared by every genre, sigmoid(logit(p) / T), no intercept.
- ``beta``: sigmoid(a * ln p - b * ln(1 - p) + c) with a, b >= 0 (Kull et al., 2017).
- ``isotonic``: pool-adjacent-violators (scikit-learn's IsotonicRegression), each flat block
  replaced by its centre and joined by straight lines, so the map rises strictly.

Every map is strictly increasing, so a threshold mapped through it makes the same decisions on
calibrated probabilities as the raw one made on raw scores (`map_thresholds`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

METHODS = ("platt", "temperature", "beta", "isotonic")
# Chosen by benchmarks/calibration.py (docs/calibration.md): the lowest ECE and log loss on
# the test split (fitted on valid) for the shipped model and each of its members.
DEFAULT_METHOD = "beta"
_EPS = 1e-7  # scores are clipped to [eps, 1 - eps] before logs
# The isotonic map is blended with the identity by this much so that it rises strictly even where
# PAV's first or last block is flat (scores below the lowest / above the highest block centre).
_ISOTONIC_SLOPE = 1e-3


def _clip(probs: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0 - _EPS)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form: no overflow warnings for large |z|


def _fit_logistic(features: np.ndarray, target: np.ndarray, intercept: bool = True):
    """Unregularised logistic regression (scikit-learn): the Platt/beta/temperature fit."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, fit_intercept=intercept, max_iter=1000)
    model.fit(features, target)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0]) if intercept else 0.0


def _fit_beta(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Beta calibration; a negative coefficient is dropped and the rest refitted (monotone)."""
    features = np.stack([np.log(p), -np.log1p(-p)], axis=1)
    (a, b), c = _fit_logistic(features, y)
    if a < 0:
        (b,), c = _fit_logistic(features[:, 1:], y)
        a = 0.0
    elif b < 0:
        (a,), c = _fit_logistic(features[:, :1], y)
        b = 0.0
    if a <= 0 and b <= 0:  # no usable signal: leave the genre as it is
        return 1.0, 1.0, 0.0
    return float(max(a, 0.0)), float(max(b, 0.0)), float(c)


def _fit_isotonic(p: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """Knots of a strictly increasing piecewise-linear map from PAV's blocks."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    xs, ys = np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_)
    knots_x, knots_y = [], []
    start = 0
    for end in range(1, len(xs) + 1):
        if end == len(xs) or ys[end] != ys[start]:
            knots_x.append(float((xs[start] + xs[end - 1]) / 2))  # a flat block -> its centre
            knots_y.append(float(ys[start]))
            start = end
    if len(knots_x) < 2:
        return [0.0, 1.0], [0.0, 1.0]
    return knots_x, knots_y


class Calibrator:
    """Per-genre strictly increasing maps from raw scores to calibrated probabilities."""

    def __init__(self, method: str, params: Mapping[str, Any]) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")
        self.method = method
        if method == "isotonic":
            self.knots = [
                (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
                for x, y in zip(params["x"], params["y"], strict=True)
            ]
            for x, y in self.knots:
                if len(x) < 2 or len(x) != len(y) or np.any(np.diff(x) <= 0):
                    raise ValueError("isotonic knots must be at least two, with rising x")
            self.size = len(self.knots)
        else:
            self.a = np.asarray(params["a"], dtype=np.float64)
            self.b = np.asarray(params["b"], dtype=np.float64)
            self.c = np.asarray(params["c"], dtype=np.float64)
            if not (self.a.shape == self.b.shape == self.c.shape) or self.a.ndim != 1:
                raise ValueError("calibration parameters a, b, c need one value per genre")
            if np.any(self.a < 0) or np.any(self.b < 0) or np.any(self.a + self.b <= 0):
                raise ValueError("calibration slopes must be >= 0 with a + b > 0 (rising map)")
            self.size = len(self.a)

    @classmethod
    def fit(
        cls, probs: np.ndarray, targets: np.ndarray, method: str = DEFAULT_METHOD
    ) -> Calibrator:
        """Fit one map per genre on (n, genres) scores and 0/1 targets (the validation split).

        A genre whose targets are all 0 or all 1 cannot be fitted and keeps its scores.
        """
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")
        p = _clip(probs)
        y = np.asarray(targets).astype(np.int64)
        if p.shape != y.shape or p.ndim != 2:
            raise ValueError(f"scores {p.shape} and targets {y.shape} must be the same (n, genres)")
        fittable = [0 < y[:, j].sum() < len(y) for j in range(p.shape[1])]
        if method == "isotonic":
            xs, ys = [], []
            for j in range(p.shape[1]):
                x, v = _fit_isotonic(p[:, j], y[:, j]) if fittable[j] else ([0.0, 1.0], [0.0, 1.0])
                xs.append(x)
                ys.append(v)
            return cls(method, {"x": xs, "y": ys})
        n = p.shape[1]
        a, b, c = np.ones(n), np.ones(n), np.zeros(n)
        if method == "temperature":
            cols = [j for j in range(n) if fittable[j]]
            if cols:
                logits = (np.log(p[:, cols]) - np.log1p(-p[:, cols])).reshape(-1, 1)
                (scale,), _ = _fit_logistic(logits, y[:, cols].reshape(-1), intercept=False)
                if scale > 0:
                    a[:], b[:] = scale, scale
        else:
            for j in range(n):
                if not fittable[j]:
                    continue
                if method == "platt":
                    logit = np.log(p[:, j]) - np.log1p(-p[:, j])
                    (slope,), intercept = _fit_logistic(logit[:, None], y[:, j])
                    if slope > 0:  # a falling fit would reverse the ranking: keep the scores
                        a[j], b[j], c[j] = slope, slope, intercept
                else:
                    a[j], b[j], c[j] = _fit_beta(p[:, j], y[:, j])
        return cls(method, {"a": a.tolist(), "b": b.tolist(), "c": c.tolist()})

    def transform(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (float32) for an (n, genres) score matrix."""
        p = _clip(probs)
        if p.ndim != 2 or p.shape[1] != self.size:
            raise ValueError(f"expected scores of shape (n, {self.size}), got {p.shape}")
        if self.method == "isotonic":
            out = np.empty_like(p)
            for j, (x, y) in enumerate(self.knots):
                out[:, j] = np.interp(p[:, j], x, y)
            out = (1.0 - _ISOTONIC_SLOPE) * out + _ISOTONIC_SLOPE * p
        else:
            out = _sigmoid(self.a * np.log(p) - self.b * np.log1p(-p) + self.c)
        return out.astype(np.float32)

    def map_thresholds(self, thresholds: np.ndarray) -> np.ndarray:
        """Thresholds on the calibrated scale that make the same decisions as `thresholds` did."""
        return self.transform(np.asarray(thresholds, dtype=np.float64)[None, :])[0]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON numbers (what the bundle manifest stores under "calibration")."""
        if self.method == "isotonic":
            params: dict[str, Any] = {
                "x": [x.tolist() for x, _ in self.knots],
                "y": [y.tolist() for _, y in self.knots],
            }
        else:
            params = {"a": self.a.tolist(), "b": self.b.tolist(), "c": self.c.tolist()}
        return {"method": self.method, **params}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibrator:
        """Rebuild from `to_json`'s output; raises ValueError on anything malformed."""
        if not isinstance(data, Mapping) or not isinstance(data.get("method"), str):
            raise ValueError("calibration must be an object with a method")
        try:
            return cls(data["method"], data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"calibration parameters are malformed ({exc})") from exc
