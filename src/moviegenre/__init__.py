"""moviegenre: predict a movie's genres from its plot summary (the public Python API)."""

from moviegenre.api import Movie, Prediction, load_model, predict
from moviegenre.errors import MovieGenreError
from moviegenre.version import __version__

__all__ = ["Movie", "MovieGenreError", "Prediction", "load_model", "predict", "__version__"]
