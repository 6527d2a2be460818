"""The PyTorch and ONNX Runtime classes `convert` needs to write the image network (training only).

Module-level classes in a module of their own, imported only inside `convert`'s functions, so
importing `convert` (or anything in `images/`) loads neither PyTorch nor the quantisation tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from onnxruntime.quantization import CalibrationDataReader


class PooledFeatures(torch.nn.Module):
    """The network up to its global average pool: (n, 3, 224, 224) -> (n, 1280)."""

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(pixels).mean(dim=(2, 3))


class CalibrationBatches(CalibrationDataReader):
    """Feeds the static quantiser one prepared picture batch at a time."""

    def __init__(self, batches: Sequence[np.ndarray]) -> None:
        self.items = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.items, None)
        return None if batch is None else {"pixels": batch}
