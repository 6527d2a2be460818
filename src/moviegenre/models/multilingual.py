"""The `multilingual` model type: English plots to an English model, others to a multilingual head.

Members: members/0 the English model (the shipped default's plot and poster model, unchanged),
members/1 a `use` head on the multilingual encoder. Each plot's language comes from the input
checker (a cheap known-word shortcut for plainly English plots, else py3langid, or what the caller
states); English plots (and plots whose language is unsure) never reach the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.calibration import Calibrator
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Composite, GenreModel, Predictor, RoutesByLanguage
from moviegenre.text.checks import InputChecker


class MultilingualGenreModel(GenreModel, Composite, RoutesByLanguage):
    """Routes each plot by language: English (or unsure) to the English member, any other
    language to the multilingual head, whose thresholds and calibration are its own.

    A plot in a language the encoder does not cover is still answered by the head (the English
    model knows none of its words) and carries an `unsupported_language` warning. A poster is
    read by the English member; with a non-English plot, the head's probabilities take the text
    model's place in the fusion when the English member is one.
    """

    model_type = "multilingual"
    run_settings = frozenset({"members"})

    def __init__(self, labels: Sequence[str], members: Sequence[Predictor] = ()) -> None:
        self._checker = InputChecker(None)
        self.covered: frozenset[str] = frozenset()  # set when the head is attached
        super().__init__(labels)
        self.members: list[Predictor] = []
        self._columns: list[np.ndarray] = []
        for number, member in enumerate(members):
            self.attach(member, f"multilingual member {number}")

    @property
    def input_checker(self) -> InputChecker:  # type: ignore[override]
        return self._checker

    @input_checker.setter
    def input_checker(self, checker: InputChecker) -> None:
        # whatever words it is given, the checker knows the languages the head covers
        self._checker = checker.covering(self.covered) if self.covered else checker

    def attach(self, member: Predictor, where: str) -> None:
        """The English model first, then the multilingual head."""
        from moviegenre.models.use import COVERED_LANGUAGES, UseGenreModel

        if len(self.members) >= 2:
            raise MovieGenreError(f"{where}: a multilingual model holds two members")
        if len(self.members) == 1 and not isinstance(member, UseGenreModel):
            raise MovieGenreError(f"{where}: the second member must be a use model")
        index = {label: i for i, label in enumerate(member.labels)}
        missing = [label for label in self.labels if label not in index]
        if missing:
            raise MovieGenreError(f"{where}: member does not predict {', '.join(missing)}")
        self.members.append(member)
        self._columns.append(np.asarray([index[label] for label in self.labels], dtype=np.int64))
        if len(self.members) == 1:
            self.inputs = member.inputs  # type: ignore[misc]
        else:
            self.covered = COVERED_LANGUAGES
        self.input_checker = self.members[0].input_checker

    @property
    def english(self) -> Predictor:
        if len(self.members) != 2:
            raise MovieGenreError("this multilingual model lacks its English model or its head")
        return self.members[0]

    @property
    def head(self) -> Predictor:
        self.english  # noqa: B018 - raises when a member is missing
        return self.members[1]

    def foreign_rows(
        self, plots: Sequence[str | None], languages: Sequence[str | None] | None = None
    ) -> list[bool]:
        """Which plots go to the head: a confidently named language other than English."""
        stated = list(languages) if languages is not None else [None] * len(plots)
        return [
            plot is not None and self.input_checker.foreign(plot, lang) is not None
            for plot, lang in zip(plots, stated, strict=True)
        ]

    # ----- answers -------------------------------------------------------------------------------
    def predict_inputs(
        self,
        plots: Sequence[str | None],
        posters: Sequence[Any] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        plots = list(plots)
        posters = list(posters) if posters is not None else [None] * len(plots)
        foreign = self.foreign_rows(plots, languages)
        english_rows = [i for i, f in enumerate(foreign) if not f]
        head_rows = [i for i, f in enumerate(foreign) if f]
        out = np.zeros((len(plots), len(self.labels)), dtype=np.float32)
        inputs: list[tuple[str, ...]] = [("plot",)] * len(plots)
        if english_rows:
            english, columns = self.english, self._columns[0]
            rows_plots = [plots[i] for i in english_rows]
            if any(posters[i] is not None for i in english_rows) or None in rows_plots:
                probs, used = english.predict_inputs(rows_plots, [posters[i] for i in english_rows])
            else:  # plots only: the plain path, exactly the English model's answer
                probs, used = english.predict_proba(rows_plots), [("plot",)] * len(english_rows)
            out[english_rows] = probs[:, columns]
            for i, row_used in zip(english_rows, used, strict=True):
                inputs[i] = tuple(row_used)
        if head_rows:
            text = self.head.predict_proba([plots[i] for i in head_rows])[:, self._columns[1]]
            out[head_rows] = text
            pictured = [k for k, i in enumerate(head_rows) if posters[i] is not None]
            if pictured:
                self._fuse_posters(out, text, [head_rows[k] for k in pictured], posters, inputs)
        return out, inputs

    def _fuse_posters(self, out, text, rows, posters, inputs) -> None:
        from moviegenre.models.fusion import FusionGenreModel

        english = self.english
        if not isinstance(english, FusionGenreModel):
            raise MovieGenreError(f"this model's English member ({english.kind}) reads no poster")
        head_text = out[rows]
        poster_probs = english.poster_proba([posters[i] for i in rows])
        out[rows] = english.fuse(head_text, poster_probs)
        for i in rows:
            inputs[i] = ("plot", "poster")

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        return self.predict_inputs(list(plots))[0]

    def predict_proba(
        self,
        plots: Sequence[str | None],
        posters: Sequence[Any] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Each member's own calibrated probabilities, routed by language (see the class)."""
        return self.predict_inputs(plots, posters, languages)[0]

    def thresholds_for(self, inputs: Sequence[str]) -> np.ndarray:
        return self.english.thresholds_for(inputs)[self._columns[0]]

    def thresholds_for_language(self, inputs: Sequence[str], language: str | None) -> np.ndarray:
        if language is None or tuple(inputs) == ("poster",):
            return self.thresholds_for(inputs)
        if set(inputs) == {"plot", "poster"}:
            return self.thresholds_for(inputs)  # the fusion's own set for plot and poster
        return self.head.thresholds[self._columns[1]]

    @property
    def answer_calibrator(self) -> Calibrator | None:
        # English answers carry the English member's calibration (the head has its own)
        return self.english.answer_calibrator

    @property
    def max_words(self) -> int | None:
        return self.english.max_words

    # ----- GenreModel ----------------------------------------------------------------------------
    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> GenreModel:
        raise MovieGenreError(
            "a multilingual model is built from an English bundle and a use bundle: "
            "scripts/build_multilingual.sh"
        )

    def get_params(self) -> dict[str, Any]:
        return {}

    def save_files(self, directory: Path) -> dict[str, Any]:
        self.head  # noqa: B018 - raises when a member is missing
        return {"covered_languages": sorted(self.covered)}

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> MultilingualGenreModel:
        if len(config.get("members") or []) != 2:
            raise MovieGenreError(f"{directory}: a multilingual model has two members")
        return cls(labels)
