"""The model service the blueprints answer with: the loaded model, its JSON descriptions, limits.

The app factory installs one per app (`install`); blueprints reach it through `current_service`,
so they never import the factory.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, current_app

from moviegenre.models.base import Predictor

# 1 MB: a plot is a paragraph; a batch of 256 long plots still fits comfortably. The one body
# limit: the app sets it as MAX_CONTENT_LENGTH and the server refuses bigger bodies before reading
# them (serving/server.py reads it from the app's config).
MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 256
# A request carrying a poster may be larger: the poster itself is at most 10 MB decoded
# (images/reader.py: MAX_POSTER_BYTES), which base64 in JSON turns into 13.4 MB. This is what the
# app sets as MAX_CONTENT_LENGTH; requests without a poster are held to MAX_BODY_BYTES by the
# blueprints (serving/bodies.py).
MAX_POSTER_REQUEST_BYTES = 14 * 1024 * 1024
# Bodies over MAX_BODY_BYTES are read by at most this many requests at once (per process); others
# wait up to LARGE_BODY_WAIT_S, then get a 503: many clients sending large posters together
# cannot take more than this many times 14 MB (plus the decoded images) of memory.
MAX_LARGE_BODIES = 4
LARGE_BODY_WAIT_S = 10.0


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
            "type": str(meta.get("model_type", model.kind)),
            "version": str(meta.get("version") or meta.get("moviegenre_version") or "unknown"),
            "fingerprint": _finite(meta.get("fingerprint")),
        }
        self.info = {
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

    def predict(
        self,
        plots: list[str | None],
        posters: list[Any] | None = None,
        language: str | None = None,
    ) -> list[dict[str, Any]]:
        """Genres, scores, truncation, inputs used and language per movie, in input order.

        posters: decoded pictures (or None) beside the plots (a plot may be None beside one).
        language: the plots' language as the caller states it (None: detected).
        """
        from moviegenre.prediction import answer

        languages = None if language is None else [language] * len(plots)
        return [p.to_dict() for p in answer(self.model, plots, posters, languages)]

    def thresholds_for(
        self, inputs: list[str], plot: str | None = None, language: str | None = None
    ) -> dict[str, float]:
        """The thresholds an answer made from `inputs` (and `plot`, in `language` when stated)
        was decided with: a multilingual model's head has its own for other languages."""
        from moviegenre.models.base import RoutesByLanguage

        model = self.model
        foreign = (
            model.input_checker.foreign(plot, language)
            if isinstance(model, RoutesByLanguage) and plot is not None
            else None
        )
        if list(inputs) == ["plot"] and foreign is None:
            return self.thresholds
        if isinstance(model, RoutesByLanguage) and foreign is not None:
            values = model.thresholds_for_language(tuple(inputs), foreign)
        else:
            values = model.thresholds_for(tuple(inputs))
        return {
            label: round(float(t), 4) for label, t in zip(self.model.labels, values, strict=True)
        }

    def explain(self, plot: str) -> tuple[dict[str, list[list[Any]]], dict[str, Any]]:
        """Per-genre word weights for one plot, and how they were made (method, words covered).

        Imported lazily: explanations are the slow, optional part of the package.
        """
        from moviegenre.explain.occlusion import explain

        result = explain(self.model, plot)
        weights = {
            str(genre): [[str(word), round(float(weight), 4)] for word, weight in pairs]
            for genre, pairs in result.items()
        }
        return weights, _finite(result.info())


_EXTENSION = "moviegenre"


def install(app: Flask, service: ModelService) -> None:
    """Make `service` the one every request of `app` uses."""
    app.extensions[_EXTENSION] = service


def current_service() -> ModelService:
    """The model service of the app handling the current request."""
    return current_app.extensions[_EXTENSION]
