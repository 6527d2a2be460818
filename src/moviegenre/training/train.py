"""Fit any model type on a data file, tune per-genre thresholds on valid, and write a bundle.

`train` is the one road for every model type: a `GenreModel` is fitted on the plots here; an
`Assembled` one (poster, fusion, multilingual) is built by its own module from the data it needs.
Every road returns the same `TrainResult`, reported with the same `headline`.
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moviegenre.calibration import DEFAULT_METHOD
from moviegenre.data.dataset import fingerprint, label_set, split_records, target_matrix
from moviegenre.data.labels import apply_min_count, label_counts, load_vocabulary
from moviegenre.data.readers import read_data
from moviegenre.errors import MovieGenreError
from moviegenre.models import model_class
from moviegenre.models.base import Assembled
from moviegenre.text.checks import InputChecker
from moviegenre.training.build import build_model, recorded_command
from moviegenre.training.scoring import (  # noqa: F401 - evaluate_split: part of this API
    TrainResult,
    evaluate_split,
    headline,
    tune_and_score,
)

log = logging.getLogger(__name__)


def _warn(message: str) -> None:
    print(f"moviegenre: warning: {message}", file=sys.stderr)


def _counts(records: Sequence[Any], labels: Sequence[str]) -> dict[str, int]:
    """Each label's number of movies in `records`, in the model's label order."""
    counts = label_counts(records)
    return {label: counts.get(label, 0) for label in labels}


def train(
    data: str | Path,
    model_type: str,
    out: str | Path | None,
    *,
    model_options: dict[str, Any] | None = None,
    threshold_metric: str = "f1",
    calibration: str | None = DEFAULT_METHOD,
    min_genres: int = 1,
    reader_options: dict[str, Any] | None = None,
    command: str | None = None,
    is_writer: bool = True,
    distill: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    labels: str | Path | None = None,
    posters: str | Path | None = None,
) -> TrainResult:
    """Train `model_type` on the train split of `data`; only a writer (DDP rank 0) writes `out`.

    calibration: the method fitted per genre on valid (None: the model's own scores).
    distill: {"teacher": model spec (default DEFAULT_TEACHER), "alpha": weight of the hard labels
    (0.5), "folds": 5} trains on hard labels blended with the teacher's cross-fitted probabilities.
    cache_dir: where frozen MiniLM embeddings are kept between runs (the model and the teacher).
    labels: "tmdb" (None, the default), "as-written" or a label file (docs/labels.md). Under an
    own vocabulary the model learns every label of the file, even one seen once.
    posters: the poster index a fusion tunes its poster weight on (`--posters`).
    An assembled model type (poster, fusion, multilingual) takes its own `model_options`
    (`train_assembled`); text-only settings (reader options, labels, distillation) are not its.
    """
    import os

    if issubclass(model_class(model_type, model_options), Assembled):
        return train_assembled(
            data, model_type, out, dict(model_options or {}), posters=posters,
            cache_dir=cache_dir, min_genres=min_genres, calibration=calibration,
        )  # fmt: skip

    # Under torchrun every rank trains; only rank 0 writes the bundle.
    is_writer = is_writer and int(os.environ.get("RANK", "0")) == 0
    vocabulary = load_vocabulary(labels)
    loaded = read_data(data, labels=vocabulary, **(reader_options or {}))
    usable = loaded.usable()
    if not vocabulary.is_tmdb and not usable:
        column = (reader_options or {}).get("genre_column") or "genre"
        raise MovieGenreError(
            f"{data}: the {column} column holds no labels (no row with both a plot and a label)"
        )
    usable = apply_min_count(usable, vocabulary, warn=_warn)
    splits = split_records(usable)
    train_set, valid_set = splits["train"], splits["valid"]
    if not train_set:
        raise MovieGenreError(
            f"{data}: the training split is empty (no movie with a plot and genres)"
        )
    if not valid_set:
        raise MovieGenreError(f"{data}: the validation split is empty; thresholds need one")
    # TMDB: the genres of the training split, as always. An own vocabulary: every label of the
    # file, so a label with a single example (maybe in valid or test) is still the model's.
    label_names = label_set(train_set if vocabulary.is_tmdb else usable)
    model = build_model(model_type, label_names, model_options, cache_dir)
    started = time.perf_counter()
    targets = target_matrix(train_set, label_names)
    valid_plots, valid_targets = [r.plot for r in valid_set], target_matrix(valid_set, label_names)
    distilled = None
    train_plots = [r.plot for r in train_set]
    if distill is not None:
        from moviegenre.training.distill import distilled_targets

        train_plots, targets, distilled = distilled_targets(
            model, distill, label_names, train_set, targets, valid_plots, valid_targets, cache_dir
        )
    model.fit(train_plots, targets, valid_plots, valid_targets)
    seconds = time.perf_counter() - started
    model.min_genres = min_genres
    model.input_checker = InputChecker.fit(r.plot for r in train_set)
    test_set = splits.get("test") or []
    tests = {"test": ([r.plot for r in test_set], target_matrix(test_set, label_names))}
    metrics = tune_and_score(
        model, valid_plots, valid_targets, tests if test_set else {},
        metric=threshold_metric, min_genres=min_genres, calibration=calibration,
    )  # fmt: skip
    path = None
    if out is not None and is_writer:
        from moviegenre.bundle import save_bundle

        extra = {
            "fingerprint": fingerprint(train_set),
            "training": {
                "command": command or recorded_command(),
                "data": Path(data).name,
                "train_rows": len(train_set),
                "valid_rows": len(valid_set),
                "threshold_metric": threshold_metric,
                "calibration": calibration or "none",
                "seconds": round(seconds, 1),
                "machine": f"{platform.machine()}, {platform.python_implementation()} "
                f"{platform.python_version()}",
            },
            "metrics": {name: headline(m) for name, m in metrics.items()},
            "label_vocabulary": vocabulary.to_json(),
            "label_counts": {
                "train": _counts(train_set, label_names),
                "all": _counts(usable, label_names),
            },  # fmt: skip
        }
        if distilled is not None:
            extra["training"]["distillation"] = distilled
        path = save_bundle(model, out, extra=extra)
    return TrainResult(model=model, metrics=metrics, seconds=seconds, path=path)


# The options each assembled model type takes (`--model-option KEY=VALUE`).
ASSEMBLED_OPTIONS = {
    "poster": {"C", "label_sources", "threshold_source", "quantise", "network"},
    "fusion": {"text", "poster"},
    "multilingual": {"english", "teacher_share"},
}


def train_assembled(
    data: str | Path,
    model_type: str,
    out: str | Path | None,
    options: dict[str, Any],
    *,
    posters: str | Path | None = None,
    cache_dir: str | Path | None = None,
    min_genres: int = 1,
    calibration: str | None = DEFAULT_METHOD,
) -> TrainResult:
    """poster: fit on a poster index (`data`); fusion: a text bundle and a poster bundle tuned on
    the corpus (`data`) movies of `posters`; multilingual: an English bundle and a `use` head
    trained on the corpus (`data`)."""
    from moviegenre.training import multilingual, poster_models

    known = ASSEMBLED_OPTIONS[model_type]
    unknown = sorted(set(options) - known)
    if model_type == "poster":
        if unknown:
            raise MovieGenreError(f"poster model options are {', '.join(sorted(known))}; "
                                  f"not {', '.join(unknown)}")  # fmt: skip
        if "label_sources" in options:
            options["label_sources"] = tuple(options["label_sources"])
        return poster_models.train_poster(
            data, out, cache_dir=cache_dir, min_genres=min_genres, calibration=calibration,
            **options,
        )  # fmt: skip
    if model_type == "fusion":
        if not posters or set(options) != known:
            raise MovieGenreError(
                "fusion needs --posters INDEX and --model-option text=DIR --model-option poster=DIR"
            )
        return poster_models.train_fusion(
            data, posters, options["text"], options["poster"], out, cache_dir=cache_dir
        )
    if unknown or "english" not in options or out is None:
        raise MovieGenreError(
            "a multilingual model is built from an English bundle and a use head trained here: "
            "--model-option english=DIR (optional: teacher_share=0.5) and --out DIR, or "
            "scripts/build_multilingual.sh"
        )
    return multilingual.build_multilingual(
        data, options["english"], out, cache_dir=cache_dir,
        teacher_share=float(options.get("teacher_share", multilingual.TEACHER_SHARE)),
    )  # fmt: skip
