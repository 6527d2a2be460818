"""Where PyTorch computes: the device a run uses, and pinning a measurement to one CPU thread."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from moviegenre.errors import MovieGenreError

if TYPE_CHECKING:
    import torch


def resolve_device(name: str = "auto") -> torch.device:
    """The device for a name: "auto" is the local GPU if any (under torchrun, LOCAL_RANK's)."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MovieGenreError(f"device {name!r} asked for, but PyTorch sees no CUDA GPU here")
        if name == "cuda":
            name = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    elif name != "cpu":
        raise MovieGenreError(f"unknown device {name!r}; expected auto, cpu or cuda")
    return torch.device(name)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Pin the BLAS/OpenMP pools, and PyTorch's when it is loaded, to one thread for the block.

    Timings are reported per core. PyTorch is never imported here: a model that does not use
    it (TF-IDF, ONNX Runtime) must not pay for loading it.
    """
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    torch = sys.modules.get("torch")
    old_threads = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(1)
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None and old_threads is not None:
            torch.set_num_threads(old_threads)
