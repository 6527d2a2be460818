"""The model service the blueprints answer with (the loaded model, its JSON descriptions) and
the app's limits.

The app factory installs one of each per app (`install`); blueprints reach them through
`current_service` and `current_limits`, so they never import the factory.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from moviegenre.models.base import Predictor
from moviegenre.movie import Movie
from moviegenre.prediction import Prediction, answer


@dataclass(frozen=True)
class Limits:
    """The serving limits: read from the app's config by the factory (`create_app(config=...)`,
    keys in `CONFIG_KEYS`), and reached by the blueprints through `current_limits()`."""

    # 1 MB: a plot is a paragraph; a batch of 256 long plots still fits comfortably. Bodies
    # without a poster are held to it by the blueprints (serving/bodies.py); Flask keeps form
    # fields other than files under it in memory (MAX_FORM_MEMORY_SIZE).
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 256
    # A request carrying a poster may be larger: the poster itself is at most 10 MB decoded
    # (images/reader.py: MAX_POSTER_BYTES), which base64 in JSON turns into 13.4 MB. The app sets
    # it as MAX_CONTENT_LENGTH, and the server refuses bigger bodies before reading them
    # (serving/server.py reads it from the app's config).
    max_poster_request_bytes: int = 14 * 1024 * 1024
    # Bodies over max_body_bytes are read by at most this many requests at once (per app);
    # others wait up to large_body_wait_s, then get a 503: many clients sending large posters
    # together cannot take more than this many times 14 MB (plus the decoded images) of memory.
    max_large_bodies: int = 4
    large_body_wait_s: float = 10.0
    large_bodies: threading.BoundedSemaphore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "large_bodies", threading.BoundedSemaphore(self.max_large_bodies))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits an app's config names (upper-case keys, Flask's style), defaults elsewhere."""
        return cls(**{name: config[key] for key, name in CONFIG_KEYS.items() if key in config})


# The app config keys of the limits (what `create_app(config={...})` takes).
CONFIG_KEYS = {name.upper(): name for name in (
    "max_body_bytes", "max_batch", "max_poster_request_bytes", "max_large_bodies",
    "large_body_wait_s",
)}  # fmt: skip


def _finite(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) with None, recursively, in bundle metadata."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def calibration_info(model: Predictor) -> dict[str, Any]:
    """How the model's probabilities are calibrated and the ECE measured on the test split."""
    test = ((model.metadata or {}).get("metrics") or {}).get("test") or {}
    ece = test.get("ece")
    return {
        "method": model.answer_calibrator.method if model.answer_calibrator is not None else "none",
        "fitted_on": "valid" if model.answer_calibrator is not None else None,
        "test_ece": round(float(ece), 4) if isinstance(ece, int | float) else None,
    }


def model_name(model: Predictor) -> str:
    """The model as a user names it: the shipped tier ("best", "default", "fast") or the folder
    of the bundle it was loaded from (never an internal type such as "fusion")."""
    from moviegenre.bundle.bundle import shipped_tier

    path = (model.metadata or {}).get("path")
    tier = shipped_tier(path)
    if tier is not None:
        return tier
    return Path(str(path)).name if path else str(model.kind)


class ModelService:
    """The loaded model plus the JSON descriptions of it that every response shares."""

    def __init__(self, model: Predictor) -> None:
        self.model = model
        meta = model.metadata or {}
        self.thresholds = {
            label: round(float(t), 4)
            for label, t in zip(model.labels, model.thresholds, strict=True)
        }
        self.summary = {
            "name": model_name(model),
            "type": str(meta.get("model_type", model.kind)),
            "version": str(meta.get("version") or meta.get("moviegenre_version") or "unknown"),
            "fingerprint": _finite(meta.get("fingerprint")),
        }
        self.info = {
            "name": self.summary["name"],
            "model_type": self.summary["type"],
            "version": self.summary["version"],
            "fingerprint": self.summary["fingerprint"],
            "labels": list(model.labels),
            "inputs": list(model.inputs),
            "thresholds": self.thresholds,
            "min_genres": int(model.min_genres),
            "max_words": model.max_words,
            "metrics": _finite(meta.get("metrics") or {}),
            "calibration": calibration_info(model),
            "created": meta.get("created"),
        }

    def answer(self, movies: Sequence[Movie]) -> list[Prediction]:
        """The answers for a batch of movies (plot, decoded poster or both), in input order."""
        return answer(self.model, movies)

    def explain(
        self, plot: str, language: str | None = None
    ) -> tuple[dict[str, list[list[Any]]], dict[str, Any]]:
        """Per-genre word weights for one plot (in `language` when the caller states it), and how
        they were made (method, words or characters covered).

        Imported lazily: explanations are the slow, optional part of the package.
        """
        from moviegenre.explain.occlusion import explain

        result = explain(self.model, plot, language=language)
        weights = {
            str(genre): [[str(word), round(float(weight), 4)] for word, weight in pairs]
            for genre, pairs in result.items()
        }
        return weights, _finite(result.info())


_EXTENSION = "moviegenre"
_LIMITS = "moviegenre.limits"


def install(app: Flask, service: ModelService, limits: Limits) -> None:
    """Make `service` and `limits` the ones every request of `app` uses."""
    app.extensions[_EXTENSION] = service
    app.extensions[_LIMITS] = limits


def current_service() -> ModelService:
    """The model service of the app handling the current request."""
    return current_app.extensions[_EXTENSION]


def current_limits() -> Limits:
    """The limits of the app handling the current request."""
    return app_limits(current_app)


def app_limits(app: Flask) -> Limits:
    """The limits `app` was built with."""
    return app.extensions[_LIMITS]
