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

from moviegenre.calibration import Calibrator
from moviegenre.errors import MovieGenreError
from moviegenre.files import fsync_directory, replace_directory
from moviegenre.models.base import Composite, Predictor, Stored
from moviegenre.text.checks import KNOWN_WORDS_FILE, InputChecker
from moviegenre.thresholds import stored_thresholds
from moviegenre.version import __version__

FORMAT_NAME = "moviegenre-bundle"
FORMAT_VERSION = 1
MANIFEST = "bundle.json"
MEMBERS = "members"  # where a composite bundle keeps its members, one bundle each
# Files that could run code when loaded by some library; a bundle that holds one is refused.
UNSAFE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth", ".bin", ".h5", ".npz")


# The bundles shipped inside the package, by the name `--model` and load_model() take.
SHIPPED_MODELS = {"default": "default_model", "fast": "fast_model", "best": "best_model"}


def default_model_path() -> Path:
    """The default bundle shipped inside the package."""
    return model_path("default")


def model_path(path: str | Path | None) -> Path:
    """The bundle a model argument names: None is the shipped default; "default", "fast" or "best"
    is that shipped bundle (unless a folder of that name is here); anything else is a path."""
    name = "default" if path is None else str(path)
    if name in SHIPPED_MODELS and (path is None or not Path(path).exists()):
        return Path(__file__).resolve().parent.parent / SHIPPED_MODELS[name]
    return Path(name)


def shipped_tier(path: str | Path | None) -> str | None:
    """The tier name ("best", "default", "fast") of a shipped bundle's folder; None for others."""
    if not path:
        return None
    resolved = Path(path).resolve()
    for name, folder in SHIPPED_MODELS.items():
        if resolved == (Path(__file__).resolve().parent.parent / folder).resolve():
            return name
    return None


def _shipped_part(where: Path | str, name: Any, part: Any) -> Path:
    if name not in SHIPPED_MODELS:
        raise MovieGenreError(
            f"{where}: a member refers to a shipped model {name!r}; expected one of "
            f"{', '.join(SHIPPED_MODELS)}"
        )
    relative = Path(str(part or "."))
    if relative.is_absolute() or ".." in relative.parts:
        raise MovieGenreError(f"{where}: member part {relative} leaves the shipped bundle")
    target = Path(__file__).resolve().parent.parent / SHIPPED_MODELS[name] / relative
    if not (target / MANIFEST).is_file():
        raise MovieGenreError(
            f"{where}: a member is the shipped {name!r} model ({relative.as_posix()}), which "
            "this installation lacks"
        )
    return target


def load_shipped_member(name: str, part: str = ".") -> Predictor:
    """A shipped bundle (or one of its members, `part`), loaded to become a composite's member
    by reference: a composite saved with it records its name and the SHA-256 of its manifest
    instead of copying its files."""
    target = _shipped_part("shipped models", name, part)
    member = load_bundle(target)
    member.metadata["shipped"] = {
        "shipped": name, "part": Path(part).as_posix(),
        "manifest_sha256": _sha256(target / MANIFEST),
    }  # fmt: skip
    return member


def shipped_member(directory: Path, entry: dict[str, Any]) -> Path:
    """Where a member given by reference to a shipped bundle is, refused if that bundle changed.

    The pin is the SHA-256 of the member's manifest, which lists the SHA-256 of every file.
    """
    target = _shipped_part(directory, entry.get("shipped"), entry.get("part"))
    pinned, found = str(entry.get("manifest_sha256")), _sha256(target / MANIFEST)
    if found != pinned:
        raise MovieGenreError(
            f"{directory}: a member is the shipped {entry.get('shipped')!r} model "
            f"({entry.get('part', '.')}) pinned at SHA-256 {pinned[:16]}..., but the installed "
            f"one is {found[:16]}... (it was retrained or changed): rebuild this bundle, or "
            "install the moviegenre version it was built with"
        )
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_model(model: Stored, staging: Path) -> dict[str, Any]:
    """The model's files in `staging` and its config: hyper-parameters, then its learned state.

    A composite model's members become bundles of their own under members/<i>/; a member loaded
    from a bundle is copied as it is, so its card, metrics and any ONNX export stay with it.
    """
    config: dict[str, Any] = {}
    if isinstance(model, Composite):
        entries = []
        for i, member in enumerate(model.members):
            target = staging / MEMBERS / str(i)
            shipped = member.metadata.get("shipped")
            if shipped:  # a shipped bundle: referred to by name and pinned, not copied
                entries.append({**shipped, "model_type": member.kind})
                continue
            source = member.metadata.get("path")
            if source and Path(source, MANIFEST).is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(source, target)
            elif isinstance(member, Stored):
                save_bundle(member, target)
            else:
                raise MovieGenreError(
                    f"ensemble member {i} ({member.kind}) was not loaded from a bundle and "
                    "cannot save itself"
                )
            entries.append({"path": f"{MEMBERS}/{i}", "model_type": member.kind})
        config["members"] = entries
    config.update(model.get_params())
    config.update(model.save_files(staging))
    return config


def save_bundle(model: Stored, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` as a bundle directory; a crash at any point leaves the previous bundle intact.

    Everything is written into a temporary sibling directory first, synced, and then swapped in.
    """
    from moviegenre.bundle.card import render_model_card

    if not isinstance(model, Stored):
        raise MovieGenreError(
            f"this {model.kind} model only predicts (it runs an ONNX export); save the model it "
            "was exported from instead (load_bundle(path, runtime='native'))"
        )
    target = Path(directory).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a bundle is meant to be shared
    try:
        config = _write_model(model, staging)
        known_words = model.input_checker.save(staging) if model.owns_input_checker else None
        manifest: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model_type": model.model_type,
            "labels": model.labels,
            "thresholds": stored_thresholds(model.thresholds),
            "min_genres": model.min_genres,
            "calibration": model.calibrator.to_json() if model.calibrator else None,
            "known_words": known_words,
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


def read_manifest(directory: str | Path | None) -> dict[str, Any]:
    """Read and check a bundle's manifest and files, without loading the model."""
    directory = model_path(directory)
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


def member_directories(directory: Path, config: dict[str, Any]) -> list[Path]:
    """Where a composite bundle's members are, refusing any path that leaves the bundle."""
    entries = config.get("members")
    if not isinstance(entries, list) or not entries:
        raise MovieGenreError(f"{directory}: the config lists no members")
    paths = []
    for entry in entries:
        if isinstance(entry, dict) and "shipped" in entry:
            paths.append(shipped_member(directory, entry))
            continue
        relative = Path(str(entry.get("path", "") if isinstance(entry, dict) else ""))
        if not relative.parts or relative.is_absolute() or ".." in relative.parts:
            raise MovieGenreError(f"{directory}: member path {relative} leaves the bundle")
        paths.append(directory / relative)
    return paths


def load_bundle(directory: str | Path | None = None, runtime: str = "auto") -> Predictor:
    """Load a bundle (the shipped default model when `directory` is None).

    runtime: "auto" uses ONNX Runtime when the bundle has an ONNX export, else the model's own code;
    "onnx" requires the export; "native" always uses the model's own code (PyTorch for neural ones).
    A composite bundle's members are loaded with "auto": a member with an export runs on ONNX
    Runtime.
    """
    from moviegenre.models import model_class
    from moviegenre.models.onnx_model import OnnxGenreModel

    directory = model_path(directory)
    manifest = read_manifest(directory)
    model_type = manifest["model_type"]
    config = manifest.get("config") or {}
    labels = list(manifest["labels"])
    has_onnx = bool(config.get("onnx"))
    if runtime == "onnx" and not has_onnx:
        raise MovieGenreError(
            f"{directory}: this bundle has no ONNX export; run moviegenre export --onnx"
        )
    model: Predictor
    if runtime in ("auto", "onnx") and has_onnx:
        model = OnnxGenreModel.load_files(directory, config, labels)
    else:
        model = model_class(model_type, config).load_files(directory, config, labels)
        if isinstance(model, Composite):
            paths = member_directories(directory, config)
            for entry, path in zip(config["members"], paths, strict=True):
                member = load_bundle(path)
                if "shipped" in entry:
                    member.metadata["shipped"] = {
                        k: entry[k] for k in ("shipped", "part", "manifest_sha256") if k in entry
                    }
                model.attach(member, str(path))
    if len(model.labels) != len(labels):
        raise MovieGenreError(f"{directory}: model outputs do not match its {len(labels)} labels")
    model.thresholds = np.asarray(manifest["thresholds"], dtype=np.float32)
    known_words = manifest.get("known_words")
    # a fusion's words are its text member's (bundles written before stored a copy: not read)
    if known_words is not None and model.owns_input_checker:
        if known_words != KNOWN_WORDS_FILE:
            raise MovieGenreError(f"{directory}: known_words must be {KNOWN_WORDS_FILE!r}")
        try:
            model.input_checker = InputChecker.load(directory / KNOWN_WORDS_FILE)
        except ValueError as exc:
            raise MovieGenreError(str(exc)) from exc
    if manifest.get("calibration") is not None:
        try:
            model.calibrator = Calibrator.from_json(manifest["calibration"])
        except ValueError as exc:
            raise MovieGenreError(f"{directory}: bad calibration in {MANIFEST} ({exc})") from exc
        if model.calibrator.size != len(model.labels):
            raise MovieGenreError(
                f"{directory}: calibration covers {model.calibrator.size} genres, "
                f"the bundle has {len(model.labels)}"
            )
    model.min_genres = int(manifest.get("min_genres", 1))
    model.metadata = {k: v for k, v in manifest.items() if k not in ("config",)}
    model.metadata["path"] = str(directory)
    return model
