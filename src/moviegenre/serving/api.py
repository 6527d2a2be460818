"""The JSON API blueprint: /api/v1/predict, /api/v1/model, /api/v1/openapi.json and /healthz."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from moviegenre.errors import MovieGenreError
from moviegenre.images.reader import MAX_POSTER_BYTES
from moviegenre.serving.bodies import (
    body_slot,
    decode_base64_poster,
    no_poster_too_large,
    picture,
)
from moviegenre.serving.service import MAX_BATCH, MAX_BODY_BYTES, ModelService, current_service
from moviegenre.text.checks import LANGUAGE_PATTERN

api = Blueprint("api", __name__)

# Exactly the OpenAPI `pattern` for a plot: at least one non-whitespace character.
NON_BLANK = re.compile(r"\S")
LANGUAGE = re.compile(LANGUAGE_PATTERN)
SINGLE_FIELDS = {"plot", "poster", "explain", "language"}
BATCH_FIELDS = {"plots", "language"}
EXAMPLE = '{"plot": "A retired hitman seeks revenge.", "poster": "<base64, optional>"}'
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class PredictRequest:
    """A checked predict request: the plots, whether it was a single movie, explain, and the
    poster's bytes (single movies only; its plot may then be None)."""

    plots: list[str | None]
    single: bool
    explain: bool
    poster: bytes | None = None
    language: str | None = None  # stated by the caller (ISO 639-1), for every plot


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


def _check_language(body: dict[str, Any]) -> str | None:
    value = body.get("language")
    if value is None and "language" not in body:
        return None
    if not isinstance(value, str) or not LANGUAGE.match(value):
        raise _bad('"language" must be an ISO 639-1 code such as "es"')
    return value.lower()


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
        language = _check_language(body)
        return PredictRequest(plots=checked, single=False, explain=False, language=language)
    unknown = sorted(set(body) - SINGLE_FIELDS)
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(map(repr, unknown))}")
    poster = decode_base64_poster(body["poster"]) if "poster" in body else None
    language = _check_language(body)
    parsed = _single(body.get("plot"), "plot" in body, poster, body.get("explain", False))
    return dataclasses.replace(parsed, language=language)


def _single(plot: Any, has_plot: bool, poster: bytes | None, explain: Any) -> PredictRequest:
    if not has_plot and poster is None:
        raise _bad('the field "plot" is missing (send a "plot", a "poster", or both)')
    checked = _check_plot(plot, '"plot"') if has_plot else None
    if not isinstance(explain, bool):
        raise _bad('"explain" must be true or false')
    if explain and checked is None:
        raise _bad('"explain" highlights words of the plot; send a "plot" with it')
    return PredictRequest(plots=[checked], single=True, explain=explain, poster=poster)


def parse_predict_form() -> PredictRequest:
    """A multipart/form-data predict request: fields `plot` (text) and `poster` (a file)."""
    # a part whose Content-Disposition has no name comes as the key None
    fields = (set(request.form) - {"plot"}) | (set(request.files) - {"poster"})
    if fields:
        names = sorted("(a field without a name)" if f is None else repr(f) for f in fields)
        raise _bad(f"unknown form field(s) {', '.join(names)}")
    poster = None
    upload = request.files.get("poster")
    if upload is not None and upload.filename != "":
        poster = upload.stream.read(MAX_POSTER_BYTES + 1)
        if len(poster) > MAX_POSTER_BYTES:
            raise RequestEntityTooLarge(
                description=f"poster: over {MAX_POSTER_BYTES // (1024 * 1024)} MB"
            )
        if not poster:
            raise _bad('the "poster" file is empty')
    if "plot" in request.form and request.form.get("plot", "").strip() == "" and poster:
        plot, has_plot = None, False  # an empty plot box beside a poster: the poster alone
    else:
        plot, has_plot = request.form.get("plot"), "plot" in request.form
    return _single(plot, has_plot, poster, False)


def service() -> ModelService:
    return current_service()


def read_predict_request() -> PredictRequest:
    """The checked request, JSON or multipart, read within the body limits (serving/bodies.py)."""
    mimetype = request.mimetype
    is_json = mimetype == "application/json" or mimetype.endswith("+json")
    if not is_json and mimetype != MULTIPART:
        raise UnsupportedMediaType(
            description="send the body as JSON with the header Content-Type: application/json, "
            "or as multipart/form-data with fields plot and poster"
        )
    with body_slot():
        if is_json:
            raw = request.get_data(cache=False)
            size = len(raw)
            try:
                parsed = parse_predict_body(raw)
            except BadRequest:
                if size > MAX_BODY_BYTES:  # no usable poster in it: the 1 MB limit holds
                    raise no_poster_too_large() from None
                raise
        else:
            parsed = parse_predict_form()
            size = request.content_length or 0
    if parsed.poster is None and size > MAX_BODY_BYTES:
        raise no_poster_too_large()
    return parsed


@api.route("/api/v1/predict", methods=["POST"], provide_automatic_options=False)
def predict() -> Response:
    parsed = read_predict_request()
    svc = service()
    if parsed.poster is not None:
        try:
            results = svc.predict(parsed.plots, [picture(parsed.poster)], parsed.language)
        except MovieGenreError as exc:  # e.g. a poster alone sent to a plot-only model
            raise BadRequest(description=str(exc)) from None
    else:
        results = svc.predict(parsed.plots, language=parsed.language)
    if not parsed.single:
        return jsonify({"results": results, "thresholds": svc.thresholds, "model": svc.summary})
    thresholds = svc.thresholds_for(results[0]["inputs"], parsed.plots[0], parsed.language)
    body = {**results[0], "thresholds": thresholds, "model": svc.summary}
    body = {k: body[k] for k in ("genres", "scores", "thresholds", "model", "truncated",
                                 "warnings", "inputs", "language")}  # fmt: skip
    if parsed.explain:
        body["explanation"], body["explanation_info"] = svc.explain(parsed.plots[0])
    return jsonify(body)


@api.route("/api/v1/model", methods=["GET"], provide_automatic_options=False)
def model_info() -> Response:
    return jsonify(service().info)


@api.route("/api/v1/openapi.json", methods=["GET"], provide_automatic_options=False)
def openapi_document() -> Response:
    from moviegenre.serving.openapi import openapi_spec

    model = service().model
    return jsonify(openapi_spec(model.labels, reads_posters="poster" in model.inputs))


@api.route("/healthz", methods=["GET"], provide_automatic_options=False)
def healthz() -> Response:
    svc = service()
    return jsonify({"status": "ok", "model": svc.summary})
