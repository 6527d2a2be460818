"""The one input of a prediction: a `Movie` (its plot, its poster), and what a model made of it.

Every surface (the Python API, the CLI, batch files, the JSON and form API, the page) builds
`Movie`s; `Predictor.predict_movies` takes a batch of them and answers `Scored` (probabilities,
and per row the inputs it used); `prediction.answer` turns that into the answers. A new input
field (a title, the plot's language) is a field here with a default of None, filled in where a
surface builds its movies (see docs/architecture.md, "A new input field").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError

PLOT, POSTER = "plot", "poster"
# What an answer was made from, in this order: the `inputs` of every answer.
Inputs = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Movie:
    """One movie to predict: its plot summary, its poster (a decoded RGB array, the image's bytes
    or a file path), or both. None where the movie has no such input. language: the plot's
    language as the caller states it (ISO 639-1; None: detected from the plot)."""

    plot: str | None = None
    poster: Any = None
    language: str | None = None

    @property
    def inputs(self) -> Inputs:
        """What this movie brings: ("plot",), ("poster",), ("plot", "poster") or ()."""
        if self.poster is None:
            return () if self.plot is None else (PLOT,)
        return (POSTER,) if self.plot is None else (PLOT, POSTER)


@dataclass(frozen=True)
class Scored:
    """A model's answer to a batch of movies: (movies, labels) float32 probabilities, per row
    the inputs it used (a text model reads no poster; a poster model no plot), and, for a model
    that routes rows (by the plot's language), the route each row took (None: the usual one),
    which picks its thresholds (`thresholds_for_route`)."""

    probs: np.ndarray
    inputs: list[Inputs]
    routes: list[str | None] | None = None


def movies_from(
    plots: Sequence[str | None],
    posters: Sequence[Any] | None = None,
    languages: Sequence[str | None] | None = None,
) -> list[Movie]:
    """Movies from parallel lists (the older calling style); the one check that they match."""
    plots = list(plots)
    posters = [None] * len(plots) if posters is None else list(posters)
    languages = [None] * len(plots) if languages is None else list(languages)
    if len(posters) != len(plots):
        raise MovieGenreError(f"got {len(plots)} plots but {len(posters)} posters")
    if len(languages) != len(plots):
        raise MovieGenreError(f"got {len(plots)} plots but {len(languages)} languages")
    return [Movie(*row) for row in zip(plots, posters, languages, strict=True)]


def plots_only(movies: Sequence[Movie], reader: str) -> list[str]:
    """The plots of movies that all have one and no poster: what a text model can answer.

    reader: the model's name for the message (a poster would otherwise silently go unread).
    """
    if any(m.plot is None or m.poster is not None for m in movies):
        raise MovieGenreError(f"this model ({reader}) reads plots only; it cannot use a poster")
    return [m.plot for m in movies]  # type: ignore[misc]
