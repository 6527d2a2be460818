"""Training the n-gram model (PyTorch): its vocabulary and word pairs from the training plots, then
the network through the one training loop. Imported only inside `NgramGenreModel.fit`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from moviegenre.models.ngram.encoder import UNK_ID, NgramEncoder, readable_glove_words, word_counts
from moviegenre.models.ngram.kernels import logits, prepared
from moviegenre.models.ngram.net import LazyAdamW, NgramNet
from moviegenre.tensors import dequantize_rows, quantize_rows
from moviegenre.text.tokenizer import PAD, UNK

# `model` below is the NgramGenreModel being fitted (its hyper-parameters); typed Any because
# this module sits below `model` (which imports it inside `fit`).
log = logging.getLogger("moviegenre.models.ngram")


def fit_vocabulary(model: Any, plots: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Training words (and frequent GloVe words, which carry meaning for unseen plots), then
    the word pairs seen often enough. Returns (words, GloVe matrix rows, words found)."""
    from moviegenre.text.embeddings import glove_vectors

    counts = word_counts(plots)
    train_words = [t for t, c in counts.most_common() if c >= model.min_count]
    train_words = [t for t in train_words if t not in (PAD, UNK)]
    extra = readable_glove_words(model.glove_words, model.embeddings)
    seen = set(train_words)
    words = [PAD, UNK, *train_words, *(w for w in extra if w not in seen)]
    vectors, found = glove_vectors(words, model.embeddings)
    return words, vectors, found


def fit_pairs(model: Any, encoder: NgramEncoder, plots: Sequence[str]) -> np.ndarray:
    """Keys (left * V + right) of the adjacent word pairs seen `min_pair_count` times."""
    ids, offsets, _, _ = encoder.encode(plots)
    keys = ids[:-1] * len(encoder.words) + ids[1:]
    inside = np.ones(len(keys), dtype=bool)
    inside[offsets[1:-1] - 1] = False  # a pair never spans two plots
    unique, counts = np.unique(keys[inside], return_counts=True)
    common = unique[counts >= model.min_pair_count]
    if len(common) > model.max_pairs:  # keep the most frequent
        top = np.argsort(-counts[counts >= model.min_pair_count], kind="stable")
        common = np.sort(common[top[: model.max_pairs]])
    return common.astype(np.int64)


def fit_network(
    model: Any,
    plots: Sequence[str],
    targets: np.ndarray,
    valid_plots: Sequence[str] | None = None,
    valid_targets: np.ndarray | None = None,
) -> tuple[NgramEncoder, dict[str, np.ndarray], dict[str, Any]]:
    """Learn the encoder and the weights for `model`'s hyper-parameters; returns (encoder,
    arrays, training info) for `model.fit` to keep."""
    from moviegenre.evaluation.metrics import tuned_micro_f1
    from moviegenre.models.torch_loop import (
        LoopSettings,
        fit_loop,
        positive_weights,
        seed_everything,
    )

    plots = list(plots)
    seed_everything(model.seed)
    rng = np.random.default_rng(model.seed)
    words, vectors, found = fit_vocabulary(model, plots)
    pair_keys = fit_pairs(model, NgramEncoder(words, np.zeros(0, dtype=np.int64)), plots)
    encoder = NgramEncoder(words, pair_keys)
    dim = vectors.shape[1]
    known = vectors[found]
    scale = float(known.std()) if len(known) else 0.1
    vectors[~found] = rng.normal(0.0, scale, size=(int((~found).sum()), dim))
    vectors[0] = 0.0
    vectors[UNK_ID] = known.mean(axis=0) if len(known) else 0.0
    log.info("n-gram vocabulary: %d words (%d with a GloVe vector), %d word pairs",
             len(words), int(found.sum()), len(pair_keys))  # fmt: skip

    net = NgramNet(
        len(words),
        len(pair_keys),
        dim,
        model.hidden,
        len(model.labels),
        model.dropout,
        filters=model.filters,
        weighted=model.word_weights,
    )
    with torch.no_grad():
        net.word_table.weight.copy_(torch.from_numpy(vectors.astype(np.float32)))
        # pairs start small: at first the words decide, pairs add what words alone miss
        net.pair_table.weight.normal_(0.0, scale * 0.1)
    ids, offsets, pair_ids, pair_offsets = encoder.encode(plots)
    # per plot, concatenated again per batch (after token dropout)
    word_bags = [ids[offsets[i] : offsets[i + 1]] for i in range(len(plots))]
    pair_bags = [pair_ids[pair_offsets[i] : pair_offsets[i + 1]] for i in range(len(plots))]
    target_tensor = torch.from_numpy(targets)
    pos_weight = positive_weights(targets, model.pos_weight_power, model.pos_weight_max)

    def dropped(parts: list[np.ndarray]) -> list[np.ndarray]:
        if model.token_dropout <= 0 or not net.training:
            return parts
        # dropping tokens teaches the mean not to lean on any single word
        # (torch's generator: checkpoints keep its state, so a resumed run drops the same)
        return [
            p[torch.rand(len(p)).numpy() >= model.token_dropout] if len(p) > 1 else p for p in parts
        ]

    def bag(parts: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        offsets = np.zeros(len(parts), dtype=np.int64)
        np.cumsum([len(p) for p in parts[:-1]], out=offsets[1:])
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return torch.from_numpy(flat), torch.from_numpy(offsets)

    def make_batch(indices: list[int]) -> dict[str, torch.Tensor]:
        word_parts = dropped([word_bags[i] for i in indices])
        words_, word_offsets = bag(word_parts)
        pairs_, pair_offsets_ = bag(dropped([pair_bags[i] for i in indices]))
        width = max(len(p) for p in word_parts) if model.filters else 1
        padded = np.zeros((len(indices), width), dtype=np.int64)
        if model.filters:
            for row, p in enumerate(word_parts):
                padded[row, : len(p)] = p
        return {"words": words_, "word_offsets": word_offsets, "pairs": pairs_,
                "pair_offsets": pair_offsets_, "padded": torch.from_numpy(padded),
                "mask": torch.from_numpy((padded > 0).astype(np.float32)),
                "targets": target_tensor[indices]}  # fmt: skip

    def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = model(batch["words"], batch["word_offsets"], batch["pairs"],
                       batch["pair_offsets"], batch["padded"], batch["mask"])  # fmt: skip
        return nn.functional.binary_cross_entropy_with_logits(
            logits, batch["targets"], pos_weight=pos_weight.to(logits.device)
        )

    def make_optimizer(module: nn.Module) -> torch.optim.Optimizer:
        named = list(module.named_parameters())
        is_table = [n.endswith(("table.weight", "score.weight")) for n, _ in named]
        tables = [p for (_, p), table in zip(named, is_table, strict=True) if table]
        rest = [p for (_, p), table in zip(named, is_table, strict=True) if not table]
        return LazyAdamW(
            [{"params": tables, "lr": model.embed_lr, "weight_decay": 0.0},
             {"params": rest, "lr": model.lr, "weight_decay": model.weight_decay}],
        )  # fmt: skip

    def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: max(0.1, 1.0 - 0.9 * step / max(total_steps, 1))
        )

    evaluate = None
    if valid_plots is not None and valid_targets is not None and len(valid_plots):
        valid_encoded = encoder.encode(list(valid_plots))
        valid_y = np.asarray(valid_targets, dtype=np.float32)

        def evaluate(module: nn.Module) -> float:
            found = logits(prepared(arrays_of(model, module)), valid_encoded)
            return tuned_micro_f1(1.0 / (1.0 + np.exp(-found)), valid_y)

    settings = LoopSettings(
        epochs=model.epochs, batch_size=model.batch_size, patience=model.patience,
        seed=model.seed, device=model.device, checkpoint_dir=model.checkpoint_dir,
        resume=model.resume, desc="ngram", progress=model.progress,
        grad_clip=None,  # the norm of sparse gradients is not supported; Adam scales steps
    )  # fmt: skip
    fingerprint = {
        "model": model.model_type, "vocab": len(words), "pairs": len(pair_keys), "dim": dim,
        "hidden": model.hidden, "labels": model.labels, "train_rows": len(plots),
        "batch_size": model.batch_size, "seed": model.seed,
    }  # fmt: skip
    result = fit_loop(
        net, make_optimizer=make_optimizer, n_train=len(plots), make_batch=make_batch,
        loss_fn=loss_fn, evaluate=evaluate, settings=settings,
        lengths=np.diff(offsets).tolist(), fingerprint=fingerprint,
        make_scheduler=make_scheduler,
    )  # fmt: skip
    training_info = {
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "best_valid_micro_f1": round(result.best_score, 4) if evaluate else None,
        "vocab_size": len(words), "glove_words": int(found[2:].sum()),
        "pairs": len(pair_keys),
    }  # fmt: skip
    return encoder, arrays_of(model, net), training_info


def arrays_of(model: Any, net: Any) -> dict[str, np.ndarray]:
    """NumPy copies of the network's weights (tables rounded to int8 rows or float16 as they will
    be saved): what the
    model predicts with."""
    state = {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items()}
    dim = state["word_table.weight"].shape[1]
    table_dtype = np.float16 if model.half else np.float32

    def saved(table: np.ndarray) -> np.ndarray:  # the table as the bundle will hold it
        if model.int8_tables:
            return dequantize_rows(*quantize_rows(table))
        return table.astype(table_dtype).astype(np.float32)

    w1 = state["hidden.weight"].T
    arrays = {
        "word_table": saved(state["word_table.weight"]),
        "pair_table": saved(state["pair_table.weight"]),
        "w1_words": np.ascontiguousarray(w1[:dim]),
        "w1_pairs": np.ascontiguousarray(w1[dim : 2 * dim]),
        "b1": state["hidden.bias"],
        "w2": np.ascontiguousarray(state["out.weight"].T),
        "b2": state["out.bias"],
    }
    if model.word_weights:
        arrays["word_score"] = state["word_score.weight"][:, 0].copy()
        arrays["pair_score"] = state["pair_score.weight"][:, 0].copy()
    if model.filters:
        conv = state["conv.weight"]  # (filters, dim, 3): taps before, at, after a word
        arrays["conv_w"] = np.ascontiguousarray(
            np.concatenate([conv[:, :, k].T for k in range(3)], axis=0)
        )
        arrays["conv_b"] = state["conv.bias"]
        arrays["w1_conv"] = np.ascontiguousarray(w1[2 * dim :])

    # --- files ---------------------------------------------------------------------------------
    return arrays
