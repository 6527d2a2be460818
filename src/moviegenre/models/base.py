"""The one interface every model type honours: fit, predict_proba, predict, and its own files."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from moviegenre.training.thresholds import decide


class GenreModel(ABC):
    """A multi-label genre classifier over plot summaries.

    Subclasses implement `fit`, `predict_proba`, `save_files` and `load_files`; thresholds and the
    "at least one genre" rule are shared, so the CLI, API, evaluation and ensemble never care which
    model they hold.
    """

    model_type: ClassVar[str]
    # whether `fit` learns from probabilities in [0, 1] as targets (distillation), not only 0/1
    accepts_soft_targets: ClassVar[bool] = False

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels: list[str] = list(labels)
        self.thresholds: np.ndarray = np.full(len(self.labels), 0.5, dtype=np.float32)
        self.min_genres: int = 1  # 0 lets the model answer "no genre"
        self.metadata: dict[str, Any] = {}  # filled by the bundle on load (metrics, fingerprint...)

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

    @abstractmethod
    def predict_proba(self, plots: Sequence[str]) -> np.ndarray:
        """Probabilities, shape (plots, labels), float32: one independent sigmoid per genre."""

    def predict(self, plots: Sequence[str]) -> np.ndarray:
        """0/1 decisions, shape (len(plots), len(labels)), using per-genre thresholds."""
        return decide(self.predict_proba(plots), self.thresholds, self.min_genres)

    @abstractmethod
    def save_files(self, directory: Path) -> dict[str, Any]:
        """Write its own files (safetensors, JSON, ONNX) into `directory`; return its config."""

    @classmethod
    @abstractmethod
    def load_files(cls, directory: Path, config: dict[str, Any], labels: list[str]) -> GenreModel:
        """Rebuild a model from the files `save_files` wrote and the config it returned."""

    @property
    def max_words(self) -> int | None:
        """How many words of a plot the model reads; longer plots are cut (None: no limit)."""
        return None
