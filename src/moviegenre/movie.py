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
    or a file path), or both. None where the movie has no such input."""

    plot: str | None = None
    poster: Any = None

    @property
    def inputs(self) -> Inputs:
        """What this movie brings: ("plot",), ("poster",), ("plot", "poster") or ()."""
        if self.poster is None:
            return () if self.plot is None else (PLOT,)
        return (POSTER,) if self.plot is None else (PLOT, POSTER)


@dataclass(frozen=True)
class Scored:
    """A model's answer to a batch of movies: (movies, labels) float32 probabilities, and per row
    the inputs it used (a text model reads no poster; a poster model no plot)."""

    probs: np.ndarray
    inputs: list[Inputs]


def movies_from(plots: Sequence[str | None], posters: Sequence[Any] | None = None) -> list[Movie]:
    """Movies from parallel lists (the older calling style); the one check that they match."""
    if posters is None:
        return [Movie(plot) for plot in plots]
    posters = list(posters)
    if len(posters) != len(plots):
        raise MovieGenreError(f"got {len(plots)} plots but {len(posters)} posters")
    return [Movie(plot, poster) for plot, poster in zip(plots, posters, strict=True)]


def plots_only(movies: Sequence[Movie], reader: str) -> list[str]:
    """The plots of movies that all have one and no poster: what a text model can answer.

    reader: the model's name for the message (a poster would otherwise silently go unread).
    """
    if any(m.plot is None or m.poster is not None for m in movies):
        raise MovieGenreError(f"this model ({reader}) reads plots only; it cannot use a poster")
    return [m.plot for m in movies]  # type: ignore[misc]
