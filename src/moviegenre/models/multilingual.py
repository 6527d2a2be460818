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
from moviegenre.models.base import Assembled, Composite, Predictor, RoutesByLanguage
from moviegenre.movie import PLOT, POSTER, Inputs, Movie, Scored, movies_from
from moviegenre.text.checks import InputChecker


class MultilingualGenreModel(Assembled, Composite, RoutesByLanguage):
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
    def predict_movies(self, movies: Sequence[Movie]) -> Scored:
        """English plots (and unsure ones) through the English member, exactly its answer; plots
        in another language through the head (a poster beside one is fused with the head's
        probabilities); `routes` names the language of each row the head answered."""
        movies = list(movies)
        plots = [m.plot for m in movies]
        routes: list[str | None] = [
            None if m.plot is None else self.input_checker.foreign(m.plot, m.language)
            for m in movies
        ]
        english_rows = [i for i, route in enumerate(routes) if route is None]
        head_rows = [i for i, route in enumerate(routes) if route is not None]
        out = np.zeros((len(movies), len(self.labels)), dtype=np.float32)
        inputs: list[Inputs] = [(PLOT,)] * len(movies)
        if english_rows:
            scored = self.english.predict_movies([movies[i] for i in english_rows])
            out[english_rows] = scored.probs[:, self._columns[0]]
            for i, row_used in zip(english_rows, scored.inputs, strict=True):
                inputs[i] = tuple(row_used)
        if head_rows:
            text = self.head.predict_proba([plots[i] for i in head_rows])[:, self._columns[1]]
            out[head_rows] = text
            pictured = [i for i in head_rows if movies[i].poster is not None]
            if pictured:
                self._fuse_posters(out, pictured, [movies[i].poster for i in pictured], inputs)
        return Scored(out, inputs, routes if head_rows else None)

    def _fuse_posters(
        self, out: np.ndarray, rows: list[int], posters: list[Any], inputs: list[Inputs]
    ) -> None:
        from moviegenre.models.fusion import FusionGenreModel

        english = self.english
        if not isinstance(english, FusionGenreModel):
            raise MovieGenreError(f"this model's English member ({english.kind}) reads no poster")
        out[rows] = english.fuse(out[rows], english.poster_proba(posters))
        for i in rows:
            inputs[i] = (PLOT, POSTER)

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        return self.predict_movies(movies_from(plots)).probs

    def thresholds_for(self, inputs: Inputs) -> np.ndarray:
        return self.english.thresholds_for(inputs)[self._columns[0]]

    def thresholds_for_route(self, inputs: Inputs, route: str) -> np.ndarray:
        if tuple(inputs) != (PLOT,):
            return self.thresholds_for(inputs)  # a poster's: the fusion's own sets
        return self.head.thresholds[self._columns[1]]

    @property
    def answer_calibrator(self) -> Calibrator | None:
        # English answers carry the English member's calibration (the head has its own)
        return self.english.answer_calibrator

    @property
    def max_words(self) -> int | None:
        return self.english.max_words

    # ----- assembled ----------------------------------------------------------------------------
    def assemble(self) -> MultilingualGenreModel:
        """Its own decisions from its members: English answers are the English member's, so its
        plot thresholds, at-least-N rule and training words are the composite's (the head's
        thresholds and calibration stay the head's, for the plots routed to it)."""
        english = self.english
        self.thresholds = self.thresholds_for((PLOT,)).astype(np.float32)
        self.min_genres = english.min_genres
        self.input_checker = english.input_checker
        return self

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
