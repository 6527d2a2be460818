"""The JSON API blueprint: /api/v1/predict, /api/v1/model, /api/v1/openapi.json and /healthz."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import BadRequest

from moviegenre.errors import MovieGenreError
from moviegenre.serving.bodies import read_predict_request
from moviegenre.serving.service import ModelService, current_limits, current_service

api = Blueprint("api", __name__)


def service() -> ModelService:
    return current_service()


@api.route("/api/v1/predict", methods=["POST"], endpoint="predict", provide_automatic_options=False)
def predict_view() -> Response:
    """Answer one movie (with its thresholds) or a batch of plots."""
    parsed = read_predict_request().decoded()
    svc = service()
    try:
        results = svc.answer(parsed.movies)
    except MovieGenreError as exc:  # e.g. a poster alone sent to a plot-only model
        raise BadRequest(description=str(exc)) from None
    if not parsed.single:
        # every row of a batch is a plot alone: the model's plot thresholds (a plot a
        # multilingual model answers in another language is decided with its head's)
        return jsonify({"results": [r.to_dict() for r in results], "thresholds": svc.thresholds,
                        "model": svc.summary})  # fmt: skip
    result = results[0]
    body = {"genres": result.genres, "scores": result.scores, "thresholds": result.thresholds,
            "model": svc.summary, "truncated": result.truncated, "warnings": result.warnings,
            "inputs": list(result.inputs), "language": result.language}  # fmt: skip
    if parsed.explain:
        movie = parsed.movies[0]
        body["explanation"], body["explanation_info"] = svc.explain(movie.plot, movie.language)
    return jsonify(body)


@api.route("/api/v1/model", methods=["GET"], provide_automatic_options=False)
def model_info() -> Response:
    return jsonify(service().info)


@api.route("/api/v1/openapi.json", methods=["GET"], provide_automatic_options=False)
def openapi_document() -> Response:
    from moviegenre.serving.openapi import openapi_spec

    model = service().model
    limits = current_limits()
    return jsonify(openapi_spec(model.labels, limits, reads_posters="poster" in model.inputs))


@api.route("/healthz", methods=["GET"], provide_automatic_options=False)
def healthz() -> Response:
    svc = service()
    return jsonify({"status": "ok", "model": svc.summary})
