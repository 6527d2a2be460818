"""The genre heads on MiniLM plot vectors: a linear layer or a one-hidden-layer MLP.

Both model types store a head as arrays ("w", "b" or "w1", "b1", "w2", "b2") and the frozen one
scores with NumPy; the MLP trains through the one PyTorch loop (`models/torch_loop.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from moviegenre.models.torch_loop import LoopSettings, fit_loop, seed_everything
from moviegenre.tensors import read_tensors, write_tensors

HEAD_FILE = "head.safetensors"


def new_head(kind: str, dim: int, labels: int, hidden: int, dropout: float) -> torch.nn.Sequential:
    """An untrained head: "mlp" (Linear, ReLU, Dropout, Linear) or "linear"."""
    if kind == "mlp":
        return torch.nn.Sequential(
            torch.nn.Linear(dim, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, labels),
        )  # fmt: skip
    return torch.nn.Sequential(torch.nn.Linear(dim, labels))


def head_arrays(net: torch.nn.Sequential) -> dict[str, np.ndarray]:
    """A head module's weights as float32 arrays, named as the bundle stores them."""
    layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    tensors = (
        {"w": layers[0].weight, "b": layers[0].bias}
        if len(layers) == 1
        else {"w1": layers[0].weight, "b1": layers[0].bias,
              "w2": layers[1].weight, "b2": layers[1].bias}
    )  # fmt: skip
    return {k: v.detach().float().cpu().numpy().astype(np.float32) for k, v in tensors.items()}


def head_module(kind: str, weights: dict[str, np.ndarray], dropout: float = 0.0) -> Any:
    """The head as a module again, from its arrays."""
    first = weights["w1"] if kind == "mlp" else weights["w"]
    last = weights["w2"] if kind == "mlp" else weights["w"]
    net = new_head(kind, first.shape[1], last.shape[0], first.shape[0], dropout)
    layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    names = (("w1", "b1"), ("w2", "b2")) if kind == "mlp" else (("w", "b"),)
    with torch.no_grad():
        for layer, (w, b) in zip(layers, names, strict=True):
            layer.weight.copy_(torch.from_numpy(weights[w]))
            layer.bias.copy_(torch.from_numpy(weights[b]))
    return net


def head_logits(kind: str, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The head's logits for plot vectors x (NumPy: no PyTorch call at prediction)."""
    if kind == "mlp":
        hidden = np.maximum(x @ weights["w1"].T + weights["b1"], 0.0)
        return hidden @ weights["w2"].T + weights["b2"]
    return x @ weights["w"].T + weights["b"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))).astype(np.float32)


def save_head(directory: Path, weights: dict[str, np.ndarray]) -> None:
    write_tensors(directory / HEAD_FILE, weights)


def load_head(
    directory: Path, kind: str, labels: int, hidden: int, dim: int
) -> dict[str, np.ndarray]:
    """A saved head's arrays, their shapes checked."""
    if kind == "mlp":
        expected = {"w1": (hidden, dim), "b1": (hidden,), "w2": (labels, hidden), "b2": (labels,)}
    else:
        expected = {"w": (labels, dim), "b": (labels,)}
    return read_tensors(directory / HEAD_FILE, expected)


def balanced_pos_weight(targets: np.ndarray) -> torch.Tensor:
    """Per-genre BCE weight of positives: sqrt(negatives / positives), softer than "balanced"."""
    pos = targets.mean(axis=0).clip(1e-3, 1 - 1e-3)
    return torch.tensor((1 - pos) / pos).sqrt().float()


def fit_mlp(
    x: np.ndarray,
    targets: np.ndarray,
    valid: tuple[np.ndarray, np.ndarray] | None,
    score: Any,
    *,
    hidden: int,
    dropout: float,
    lr: float,
    epochs: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Train the MLP head on plot vectors through the PyTorch loop; early stopping on
    `score(probs, valid_targets)` (valid micro-F1 after threshold tuning) when `valid` is given."""
    seed_everything(seed)
    net = new_head("mlp", x.shape[1], targets.shape[1], hidden, dropout)
    tx = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ty = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32))
    pos_weight = balanced_pos_weight(targets)

    def loss_fn(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(
            model(batch["x"]), batch["targets"], pos_weight=pos_weight
        )

    evaluate = None
    if valid is not None:
        vx, vy = torch.from_numpy(np.ascontiguousarray(valid[0], dtype=np.float32)), valid[1]

        def evaluate(module: Any) -> float:
            return float(score(torch.sigmoid(module(vx)).numpy(), vy))

    settings = LoopSettings(
        epochs=epochs, batch_size=128, patience=8, seed=seed, device="cpu", grad_clip=None,
        desc="minilm head", progress=False, report_epochs=False, distributed=False,
    )  # fmt: skip
    fit_loop(
        net, make_optimizer=lambda m: torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=1e-2),
        n_train=len(tx), make_batch=lambda idx: {"x": tx[idx], "targets": ty[idx]},
        loss_fn=loss_fn, evaluate=evaluate, settings=settings,
    )  # fmt: skip
    return head_arrays(net)
