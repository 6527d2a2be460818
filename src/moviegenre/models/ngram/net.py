"""The n-gram model's PyTorch parts (training only): the network and the sparse AdamW.

Imported only by `ngram.training`, itself imported inside `NgramGenreModel.fit`: predicting and
serving never load PyTorch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from moviegenre.models.ngram.kernels import SCORE_LIMIT


def softmax_weights(scores: nn.Embedding, ids: Any, offsets: Any) -> Any:
    """exp(score) of each id over the sum of its plot's (a softmax within each bag)."""
    w = torch.exp(scores(ids).squeeze(1).clamp(-SCORE_LIMIT, SCORE_LIMIT))
    counts = torch.diff(offsets, append=torch.tensor([len(ids)]))
    owner = torch.repeat_interleave(torch.arange(len(offsets)), counts)
    total = torch.zeros(len(offsets), dtype=w.dtype).index_add_(0, owner, w)
    return w / total[owner]


class NgramNet(nn.Module):
    """Mean (or softmax-weighted) word and pair embeddings, an optional width-3 convolution over
    the words, one hidden layer, one logit per genre."""

    def __init__(
        self, vocab_size: int, pairs: int, dim: int, hidden: int, labels: int, dropout: float,
        filters: int = 0, weighted: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        self.filters, self.weighted = filters, weighted
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
        if self.weighted:
            parts = [
                self.word_table(words, word_offsets, per_sample_weights=softmax_weights(
                    self.word_score, words, word_offsets)),
                self.pair_table(pairs, pair_offsets, per_sample_weights=softmax_weights(
                    self.pair_score, pairs, pair_offsets)),
            ]  # fmt: skip
        else:
            parts = [self.word_table(words, word_offsets),
                     self.pair_table(pairs, pair_offsets)]  # fmt: skip
        if self.filters:
            # row 0 (padding) is zeros and gets no gradient: zeros beyond a plot's ends
            x = nn.functional.embedding(padded, self.word_table.weight, padding_idx=0, sparse=True)
            h = torch.relu(self.conv(x.transpose(1, 2)))
            h = h.masked_fill(mask.unsqueeze(1) == 0, float("-inf"))
            parts.append(h.amax(dim=2))
        x = torch.cat(parts, dim=1)
        return self.out(self.dropout(torch.relu(self.hidden(x))))


class LazyAdamW(torch.optim.Optimizer):
    """AdamW that updates only the rows a sparse gradient touches (the embedding tables).

    Dense Adam would rewrite every row of both tables (about 7 million numbers) at every step,
    eight times the cost of the rest of the step; rows a batch did not touch keep their moments
    until they are touched again (as TensorFlow's LazyAdam). Dense parameters get plain AdamW.
    """

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
