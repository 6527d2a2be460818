"""The OpenAPI 3 document for the JSON API: every field, constraint and status code it enforces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moviegenre.images.reader import MAX_POSTER_BYTES, MAX_POSTER_PIXELS
from moviegenre.serving.bodies import MAX_BASE64_CHARS
from moviegenre.serving.service import Limits
from moviegenre.text.checks import LANGUAGE_PATTERN, WARNING_CODES
from moviegenre.version import __version__

REF = "#/components/schemas/"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF + "Error"}}},
    }


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF + schema}}},
    }


def _common_errors() -> dict[str, Any]:
    return {
        "404": _error("No such endpoint."),
        "405": {
            **_error("Method not allowed; the Allow header lists the allowed methods."),
            "headers": {"Allow": {"schema": {"type": "string"}}},
        },
        "500": _error("The server failed to answer."),
    }


def openapi_spec(
    labels: Sequence[str], limits: Limits | None = None, reads_posters: bool = False
) -> dict[str, Any]:
    """Build the document; the labels make the score objects' keys explicit, the limits (the
    app's, default ones when None) every size.

    reads_posters: the served model reads posters; only then are poster fields described (a
    plot-only model answers a poster alone with a 400, so for it they are not valid input).
    """
    limits = limits or Limits()
    plot = {
        "type": "string",
        "pattern": r"\S",
        "description": "A plot summary; any text with at least one non-whitespace character. "
        "Text past the model's word limit is ignored (the response says truncated).",
    }
    # a form field is always text: the same rule as `plot` without a type to check
    form_plot = {"pattern": plot["pattern"], "description": plot["description"]}
    poster_rules = (
        f"JPEG, PNG or WebP, at most {MAX_POSTER_BYTES} bytes and "
        f"{MAX_POSTER_PIXELS} pixels; EXIF orientation is applied, greyscale, CMYK, palette and "
        "transparent images are read as RGB (transparency over white)."
    )
    poster = {
        "type": "string",
        "maxLength": MAX_BASE64_CHARS + 100,
        "description": "The movie's poster, base64-encoded; a data URL prefix such as "
        f"'data:image/jpeg;base64,' is allowed. {poster_rules} Only models that read posters "
        "use it (the answer's inputs say what was used).",
    }
    inputs = {
        "type": "array",
        "items": {"type": "string", "enum": ["plot", "poster"]},
        "minItems": 1,
        "description": "What the answer was made from: the plot, the poster, or both.",
    }
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    stated_language = {
        "type": "string",
        "pattern": LANGUAGE_PATTERN,
        "description": "The plot's language as an ISO 639-1 code (e.g. 'es'), for short or mixed "
        "plots; detected when not given. A multilingual model answers with the path for it.",
    }
    genre = {"type": "string", "enum": list(labels)}
    per_genre = {
        "type": "object",
        "properties": {label: probability for label in labels},
        "required": list(labels),
        "additionalProperties": False,
    }
    schemas: dict[str, Any] = {
        "SinglePredictRequest": {
            "type": "object",
            "description": "One movie: a plot, a poster, or both.",
            "properties": {
                "plot": plot,
                **({"poster": poster} if reads_posters else {}),
                "language": stated_language,
                "explain": {
                    "type": "boolean",
                    "default": False,
                    "description": "Also return per-genre word weights of the plot (slower; "
                    "needs a plot).",
                },
            },
            **(
                {"anyOf": [{"required": ["plot"]}, {"required": ["poster"]}]}
                if reads_posters
                else {"required": ["plot"]}
            ),
            "additionalProperties": False,
        },
        "FormPredictRequest": {
            "type": "object",
            "description": "One movie as an HTML form sends it: fields plot and poster (a file)"
            + (
                "; a non-blank plot, a poster, or both are required (a blank plot is refused, "
                "with a poster too, as in JSON). "
                if reads_posters
                else ". "
            )
            + "Every form field is text, so plot has no type to check (a JSON null sent as a "
            "form field arrives as the text null).",
            "properties": {
                "plot": form_plot,
                **(
                    {"poster": {"type": "string", "format": "binary", "description": poster_rules}}
                    if reads_posters
                    else {}
                ),
            },
            # plot, poster or both: the only fields there are (others are a 400, but not written
            # as additionalProperties: a form drops unnamed and empty parts on the way, so such a
            # rule could not be checked on what arrives)
            **({"minProperties": 1} if reads_posters else {"required": ["plot"]}),
        },
        "BatchPredictRequest": {
            "type": "object",
            "properties": {
                "plots": {
                    "type": "array",
                    "items": plot,
                    "minItems": 1,
                    "maxItems": limits.max_batch,
                },
                "language": stated_language,
            },
            "required": ["plots"],
            "additionalProperties": False,
        },
        "Scores": per_genre,
        "Thresholds": per_genre,
        "ModelSummary": {
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "description": "The model as a user names it: the shipped tier (best, "
                    "default, fast) or the folder of the bundle served.",
                },
                "type": {"type": "string"},
                "version": {"type": "string"},
                "fingerprint": {"description": "Fingerprint of the training data (any JSON)."},
            },
            "required": ["type", "version", "fingerprint"],
        },
        "Warning": {
            "type": "object",
            "description": "Why the answer may not be trustworthy for this plot. Codes: "
            + " ".join(f"`{code}`: {text}" for code, text in WARNING_CODES.items()),
            "properties": {
                "code": {"type": "string", "enum": list(WARNING_CODES)},
                "message": {"type": "string", "description": "For people; may change."},
                "language": {
                    "type": "string",
                    "description": "With `unsupported_language`: the plot's language (ISO 639).",
                },
            },
            "required": ["code", "message"],
            "additionalProperties": False,
        },
        "Warnings": {
            "type": "array",
            "items": {"$ref": REF + "Warning"},
            "description": "Empty when all is well. A plot the model cannot read at all is "
            "still answered (200) with its warnings and no genre.",
        },
        "Language": {
            "type": "object",
            "nullable": True,
            "description": "The plot's language: an ISO 639-1 code (py3langid's; 'zxx' for text "
            "without language) and a confidence in [0, 1] (1 when the caller stated it); null "
            "for a poster alone.",
            "properties": {"code": {"type": "string"}, "confidence": probability},
            "required": ["code", "confidence"],
            "additionalProperties": False,
        },
        "Result": {
            "type": "object",
            "properties": {
                "genres": {"type": "array", "items": genre},
                "scores": {"$ref": REF + "Scores"},
                "truncated": {"type": "boolean"},
                "warnings": {"$ref": REF + "Warnings"},
                "inputs": inputs,
                "language": {"$ref": REF + "Language"},
            },
            "required": ["genres", "scores", "truncated", "warnings", "inputs", "language"],
        },
        "Explanation": {
            "type": "object",
            "description": "Genre -> [word, weight] pairs in the plot's word order.",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
        "SinglePredictResponse": {
            "type": "object",
            "properties": {
                "genres": {"type": "array", "items": genre},
                "scores": {"$ref": REF + "Scores"},
                "thresholds": {"$ref": REF + "Thresholds"},
                "model": {"$ref": REF + "ModelSummary"},
                "truncated": {"type": "boolean"},
                "warnings": {"$ref": REF + "Warnings"},
                "inputs": inputs,
                "language": {"$ref": REF + "Language"},
                "explanation": {"$ref": REF + "Explanation"},
                "explanation_info": {
                    "type": "object",
                    "description": "How the explanation was made: method, scale, total_words, "
                    "explained_words, truncated (only the first words of a long plot are "
                    "explained).",
                },
            },
            "required": [
                "genres",
                "scores",
                "thresholds",
                "model",
                "truncated",
                "warnings",
                "inputs",
                "language",
            ],
        },
        "BatchPredictResponse": {
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": {"$ref": REF + "Result"}},
                "thresholds": {"$ref": REF + "Thresholds"},
                "model": {"$ref": REF + "ModelSummary"},
            },
            "required": ["results", "thresholds", "model"],
        },
        "ModelInfo": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "model_type": {"type": "string"},
                "version": {"type": "string"},
                "fingerprint": {},
                "labels": {"type": "array", "items": {"type": "string"}},
                "inputs": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["plot", "poster"]},
                    "description": "What the model reads.",
                },
                "thresholds": {"$ref": REF + "Thresholds"},
                "min_genres": {"type": "integer", "minimum": 0},
                "max_words": {"type": "integer", "nullable": True},
                "metrics": {"type": "object"},
                "calibration": {
                    "type": "object",
                    "description": "How scores were made probabilities: the method fitted per "
                    "genre on the validation split ('none': the model's own scores) and the "
                    "expected calibration error measured on the test split.",
                    "properties": {
                        "method": {
                            "type": "string",
                            "enum": ["platt", "temperature", "beta", "isotonic", "none"],
                        },
                        "fitted_on": {"type": "string", "nullable": True},
                        "test_ece": {"type": "number", "nullable": True},
                    },
                    "required": ["method", "fitted_on", "test_ece"],
                },
                "created": {"type": "string", "nullable": True},
            },
            "required": [
                "model_type",
                "version",
                "labels",
                "thresholds",
                "metrics",
                "calibration",
            ],  # fmt: skip
        },
        "Health": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "model": {"$ref": REF + "ModelSummary"},
            },
            "required": ["status"],
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                    "required": ["code", "message"],
                }
            },
            "required": ["error"],
        },
    }
    predict = {
        "operationId": "predict",
        "summary": "Predict the genres of one plot or of a batch of plots.",
        "requestBody": {
            "required": True,
            "description": "UTF-8 JSON or multipart/form-data. At most "
            f"{limits.max_body_bytes} bytes without a poster, "
            f"{limits.max_poster_request_bytes} bytes with one (the decoded poster at most "
            f"{MAX_POSTER_BYTES} bytes). At most {limits.max_large_bodies} bodies over "
            f"{limits.max_body_bytes} bytes are read at once per server process; others wait up to "
            f"{limits.large_body_wait_s:g} s, then get a 503.",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": REF + "SinglePredictRequest"},
                            {"$ref": REF + "BatchPredictRequest"},
                        ]
                    }
                },
                "multipart/form-data": {"schema": {"$ref": REF + "FormPredictRequest"}},
            },
        },
        "responses": {
            "200": {
                "description": "Genres above their thresholds, every genre's probability.",
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": REF + "SinglePredictResponse"},
                                {"$ref": REF + "BatchPredictResponse"},
                            ]
                        }
                    }
                },
            },
            "400": _error(
                "Invalid body: not UTF-8, not JSON, a missing, unknown or wrongly typed field, "
                f"a blank plot, not 1 to {limits.max_batch} plots, neither a plot nor a poster, "
                "explain without a plot, a poster that is not base64, a poster that is valid "
                "base64 (or a file) but not a JPEG, PNG or WebP image, or truncated or corrupt, "
                "or a poster alone sent to a model that reads plots only."
            ),
            "413": _error(
                f"Body over {limits.max_body_bytes} bytes without a poster or "
                f"{limits.max_poster_request_bytes} bytes with one; a poster over "
                f"{MAX_POSTER_BYTES // (1024 * 1024)} MB ({MAX_POSTER_BYTES} bytes) decoded, "
                f"or over {MAX_POSTER_PIXELS // 1_000_000} megapixels."
            ),
            "415": _error("Content-Type is neither application/json nor multipart/form-data."),
            "503": _error(
                f"{limits.max_large_bodies} large bodies are already being read, or a large "
                "poster waited too long for its turn to be decoded; retry after the seconds "
                "in the Retry-After header."
            ),
            **_common_errors(),
        },
    }

    def get(operation_id: str, summary: str, schema: str) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation_id,
                "summary": summary,
                "responses": {"200": _ok(summary, schema), **_common_errors()},
            }
        }

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "moviegenre",
            "version": __version__,
            "description": "Predict a movie's genres from its plot summary.",
        },
        "paths": {
            "/api/v1/predict": {"post": predict},
            "/api/v1/model": get("modelInfo", "The loaded model.", "ModelInfo"),
            "/healthz": get("health", "Liveness check.", "Health"),
        },
        "components": {"schemas": schemas},
    }
