"""Poster reading: every format and mode we accept, and every way a hostile file is refused."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from moviegenre.images.reader import (
    MAX_POSTER_BYTES,
    MAX_POSTER_PIXELS,
    PosterError,
    read_poster,
    read_poster_bytes,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def two_colour(size=(40, 60)) -> Image.Image:
    """Left half red, right half blue: orientation and colour are both checkable."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_reads_each_format_as_rgb(fmt):
    picture = read_poster(encode(two_colour(), fmt))
    assert picture.shape == (60, 40, 3) and picture.dtype == np.uint8
    assert picture[30, 5, 0] > 200 and picture[30, 5, 2] < 60  # red on the left
    assert picture[30, 35, 2] > 200 and picture[30, 35, 0] < 60  # blue on the right


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    picture = read_poster(encode(two_colour(), "JPEG", exif=exif))
    assert picture.shape == (40, 60, 3)  # width and height swapped
    assert picture[5, 30, 0] > 200  # the red half is now on top
    assert picture[35, 30, 2] > 200


@pytest.mark.parametrize(
    ("mode", "fmt"), [("L", "PNG"), ("1", "PNG"), ("CMYK", "JPEG"), ("L", "JPEG"), ("I;16", "PNG")]
)
def test_other_modes_become_rgb(mode, fmt):
    source = Image.new("L", (20, 30), 255 if mode == "1" else 200)
    image = source.convert(mode) if mode != "I;16" else Image.new("I;16", (20, 30), 50000)
    picture = read_poster(encode(image, fmt))
    assert picture.shape == (30, 20, 3)
    assert picture.dtype == np.uint8
    assert picture.min() > 100  # light grey/white stays light (16-bit is scaled, not clipped)


def test_alpha_and_palette_transparency_go_over_white():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (0, 0, 5, 10))
    picture = read_poster(encode(rgba, "PNG"))
    assert picture[5, 8].tolist() == [255, 255, 255]  # transparent -> white
    assert picture[5, 2].tolist() == [0, 0, 0]  # opaque black stays black
    palette = Image.new("P", (10, 10), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0])  # index 0 black (transparent), 1 red
    palette.paste(1, (0, 0, 5, 10))
    picture = read_poster(encode(palette, "PNG", transparency=0))
    assert picture[5, 8].tolist() == [255, 255, 255]
    assert picture[5, 2].tolist() == [255, 0, 0]
    grey_alpha = Image.new("LA", (10, 10), (0, 0))
    assert read_poster(encode(grey_alpha, "PNG"))[0, 0].tolist() == [255, 255, 255]


def test_reads_a_file_path(tmp_path):
    path = tmp_path / "poster.webp"
    path.write_bytes(encode(two_colour(), "WEBP"))
    assert read_poster(path).shape == (60, 40, 3)
    assert read_poster(str(path)).shape == (60, 40, 3)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, I am text", b"%PDF-1.4 not an image", encode(two_colour(), "GIF"),
     encode(two_colour(), "BMP")],
    ids=["empty", "text", "pdf", "gif", "bmp"],
)  # fmt: skip
def test_refuses_what_is_not_an_accepted_image(data):
    with pytest.raises(PosterError) as info:
        read_poster(data)
    assert info.value.status == 400
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_refuses_truncated_images(fmt):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    data = encode(noisy, fmt)
    with pytest.raises(PosterError, match="truncated or corrupt|not an image"):
        read_poster(data[: len(data) // 2])


def test_refuses_corrupt_png_data():
    data = bytearray(encode(two_colour(), "PNG"))
    at = data.index(b"IDAT") + 8
    data[at : at + 20] = b"\xff" * 20  # broken compressed stream (and checksum)
    with pytest.raises(PosterError):
        read_poster(bytes(data))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but carries almost no data (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_refuses_too_many_pixels_before_decoding():
    side = int(MAX_POSTER_PIXELS**0.5) + 10
    with pytest.raises(PosterError, match="megapixels") as info:
        read_poster(_png_header_only(side, side))
    assert info.value.status == 413
    with pytest.raises(PosterError) as info:
        read_poster(_png_header_only(100_000, 100_000))  # past Pillow's own bomb limit too
    assert info.value.status == 413


def test_refuses_oversize_bytes_and_files(tmp_path):
    big = b"\xff\xd8" + b"\0" * MAX_POSTER_BYTES
    with pytest.raises(PosterError, match="over 10 MB") as info:
        read_poster(big)
    assert info.value.status == 413
    path = tmp_path / "big.jpg"
    path.write_bytes(big)
    with pytest.raises(PosterError, match="over 10 MB"):
        read_poster_bytes(path)
    with pytest.raises(PosterError, match="no such poster file"):
        read_poster(tmp_path / "missing.jpg")
    with pytest.raises(PosterError, match="directory"):
        read_poster(tmp_path)


def test_large_jpeg_is_decoded_at_reduced_scale():
    image = Image.new("RGB", (4000, 3000), (10, 200, 10))
    picture = read_poster(encode(image, "JPEG", quality=50))
    # draft mode decodes at 1/2, 1/4 or 1/8 scale, never below what the network needs
    assert 448 <= picture.shape[1] <= 1000 and picture.shape[0] >= 336
    assert abs(int(picture[10, 10, 1]) - 200) < 10


@pytest.fixture
def tiny_shrink(monkeypatch):
    """Shrink anything with a shorter side of 20 px or more, so small images take the big path."""
    from moviegenre.images import reader

    monkeypatch.setattr(reader, "SHRUNK_SIDE", 10)
    seen = []
    original = reader._to_rgb

    def spy(image):
        seen.append(image.size)
        return original(image)

    monkeypatch.setattr(reader, "_to_rgb", spy)
    return seen


def test_large_images_are_shrunk_before_conversion(tiny_shrink):
    picture = read_poster(encode(two_colour((40, 60)), "PNG"))
    # shorter side 40 = 4 x 10: divided by 4 before any conversion sees it
    assert picture.shape == (15, 10, 3)
    assert tiny_shrink == [(10, 15)]
    assert picture[7, 1].tolist() == [255, 0, 0] and picture[7, 8].tolist() == [0, 0, 255]
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": kept through the shrink
    rotated = read_poster(encode(two_colour((40, 60)), "PNG", exif=exif))
    assert rotated.shape == (10, 15, 3)
    assert rotated[1, 7].tolist() == [255, 0, 0] and rotated[8, 7].tolist() == [0, 0, 255]


def test_shrunk_16_bit_palette_and_alpha_convert_like_small_ones(tiny_shrink):
    grey = np.full((60, 40), 40000, dtype=np.uint16)
    grey[:, 20:] = 10000
    picture = read_poster(encode(Image.fromarray(grey), "PNG"))
    assert picture.shape == (15, 10, 3)
    # scaled by the brightest pixel (40000 -> 255), not clipped, and no float64 copy is needed
    assert picture[5, 2].tolist() == [255, 255, 255]
    assert abs(int(picture[5, 7, 0]) - round(10000 * 255 / 40000)) <= 1
    palette = Image.new("P", (40, 60), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0])  # index 0 black (transparent), 1 red
    palette.paste(1, (0, 0, 20, 60))
    picture = read_poster(encode(palette, "PNG", transparency=0))
    assert picture[5, 2].tolist() == [255, 0, 0] and picture[5, 8].tolist() == [255, 255, 255]
    rgba = Image.new("RGBA", (40, 60), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (0, 0, 20, 60))
    picture = read_poster(encode(rgba, "PNG"))
    assert picture[5, 2].tolist() == [0, 0, 0] and picture[5, 8].tolist() == [255, 255, 255]
    # a block half opaque red, half transparent: red over white at half strength, no dark fringe
    edge = Image.new("RGBA", (40, 60), (0, 0, 0, 0))
    edge.paste((255, 0, 0, 255), (0, 0, 2, 60))
    red, green, blue = read_poster(encode(edge, "PNG"))[5, 0].tolist()
    assert red == 255 and abs(green - 128) <= 1 and green == blue  # not (191, 128, 128)
    one_bit = Image.new("1", (40, 60), 1)
    assert read_poster(encode(one_bit, "PNG")).min() == 255


def test_decode_gate_refuses_a_large_poster_when_no_slot_frees(monkeypatch):
    from moviegenre.images import reader

    monkeypatch.setattr(reader, "GATED_PIXELS", 100)
    gate = reader.DecodeGate(slots=1, wait_s=0.01)
    assert gate.slots == 1
    large, small = encode(two_colour((20, 10)), "PNG"), encode(two_colour((5, 5)), "PNG")
    with gate.slot():
        with pytest.raises(reader.PosterBusyError) as caught:
            read_poster(large, gate=gate)
        assert caught.value.status == 503 and caught.value.retry_after >= 1
        assert read_poster(small, gate=gate).shape == (5, 5, 3)  # under GATED_PIXELS: no wait
    assert read_poster(large, gate=gate).shape == (10, 20, 3)  # the slot is free again


def test_decode_gate_bounds_memory_as_well_as_count():
    from moviegenre.images.reader import DecodeGate, PosterBusyError

    gate = DecodeGate(slots=3, memory_mb=10, wait_s=0.01)
    mb = 1024 * 1024
    with gate.slot(6 * mb):
        with gate.slot(4 * mb):  # 10 MB together: fits
            with pytest.raises(PosterBusyError):
                with gate.slot(1 * mb):  # a third slot is free, the budget is not
                    pass
        with pytest.raises(PosterBusyError):
            with gate.slot(5 * mb):
                pass
    with gate.slot(50 * mb):  # over the whole budget: allowed when it is the only one
        with pytest.raises(PosterBusyError):
            with gate.slot(0):
                pass
