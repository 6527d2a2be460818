"""The JSON API blueprint: /api/v1/predict, /api/v1/model, /api/v1/openapi.json and /healthz."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from moviegenre.serving.service import MAX_BATCH, ModelService, current_service

api = Blueprint("api", __name__)

# Exactly the OpenAPI `pattern` for a plot: at least one non-whitespace character.
NON_BLANK = re.compile(r"\S")
SINGLE_FIELDS = {"plot", "explain"}
BATCH_FIELDS = {"plots"}
EXAMPLE = '{"plot": "A retired hitman seeks revenge.", "explain": false}'


@dataclass(frozen=True)
class PredictRequest:
    """A checked predict request: the plots, whether it was a single plot, and explain."""

    plots: list[str]
    single: bool
    explain: bool


def _bad(message: str) -> BadRequest:
    return BadRequest(description=f'{message}; send JSON like {EXAMPLE} or {{"plots": [...]}}')


def _check_plot(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(
            f"{where} must be a string, got {type(value).__name__ if value is not None else 'null'}"
        )
    if not NON_BLANK.search(value):
        raise _bad(f"{where} is empty or only whitespace")
    return value


def parse_predict_body(raw: bytes) -> PredictRequest:
    """Decode and check a predict body; raise BadRequest saying what to send instead."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"the body is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise _bad("the body is empty")
    try:
        body = json.loads(text)
    except RecursionError:  # absurdly nested arrays: not a plot, and not worth a stack
        raise _bad("the body is nested too deeply") from None
    except ValueError as exc:
        raise _bad(f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise _bad(f"the body must be a JSON object, got {type(body).__name__}")
    if "plot" in body and "plots" in body:
        raise _bad('send either "plot" or "plots", not both')
    if "plots" in body:
        unknown = sorted(set(body) - BATCH_FIELDS)
        if unknown:
            hint = ' ("explain" works with a single "plot")' if "explain" in unknown else ""
            raise _bad(f"unknown field(s) {', '.join(map(repr, unknown))}{hint}")
        plots = body["plots"]
        if not isinstance(plots, list):
            raise _bad('"plots" must be an array of strings')
        if not 1 <= len(plots) <= MAX_BATCH:
            raise _bad(f'"plots" must hold 1 to {MAX_BATCH} plots, got {len(plots)}')
        checked = [_check_plot(p, f'"plots"[{i}]') for i, p in enumerate(plots)]
        return PredictRequest(plots=checked, single=False, explain=False)
    unknown = sorted(set(body) - SINGLE_FIELDS)
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(map(repr, unknown))}")
    if "plot" not in body:
        raise _bad('the field "plot" is missing')
    plot = _check_plot(body["plot"], '"plot"')
    explain = body.get("explain", False)
    if not isinstance(explain, bool):
        raise _bad('"explain" must be true or false')
    return PredictRequest(plots=[plot], single=True, explain=explain)


def service() -> ModelService:
    return current_service()


@api.route("/api/v1/predict", methods=["POST"], provide_automatic_options=False)
def predict() -> Response:
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            description="send the body as JSON with the header Content-Type: application/json"
        )
    parsed = parse_predict_body(request.get_data(cache=False))
    svc = service()
    results = svc.predict(parsed.plots)
    if not parsed.single:
        return jsonify({"results": results, "thresholds": svc.thresholds, "model": svc.summary})
    body = {**results[0], "thresholds": svc.thresholds, "model": svc.summary}
    body = {k: body[k] for k in ("genres", "scores", "thresholds", "model", "truncated",
                                 "warnings")}  # fmt: skip
    if parsed.explain:
        body["explanation"], body["explanation_info"] = svc.explain(parsed.plots[0])
    return jsonify(body)


@api.route("/api/v1/model", methods=["GET"], provide_automatic_options=False)
def model_info() -> Response:
    return jsonify(service().info)


@api.route("/api/v1/openapi.json", methods=["GET"], provide_automatic_options=False)
def openapi_document() -> Response:
    from moviegenre.serving.openapi import openapi_spec

    return jsonify(openapi_spec(service().model.labels))


@api.route("/healthz", methods=["GET"], provide_automatic_options=False)
def healthz() -> Response:
    svc = service()
    return jsonify({"status": "ok", "model": svc.summary})
