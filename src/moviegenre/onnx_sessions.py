"""ONNX Runtime sessions: CPU only, pinned threads, every graph optimisation (no PyTorch here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from moviegenre.errors import MovieGenreError


def thread_count() -> int:
    """Intra-op threads for ONNX Runtime: $MOVIEGENRE_THREADS, default 1 (scale with processes)."""
    raw = os.environ.get("MOVIEGENRE_THREADS", "1").strip() or "1"
    try:
        value = int(raw)
    except ValueError as exc:
        raise MovieGenreError(f"MOVIEGENRE_THREADS={raw!r}: expected a whole number") from exc
    if value < 0:
        raise MovieGenreError(f"MOVIEGENRE_THREADS={raw!r}: expected 0 (all cores) or more")
    return value


def make_session(path: Path) -> Any:
    """An ONNX Runtime CPU session with pinned threads and every graph optimisation."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = thread_count()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initialisers are noise for users
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for broken graphs
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MovieGenreError(f"{path}: not a loadable ONNX model ({message})") from exc
