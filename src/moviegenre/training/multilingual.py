"""Build the `multilingual` bundle: an English bundle, unchanged, plus a distilled `use` head."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Predictor
from moviegenre.training.scoring import TrainResult

log = logging.getLogger(__name__)

# The teacher's share of the head's targets (the rest: the 0/1 labels), chosen on English valid
# and the Portuguese check (benchmarks/multilingual.py).
TEACHER_SHARE = 0.5


def _corpus(path: Path) -> dict[str, list[dict[str, Any]]]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return {s: [r for r in rows if r.get("split") == s] for s in ("train", "valid", "test")}


def english_bundle(path: str | Path) -> Path:
    """The English bundle a multilingual one is built on: `path` itself, or its members/0 when
    `path` is already a multilingual bundle (rebuilding the shipped default)."""
    from moviegenre.bundle.bundle import model_path, read_manifest

    directory = model_path(path)
    if read_manifest(directory).get("model_type") == "multilingual":
        return directory / "members" / "0"
    return directory


def build_multilingual(
    data: str | Path,
    english: str | Path,
    out: str | Path,
    cache_dir: str | Path | None = None,
    teacher_share: float = TEACHER_SHARE,
) -> TrainResult:
    """Train the head on the corpus's train split (targets: cross-fitted teacher probabilities
    mixed with the labels), tune its thresholds and calibrator on valid, and save the composite
    of the English bundle (copied as it is) and the head into `out`.

    The result's metrics are the English model's (English plots get exactly its answers; the
    other languages' figures are in docs/languages.md)."""
    from moviegenre.bundle.bundle import load_bundle, save_bundle
    from moviegenre.models.multilingual import MultilingualGenreModel
    from moviegenre.models.use import UseGenreModel
    from moviegenre.training.crossfit import crossfit_teacher

    scratch = tempfile.TemporaryDirectory()
    # a copy: `out` may be the bundle the English model comes from
    source = Path(scratch.name) / "english"
    shutil.copytree(english_bundle(english), source)
    english_model = load_bundle(source)
    labels = list(english_model.labels)
    parts = _corpus(Path(data))
    if not parts["train"] or not parts["valid"]:
        raise MovieGenreError(f"{data}: needs train and valid rows")

    def plots(split: str) -> list[str]:
        return [str(r["overview"]) for r in parts[split]]

    def targets(split: str) -> np.ndarray:
        return np.asarray([[g in r["genres"] for g in labels] for r in parts[split]], np.float32)

    started = time.perf_counter()
    teacher = crossfit_teacher(plots("train"), targets("train"), folds=5)
    soft = teacher_share * teacher + (1 - teacher_share) * targets("train")
    cache = None if cache_dir is None else str(cache_dir)
    head = UseGenreModel(labels, cache_dir=cache)
    head.fit(plots("train"), soft, plots("valid"), targets("valid"))
    head.fit_decisions(plots("valid"), targets("valid"))
    head.cache_dir = None  # a run setting: the shipped head encodes what it is given
    with scratch:
        model = MultilingualGenreModel(labels, [english_model, head]).assemble()
        seconds = time.perf_counter() - started
        english_manifest = english_model.metadata
        training = {
            "command": "bash scripts/build_multilingual.sh",
            "data": Path(data).name,
            "head": "use (multilingual Universal Sentence Encoder v3)",
            "teacher": "word TF-IDF (1-2 grams) + logistic regression, 5-fold cross-fitted",
            "teacher_share": teacher_share,
        }
        path = save_bundle(model, out, extra=routed_extra(english_model, training))
    metrics = dict(english_manifest.get("metrics") or {})
    return TrainResult(model, metrics, seconds, path)


def routed_extra(english_model: Predictor, training: dict[str, Any]) -> dict[str, Any]:
    """What a multilingual bundle's manifest says besides the model: its training, and the
    English model's metrics and fingerprint (English plots get exactly its answers; the other
    languages' figures are in docs/languages.md)."""
    english_manifest = english_model.metadata
    return {
        "training": training,
        "metrics": english_manifest.get("metrics"),
        "fingerprint": english_manifest.get("fingerprint"),
    }


def with_language_head(
    english: str | Path, head: str | Path, out: str | Path, command: str
) -> Path:
    """Save `english` (a plot model's bundle) and `head` (a trained `use` head's bundle, or a
    multilingual bundle whose head to take), both copied, as a multilingual composite in `out`:
    a rebuilt English model keeps the languages head it had, with its thresholds and calibration
    (tuned on their own; nothing in them depends on the English model)."""
    from moviegenre.bundle.bundle import load_bundle, model_path, read_manifest, save_bundle
    from moviegenre.models.multilingual import MultilingualGenreModel

    head_dir = model_path(head)
    if read_manifest(head_dir).get("model_type") == "multilingual":
        head_dir = head_dir / "members" / "1"
    with tempfile.TemporaryDirectory() as scratch:
        # copies first: `out` may be the bundle either comes from
        shutil.copytree(model_path(english), Path(scratch, "english"))
        shutil.copytree(head_dir, Path(scratch, "head"))
        english_model = load_bundle(Path(scratch, "english"))
        head_model = load_bundle(Path(scratch, "head"))
        if list(head_model.labels) != list(english_model.labels):
            raise MovieGenreError(f"{head}: its labels are not those of {english}")
        model = MultilingualGenreModel(
            list(english_model.labels), [english_model, head_model]
        ).assemble()
        training = {
            "command": command,
            "english": dict(english_model.metadata.get("training") or {}),
            "head": dict(head_model.metadata.get("training") or {}),
        }
        return save_bundle(model, out, extra=routed_extra(english_model, training))


def route_like_default(english: str | Path, out: str | Path) -> Path:
    """Save `english` (a plot model's bundle, copied) with the shipped default's multilingual
    head, referred to by name and pinned, not copied, as a multilingual composite in `out`."""
    from moviegenre.bundle.bundle import load_bundle, load_shipped_member, save_bundle
    from moviegenre.models.multilingual import MultilingualGenreModel

    english_model = load_bundle(english)
    head = load_shipped_member("default", "members/1")
    model = MultilingualGenreModel(list(english_model.labels), [english_model, head]).assemble()
    training = {
        "command": "bash scripts/build_best_model.sh",
        "english": dict(english_model.metadata.get("training") or {}),
        "head": "the shipped default's use head (by reference)",
    }
    return save_bundle(model, out, extra=routed_extra(english_model, training))
