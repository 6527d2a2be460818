"""The `ensemble` model type: a validation-weighted mean of member models' genre probabilities."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Composite, GenreModel, Predictor
from moviegenre.text.checks import InputChecker

log = logging.getLogger(__name__)


class MemberBuilder(Protocol):
    """Builds an untrained member: (model type, labels, options, cache_dir) -> the model."""

    def __call__(
        self,
        model_type: str,
        labels: list[str],
        options: dict[str, Any] | None = None,
        cache_dir: str | Path | None = None,
    ) -> GenreModel: ...


# Members trained inside `fit` when none are given: the two fast, complementary model types.
DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = ({"type": "tfidf"}, {"type": "minilm"})


def simplex_grid(members: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector with `members` entries, multiples of `step`, summing to 1."""
    units = round(1.0 / step)
    if members < 1 or units < 1 or abs(units * step - 1.0) > 1e-9:
        raise MovieGenreError(f"ensemble option step={step}; expected 1/k for a whole k")
    grid = []
    for cut in itertools.combinations(range(units + members - 1), members - 1):
        # stars and bars: the gaps between the cuts are the weights, in units of `step`
        bounds = (-1, *cut, units + members - 1)
        grid.append(tuple((bounds[i + 1] - bounds[i] - 1) / units for i in range(members)))
    return grid


class EnsembleGenreModel(GenreModel, Composite):
    """Weighted mean of member probabilities; weights chosen on the validation split.

    members: predictors (already trained, e.g. bundles loaded by the same benchmark run) and/or
    specs {"type": "tfidf", "options": {...}} trained inside `fit`. Weights are searched on a
    simplex grid (`step`) for the best validation micro-F1 after per-genre threshold tuning.
    The bundle stores each member as a bundle of its own (`Composite`).
    """

    model_type = "ensemble"
    # the members are stored as bundles of their own, not as a hyper-parameter; `build` is the
    # one model builder (training/build.py: build_model), handed in by whoever builds the
    # ensemble: this module never looks model types up itself (no import cycle through the
    # registry that names it)
    run_settings = frozenset({"members", "cache_dir", "build"})

    def __init__(
        self,
        labels: Sequence[str],
        members: Sequence[Predictor | dict[str, Any]] | None = None,
        step: float = 0.1,
        micro_noise: float = 0.002,
        cache_dir: str | None = None,
        build: MemberBuilder | None = None,
    ) -> None:
        super().__init__(labels)
        self.cache_dir = cache_dir  # passed on to members that cache embeddings
        self.build = build
        self.specs: list[Predictor | dict[str, Any]] = list(members or DEFAULT_MEMBERS)
        if len(self.specs) < 1:
            raise MovieGenreError("an ensemble needs at least one member")
        self.step = float(step)
        # the top of the valid micro-F1 surface is flat: weightings within this much of the best
        # are alike on valid (thousands of decisions, noise of a few thousandths), and among them
        # the one with the best valid macro-F1 is kept (the fusion's poster weight is chosen the
        # same way); 0 keeps the best micro-F1 alone
        self.micro_noise = float(micro_noise)
        self.members: list[Predictor] = []
        self.columns: list[np.ndarray] = []  # per member: its column for each ensemble label
        self.weights: np.ndarray | None = None  # learned by `fit`
        self.search: list[dict[str, Any]] = []  # the weight search, kept for the model card

    # ----- members ------------------------------------------------------------------------------
    def attach(self, member: Predictor, where: str) -> None:
        index = {label: i for i, label in enumerate(member.labels)}
        missing = [label for label in self.labels if label not in index]
        if missing:
            raise MovieGenreError(
                f"{where}: ensemble member does not predict {', '.join(missing)}; "
                "members must know every genre of the training data"
            )
        self.members.append(member)
        self.columns.append(np.asarray([index[label] for label in self.labels], dtype=np.int64))

    def _build_members(self, plots, targets, valid_plots, valid_targets) -> None:
        self.members, self.columns = [], []
        for number, spec in enumerate(self.specs):
            if isinstance(spec, Predictor):
                self.attach(spec, f"ensemble member {number} ({spec.kind})")
                continue
            if not isinstance(spec, dict) or "type" not in spec:
                raise MovieGenreError(
                    f"ensemble member {number}: expected a loaded model (load_bundle) or "
                    "{'type': ..., 'options': ...}"
                )
            if spec["type"] == "ensemble":
                raise MovieGenreError(
                    f"ensemble member {number}: an ensemble cannot hold an ensemble"
                )
            if self.build is None:
                raise MovieGenreError(
                    f"ensemble member {number}: a member given as a spec is built by "
                    "moviegenre.training.build.build_model (build the ensemble with it)"
                )
            member = self.build(spec["type"], self.labels, spec.get("options"), self.cache_dir)
            member.fit(plots, targets, valid_plots, valid_targets)
            member.input_checker = InputChecker.fit(plots)
            if valid_plots is not None and len(valid_plots):
                # a member is a normal bundle of its own, usable alone: give it tuned thresholds
                # and a calibrator, as `train` would
                member.fit_decisions(valid_plots, valid_targets)
            self.attach(member, f"ensemble member {number} ({spec['type']})")

    def _member_probs(
        self, plots: Sequence[str], skip_zero: bool = True
    ) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for i, (member, columns) in enumerate(zip(self.members, self.columns, strict=True)):
            if skip_zero and self.weights is not None and self.weights[i] == 0:
                out.append(None)  # a member with no weight need not run
                continue
            out.append(member.predict_proba(plots)[:, columns].astype(np.float64))
        return out

    # ----- GenreModel ---------------------------------------------------------------------------
    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> EnsembleGenreModel:
        from moviegenre.evaluation.metrics import macro_f1_min_support, micro_f1
        from moviegenre.thresholds import decide, tune_thresholds

        self._build_members(plots, targets, valid_plots, valid_targets)
        n = len(self.members)
        if valid_plots is None or valid_targets is None or len(valid_plots) == 0:
            self.weights = np.full(n, 1.0 / n)  # nothing to tune on: plain mean
            return self
        valid_targets = np.asarray(valid_targets)
        probs = self._member_probs(valid_plots, skip_zero=False)
        stacked = np.stack(probs)  # (members, n, labels)
        self.search = []
        for weights in simplex_grid(n, self.step):
            combined = np.tensordot(np.asarray(weights), stacked, axes=1)
            # thresholds tuned on valid as `train()` will tune the final model's
            decided = decide(combined, tune_thresholds(combined, valid_targets), 1)
            self.search.append({
                "weights": list(weights),
                "valid_micro_f1": round(micro_f1(valid_targets, decided), 4),
                "valid_macro_f1": round(macro_f1_min_support(valid_targets, decided, 1), 4),
            })  # fmt: skip
        top = max(row["valid_micro_f1"] for row in self.search)
        near = [row for row in self.search if row["valid_micro_f1"] >= top - self.micro_noise]
        # max keeps the first of equal rows: the earlier (more even) grid point
        chosen = max(near, key=lambda row: row["valid_macro_f1"])
        self.weights = np.asarray(chosen["weights"], dtype=np.float64)
        log.info("ensemble weights %s: valid micro-F1 %.4f, macro-F1 %.4f", chosen["weights"],
                 chosen["valid_micro_f1"], chosen["valid_macro_f1"])  # fmt: skip
        return self

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        if not self.members or self.weights is None:
            raise MovieGenreError("this ensemble is not fitted")
        plots = list(plots)
        total = np.zeros((len(plots), len(self.labels)), dtype=np.float64)
        for weight, probs in zip(self.weights, self._member_probs(plots), strict=True):
            if probs is not None:
                total += weight * probs
        return total.astype(np.float32)

    @property
    def max_words(self) -> int | None:
        limits = [m.max_words for m in self.members]
        if not limits or any(limit is None for limit in limits):
            return None
        return max(limit for limit in limits if limit is not None)

    def get_params(self) -> dict[str, Any]:
        return {"step": self.step, "micro_noise": self.micro_noise}

    def save_files(self, directory: Path) -> dict[str, Any]:
        # the members are written by the bundle (`Composite`), under members/<i>/
        if not self.members or self.weights is None:
            raise MovieGenreError("cannot save an unfitted ensemble")
        return {
            "weights": [round(float(w), 6) for w in self.weights],
            "weight_search": self.search,
        }

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> EnsembleGenreModel:
        entries, weights = config.get("members"), config.get("weights")
        if (
            not isinstance(entries, list)
            or not isinstance(weights, list)
            or len(entries) != len(weights)
        ):
            raise MovieGenreError(f"{directory}: ensemble config needs as many weights as members")
        if not entries or abs(sum(weights) - 1.0) > 1e-3 or min(weights) < 0:
            raise MovieGenreError(f"{directory}: ensemble weights must be >= 0 and sum to 1")
        model = cls(labels, step=float(config.get("step", 0.1)),
                    micro_noise=float(config.get("micro_noise", 0.0)))  # fmt: skip
        model.weights = np.asarray(weights, dtype=np.float64)
        model.search = list(config.get("weight_search") or [])
        return model
