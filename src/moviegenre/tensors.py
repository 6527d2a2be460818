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
