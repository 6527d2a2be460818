"""Poster features: the picture resized for the image network, and the network run on ONNX Runtime.

The network is EfficientNet-Lite0 (ImageNet), cut after its global average pool: 1,280 numbers
per poster. Its ONNX file is made once from the published PyTorch weights (`images/convert.py`)
and travels inside each poster bundle; serving runs it here, without PyTorch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError

IMAGE_SIZE = 224  # EfficientNet-Lite0's input resolution
FEATURES = 1280
# EfficientNet-Lite was trained on pixels scaled to [-1, 1] (TensorFlow's (x - 127) / 128).
PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0


def prepare(rgb: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 picture as the network's (3, 224, 224) float32 input.

    The whole poster is resized to the square input (not cropped): a poster's title and
    artwork sit at its top and bottom, which a centre crop would cut.
    """
    from PIL import Image

    image = Image.fromarray(rgb, mode="RGB")
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR, reducing_gap=3.0)
    pixels = np.asarray(image, dtype=np.float32)
    return ((pixels - PIXEL_MEAN) / PIXEL_SCALE).transpose(2, 0, 1).copy()


class PosterEncoder:
    """The image network on ONNX Runtime: pictures in, (n, 1280) float32 features out.

    The ONNX session is created on first use, so a model that holds an encoder costs nothing
    until a poster comes; after that it is reused (ONNX Runtime sessions are thread-safe).
    """

    def __init__(self, path: str | Path, batch_size: int = 16) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    from moviegenre.onnx_sessions import make_session

                    if not self.path.is_file():
                        raise MovieGenreError(f"{self.path}: the image network file is missing")
                    self._session = make_session(self.path)
        return self._session

    def encode(self, pictures: Sequence[np.ndarray]) -> np.ndarray:
        """Features for already decoded (H, W, 3) uint8 pictures, in order."""
        out = np.zeros((len(pictures), FEATURES), dtype=np.float32)
        if not len(pictures):
            return out
        session = self.session
        name = session.get_inputs()[0].name
        for start in range(0, len(pictures), self.batch_size):
            batch = np.stack([prepare(p) for p in pictures[start : start + self.batch_size]])
            (features,) = session.run(None, {name: batch})
            out[start : start + len(batch)] = features
        return out
