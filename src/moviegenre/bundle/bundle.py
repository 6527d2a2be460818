"""Save and load model bundles: checked, pickle-free, and never half-written."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.files import fsync_directory, replace_directory
from moviegenre.models.base import GenreModel

FORMAT_NAME = "moviegenre-bundle"
FORMAT_VERSION = 1
MANIFEST = "bundle.json"
# Files that could run code when loaded by some library; a bundle that holds one is refused.
UNSAFE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth", ".bin", ".h5", ".npz")


def default_model_path() -> Path:
    """The bundle shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "default_model"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def save_bundle(
    model: GenreModel, directory: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write `model` as a bundle directory; a crash at any point leaves the previous bundle intact.

    Everything is written into a temporary sibling directory first, synced, and then swapped in.
    """
    from moviegenre import __version__
    from moviegenre.bundle.card import render_model_card

    target = Path(directory).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a bundle is meant to be shared
    try:
        config = model.save_files(staging)
        manifest: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model_type": model.model_type,
            "labels": model.labels,
            "thresholds": [round(float(t), 4) for t in model.thresholds],
            "min_genres": model.min_genres,
            "config": config,
            "moviegenre_version": __version__,
            "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **(extra or {}),
        }
        (staging / "MODEL_CARD.md").write_text(render_model_card(manifest), encoding="utf-8")
        manifest["files"] = {
            p.relative_to(staging).as_posix(): _sha256(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in staging.rglob("*"):
            if path.is_dir():
                os.chmod(path, 0o755)
            if path.is_file():
                os.chmod(path, 0o644)  # some writers create private files; a bundle is shared
                with open(path, "rb+") as handle:
                    os.fsync(handle.fileno())
        fsync_directory(staging)
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Read and check a bundle's manifest and files, without loading the model."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MovieGenreError(
            f"{directory}: no model bundle here (expected a directory with {MANIFEST})"
        )
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise MovieGenreError(f"{directory}: not a model bundle ({MANIFEST} is missing)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MovieGenreError(f"{manifest_path}: corrupted bundle manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise MovieGenreError(f"{manifest_path}: not a moviegenre bundle manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise MovieGenreError(
            f"{directory}: bundle format version {version} is newer than this moviegenre reads "
            f"({FORMAT_VERSION}); upgrade moviegenre"
        )
    for path in directory.rglob("*"):
        if path.suffix.lower() in UNSAFE_SUFFIXES:
            raise MovieGenreError(
                f"{path}: refusing to load a bundle holding a {path.suffix} file "
                "(it could run code)"
            )
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise MovieGenreError(f"{manifest_path}: the file list is missing")
    for name, digest in files.items():
        path = directory / name
        if not path.is_file():
            raise MovieGenreError(f"{directory}: bundle file {name} is missing")
        if _sha256(path) != digest:
            raise MovieGenreError(f"{path}: file is corrupted or was changed (checksum mismatch)")
    labels = manifest.get("labels")
    thresholds = manifest.get("thresholds")
    if (
        not isinstance(labels, list)
        or not isinstance(thresholds, list)
        or len(labels) != len(thresholds)
    ):
        raise MovieGenreError(f"{manifest_path}: labels and thresholds do not match")
    return manifest


def load_bundle(directory: str | Path | None = None, runtime: str = "auto") -> GenreModel:
    """Load a bundle (the shipped default model when `directory` is None).

    runtime: "auto" uses ONNX Runtime when the bundle has an ONNX export, else the model's own code;
    "onnx" requires the export; "native" always uses the model's own code (PyTorch for neural ones).
    """
    from moviegenre.models import model_class

    directory = Path(directory) if directory is not None else default_model_path()
    manifest = read_manifest(directory)
    model_type = manifest["model_type"]
    config = manifest.get("config") or {}
    has_onnx = bool(config.get("onnx"))
    if runtime == "onnx" and not has_onnx:
        raise MovieGenreError(
            f"{directory}: this bundle has no ONNX export; run moviegenre export --onnx"
        )
    if runtime in ("auto", "onnx") and has_onnx:
        cls = model_class("onnx")
    else:
        cls = model_class(model_type)
    model = cls.load_files(directory, config, list(manifest["labels"]))
    if len(model.labels) != len(manifest["labels"]):
        raise MovieGenreError(
            f"{directory}: model outputs do not match its {len(manifest['labels'])} labels"
        )
    model.thresholds = np.asarray(manifest["thresholds"], dtype=np.float32)
    model.min_genres = int(manifest.get("min_genres", 1))
    model.metadata = {k: v for k, v in manifest.items() if k not in ("config",)}
    model.metadata["path"] = str(directory)
    return model
