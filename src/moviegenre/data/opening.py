"""Opening data files: plain or gzip, the text encoding guessed from the start, the first line."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def sniff_encoding(sample: bytes) -> str:
    """utf-8 when the sample decodes as UTF-8 (a cut multi-byte character at its end aside)."""
    try:
        sample.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        return "utf-8-sig" if exc.start >= len(sample) - 3 else "latin-1"


def open_text(path: Path, encoding: str | None = None) -> IO[str]:
    """A text handle on a plain or gzip file, with the encoding guessed from its start."""
    if encoding is None:
        with open_binary(path) as handle:
            encoding = sniff_encoding(handle.read(65536))
    binary = open_binary(path)
    return io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")


def first_line(path: Path) -> str:
    """The first non-blank line of a text file (decoded leniently), "" when there is none."""
    with open_text(path) as handle:
        for _ in range(1000):
            line = handle.readline(1 << 20)
            if not line:
                return ""
            if line.strip():
                return line.lstrip("\ufeff")
    return ""
