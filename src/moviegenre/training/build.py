"""Build an untrained model from a model type name and options, loading member bundles it names;
the command line a bundle records."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moviegenre.models import model_class
from moviegenre.models.base import Composite, GenreModel

# The model type `train` fits when --model-type is not given: TMDB's genres get the BiLSTM as
# always; a file's own labels (--labels as-written or a label file) get this one.
DEFAULT_MODEL_TYPE = "lstm"
DEFAULT_OWN_LABELS_MODEL_TYPE = "catalogue"  # docs/catalogue.md


def default_model_type(labels: str | None) -> str:
    """The model type for a label choice ("tmdb"/None, "as-written" or a label file's path)."""
    return DEFAULT_MODEL_TYPE if labels in (None, "tmdb") else DEFAULT_OWN_LABELS_MODEL_TYPE


def build_model(
    model_type: str,
    labels: list[str],
    options: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
) -> GenreModel:
    """An untrained model of `model_type`; a composite's members given as bundle paths are loaded.

    (The model types cannot load bundles themselves: the bundle layer sits above them.)
    cache_dir: where models that cache embeddings (a `cache_dir` run setting) keep them.
    """
    options = dict(options or {})
    cls = model_class(model_type, options)
    if not issubclass(cls, GenreModel):
        from moviegenre.errors import MovieGenreError

        raise MovieGenreError(
            f"a {model_type} model is not trained on plots: it is assembled from its parts "
            f"(moviegenre train --model-type {model_type}, see docs/architecture.md)"
        )
    options.pop("finetune", None)  # the old way to ask for minilm-finetuned; the class says it now
    if cache_dir is not None and "cache_dir" in cls.run_settings:
        options.setdefault("cache_dir", str(cache_dir))
    if "build" in cls.run_settings:  # the ensemble builds its members through this function
        options["build"] = build_model
    if issubclass(cls, Composite) and options.get("members"):
        from moviegenre.bundle import load_bundle
        from moviegenre.bundle.bundle import load_shipped_member

        options["members"] = [
            load_bundle(m) if isinstance(m, str | Path)
            # {"shipped": "default", "part": "members/0"}: a shipped bundle, kept by reference
            else load_shipped_member(m["shipped"], m.get("part", "."))
            if isinstance(m, dict) and "shipped" in m
            else m
            for m in options["members"]
        ]  # fmt: skip
    return cls(labels, **options)


def recorded_command(argv: Sequence[str] | None = None) -> str:
    """The command line a bundle's card records: absolute paths inside the working directory
    become relative, and those outside it are shown by their last part under OUTSIDE/ (a bundle
    is shared: the build machine's folders say nothing to its readers)."""
    here = Path.cwd()

    def shown(value: str) -> str:
        if not os.path.isabs(value):
            return value
        path = Path(value)
        return (
            path.relative_to(here).as_posix()
            if path.is_relative_to(here)
            else f"OUTSIDE/{path.name}"
        )

    words = []
    for word in sys.argv[1:] if argv is None else argv:
        key, sep, value = word.partition("=")
        words.append(f"{key}={shown(value)}" if sep else shown(word))
    return " ".join(["moviegenre", *words])
