"""Add an ONNX export to a saved bundle, atomically, and check it answers like the original."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.files import replace_directory
from moviegenre.models.base import ExportsOnnx

# Manifest fields the bundle writer fills itself; everything else (fingerprint, training,
# metrics...) is carried over unchanged when the bundle is re-saved.
_WRITER_FIELDS = {
    "format", "format_version", "model_type", "labels", "thresholds", "min_genres", "config",
    "moviegenre_version", "created", "files", "path",
}  # fmt: skip
# Plots that exercise the edges: empty, one word, punctuation, unknown words, a long plot.
PARITY_PLOTS = (
    "",
    "Ghosts.",
    "A retired hitman is pulled back into the criminal underworld for one last job in Tokyo.",
    "Two strangers fall in love on a night train across Europe, but morning brings the truth.",
    "Zxqv blorf quantumly flibbers the xylograph!!! ... ?",
    "An alien scientist crash-lands in a small Texas town and befriends a lonely girl. " * 40,
)
PARITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float
    plots_checked: int


def parity(native, onnx_model, plots: Sequence[str]) -> float:
    """Largest absolute difference between two models' probabilities on `plots`."""
    plots = list(plots)
    if not plots:
        return 0.0
    a = native.predict_proba(plots)
    b = onnx_model.predict_proba(plots)
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def export_onnx(
    directory: str | Path,
    check_plots: Sequence[str] | None = None,
    tolerance: float = PARITY_TOLERANCE,
) -> ExportResult:
    """Re-save the bundle at `directory` with `model.onnx` and check parity before swapping it in.

    The new bundle is written next to the old one and checked (ONNX Runtime vs PyTorch on
    PARITY_PLOTS plus `check_plots`); only then does it replace the old bundle, so a failed export
    leaves the bundle exactly as it was.
    """
    from moviegenre.bundle import load_bundle, save_bundle

    target = Path(directory).resolve()
    model = load_bundle(target, runtime="native")
    if not isinstance(model, ExportsOnnx):
        raise MovieGenreError(
            f"{target}: model type {model.kind!r} has no ONNX export (only neural models do)"
        )
    extra = {k: v for k, v in model.metadata.items() if k not in _WRITER_FIELDS}
    model.with_onnx = True
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
    try:
        candidate = staging / target.name
        with warnings.catch_warnings():
            # h0/c0 are zeros in the graph, so any batch size runs; the exporter's note is noise
            warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
            save_bundle(model, candidate, extra)
        exported = load_bundle(candidate, runtime="onnx")
        plots = [*PARITY_PLOTS, *(check_plots or [])]
        diff = parity(model, exported, plots)
        if not diff <= tolerance:  # also catches NaN
            raise MovieGenreError(
                f"{target}: ONNX export disagrees with PyTorch (max abs diff {diff:.2e} > "
                f"{tolerance:.0e}); the bundle was left unchanged"
            )
        replace_directory(candidate, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(target, diff, len(plots))
