"""Predict requests read once for both blueprints: the JSON and the form parser, within the app's
limits (1 MB without a poster, 14 MB with one, few large bodies at once); posters decoded."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from flask import request
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from moviegenre.images.reader import MAX_POSTER_BYTES, PosterBusyError, PosterError, read_poster
from moviegenre.movie import Movie
from moviegenre.serving.service import current_limits
from moviegenre.text.checks import LANGUAGE_PATTERN

# "data:image/png;base64," in front of the base64 text is accepted (what browsers' FileReader gives)
DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
MAX_BASE64_CHARS = (MAX_POSTER_BYTES + 2) // 3 * 4


class Busy(HTTPException):
    code = 503
    description = "too many large requests at once; try again in a few seconds"


def no_poster_too_large() -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        description=f"the request body is over {current_limits().max_body_bytes // 1024} KiB "
        "and carries no poster; send fewer or shorter plots"
    )


@contextlib.contextmanager
def body_slot() -> Iterator[None]:
    """Hold one of the app's large-body slots while a body over the plain limit (or of unknown
    size) is read."""
    limits = current_limits()
    length = request.content_length
    if length is not None and length <= limits.max_body_bytes:
        yield
        return
    if not limits.large_bodies.acquire(timeout=limits.large_body_wait_s):
        raise Busy()
    try:
        yield
    finally:
        limits.large_bodies.release()


def decode_base64_poster(value: Any, where: str = '"poster"') -> bytes:
    """The image bytes of a base64 (or base64 data URL) poster field; BadRequest when it is not."""
    if not isinstance(value, str):
        kind = type(value).__name__ if value is not None else "null"
        raise BadRequest(description=f"{where} must be a base64 string, got {kind}")
    text = DATA_URL.sub("", value.strip(), count=1)
    if len(text) > MAX_BASE64_CHARS + 4:
        raise RequestEntityTooLarge(
            description=f"poster: over {MAX_POSTER_BYTES // (1024 * 1024)} MB once decoded"
        )
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            description=f"{where} is not valid base64 (a data: URL prefix is allowed)"
        ) from None
    if not data:
        raise BadRequest(description=f"{where} is empty")
    return data


def picture(data: bytes) -> Any:
    """Decode poster bytes; a bad image becomes the HTTP error its PosterError names."""
    try:
        return read_poster(data)
    except PosterError as exc:
        raise poster_http_error(exc) from None


class PosterBusy(HTTPException):
    """503 with Retry-After: the decode gate (images/reader.py) had no slot in time."""

    code = 503

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description=description)
        self.retry_after = retry_after

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("Retry-After", str(self.retry_after))]


def poster_http_error(exc: PosterError) -> HTTPException:
    """The HTTP error for a poster that cannot be used (the one place a PosterError maps)."""
    if isinstance(exc, PosterBusyError):
        return PosterBusy(str(exc), exc.retry_after)
    error = RequestEntityTooLarge if exc.status == 413 else BadRequest
    return error(description=f"poster: {exc}")


# ----- the one predict request parser ----------------------------------------------------------
# Exactly the OpenAPI `pattern` for a plot: at least one non-whitespace character.
NON_BLANK = re.compile(r"\S")
LANGUAGE = re.compile(LANGUAGE_PATTERN)
SINGLE_FIELDS = {"plot", "poster", "explain", "language"}
BATCH_FIELDS = {"plots", "language"}
EXAMPLE = '{"plot": "A retired hitman seeks revenge.", "poster": "<base64, optional>"}'
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class PredictRequest:
    """A checked predict request: its movies (a poster as the image's bytes until `decoded`),
    whether it was a single movie, and whether it asks for an explanation."""

    movies: list[Movie]
    single: bool
    explain: bool = False

    @property
    def poster(self) -> bytes | None:
        """The poster's bytes (only a single movie has one)."""
        return self.movies[0].poster if self.single else None

    def decoded(self) -> PredictRequest:
        """The same request with its poster decoded (an HTTP error when it is no image)."""
        if self.poster is None:
            return self
        return replace(self, movies=[replace(self.movies[0], poster=picture(self.poster))])


class BadPredictRequest(BadRequest):
    """A 400 for a predict request; `problem` is what is wrong, without the API's hint (the page
    shows that alone)."""

    def __init__(self, problem: str) -> None:
        super().__init__(description=f'{problem}; send JSON like {EXAMPLE} or {{"plots": [...]}}')
        self.problem = problem


def _bad(message: str) -> BadPredictRequest:
    return BadPredictRequest(message)


def _check_plot(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(
            f"{where} must be a string, got {type(value).__name__ if value is not None else 'null'}"
        )
    if not NON_BLANK.search(value):
        raise _bad(f"{where} is empty or only whitespace")
    return value


def _check_language(body: dict[str, Any]) -> str | None:
    """The plot's language as the caller states it (an ISO 639-1 code), or None to detect it."""
    if "language" not in body:
        return None
    value = body["language"]
    if not isinstance(value, str) or not LANGUAGE.match(value):
        raise _bad('"language" must be an ISO 639-1 code such as "es"')
    return value.lower()


def parse_predict_body(raw: bytes, max_batch: int) -> PredictRequest:
    """Decode and check a JSON predict body; raise BadRequest saying what to send instead."""
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
        if not 1 <= len(plots) <= max_batch:
            raise _bad(f'"plots" must hold 1 to {max_batch} plots, got {len(plots)}')
        checked = [_check_plot(p, f'"plots"[{i}]') for i, p in enumerate(plots)]
        language = _check_language(body)
        return PredictRequest(movies=[Movie(p, None, language) for p in checked], single=False)
    unknown = sorted(set(body) - SINGLE_FIELDS)
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(map(repr, unknown))}")
    poster = decode_base64_poster(body["poster"]) if "poster" in body else None
    language = _check_language(body)
    return _single(body.get("plot"), "plot" in body, poster, body.get("explain", False), language)


def _single(
    plot: Any, has_plot: bool, poster: bytes | None, explain: Any, language: str | None = None
) -> PredictRequest:
    if not has_plot and poster is None:
        raise _bad('the field "plot" is missing (send a "plot", a "poster", or both)')
    checked = _check_plot(plot, '"plot"') if has_plot else None
    if not isinstance(explain, bool):
        raise _bad('"explain" must be true or false')
    if explain and checked is None:
        raise _bad('"explain" highlights words of the plot; send a "plot" with it')
    movie = Movie(checked, poster, language)
    return PredictRequest(movies=[movie], single=True, explain=explain)


def parse_predict_form(page: bool = False) -> PredictRequest:
    """A form predict request: `plot` (text) and `poster` (a file); the page's form also has
    `explain` ("on") and may carry other fields (ignored); the API refuses them.

    On the page an empty plot beside a poster means the poster alone (the form always sends the
    box); the API refuses a blank plot as its JSON does (the OpenAPI document says so).
    """
    # a part whose Content-Disposition has no name comes as the key None
    unknown = (set(request.form) - {"plot"}) | (set(request.files) - {"poster"})
    if unknown and not page:
        names = sorted("(a field without a name)" if f is None else repr(f) for f in unknown)
        raise _bad(f"unknown form field(s) {', '.join(names)}")
    repeated = [name for name in ("plot", "poster") if len(request.values.getlist(name)) > 1]
    repeated += ["poster"] if len(request.files.getlist("poster")) > 1 else []
    if repeated:  # a list sent as a form: which one is the movie's?
        raise _bad(f"the form field {repeated[0]!r} comes more than once; send one")
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
    explain = page and request.form.get("explain") == "on"
    blank = not NON_BLANK.search(request.form.get("plot", ""))
    if page and blank and poster:
        return _single(None, False, poster, False)  # the page's empty plot box beside a poster
    return _single(request.form.get("plot"), "plot" in request.form, poster, explain)


def read_predict_request(page: bool = False) -> PredictRequest:
    """The checked request, read within the app's body limits: for the API, JSON or
    multipart/form-data; for the page (`page`), its form, with the explain box."""
    limits = current_limits()
    mimetype = request.mimetype
    is_json = not page and (mimetype == "application/json" or mimetype.endswith("+json"))
    if not is_json and not page and mimetype != MULTIPART:
        raise UnsupportedMediaType(
            description="send the body as JSON with the header Content-Type: application/json, "
            "or as multipart/form-data with fields plot and poster"
        )
    with body_slot():
        if is_json:
            raw = request.get_data(cache=False)
            size = len(raw)
            try:
                parsed = parse_predict_body(raw, limits.max_batch)
            except BadRequest:
                if size > limits.max_body_bytes:  # no usable poster in it: the 1 MB limit holds
                    raise no_poster_too_large() from None
                raise
        else:
            parsed = parse_predict_form(page)
            size = request.content_length or 0
    if parsed.poster is None and size > limits.max_body_bytes:
        raise no_poster_too_large()
    return parsed
