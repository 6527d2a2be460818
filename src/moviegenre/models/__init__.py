"""Model types behind one interface, each imported only when asked for (serving needs no torch)."""

from __future__ import annotations

import importlib
from typing import Any

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Assembled, GenreModel, Predictor, Stored

# Model type -> "module:Class": a `GenreModel` (trained on plots) or an `Assembled` model (poster,
# fusion, multilingual). Imported lazily: `tfidf` must not pull in PyTorch.
# (The ONNX runner is not a model type: it only predicts, and the bundle picks it by itself.)
MODEL_TYPES: dict[str, str] = {
    "lstm": "moviegenre.models.lstm:LSTMGenreModel",
    "ngram": "moviegenre.models.ngram:NgramGenreModel",
    "tfidf": "moviegenre.models.tfidf:TfidfGenreModel",
    "minilm": "moviegenre.models.minilm.frozen:MiniLMGenreModel",
    "minilm-finetuned": "moviegenre.models.minilm.finetuned:MiniLMFineTunedModel",
    "ensemble": "moviegenre.models.ensemble:EnsembleGenreModel",
    "poster": "moviegenre.models.poster:PosterGenreModel",
    "fusion": "moviegenre.models.fusion:FusionGenreModel",
    "catalogue": "moviegenre.models.catalogue:CatalogueGenreModel",
    "use": "moviegenre.models.use:UseGenreModel",
    "multilingual": "moviegenre.models.multilingual:MultilingualGenreModel",
    "minilm-head": "moviegenre.models.minilm_head:MiniLMHeadGenreModel",
}


def model_class(model_type: str, options: dict[str, Any] | None = None) -> type[Stored]:
    """The class for a model type name, e.g. "lstm".

    `minilm` with the option finetune=true (how fine-tuning was asked for before it became a type
    of its own, and what older bundles' configs say) is `minilm-finetuned`.
    """
    if model_type == "minilm" and (options or {}).get("finetune"):
        model_type = "minilm-finetuned"
    if model_type not in MODEL_TYPES:
        known = ", ".join(sorted(MODEL_TYPES))
        raise MovieGenreError(f"unknown model type {model_type!r}; expected one of: {known}")
    module_name, class_name = MODEL_TYPES[model_type].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MovieGenreError(
            f"model type {model_type!r} needs a package that is not installed ({exc.name}); "
            "install the training extras: pip install 'moviegenre[train]'"
        ) from exc
    return getattr(module, class_name)


__all__ = ["Assembled", "GenreModel", "MODEL_TYPES", "Predictor", "Stored", "model_class"]
