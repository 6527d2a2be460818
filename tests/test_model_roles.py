"""The two roles: hyper-parameters saved and read back generically; capabilities declared."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from pathlib import Path

import pytest

from moviegenre.bundle import load_bundle
from moviegenre.bundle.bundle import read_manifest
from moviegenre.models import MODEL_TYPES, model_class
from moviegenre.models.base import (
    Assembled,
    Composite,
    ExportsOnnx,
    GenreModel,
    Predictor,
    Stored,
    TokenGradients,
)

LABELS = ["Comedy", "Horror"]
# one non-default hyper-parameter and one run setting per model type
NON_DEFAULT = {
    "tfidf": ({"C": 0.7, "char_ngrams": [3, 4], "min_df": 3}, {}),
    "lstm": ({"hidden": 16, "max_len": 40, "lr": 0.01}, {"device": "cpu", "progress": False}),
    "minilm": ({"head": "mlp", "overlap": 16}, {"cache_dir": "/somewhere"}),
    "minilm-finetuned": ({"head": "mlp", "epochs": 1}, {"checkpoint_dir": "/ckpt"}),
    "ensemble": ({"step": 0.25}, {}),
    "ngram": ({"hidden": 64, "min_count": 2}, {"device": "cpu", "progress": False}),
    "poster": ({"C": 0.01}, {"network": "/somewhere/network.onnx"}),
    "fusion": ({}, {}),
    "catalogue": ({"C": 1.5, "weights": [1.0, 2.0, 1.0], "prior": "none"}, {}),
    "use": ({"hidden": [0, 32], "epochs": 3}, {"cache_dir": "/somewhere", "threads": 2}),
    "multilingual": ({}, {}),
    "minilm-head": ({"hidden": 64, "knn_weight": 0.3}, {"cache_dir": "/somewhere"}),
}


def _class(model_type: str) -> type[Stored]:
    if model_type == "minilm-head":  # the ONNX encoder: no PyTorch
        return model_class(model_type)
    if model_type.startswith(("lstm", "minilm", "ngram")):
        pytest.importorskip("torch")  # a third-party extra, not our module
    if model_type.startswith("minilm"):
        pytest.importorskip("transformers")
    return model_class(model_type)


def test_every_model_type_has_an_entry_here() -> None:
    assert set(NON_DEFAULT) == set(MODEL_TYPES)


@pytest.mark.parametrize("model_type", sorted(NON_DEFAULT))
def test_hyper_parameters_round_trip_and_run_settings_stay_out(model_type: str) -> None:
    cls = _class(model_type)
    params, run = NON_DEFAULT[model_type]
    model = cls(LABELS, **params, **run)
    saved = model.get_params()
    assert json.loads(json.dumps(saved)) == saved  # what the bundle writes is plain JSON
    for key, value in params.items():
        assert saved[key] == value
    assert not set(run) & set(saved)  # a run setting describes the run, not the model
    assert not set(cls.run_settings) & set(saved)
    again = cls.from_params(LABELS, {**saved, "not_a_parameter": 1})
    assert type(again) is cls and again.get_params() == saved


def test_capabilities_are_declared() -> None:
    assert issubclass(model_class("ensemble"), Composite)
    assert issubclass(model_class("fusion"), Composite)
    assert model_class("fusion").inputs == ("plot", "poster")
    assert model_class("poster").inputs == ("poster",) and model_class("tfidf").inputs == ("plot",)
    assert not issubclass(model_class("tfidf"), ExportsOnnx | TokenGradients | Composite)
    pytest.importorskip("torch")
    lstm = model_class("lstm")
    assert issubclass(lstm, ExportsOnnx) and issubclass(lstm, TokenGradients)


def test_bundle_config_holds_the_hyper_parameters(tfidf_bundle: Path) -> None:
    config = read_manifest(tfidf_bundle)["config"]
    model = load_bundle(tfidf_bundle)
    assert isinstance(model, GenreModel) and isinstance(model, Predictor)
    assert {k: config[k] for k in model.get_params()} == model.get_params()


def _only_raises(function) -> bool:
    """Whether a function's body is nothing but a docstring and a `raise`."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return len(body) == 1 and isinstance(body[0], ast.Raise)


@pytest.mark.parametrize("model_type", sorted(NON_DEFAULT))
def test_every_model_type_plays_one_stored_role_and_a_fit_that_learns(model_type: str) -> None:
    """A trainable model's `fit` learns: a model with nothing to fit on plots is `Assembled`
    (built around parts trained elsewhere), never a `GenreModel` whose `fit` only raises."""
    cls = _class(model_type)
    assert issubclass(cls, Stored)
    assert issubclass(cls, GenreModel) != issubclass(cls, Assembled)
    if issubclass(cls, GenreModel):
        assert not _only_raises(cls.fit), f"{cls.__name__}.fit only raises"
    else:
        assert not hasattr(cls, "fit")


def test_the_assembled_roles() -> None:
    assert {t for t in MODEL_TYPES if issubclass(_class(t), Assembled)} == {
        "poster",
        "fusion",
        "multilingual",
    }
    assert issubclass(model_class("multilingual"), Composite)
    assert not issubclass(model_class("poster"), Composite)
