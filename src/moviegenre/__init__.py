"""moviegenre: predict a movie's genres from its plot summary (the public Python API)."""

from moviegenre.api import Prediction, load_model, predict
from moviegenre.errors import MovieGenreError

__version__ = "0.1.0"
__all__ = ["MovieGenreError", "Prediction", "load_model", "predict", "__version__"]
