"""Request bodies within their limits: 1 MB without a poster, 14 MB with one, few large at once."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from moviegenre.images.reader import MAX_POSTER_BYTES, PosterBusyError, PosterError, read_poster
from moviegenre.serving.service import LARGE_BODY_WAIT_S, MAX_BODY_BYTES, MAX_LARGE_BODIES

_large_bodies = threading.BoundedSemaphore(MAX_LARGE_BODIES)
# "data:image/png;base64," in front of the base64 text is accepted (what browsers' FileReader gives)
DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
MAX_BASE64_CHARS = (MAX_POSTER_BYTES + 2) // 3 * 4


class Busy(HTTPException):
    code = 503
    description = "too many large requests at once; try again in a few seconds"


def no_poster_too_large() -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        description=f"the request body is over {MAX_BODY_BYTES // 1024} KiB and carries no "
        "poster; send fewer or shorter plots"
    )


@contextlib.contextmanager
def body_slot() -> Iterator[None]:
    """Hold one of MAX_LARGE_BODIES slots while a body over 1 MB (or of unknown size) is read."""
    length = request.content_length
    if length is not None and length <= MAX_BODY_BYTES:
        yield
        return
    if not _large_bodies.acquire(timeout=LARGE_BODY_WAIT_S):
        raise Busy()
    try:
        yield
    finally:
        _large_bodies.release()


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
