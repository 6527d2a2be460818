"""Read a poster image safely: JPEG, PNG or WebP in, an upright 8-bit RGB picture out.

Everything a user sends passes through `read_poster`: the byte size is checked before decoding,
the pixel count before any pixel is decoded (decompression bombs), large images are shrunk as
they are decoded (JPEG) or right after (PNG, WebP) and only a few of them are decoded at once
(`DecodeGate`), and every decoding failure becomes a one-line `PosterError`.
"""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError

# A poster is a few hundred KB; 10 MB leaves room for a scan without letting a client fill memory.
MAX_POSTER_BYTES = 10 * 1024 * 1024
# 40 megapixels (e.g. 5000 x 8000; 160 MB in Pillow, which holds RGB as 4 bytes a pixel): larger
# is refused unread.
MAX_POSTER_PIXELS = 40_000_000
FORMATS = ("JPEG", "PNG", "WEBP")
# JPEGs are decoded at the smallest power-of-two scale that still covers this (the network reads
# 224 x 224), which turns a 30 MP photo into a fast, small decode.
DRAFT_SIZE = (448, 448)
# Every other image is shrunk right after decoding (a box filter, in C) until its shorter side is
# under twice this, so what stays in memory past the decode is about 1 MB at a poster's
# proportions and the conversions to RGB run on that small copy.
SHRUNK_SIDE = 448
# Images over this many pixels take a slot of the decode gate; smaller ones (typical posters are
# under 1 MP) decode at once, so a flood of huge posters never delays an ordinary one. Without
# the gate each server thread could hold a full-size decode (4 bytes a pixel at most).
GATED_PIXELS = 2_000_000
# At most this many gated decodes at once per process, and together at most DEFAULT_DECODE_MB of
# full-size pixels (Pillow holds RGB as 4 bytes a pixel: 160 MB at 40 MP; 16-bit grey 2 bytes):
# two 16-bit scans at once, or one RGB scan with a 16-bit one, or one RGB scan alone.
DEFAULT_DECODE_SLOTS = 2
DEFAULT_DECODE_MB = 256
# A gated poster waits at most this long for a slot, then is refused with a 503 (Retry-After).
DEFAULT_DECODE_WAIT_S = 10.0
# Bytes a pixel of each mode takes in Pillow's memory while decoding (others: 4).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 4, "PA": 4, "I;16": 2, "I;16B": 2, "I;16L": 2}


class PosterError(MovieGenreError):
    """A poster that cannot be used; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PosterBusyError(PosterError):
    """Too many large posters are being decoded; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, status=503)
        self.retry_after = retry_after


class DecodeGate:
    """Bounds large-poster decodes: at most `slots` at once and `memory_mb` of pixels together.

    A decode asks for the bytes its full-size image takes; it waits until both fit (one that
    alone is over the budget waits until it is the only one), and is refused with
    PosterBusyError after `wait_s` seconds.
    """

    def __init__(
        self,
        slots: int = DEFAULT_DECODE_SLOTS,
        memory_mb: int = DEFAULT_DECODE_MB,
        wait_s: float = DEFAULT_DECODE_WAIT_S,
    ) -> None:
        if slots < 1 or memory_mb < 1:
            raise ValueError(f"a decode gate needs slots and memory >= 1, got {slots}, {memory_mb}")
        self.slots = slots
        self.budget = memory_mb * 1024 * 1024
        self.wait_s = wait_s
        self._active = 0
        self._held = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def slot(self, nbytes: int = 0) -> Iterator[None]:
        """Hold a slot and `nbytes` of the budget, or raise PosterBusyError after `wait_s`."""

        def fits() -> bool:
            if self._active == 0:
                return True
            return self._active < self.slots and self._held + nbytes <= self.budget

        with self._changed:
            if not self._changed.wait_for(fits, timeout=self.wait_s):
                raise PosterBusyError(
                    "the server is busy reading other large images; try again in a few "
                    "seconds, or send a smaller image",
                    retry_after=max(1, round(self.wait_s / 2)),
                )
            self._active += 1
            self._held += nbytes
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._held -= nbytes
                self._changed.notify_all()


# The gate every read_poster call shares unless it is given its own (the server may set another).
DECODE_GATE = DecodeGate()


def set_decode_gate(gate: DecodeGate) -> None:
    """Make `gate` the one read_poster uses by default (e.g. the server's configured one)."""
    global DECODE_GATE
    DECODE_GATE = gate


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


def read_poster(source: bytes | str | Path, gate: DecodeGate | None = None) -> np.ndarray:
    """Decode a poster (its bytes, or a file path) into an (height, width, 3) uint8 RGB array.

    EXIF orientation is applied; greyscale, CMYK, palette, 16-bit and alpha images are turned into
    plain RGB (transparent parts over white). An image whose shorter side is over twice
    SHRUNK_SIDE comes back shrunk to about SHRUNK_SIDE (aspect kept). Images over GATED_PIXELS
    wait for a slot of `gate` (default DECODE_GATE) and raise PosterBusyError when none frees in
    time. Raises PosterError for anything else.
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
            decoded = image.size[0] * image.size[1]  # after draft: what will be decoded
            if decoded > GATED_PIXELS:
                nbytes = decoded * _MODE_BYTES.get(image.mode, 4)
                with (gate or DECODE_GATE).slot(nbytes):
                    image = _decode_and_shrink(image)
                _give_back_memory()
            else:
                image = _decode_and_shrink(image)
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except PosterError:
        raise
    except UnidentifiedImageError:
        raise PosterError(f"{where}not an image in JPEG, PNG or WebP format") from None
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


def _decode_and_shrink(image):
    """Decode `image` (truncated data fails here) and shrink it before anything else is done."""
    image.load()
    shrunk = _shrink(image)
    if shrunk is not image:
        shrunk.info = dict(image.info)  # EXIF orientation, palette transparency
        image.close()  # free the full-size pixels now, not when the garbage collector runs
    return shrunk


def _give_back_memory() -> None:
    """Hand freed heap memory back to the system after a large decode (glibc only).

    Pillow allocates a large image in 16 MB blocks, which glibc serves from per-thread heaps and
    keeps after they are freed; without this, every server thread would keep the largest image it
    ever decoded.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _shrink(image):
    """`image` divided by a whole factor when its shorter side is at least twice SHRUNK_SIDE.

    Each output pixel is the mean of its factor x factor block (Pillow's `reduce`, in C), taken
    a band of rows at a time so no full-size copy is made (Pillow's own resize of an image with
    alpha would convert the whole image first). Palette and 1-bit images go through a
    nearest-neighbour copy four times the final size (indices cannot be averaged); 16-bit
    greyscale, which `reduce` does not take, through a box-filter resize.
    """
    from PIL import Image

    width, height = image.size
    factor = min(width, height) // SHRUNK_SIDE
    if factor < 2:
        return image
    size = (-(-width // factor), -(-height // factor))
    if image.mode in ("P", "1"):
        middle = (min(width, size[0] * 4), min(height, size[1] * 4))
        return _palette_free(image.resize(middle, Image.Resampling.NEAREST)).resize(
            size, Image.Resampling.BOX
        )
    if image.mode.startswith("I;16"):
        return image.resize(size, Image.Resampling.BOX)
    shrunk = Image.new(image.mode, size)
    band = factor * 16
    for top in range(0, height, band):
        strip = image.crop((0, top, width, min(height, top + band)))
        shrunk.paste(strip.reduce(factor), (0, top // factor))
    return shrunk


def _palette_free(image):
    """A palette or 1-bit image as RGB, RGBA (when it has transparency) or L."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image.convert("RGBA")  # PA


def _to_rgb(image) -> np.ndarray:
    """Any Pillow mode as 8-bit RGB; alpha is composited over white (posters are shown on white)."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greyscale: scaled so the brightest pixel is white when it is over 255
        # (a plain convert would clip to white). float32 on the shrunk picture, never float64.
        values = np.asarray(image).astype(np.float32)
        peak = float(values.max()) if values.size else 0.0
        if peak > 255:
            values *= np.float32(255.0 / peak)
        grey = np.clip(values, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("P", "1"):
        image = _palette_free(image)
    if image.mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")  # L, CMYK, YCbCr, LAB, HSV
    return np.asarray(image, dtype=np.uint8)
