"""Tensor files: NumPy arrays to and from safetensors, with names and shapes checked on read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError


def write_tensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Write NumPy arrays as a safetensors file."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))


def read_tensors(
    path: Path, expected: dict[str, tuple[int, ...]] | None = None
) -> dict[str, np.ndarray]:
    """Read a safetensors file, checking names and shapes against `expected` when given."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise MovieGenreError(f"{path}: corrupted weights file ({exc})") from exc
    for name, shape in (expected or {}).items():
        if name not in tensors:
            raise MovieGenreError(f"{path}: tensor {name!r} is missing")
        if tuple(tensors[name].shape) != tuple(shape):
            raise MovieGenreError(
                f"{path}: tensor {name!r} has shape {tuple(tensors[name].shape)}, "
                f"expected {tuple(shape)}"
            )
    return tensors


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float table as int8 rows and one float32 scale per row (the row's largest magnitude
    maps to 127): a quarter of float32's bytes, each value within half a step of the original."""
    table = np.asarray(table, dtype=np.float32)
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0  # an all-zero row stays zero
    rows = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    return rows, scale.astype(np.float32)


def dequantize_rows(rows: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The float32 table `quantize_rows` stored."""
    return rows.astype(np.float32) * np.asarray(scale, dtype=np.float32)[:, None]
