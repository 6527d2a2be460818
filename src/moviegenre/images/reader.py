"""Read a poster image safely: JPEG, PNG or WebP in, an upright 8-bit RGB picture out.

Everything a user sends passes through `read_poster`: the byte size is checked before decoding,
the pixel count before any pixel is decoded (decompression bombs), JPEGs are decoded at a reduced
scale when they are far larger than the network needs, and every decoding failure becomes a
one-line `PosterError`.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError

# A poster is a few hundred KB; 10 MB leaves room for a scan without letting a client fill memory.
MAX_POSTER_BYTES = 10 * 1024 * 1024
# 40 megapixels (e.g. 5000 x 8000) decode to 120 MB of RGB at most: larger is refused unread.
MAX_POSTER_PIXELS = 40_000_000
FORMATS = ("JPEG", "PNG", "WEBP")
# JPEGs are decoded at the smallest power-of-two scale that still covers this (the network reads
# 224 x 224), which turns a 30 MP photo into a fast, small decode.
DRAFT_SIZE = (448, 448)


class PosterError(MovieGenreError):
    """A poster that cannot be used; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def read_poster_bytes(path: str | Path) -> bytes:
    """The bytes of a poster file, refusing files over MAX_POSTER_BYTES without reading them."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_POSTER_BYTES + 1)
    except FileNotFoundError:
        raise PosterError(f"{path}: no such poster file") from None
    except IsADirectoryError:
        raise PosterError(f"{path}: is a directory, expected an image file") from None
    except OSError as exc:
        raise PosterError(f"{path}: cannot read the poster ({exc.strerror or exc})") from None
    if len(data) > MAX_POSTER_BYTES:
        raise PosterError(_too_large(f"{path}: the poster"), status=413)
    return data


def _too_large(what: str) -> str:
    return f"{what} is over {MAX_POSTER_BYTES // (1024 * 1024)} MB; send a smaller image"


def read_poster(source: bytes | str | Path) -> np.ndarray:
    """Decode a poster (its bytes, or a file path) into an (height, width, 3) uint8 RGB array.

    EXIF orientation is applied; greyscale, CMYK, palette, 16-bit and alpha images are turned into
    plain RGB (transparent parts over white). Raises PosterError for anything else.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, str | Path):
        data = read_poster_bytes(source)
        where = f"{source}: "
    else:
        data = bytes(source)
        where = ""
        if len(data) > MAX_POSTER_BYTES:
            raise PosterError(_too_large("the poster"), status=413)
    if not data:
        raise PosterError(f"{where}the poster is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow warns (not raises) between its own limit and twice it; our limit is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width < 1 or height < 1:
                raise PosterError(f"{where}the image has no pixels ({width} x {height})")
            if width * height > MAX_POSTER_PIXELS:
                raise PosterError(
                    f"{where}the image is {width} x {height} pixels, over the limit of "
                    f"{MAX_POSTER_PIXELS // 1_000_000} megapixels",
                    status=413,
                )
            if image.format == "JPEG":
                image.draft("RGB", DRAFT_SIZE)
            image.load()  # decode now, inside this try: truncated data fails here
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except PosterError:
        raise
    except UnidentifiedImageError:
        raise PosterError(f"{where}not an image Pillow reads as JPEG, PNG or WebP") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PosterError(
            f"{where}the image has more pixels than the limit of "
            f"{MAX_POSTER_PIXELS // 1_000_000} megapixels",
            status=413,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        # Pillow reports truncated and corrupt data as OSError, SyntaxError, ValueError or
        # struct.error (some broken PNG and WebP headers).
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PosterError(f"{where}the image is truncated or corrupt ({reason})") from None


def _to_rgb(image) -> np.ndarray:
    """Any Pillow mode as 8-bit RGB; alpha is composited over white (posters are shown on white)."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greyscale: scale to 0..255 (a plain convert would clip to white)
        values = np.asarray(image, dtype=np.float64)
        peak = float(values.max()) if values.size else 0.0
        scale = 255.0 / peak if peak > 255 else 1.0
        grey = np.clip(values * scale, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(image, dtype=np.uint8)
