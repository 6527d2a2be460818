"""The Flask application factory: loads the model once, wires blueprints, errors and headers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from moviegenre.models.base import Predictor
from moviegenre.serving.service import Limits, ModelService, install

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
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}
ERROR_HINTS = {
    404: "no such endpoint; see /api/v1/openapi.json for the API",
    500: "the server failed to answer this request",
}


def too_large_hint(limits: Limits) -> str:
    """What a 413 tells the client, with the app's limits."""
    return (
        f"the request body is over {limits.max_body_bytes // 1024} KiB without a poster or "
        f"{limits.max_poster_request_bytes // (1024 * 1024)} MB with one; send fewer or shorter "
        "plots, or a smaller poster"
    )


def error_document(status: int, message: str) -> dict[str, Any]:
    """The one error body shape: {"error": {"code": ..., "message": ...}}."""
    return {"error": {"code": ERROR_CODES.get(status, "error"), "message": message}}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error answer from the app (the server's own answers use error_document too)."""
    response = jsonify(error_document(status, message))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _wants_json() -> bool:
    path = request.path
    return path == "/api" or path.startswith(("/api/", "/healthz"))


def create_app(
    model: Predictor | None = None,
    model_path: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the app around `model`, or the bundle at `model_path`, or the shipped default model.

    The model is loaded here, once; requests only read it. config: Flask settings, and the
    serving limits by their upper-case names (`MAX_BODY_BYTES`, `MAX_BATCH`,
    `MAX_POSTER_REQUEST_BYTES`, `MAX_LARGE_BODIES`, `LARGE_BODY_WAIT_S`; `Limits` holds the
    defaults).
    """
    if model is None:
        from moviegenre.api import load_model

        model = load_model(model_path)
    app = Flask(__name__)
    # Requests with a poster may reach 14 MB (the server refuses more before reading); the 1 MB
    # limit for the rest is checked per request (serving/bodies.py). Form fields other than files
    # stay under 1 MB in memory; the server spools large bodies to a temporary file.
    app.config.from_mapping(config or {})
    limits = Limits.from_config(app.config)
    app.config["MAX_CONTENT_LENGTH"] = limits.max_poster_request_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = limits.max_body_bytes
    app.json.sort_keys = False  # keep scores in the model's label order
    install(app, ModelService(model), limits)

    from moviegenre.serving.json_api import api
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
        elif status in (400, 413) and exc.description and exc.description != type(exc).description:
            message = str(exc.description)  # our own message, saying what to send instead
        else:
            hint = too_large_hint(limits) if status == 413 else ERROR_HINTS.get(status)
            message = hint or exc.description or exc.name
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
