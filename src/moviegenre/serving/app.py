"""The Flask application factory: loads the model once, wires blueprints, errors and headers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from moviegenre.models.base import GenreModel

# 1 MB: a plot is a paragraph; a batch of 256 long plots still fits comfortably.
MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 256

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# What each HTTP error tells a client to do differently; the codes are stable for programs.
ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}
ERROR_HINTS = {
    404: "no such endpoint; see /api/v1/openapi.json for the API",
    413: f"the request body is over {MAX_BODY_BYTES // 1024} KiB; send fewer or shorter plots",
    500: "the server failed to answer this request",
}


def _finite(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) with None, recursively, in bundle metadata."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class ModelService:
    """The loaded model plus the JSON descriptions of it that every response shares."""

    def __init__(self, model: GenreModel) -> None:
        self.model = model
        meta = model.metadata or {}
        self.thresholds = {
            label: round(float(t), 4)
            for label, t in zip(model.labels, model.thresholds, strict=True)
        }
        self.summary = {
            "type": str(meta.get("model_type", getattr(model, "model_type", "unknown"))),
            "version": str(meta.get("version") or meta.get("moviegenre_version") or "unknown"),
            "fingerprint": _finite(meta.get("fingerprint")),
        }
        self.info = {
            "model_type": self.summary["type"],
            "version": self.summary["version"],
            "fingerprint": self.summary["fingerprint"],
            "labels": list(model.labels),
            "thresholds": self.thresholds,
            "min_genres": int(model.min_genres),
            "max_words": model.max_words,
            "metrics": _finite(meta.get("metrics") or {}),
            "created": meta.get("created"),
        }

    def predict(self, plots: list[str]) -> list[dict[str, Any]]:
        """Genres, scores and truncation per plot, in input order."""
        from moviegenre.prediction import to_predictions

        probs = self.model.predict_proba(plots)
        return [p.to_dict() for p in to_predictions(self.model, plots, probs)]

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
        info = result.info() if callable(getattr(result, "info", None)) else {}
        return weights, _finite(info)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The one error body shape: {"error": {"code": ..., "message": ...}}."""
    response = jsonify({"error": {"code": ERROR_CODES.get(status, "error"), "message": message}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _wants_json() -> bool:
    path = request.path
    return path == "/api" or path.startswith(("/api/", "/healthz"))


def create_app(model: GenreModel | None = None, model_path: str | Path | None = None) -> Flask:
    """Build the app around `model`, or the bundle at `model_path`, or the shipped default model.

    The model is loaded here, once; requests only read it.
    """
    if model is None:
        from moviegenre.api import load_model

        model = load_model(model_path)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # keep scores in the model's label order
    app.extensions["moviegenre"] = ModelService(model)

    from moviegenre.serving.api import api
    from moviegenre.serving.web import web

    app.register_blueprint(web)
    app.register_blueprint(api)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        # Werkzeug's 405 carries the Allow header; keep it (and any other headers it set).
        headers = {
            k: v
            for k, v in exc.get_headers()
            if k.lower() not in ("content-type", "content-length")
        }
        if status == 405:
            message = f"method {request.method} is not allowed here; use {headers.get('Allow', '')}"
        elif status == 400 and exc.description:
            message = str(exc.description)
        else:
            message = ERROR_HINTS.get(status, exc.description or exc.name)
        if _wants_json():
            return error_response(status, message, headers)
        page = render_template("error.html", status=status, title=exc.name, message=message)
        response = Response(page, status=status, mimetype="text/html")
        for key, value in headers.items():
            response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _http_error(InternalServerError())

    return app
