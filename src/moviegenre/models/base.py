"""The roles a model plays: a Predictor answers; a stored model is also written into a bundle,
either a GenreModel (learns from plots: `fit`) or an Assembled model (built around parts trained
elsewhere: the poster, fusion and multilingual models).

Serving, evaluation, explanations, batch prediction and the ensemble only need a `Predictor`.
Training needs a `GenreModel` or an `Assembled` model. What a model can do beyond that is declared
by the capability classes below (a model inherits them), never probed with hasattr.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from moviegenre.calibration import DEFAULT_METHOD, Calibrator
from moviegenre.movie import PLOT, Inputs, Movie, Scored, movies_from, plots_only
from moviegenre.text.checks import InputChecker
from moviegenre.thresholds import decide, tune_thresholds, tune_thresholds_joint


class Predictor(ABC):
    """Genre probabilities for plot summaries, and how to turn them into decisions.

    labels: the genres, in the column order of `predict_proba`. thresholds: one per genre.
    min_genres: rows with fewer positive genres get their most probable ones (0: may answer none).
    max_words: how many words of a plot the model reads (None: all). metadata: the bundle's
    manifest once loaded (metrics, fingerprint, path...). inputs: what it reads, "plot" and/or
    "poster". `predict_movies` is the one entry point (a batch of `Movie`s in, `Scored` out);
    `predict_proba(plots)` and `predict(plots)` are the plot-only spellings of it.
    Subclasses implement `predict_raw` (the model's own scores); `predict_proba` applies the
    calibrator the bundle carries, and every answer's warnings come from `input_checker`.
    """

    inputs: ClassVar[tuple[str, ...]] = ("plot",)
    # False where the input checker is a member's (the fusion's text model): the bundle stores
    # the training words once, in that member
    owns_input_checker: ClassVar[bool] = True

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels: list[str] = list(labels)
        self.thresholds: np.ndarray = np.full(len(self.labels), 0.5, dtype=np.float32)
        self.min_genres: int = 1  # 0 lets the model answer "no genre"
        self.metadata: dict[str, Any] = {}  # filled by the bundle on load (metrics, fingerprint...)
        # fitted on valid by `train` and kept in the bundle; thresholds are on its scale when set
        self.calibrator: Calibrator | None = None
        # the words seen in training, for the warnings every answer carries (set by `train`)
        self.input_checker: InputChecker = InputChecker(None)

    @abstractmethod
    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        """The model's own scores, shape (plots, labels), float32, before calibration."""

    def predict_proba(
        self, plots: Sequence[str | None], posters: Sequence[Any] | None = None
    ) -> np.ndarray:
        """Probabilities, shape (plots, labels), float32: one independent sigmoid per genre,
        calibrated when the model has a calibrator (else the model's own scores).

        posters: one per plot (None where a movie has none; a plot may then be None): the
        older spelling of `predict_movies(...).probs`.
        """
        if posters is not None:
            return self.predict_movies(movies_from(plots, posters)).probs
        probs = self.predict_raw(plots)  # type: ignore[arg-type]
        return probs if self.calibrator is None else self.calibrator.transform(probs)

    def predict(self, plots: Sequence[str]) -> np.ndarray:
        """0/1 decisions, shape (len(plots), len(labels)), using per-genre thresholds."""
        return decide(self.predict_proba(plots), self.thresholds, self.min_genres)

    def predict_movies(self, movies: Sequence[Movie]) -> Scored:
        """The one entry point: probabilities for a batch of movies, and what each row used.

        A text model reads plots only: a movie without a plot, or with a poster, is an error (a
        poster would silently go unread). Models that read posters override this.
        """
        plots = plots_only(movies, self.kind)
        return Scored(self.predict_proba(plots), [(PLOT,)] * len(plots))

    def thresholds_for(self, inputs: Inputs) -> np.ndarray:
        """The per-genre thresholds for an answer made from `inputs` (one set unless fused)."""
        return self.thresholds

    @property
    def max_words(self) -> int | None:
        """How many words of a plot the model reads; longer plots are cut (None: no limit)."""
        return None

    @property
    def answer_calibrator(self) -> Calibrator | None:
        """The calibration its plot answers carry: its own calibrator, unless it passes on a
        member's calibrated probabilities (the fusion)."""
        return self.calibrator

    @property
    def kind(self) -> str:
        """The model type this predictor runs ("lstm", "tfidf"...), for messages and manifests."""
        return str(self.metadata.get("model_type", type(self).__name__))


class Stored(Predictor):
    """What the bundle writes and reads back: a model type with hyper-parameters and files.

    Hyper-parameters are the constructor's keyword arguments, kept as attributes of the same name
    (scikit-learn's convention); `get_params` returns them and the bundle writes them into the
    config, so `from_params` can rebuild the untrained model generically. Learned state is
    written by `save_files` and read by `load_files`. Run settings (`run_settings`: device,
    checkpoints, progress bars...) describe one run, not the model, and are not saved. The two
    stored roles are `GenreModel` (learns from plots: `fit`) and `Assembled` (built around parts
    trained elsewhere, learning its own state from their outputs).
    """

    model_type: ClassVar[str]
    run_settings: ClassVar[frozenset[str]] = frozenset()

    @property
    def kind(self) -> str:
        return self.model_type

    @classmethod
    def param_names(cls) -> list[str]:
        """The hyper-parameters: constructor keywords other than labels and run settings."""
        parameters = inspect.signature(cls.__init__).parameters
        return [
            name
            for name, p in parameters.items()
            if name not in ("self", "labels")
            and name not in cls.run_settings
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters this model was built with (JSON-ready: what the bundle saves)."""
        params = {}
        for name in self.param_names():
            value = getattr(self, name)
            params[name] = list(value) if isinstance(value, tuple) else value
        return params

    @classmethod
    def from_params(cls, labels: Sequence[str], config: dict[str, Any]) -> Self:
        """An untrained model with the hyper-parameters found in a saved config."""
        names = cls.param_names()
        return cls(labels, **{k: v for k, v in config.items() if k in names})

    def tune_decisions(
        self,
        raw: np.ndarray,
        targets: np.ndarray,
        threshold_metric: str = "f1",
        calibration: str | None = DEFAULT_METHOD,
    ) -> None:
        """Tune per-genre thresholds and fit the calibrator on the model's own (raw) scores of
        validation data.

        The thresholds are tuned on the raw scores and then mapped through the (strictly
        increasing) calibrator, so calibration leaves every per-genre decision as it was; a
        threshold above 1 (the genre never fires alone: "joint" tuning can choose it) stays
        above 1. threshold_metric: "f1" or "mcc" per genre, or "joint" (micro-F1 + macro-F1
        of the decisions, `thresholds.tune_thresholds_joint`, under `min_genres`).
        calibration: a method of `moviegenre.calibration.METHODS`, or None for raw scores.
        """
        self.calibrator = None
        if threshold_metric == "joint":
            thresholds = tune_thresholds_joint(raw, targets, self.min_genres)
        else:
            thresholds = tune_thresholds(raw, targets, threshold_metric)
        if calibration is not None:
            self.calibrator = Calibrator.fit(raw, targets, calibration)
            mapped = self.calibrator.map_thresholds(thresholds).astype(np.float64)
            thresholds = np.where(thresholds > 1.0, thresholds, mapped)
        self.thresholds = thresholds.astype(np.float32)  # float32: exactly what the bundle stores

    @abstractmethod
    def save_files(self, directory: Path) -> dict[str, Any]:
        """Write the learned state (safetensors, JSON, ONNX) into `directory`; return what the
        config must say about it (file names, sizes). The bundle adds `get_params()`."""

    @classmethod
    @abstractmethod
    def load_files(cls, directory: Path, config: dict[str, Any], labels: list[str]) -> Self:
        """Rebuild a model from its config (`from_params`) and the files `save_files` wrote."""


class GenreModel(Stored):
    """A trainable model type: a stored Predictor that learns from plots (`fit`).

    Learned state is set by `fit` (or `load_files`) only, and the thresholds and calibrator by
    `fit_decisions` on validation plots (`train` calls both).
    """

    # whether `fit` learns from probabilities in [0, 1] as targets (distillation), not only 0/1
    accepts_soft_targets: ClassVar[bool] = False

    @abstractmethod
    def fit(
        self,
        plots: Sequence[str],
        targets: np.ndarray,
        valid_plots: Sequence[str] | None = None,
        valid_targets: np.ndarray | None = None,
    ) -> GenreModel:
        """Learn from plots and an (n, labels) 0/1 target matrix (probabilities in [0, 1] where
        `accepts_soft_targets`); valid data (always 0/1) stops training."""

    def _checked_targets(self, plots: Sequence[str], targets: np.ndarray) -> np.ndarray:
        """`targets` as float32 after checking they fit `plots` and the labels (for `fit`)."""
        from moviegenre.errors import MovieGenreError

        targets = np.asarray(targets, dtype=np.float32)
        if len(plots) == 0:
            raise MovieGenreError("the training set is empty: nothing to learn from")
        if targets.shape != (len(plots), len(self.labels)):
            raise MovieGenreError(
                f"targets have shape {targets.shape}, expected ({len(plots)}, {len(self.labels)})"
            )
        if len(self.labels) < 2:
            raise MovieGenreError("a genre model needs at least two genres in the training data")
        return targets

    def fit_decisions(
        self,
        valid_plots: Sequence[str],
        valid_targets: np.ndarray,
        threshold_metric: str = "f1",
        calibration: str | None = DEFAULT_METHOD,
    ) -> np.ndarray:
        """Tune per-genre thresholds and fit the calibrator on validation plots
        (`tune_decisions`); return the raw scores."""
        raw = self.predict_raw(valid_plots)
        self.tune_decisions(raw, valid_targets, threshold_metric, calibration)
        return raw


class Assembled(Stored):
    """A stored model built around parts trained elsewhere, with no `fit` on plots: the `poster`
    model (a frozen image network and a head fitted on its features), the `fusion` and the
    `multilingual` model (member bundles, `Composite`).

    Its learned state is set only by its own method, from its parts' outputs on validation (or
    training) data, named for what it learns (`PosterGenreModel.fit_features`,
    `FusionGenreModel.assemble`, `MultilingualGenreModel.assemble`), or by `load_files`.
    `training/` builds it from the data it needs (`train` dispatches on the model type).
    """


# ---------------------------------------------------------------------------------------------
# Capabilities: declared by inheriting them.


class ExportsOnnx(ABC):
    """Capability: the model can write itself as an ONNX graph that `OnnxGenreModel` runs.

    `with_onnx` says whether `save_files` adds the export to the bundle.
    """

    with_onnx: bool

    @abstractmethod
    def export_onnx(self, path: str | Path) -> Path:
        """Write the graph: token ids and mask in, probabilities out."""


class TokenGradients(ABC):
    """Capability: a PyTorch network over token embeddings, for integrated gradients.

    `gradient_parts()` returns (net, embedding, vocab, max_tokens): `net(ids int64 [B, T],
    mask float32 [B, T]) -> logits [B, L]`, its `nn.Embedding` (row 0 is padding), the
    `moviegenre.text.tokenizer.Vocabulary` that makes the ids, and the most tokens it reads.
    """

    @abstractmethod
    def gradient_parts(self) -> tuple[Any, Any, Any, int | None]:
        """The network, its embedding layer, the vocabulary and the token limit."""


class Composite(ABC):
    """Capability: a model made of member predictors, each stored as a bundle of its own.

    The bundle writes each member under `members/<i>/` and loads them back before calling
    `attach`; the model itself only stores how it combines them.
    """

    members: list[Predictor]

    @abstractmethod
    def attach(self, member: Predictor, where: str) -> None:
        """Add a loaded member (in saved order); `where` names it in error messages."""


class RoutesByLanguage(ABC):
    """Capability: answers each plot with a member chosen by the plot's language.

    `predict_movies` reads each movie's stated `language` (ISO 639-1; None: detect) and says in
    `Scored.routes` which rows went another way than the usual one (the language they were
    answered in); their genres use that route's thresholds (`thresholds_for_route`).
    """

    @abstractmethod
    def thresholds_for_route(self, inputs: Inputs, route: str) -> np.ndarray:
        """The thresholds for an answer made from `inputs` of a row sent down `route`."""
