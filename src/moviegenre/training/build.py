"""Build an untrained model from a model type name and options, loading member bundles it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moviegenre.models import model_class
from moviegenre.models.base import Composite, GenreModel


def build_model(
    model_type: str, labels: list[str], options: dict[str, Any] | None = None
) -> GenreModel:
    """An untrained model of `model_type`; a composite's members given as bundle paths are loaded.

    (The model types cannot load bundles themselves: the bundle layer sits above them.)
    """
    cls = model_class(model_type)
    options = dict(options or {})
    if issubclass(cls, Composite) and options.get("members"):
        from moviegenre.bundle import load_bundle

        options["members"] = [
            load_bundle(m) if isinstance(m, str | Path) else m for m in options["members"]
        ]
    return cls(labels, **options)
