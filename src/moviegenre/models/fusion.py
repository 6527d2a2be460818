"""The `fusion` model type: a text model and a poster model, their probabilities averaged."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.calibration import Calibrator
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Assembled, Composite, Predictor
from moviegenre.movie import PLOT, POSTER, Inputs, Movie, Scored
from moviegenre.thresholds import stored_thresholds

# The bundle's names of the per-input threshold sets (config "thresholds"): one per `Inputs`.
BOTH = "plot+poster"


def threshold_set_key(inputs: Sequence[str]) -> str:
    """The bundle's name ("plot", "poster" or "plot+poster") of the threshold set for the inputs
    an answer used (an `Inputs` tuple everywhere else)."""
    used = set(inputs)
    if used == {"plot", "poster"}:
        return BOTH
    if used in ({"plot"}, {"poster"}):
        return next(iter(used))
    raise MovieGenreError(f"unknown inputs {sorted(used)}; expected plot and/or poster")


class FusionGenreModel(Assembled, Composite):
    """Late fusion: (1 - w) x text probabilities + w x poster probabilities, per genre.

    A row with only a plot is answered by the text model alone, with its own thresholds (so
    plot-only answers are exactly the text model's); a row with only a poster by the poster
    model with its thresholds; a row with both by the weighted mean, with thresholds of its own.
    Built by `training/poster_models.py:train_fusion` from two existing bundles (it learns its
    poster weight and thresholds itself: `assemble`). The bundle
    stores the members as bundles of their own (`Composite`): members/0 the text model, members/1
    the poster model.
    """

    model_type = "fusion"
    inputs = ("plot", "poster")
    owns_input_checker = False  # the plot's warnings are the text model's (set by `attach`)
    # the members are stored as bundles of their own, not as a hyper-parameter
    run_settings = frozenset({"members"})

    def __init__(self, labels: Sequence[str], members: Sequence[Predictor] = ()) -> None:
        super().__init__(labels)
        self.members: list[Predictor] = []
        self._columns: dict[str, np.ndarray] = {}
        self.poster_weight = 0.0  # learned by `assemble`
        self.threshold_sets: dict[str, np.ndarray] = {}
        self.search: list[dict[str, Any]] = []  # the weight search, kept for the model card
        for number, member in enumerate(members):
            self.attach(member, f"fusion member {number}")

    def attach(self, member: Predictor, where: str) -> None:
        """The text model first, then the poster model."""
        name = "text" if not self.members else "poster"
        wanted = ("plot",) if name == "text" else ("poster",)
        if len(self.members) >= 2 or member.inputs != wanted:
            raise MovieGenreError(f"{where}: a fusion holds a text model, then a poster model")
        index = {label: i for i, label in enumerate(member.labels)}
        missing = [label for label in self.labels if label not in index]
        if missing:
            raise MovieGenreError(
                f"{where}: the {name} model does not predict {', '.join(missing)}"
            )
        self.members.append(member)
        self._columns[name] = np.asarray([index[label] for label in self.labels], dtype=np.int64)
        if name == "text":  # the plot's warnings are the text model's (its training words)
            self.input_checker = member.input_checker

    @property
    def text(self) -> Predictor | None:
        return self.members[0] if self.members else None

    @property
    def poster(self) -> Predictor | None:
        return self.members[1] if len(self.members) > 1 else None

    def _members(self) -> tuple[Predictor, Predictor]:
        if self.text is None or self.poster is None:
            raise MovieGenreError("this fusion model has no text or no poster model")
        return self.text, self.poster

    def text_proba(self, plots: Sequence[str]) -> np.ndarray:
        text, _ = self._members()
        return text.predict_proba(list(plots))[:, self._columns["text"]]

    def poster_proba(self, posters: Sequence[Any]) -> np.ndarray:
        _, poster = self._members()
        probs = poster.predict_movies([Movie(None, p) for p in posters]).probs
        return probs[:, self._columns["poster"]]

    def poster_proba_from_features(self, features: np.ndarray) -> np.ndarray:
        """Poster probabilities, in this model's label order, from image network features."""
        _, poster = self._members()
        return poster.proba_from_features(features)[:, self._columns["poster"]]

    def poster_proba_thresholds(self) -> np.ndarray:
        """The poster model's own thresholds, in this model's label order."""
        _, poster = self._members()
        return poster.thresholds[self._columns["poster"]]

    def fuse(self, text_probs: np.ndarray, poster_probs: np.ndarray) -> np.ndarray:
        w = self.poster_weight
        return ((1.0 - w) * text_probs + w * poster_probs).astype(np.float32)

    def predict_movies(self, movies: Sequence[Movie]) -> Scored:
        """Probabilities for movies with a plot, a poster (arrays, bytes or file paths) or both:
        the text model for a plot alone, the poster model for a poster alone, the weighted mean
        of the two for both."""
        used = [movie.inputs for movie in movies]
        if not all(used):
            raise MovieGenreError("every movie needs a plot, a poster, or both")
        out = np.zeros((len(movies), len(self.labels)), dtype=np.float32)
        text_rows = [i for i, movie in enumerate(movies) if movie.plot is not None]
        poster_rows = [i for i, movie in enumerate(movies) if movie.poster is not None]
        if text_rows:  # the poster network is only touched when a poster comes
            out[text_rows] = self.text_proba([movies[i].plot for i in text_rows])
        if poster_rows:
            from_posters = self.poster_proba([movies[i].poster for i in poster_rows])
            both = np.asarray([movies[i].plot is not None for i in poster_rows], dtype=bool)
            rows = np.asarray(poster_rows)
            out[rows[both]] = self.fuse(out[rows[both]], from_posters[both])
            out[rows[~both]] = from_posters[~both]
        return Scored(out, used)

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        """Plots alone: the text model's probabilities (calibrated by the text model itself)."""
        return self.text_proba(plots)

    def assemble(
        self,
        text_valid: np.ndarray,
        poster_valid: np.ndarray,
        targets: np.ndarray,
        grid: Sequence[float],
        min_support: int = 10,
        macro_tolerance: float = 0.005,
        micro_noise: float = 0.002,
    ) -> FusionGenreModel:
        """Learn the poster weight and the threshold sets from the members' valid probabilities
        (movies with both a plot and a poster): the fusion's own `fit`.

        For each weight on `grid`, plot+poster thresholds are the same blend of the text model's
        thresholds and poster thresholds tuned on those posters. Among the weights whose
        macro-F1 over genres with `min_support` movies stays within `macro_tolerance` of the plot
        alone's, the smallest whose micro-F1 is within `micro_noise` of the best is kept.
        """
        from moviegenre.evaluation.metrics import macro_f1_min_support, micro_f1
        from moviegenre.thresholds import decide, tune_thresholds

        text, _ = self._members()
        text_t = text.thresholds.astype(np.float64)
        poster_t = tune_thresholds(poster_valid, targets).astype(np.float64)
        floor = macro_f1_min_support(
            targets, decide(text_valid, text.thresholds, text.min_genres), min_support
        )
        eligible: list[tuple[float, float]] = []
        self.search = []
        for w in grid:
            self.poster_weight = w
            thresholds = ((1 - w) * text_t + w * poster_t).astype(np.float32)
            decided = decide(self.fuse(text_valid, poster_valid), thresholds, text.min_genres)
            micro = micro_f1(targets, decided)
            macro = macro_f1_min_support(targets, decided, min_support)
            self.search.append({"poster_weight": w, "valid_micro_f1": round(micro, 4),
                                "valid_macro_f1_min10": round(macro, 4)})  # fmt: skip
            if macro >= floor - macro_tolerance:
                eligible.append((w, micro))
        top = max(micro for _, micro in eligible)  # w = 0 (plot alone) is always eligible
        best = min(w for w, micro in eligible if micro >= top - micro_noise)
        self.poster_weight = best
        self.thresholds = text.thresholds
        self.min_genres = text.min_genres
        self.threshold_sets = {
            PLOT: text.thresholds,
            POSTER: self.poster_proba_thresholds(),
            BOTH: ((1 - best) * text_t + best * poster_t).astype(np.float32),
        }
        return self

    def thresholds_for(self, inputs: Inputs) -> np.ndarray:
        return self.threshold_sets.get(threshold_set_key(inputs), self.thresholds)

    @property
    def answer_calibrator(self) -> Calibrator | None:
        # plot-only answers are the text model's calibrated probabilities, passed on as they are
        return self.text.answer_calibrator if self.text is not None else None

    @property
    def max_words(self) -> int | None:
        return self.text.max_words if self.text is not None else None

    # ----- files ---------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {}

    def save_files(self, directory: Path) -> dict[str, Any]:
        # the members are written by the bundle (`Composite`), under members/<i>/
        self._members()
        return {
            "poster_weight": round(self.poster_weight, 4),
            "thresholds": {
                key: stored_thresholds(values) for key, values in self.threshold_sets.items()
            },
            "weight_search": self.search,
        }

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> FusionGenreModel:
        weight = config.get("poster_weight")
        if not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise MovieGenreError(f"{directory}: poster_weight must be a number in [0, 1]")
        if len(config.get("members") or []) != 2:
            raise MovieGenreError(f"{directory}: a fusion has two members, text and poster")
        model = cls(labels)
        model.poster_weight = float(weight)
        for key, values in (config.get("thresholds") or {}).items():
            threshold_set_key(key.split("+"))  # refuses unknown keys
            if not isinstance(values, list) or len(values) != len(labels):
                raise MovieGenreError(f"{directory}: thresholds[{key!r}] needs one per genre")
            model.threshold_sets[key] = np.asarray(values, dtype=np.float32)
        model.search = list(config.get("weight_search") or [])
        return model
