"""The fast `ngram` model: mean word and word-pair embeddings into a small MLP, NumPy to predict.

A plot becomes two bags: its words (a vocabulary of training words plus frequent GloVe words,
GloVe-initialised) and its adjacent word pairs (pairs seen at least `min_pair_count` times in
training). Each bag is averaged into one vector; the two vectors go through one hidden layer to one
sigmoid per genre. Every token of a plot is read, however long the plot, and the cost grows with
its length only. Training uses PyTorch (EmbeddingBag); prediction is a sparse-times-dense product
and two small matrix products in NumPy/SciPy, so serving needs neither PyTorch nor ONNX Runtime.
Trained on a teacher's soft targets (`--distill`) it keeps most of a much slower model's quality.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.tensors import read_tensors, write_tensors
from moviegenre.text.embeddings import DEFAULT_EMBEDDINGS
from moviegenre.text.tokenizer import PAD, PLOT_SEPARATOR, UNK, fast_word_stream, fast_words

log = logging.getLogger(__name__)

WEIGHTS = "weights.safetensors"
VOCAB = "vocab.json"
ONNX_FILE = "model.onnx"
UNK_ID = 1
SCORE_LIMIT = 20.0  # learned word scores are clipped to +-20 before exp (no overflow)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: Knuth's multiplicative hashing


class PairIndex:
    """Sorted pair keys -> positions, found by one hash probe per query, vectorised.

    A binary search costs about 16 dependent memory reads per query over 57,000 keys and was a
    quarter of the n-gram model's prediction time; here each query reads one slot of a table four
    times the size of the key set. A slot two keys hash to keeps the first and is marked crowded;
    only queries that miss on a crowded slot fall back to a binary search.
    """

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.bits = max(4, int(np.ceil(np.log2(max(len(self.keys), 1) * 4))))
        size = 1 << self.bits
        slots = self._slots(self.keys)
        self.slot_key = np.full(size, -1, dtype=np.int64)  # keys are >= 0: -1 is an empty slot
        self.slot_position = np.zeros(size, dtype=np.int64)
        taken, first = np.unique(slots, return_index=True)
        self.slot_key[taken], self.slot_position[taken] = self.keys[first], first
        self.crowded = np.bincount(slots, minlength=size) > 1

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        # uint64 arithmetic wraps modulo 2^64; the top bits of the product are the slot
        return ((keys.astype(np.uint64) * _GOLDEN) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position of each query in the keys, whether it is there at all)."""
        slots = self._slots(queries)
        found = (self.slot_key[slots] == queries) & (queries >= 0)  # -1 marks empty slots
        position = self.slot_position[slots]
        retry = np.flatnonzero(~found & self.crowded[slots])
        if len(retry):
            at = np.minimum(np.searchsorted(self.keys, queries[retry]), len(self.keys) - 1)
            position[retry], found[retry] = at, self.keys[at] == queries[retry]
        return position, found


class NgramEncoder:
    """Plot text -> the ids of its words and of its known word pairs, for a whole batch at once.

    The batch is tokenised as one stream (`fast_word_stream`), its words are looked up with one
    C-level `map` over a dict, and pair ids are found by hashing `left * V + right` into the
    known pairs (`PairIndex`).
    """

    def __init__(self, words: Sequence[str], pair_keys: np.ndarray) -> None:
        if list(words[:2]) != [PAD, UNK]:
            raise MovieGenreError("an n-gram vocabulary starts with the padding and unknown tokens")
        self.words = list(words)
        # keyed by bytes, what the tokenizer returns (no decoding per token); -1 marks plot ends
        self.index = {w.encode(): i for i, w in enumerate(self.words)}
        self.index[PLOT_SEPARATOR] = -1
        self.pair_keys = np.asarray(pair_keys, dtype=np.int64)
        if len(self.pair_keys) and np.any(np.diff(self.pair_keys) <= 0):
            raise MovieGenreError("n-gram pair keys must be sorted and unique")
        if len(self.pair_keys) and self.pair_keys[0] < 0:
            raise MovieGenreError("n-gram pair keys cannot be negative")
        self.pairs = PairIndex(self.pair_keys)

    def encode(self, plots: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(word ids, word offsets, pair ids, pair offsets): flat ids, and offsets of length
        n + 1 where plot i's ids are ids[offsets[i]:offsets[i + 1]]. A plot without a word reads
        as one unknown word."""
        n = len(plots)
        stream = fast_word_stream(plots)
        ids = np.fromiter(
            map(self.index.get, stream, itertools.repeat(UNK_ID)), dtype=np.int64,
            count=len(stream),
        )  # fmt: skip
        is_word = ids >= 0
        owner = np.cumsum(~is_word)  # plot index of every position (separators excluded below)
        pair_ids = np.zeros(0, dtype=np.int64)
        pair_owner = np.zeros(0, dtype=np.int64)
        if len(ids) > 1 and len(self.pair_keys):
            keys = ids[:-1] * len(self.words) + ids[1:]
            position, known = self.pairs.find(keys)
            keep = is_word[:-1] & is_word[1:] & known
            pair_ids, pair_owner = position[keep], owner[:-1][keep]
        word_ids, word_owner = ids[is_word], owner[is_word]
        counts = np.bincount(word_owner, minlength=n)
        if not counts.all():  # empty plots: one unknown word each
            empty = np.flatnonzero(counts == 0)
            at = np.searchsorted(word_owner, empty)
            word_ids = np.insert(word_ids, at, UNK_ID)
            counts[empty] = 1
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        pair_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair_owner, minlength=n), out=pair_offsets[1:])
        return word_ids, offsets, pair_ids, pair_offsets


def word_counts(plots: Sequence[str]) -> Counter:
    """How often each word (as `fast_words` cuts them) occurs in `plots`."""
    return Counter(tok.decode() for plot in plots for tok in fast_words(plot))


def readable_glove_words(n: int, source: str | Path | None = None) -> list[str]:
    """The `n` most frequent words of a GloVe file that the tokenizer can produce whole
    ("n't" or "u.s." never come out of `fast_words` as one word)."""
    from moviegenre.text.embeddings import glove_vocabulary

    words = glove_vocabulary(n, source) if n else []
    return [w for w in words if fast_words(w) == [w.encode()]]


def _mean_matrix(
    ids: np.ndarray, offsets: np.ndarray, columns: int, scores: np.ndarray | None = None
) -> sp.csr_matrix:
    """A (plots, columns) sparse matrix whose product with a table averages each plot's rows:
    equally, or with `scores`, weighted by exp(score) of each id (a softmax within the plot)."""
    counts = np.diff(offsets)
    if scores is None:
        weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
    else:
        weights = np.exp(np.clip(scores[ids], -SCORE_LIMIT, SCORE_LIMIT))
        owner = np.repeat(np.arange(len(counts)), counts)
        weights /= np.bincount(owner, weights=weights, minlength=len(counts))[owner]
        weights = weights.astype(np.float32)
    return sp.csr_matrix((weights, ids, offsets), shape=(len(counts), columns))


def _conv_max(
    x: np.ndarray, offsets: np.ndarray, weight: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """Width-3 convolution over each plot's word vectors (zeros beyond its ends), ReLU, and the
    maximum over the plot: x (tokens, D) in plot order, weight (3 D, filters)."""
    starts, ends = offsets[:-1], offsets[1:] - 1
    before = np.empty_like(x)
    before[1:] = x[:-1]
    before[starts] = 0.0
    after = np.empty_like(x)
    after[:-1] = x[1:]
    after[ends] = 0.0
    h = np.concatenate([before, x, after], axis=1) @ weight + bias
    np.maximum(h, 0.0, out=h)
    return np.maximum.reduceat(h, starts, axis=0)


def _lazy_adamw() -> type:
    """AdamW that updates only the rows a sparse gradient touches (the embedding tables).

    Dense Adam would rewrite every row of both tables (about 7 million numbers) at every step,
    eight times the cost of the rest of the step; rows a batch did not touch keep their moments
    until they are touched again (as TensorFlow's LazyAdam). Dense parameters get plain AdamW.
    """
    import torch

    class LazyAdamW(torch.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                     weight_decay: float = 0.0) -> None:  # fmt: skip
            super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                      "weight_decay": weight_decay})  # fmt: skip

        @torch.no_grad()
        def step(self, closure: Any = None) -> None:
            for group in self.param_groups:
                (beta1, beta2), lr, eps = group["betas"], group["lr"], group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"] = torch.zeros(())
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                    state["step"] += 1
                    t = float(state["step"])
                    correction1, correction2 = 1 - beta1**t, 1 - beta2**t
                    avg, avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    if p.grad.is_sparse:
                        grad = p.grad.coalesce()
                        rows, values = grad.indices()[0], grad.values()
                        m = avg[rows].mul_(beta1).add_(values, alpha=1 - beta1)
                        v = avg_sq[rows].mul_(beta2).addcmul_(values, values, value=1 - beta2)
                        avg[rows], avg_sq[rows] = m, v
                        step = (m / correction1) / ((v / correction2).sqrt_().add_(eps))
                        p.index_add_(0, rows, step, alpha=-lr)
                        continue
                    if group["weight_decay"]:
                        p.mul_(1 - lr * group["weight_decay"])
                    avg.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                    avg_sq.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                    denominator = (avg_sq / correction2).sqrt_().add_(eps)
                    p.addcdiv_(avg, denominator, value=-lr / correction1)

    return LazyAdamW


class NgramGenreModel(GenreModel):
    """Mean word and word-pair embeddings (GloVe-initialised) -> one hidden layer -> sigmoids."""

    model_type = "ngram"
    accepts_soft_targets = True
    run_settings = frozenset({"device", "checkpoint_dir", "resume", "with_onnx", "progress"})

    def __init__(
        self,
        labels: Sequence[str],
        *,
        embeddings: str | None = None,
        glove_words: int = 50000,
        min_count: int = 1,
        min_pair_count: int = 2,
        max_pairs: int = 200000,
        hidden: int = 512,
        filters: int = 0,
        word_weights: bool = False,
        dropout: float = 0.5,
        token_dropout: float = 0.1,
        lr: float = 2e-3,
        embed_lr: float = 2e-3,
        weight_decay: float = 0.01,
        batch_size: int = 32,
        epochs: int = 40,
        patience: int = 4,
        pos_weight_power: float = 0.5,
        pos_weight_max: float = 10.0,
        half: bool = True,
        seed: int = 0,
        device: str = "cpu",
        checkpoint_dir: str | None = None,
        resume: bool = False,
        with_onnx: bool = False,
        progress: bool = True,
    ) -> None:
        super().__init__(labels)
        self.embeddings, self.glove_words = embeddings, int(glove_words)
        self.min_count, self.min_pair_count = int(min_count), int(min_pair_count)
        self.max_pairs = int(max_pairs)
        self.filters = int(filters)
        # a learned score per word and pair: each plot's mean weights its tokens by softmax(score)
        # (a learned IDF: "the" can count for less than "vampire")
        self.word_weights = bool(word_weights)
        self.hidden, self.dropout, self.token_dropout = (
            int(hidden),
            float(dropout),
            float(token_dropout),
        )
        self.lr, self.embed_lr, self.weight_decay = float(lr), float(embed_lr), float(weight_decay)
        self.batch_size, self.epochs, self.patience = int(batch_size), int(epochs), int(patience)
        self.pos_weight_power, self.pos_weight_max = float(pos_weight_power), float(pos_weight_max)
        # float16 tables halve the bundle; weights are rounded right after training so thresholds
        # are tuned on exactly what is saved
        self.half = bool(half)
        self.seed, self.device = int(seed), device
        self.checkpoint_dir, self.resume, self.progress = checkpoint_dir, bool(resume), progress
        self.with_onnx = bool(with_onnx)
        self.encoder: NgramEncoder | None = None
        self.arrays: dict[str, np.ndarray] = {}  # float32 copies used by predict_proba
        self.training_info: dict[str, Any] = {}

    # --- vocabulary ----------------------------------------------------------------------------

    def _fit_vocabulary(self, plots: Sequence[str]) -> tuple[list[str], np.ndarray, int]:
        """Training words (and frequent GloVe words, which carry meaning for unseen plots), then
        the word pairs seen often enough. Returns (words, GloVe matrix rows, words found)."""
        from moviegenre.text.embeddings import glove_vectors

        counts = word_counts(plots)
        train_words = [t for t, c in counts.most_common() if c >= self.min_count]
        train_words = [t for t in train_words if t not in (PAD, UNK)]
        extra = readable_glove_words(self.glove_words, self.embeddings)
        seen = set(train_words)
        words = [PAD, UNK, *train_words, *(w for w in extra if w not in seen)]
        vectors, found = glove_vectors(words, self.embeddings)
        return words, vectors, found

    def _fit_pairs(self, encoder: NgramEncoder, plots: Sequence[str]) -> np.ndarray:
        """Keys (left * V + right) of the adjacent word pairs seen `min_pair_count` times."""
        ids, offsets, _, _ = encoder.encode(plots)
        keys = ids[:-1] * len(encoder.words) + ids[1:]
        inside = np.ones(len(keys), dtype=bool)
        inside[offsets[1:-1] - 1] = False  # a pair never spans two plots
        unique, counts = np.unique(keys[inside], return_counts=True)
        common = unique[counts >= self.min_pair_count]
        if len(common) > self.max_pairs:  # keep the most frequent
            top = np.argsort(-counts[counts >= self.min_pair_count], kind="stable")
            common = np.sort(common[top[: self.max_pairs]])
        return common.astype(np.int64)

    # --- prediction (NumPy) --------------------------------------------------------------------

    def _check(self) -> NgramEncoder:
        if self.encoder is None or not self.arrays:
            raise MovieGenreError("this n-gram model is not fitted")
        return self.encoder

    def _logits(self, encoded: tuple[np.ndarray, ...]) -> np.ndarray:
        a = self.arrays
        ids, offsets, pair_ids, pair_offsets = encoded
        words = _mean_matrix(ids, offsets, len(a["word_table"]), a.get("word_score"))
        pairs = _mean_matrix(pair_ids, pair_offsets, len(a["pair_table"]), a.get("pair_score"))
        words, pairs = words @ a["word_table"], pairs @ a["pair_table"]
        hidden = words @ a["w1_words"] + pairs @ a["w1_pairs"] + a["b1"]
        if "conv_w" in a:
            hidden += (
                _conv_max(a["word_table"][ids], offsets, a["conv_w"], a["conv_b"]) @ a["w1_conv"]
            )
        np.maximum(hidden, 0.0, out=hidden)
        return hidden @ a["w2"] + a["b2"]

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        encoder = self._check()
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = self._logits(encoder.encode(plots))
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0)))).astype(np.float32)

    @property
    def max_words(self) -> int | None:
        return None  # every token is read; cost grows with the plot's length only

    # --- training (PyTorch) --------------------------------------------------------------------

    def _network(self, vocab_size: int, pairs: int, dim: int) -> Any:
        import torch
        from torch import nn

        filters, weighted = self.filters, self.word_weights

        def softmax_weights(scores: nn.Embedding, ids: Any, offsets: Any) -> Any:
            """exp(score) of each id over the sum of its plot's (a softmax within each bag)."""
            w = torch.exp(scores(ids).squeeze(1).clamp(-SCORE_LIMIT, SCORE_LIMIT))
            counts = torch.diff(offsets, append=torch.tensor([len(ids)]))
            owner = torch.repeat_interleave(torch.arange(len(offsets)), counts)
            total = torch.zeros(len(offsets), dtype=w.dtype).index_add_(0, owner, w)
            return w / total[owner]

        class NgramNet(nn.Module):
            def __init__(self, hidden: int, labels: int, dropout: float) -> None:
                super().__init__()
                # sparse gradients: a batch touches a few thousand of the ~150,000 table rows
                mode = "sum" if weighted else "mean"  # weighted: sum of softmax-weighted rows
                self.word_table = nn.EmbeddingBag(vocab_size, dim, mode=mode, sparse=True)
                self.pair_table = nn.EmbeddingBag(max(pairs, 1), dim, mode=mode, sparse=True)
                if weighted:  # scores start at 0: a plain mean at first
                    self.word_score = nn.Embedding(vocab_size, 1, sparse=True)
                    self.pair_score = nn.Embedding(max(pairs, 1), 1, sparse=True)
                    nn.init.zeros_(self.word_score.weight)
                    nn.init.zeros_(self.pair_score.weight)
                if filters:
                    self.conv = nn.Conv1d(dim, filters, 3, padding=1)
                self.hidden = nn.Linear(2 * dim + filters, hidden)
                self.dropout = nn.Dropout(dropout)
                self.out = nn.Linear(hidden, labels)

            def forward(self, words, word_offsets, pairs, pair_offsets, padded, mask):  # noqa: ANN001
                if weighted:
                    parts = [
                        self.word_table(words, word_offsets, per_sample_weights=softmax_weights(
                            self.word_score, words, word_offsets)),
                        self.pair_table(pairs, pair_offsets, per_sample_weights=softmax_weights(
                            self.pair_score, pairs, pair_offsets)),
                    ]  # fmt: skip
                else:
                    parts = [self.word_table(words, word_offsets),
                             self.pair_table(pairs, pair_offsets)]  # fmt: skip
                if filters:
                    # row 0 (padding) is zeros and gets no gradient: zeros beyond a plot's ends
                    x = nn.functional.embedding(
                        padded, self.word_table.weight, padding_idx=0, sparse=True
                    )
                    h = torch.relu(self.conv(x.transpose(1, 2)))
                    h = h.masked_fill(mask.unsqueeze(1) == 0, float("-inf"))
                    parts.append(h.amax(dim=2))
                x = torch.cat(parts, dim=1)
                return self.out(self.dropout(torch.relu(self.hidden(x))))

        return NgramNet(self.hidden, len(self.labels), self.dropout)

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> NgramGenreModel:
        import torch
        from torch import nn

        from moviegenre.evaluation.metrics import tuned_micro_f1
        from moviegenre.models.torch_loop import (
            LoopSettings,
            fit_loop,
            positive_weights,
            seed_everything,
        )

        plots = list(plots)
        targets = self._checked_targets(plots, targets)
        seed_everything(self.seed)
        rng = np.random.default_rng(self.seed)
        words, vectors, found = self._fit_vocabulary(plots)
        pair_keys = self._fit_pairs(NgramEncoder(words, np.zeros(0, dtype=np.int64)), plots)
        self.encoder = NgramEncoder(words, pair_keys)
        dim = vectors.shape[1]
        known = vectors[found]
        scale = float(known.std()) if len(known) else 0.1
        vectors[~found] = rng.normal(0.0, scale, size=(int((~found).sum()), dim))
        vectors[0] = 0.0
        vectors[UNK_ID] = known.mean(axis=0) if len(known) else 0.0
        log.info("n-gram vocabulary: %d words (%d with a GloVe vector), %d word pairs",
                 len(words), int(found.sum()), len(pair_keys))  # fmt: skip

        net = self._network(len(words), len(pair_keys), dim)
        with torch.no_grad():
            net.word_table.weight.copy_(torch.from_numpy(vectors.astype(np.float32)))
            # pairs start small: at first the words decide, pairs add what words alone miss
            net.pair_table.weight.normal_(0.0, scale * 0.1)
        ids, offsets, pair_ids, pair_offsets = self.encoder.encode(plots)
        # per plot, concatenated again per batch (after token dropout)
        word_bags = [ids[offsets[i] : offsets[i + 1]] for i in range(len(plots))]
        pair_bags = [pair_ids[pair_offsets[i] : pair_offsets[i + 1]] for i in range(len(plots))]
        target_tensor = torch.from_numpy(targets)
        pos_weight = positive_weights(targets, self.pos_weight_power, self.pos_weight_max)

        def dropped(parts: list[np.ndarray]) -> list[np.ndarray]:
            if self.token_dropout <= 0 or not net.training:
                return parts
            # dropping tokens teaches the mean not to lean on any single word
            # (torch's generator: checkpoints keep its state, so a resumed run drops the same)
            return [
                p[torch.rand(len(p)).numpy() >= self.token_dropout] if len(p) > 1 else p
                for p in parts
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
            width = max(len(p) for p in word_parts) if self.filters else 1
            padded = np.zeros((len(indices), width), dtype=np.int64)
            if self.filters:
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
            return _lazy_adamw()(
                [{"params": tables, "lr": self.embed_lr, "weight_decay": 0.0},
                 {"params": rest, "lr": self.lr, "weight_decay": self.weight_decay}],
            )  # fmt: skip

        def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
            return torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: max(0.1, 1.0 - 0.9 * step / max(total_steps, 1))
            )

        evaluate = None
        if valid_plots is not None and valid_targets is not None and len(valid_plots):
            valid_encoded = self.encoder.encode(list(valid_plots))
            valid_y = np.asarray(valid_targets, dtype=np.float32)

            def evaluate(module: nn.Module) -> float:
                self._take_arrays(module)
                return tuned_micro_f1(1.0 / (1.0 + np.exp(-self._logits(valid_encoded))), valid_y)

        settings = LoopSettings(
            epochs=self.epochs, batch_size=self.batch_size, patience=self.patience,
            seed=self.seed, device=self.device, checkpoint_dir=self.checkpoint_dir,
            resume=self.resume, desc="ngram", progress=self.progress,
            grad_clip=None,  # the norm of sparse gradients is not supported; Adam scales steps
        )  # fmt: skip
        fingerprint = {
            "model": self.model_type, "vocab": len(words), "pairs": len(pair_keys), "dim": dim,
            "hidden": self.hidden, "labels": self.labels, "train_rows": len(plots),
            "batch_size": self.batch_size, "seed": self.seed,
        }  # fmt: skip
        result = fit_loop(
            net, make_optimizer=make_optimizer, n_train=len(plots), make_batch=make_batch,
            loss_fn=loss_fn, evaluate=evaluate, settings=settings,
            lengths=np.diff(offsets).tolist(), fingerprint=fingerprint,
            make_scheduler=make_scheduler,
        )  # fmt: skip
        self._take_arrays(net)
        self.training_info = {
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "best_valid_micro_f1": round(result.best_score, 4) if evaluate else None,
            "vocab_size": len(words), "glove_words": int(found[2:].sum()),
            "pairs": len(pair_keys),
        }  # fmt: skip
        return self

    def _take_arrays(self, net: Any) -> None:
        """NumPy copies of the network's weights (tables rounded to float16 when `half`)."""
        state = {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items()}
        dim = state["word_table.weight"].shape[1]
        table_dtype = np.float16 if self.half else np.float32
        w1 = state["hidden.weight"].T
        self.arrays = {
            "word_table": state["word_table.weight"].astype(table_dtype).astype(np.float32),
            "pair_table": state["pair_table.weight"].astype(table_dtype).astype(np.float32),
            "w1_words": np.ascontiguousarray(w1[:dim]),
            "w1_pairs": np.ascontiguousarray(w1[dim : 2 * dim]),
            "b1": state["hidden.bias"],
            "w2": np.ascontiguousarray(state["out.weight"].T),
            "b2": state["out.bias"],
        }
        if self.word_weights:
            self.arrays["word_score"] = state["word_score.weight"][:, 0].copy()
            self.arrays["pair_score"] = state["pair_score.weight"][:, 0].copy()
        if self.filters:
            conv = state["conv.weight"]  # (filters, dim, 3): taps before, at, after a word
            self.arrays["conv_w"] = np.ascontiguousarray(
                np.concatenate([conv[:, :, k].T for k in range(3)], axis=0)
            )
            self.arrays["conv_b"] = state["conv.bias"]
            self.arrays["w1_conv"] = np.ascontiguousarray(w1[2 * dim :])

    # --- files ---------------------------------------------------------------------------------

    def export_onnx(self, path: str | Path) -> Path:
        """Write the network as ONNX (opset 17). Inputs: ids int64 (B, T) holding a plot's word
        ids followed by its pair ids plus the vocabulary size, and mask (B, T) 1 for real ids;
        output probs float32 (B, labels). `onnx_ids` makes those rows from plots."""
        import torch
        from torch import nn

        encoder = self._check()
        if self.filters:
            raise MovieGenreError("the ONNX export covers n-gram models without filters only")
        arrays = {k: torch.from_numpy(v) for k, v in self.arrays.items()}
        vocab_size = len(encoder.words)

        class Export(nn.Module):
            def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
                mask = mask.to(torch.float32)
                is_word = (ids < vocab_size).to(torch.float32) * mask
                is_pair = mask - is_word
                word_index = torch.where(ids < vocab_size, ids, 0)
                words = nn.functional.embedding(word_index, arrays["word_table"])
                pair_index = torch.clamp(ids - vocab_size, min=0)
                pairs = nn.functional.embedding(pair_index, arrays["pair_table"])
                if "word_score" in arrays:  # softmax(score) weights within each plot's bags
                    limit = SCORE_LIMIT
                    is_word = is_word * torch.exp(
                        arrays["word_score"].clamp(-limit, limit)[word_index]
                    )
                    is_pair = is_pair * torch.exp(
                        arrays["pair_score"].clamp(-limit, limit)[pair_index]
                    )
                w = (words * is_word.unsqueeze(-1)).sum(1) / is_word.sum(1, keepdim=True).clamp(
                    min=1e-12
                )
                p = (pairs * is_pair.unsqueeze(-1)).sum(1) / is_pair.sum(1, keepdim=True).clamp(
                    min=1e-12
                )
                hidden = torch.relu(w @ arrays["w1_words"] + p @ arrays["w1_pairs"] + arrays["b1"])
                return torch.sigmoid(hidden @ arrays["w2"] + arrays["b2"])

        path = Path(path)
        ids = torch.tensor([[2, 3, vocab_size], [2, 0, 0]], dtype=torch.int64)
        mask = torch.tensor([[1, 1, 1], [1, 0, 0]], dtype=torch.int64)
        torch.onnx.export(
            Export().eval(), (ids, mask), str(path), input_names=["ids", "mask"],
            output_names=["probs"], opset_version=17, dynamo=False,
            dynamic_axes={"ids": {0: "batch", 1: "time"}, "mask": {0: "batch", 1: "time"},
                          "probs": {0: "batch"}},
        )  # fmt: skip
        return path

    def onnx_ids(self, plots: Sequence[str]) -> list[list[int]]:
        """Per plot, the ids the ONNX graph reads: word ids, then pair ids + vocabulary size."""
        encoder = self._check()
        ids, offsets, pair_ids, pair_offsets = encoder.encode(list(plots))
        size = len(encoder.words)
        return [
            [*ids[offsets[i] : offsets[i + 1]].tolist(),
             *(pair_ids[pair_offsets[i] : pair_offsets[i + 1]] + size).tolist()]
            for i in range(len(plots))
        ]  # fmt: skip

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        # the GloVe file's name, not a path on the training machine
        params["embeddings"] = Path(self.embeddings).name if self.embeddings else DEFAULT_EMBEDDINGS
        return params

    def save_files(self, directory: Path) -> dict[str, Any]:
        encoder = self._check()
        directory = Path(directory)
        table_dtype = np.float16 if self.half else np.float32
        tensors = {k: v for k, v in self.arrays.items()}
        tensors["word_table"] = tensors["word_table"].astype(table_dtype)
        tensors["pair_table"] = tensors["pair_table"].astype(table_dtype)
        tensors["pair_keys"] = encoder.pair_keys
        write_tensors(directory / WEIGHTS, tensors)
        os.chmod(directory / WEIGHTS, 0o644)  # safetensors writes a private temp file; share it
        (directory / VOCAB).write_text(json.dumps(encoder.words), encoding="utf-8")
        config: dict[str, Any] = {
            "weights": WEIGHTS,
            "tokenizer": {"type": "ngram", "file": VOCAB},
            "vocab_size": len(encoder.words),
            "pairs": len(encoder.pair_keys),
            "dim": int(self.arrays["word_table"].shape[1]),
            "training": dict(self.training_info),
        }
        if self.with_onnx:
            self.export_onnx(directory / ONNX_FILE)
            config["onnx_graph"] = ONNX_FILE  # not "onnx": the NumPy path is the faster runtime
        return config

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> NgramGenreModel:
        directory = Path(directory)
        try:
            vocab_size, pairs = int(config["vocab_size"]), int(config["pairs"])
            dim, hidden = int(config["dim"]), int(config["hidden"])
            vocab_file = directory / config["tokenizer"]["file"]
        except (KeyError, TypeError, ValueError) as exc:
            raise MovieGenreError(f"{directory}: n-gram config is incomplete ({exc})") from exc
        try:
            words = json.loads(vocab_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MovieGenreError(f"{vocab_file}: unreadable vocabulary ({exc})") from exc
        if not isinstance(words, list) or len(words) != vocab_size:
            raise MovieGenreError(f"{vocab_file}: expected a list of {vocab_size} words")
        k = len(labels)
        expected = {
            "word_table": (vocab_size, dim), "pair_table": (max(pairs, 1), dim),
            "pair_keys": (pairs,), "w1_words": (dim, hidden), "w1_pairs": (dim, hidden),
            "b1": (hidden,), "w2": (hidden, k), "b2": (k,),
        }  # fmt: skip
        if config.get("word_weights"):
            expected |= {"word_score": (vocab_size,), "pair_score": (max(pairs, 1),)}
        filters = int(config.get("filters", 0))
        if filters:
            expected |= {"conv_w": (3 * dim, filters), "conv_b": (filters,),
                         "w1_conv": (filters, hidden)}  # fmt: skip
        tensors = read_tensors(directory / config.get("weights", WEIGHTS), expected)
        model = cls.from_params(labels, config)
        model.encoder = NgramEncoder(words, tensors["pair_keys"])
        model.arrays = {
            name: np.ascontiguousarray(tensors[name], dtype=np.float32)
            for name in expected
            if name != "pair_keys"
        }
        model.training_info = dict(config.get("training") or {})
        return model
