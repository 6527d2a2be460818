"""Integrated-gradients explanations (Captum) for PyTorch models that embed token ids.

Works with any model that declares the `TokenGradients` capability (`models/base.py`), as the
BiLSTM does. ONNX Runtime models have no gradients: load the bundle with `runtime="native"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.explain.core import MAX_OCCLUDED_WORDS, Explanation, genre_indices, word_spans
from moviegenre.models.base import Predictor, TokenGradients
from moviegenre.text.tokenizer import tokenize

# The whole plot's integration path for every genre goes through the network in chunks this big.
_INTERNAL_BATCH = 256


def supports_gradients(model: Predictor) -> bool:
    """Whether `model` declares the network, embedding and vocabulary that IG needs."""
    return isinstance(model, TokenGradients)


def _parts(model: Predictor) -> tuple[Any, Any, Any, int | None]:
    if not isinstance(model, TokenGradients):
        raise MovieGenreError(
            f"integrated gradients need a PyTorch model with an embedding layer (the LSTM loaded "
            f"with runtime 'native'); this {model.kind} model has none: use --method occlusion"
        )
    try:
        import captum  # noqa: F401
    except ImportError as exc:
        raise MovieGenreError(
            "integrated gradients need PyTorch and Captum: pip install 'moviegenre[train]'"
        ) from exc
    return model.gradient_parts()


def _encode_by_word(plot: str, vocab: Any, max_tokens: int | None) -> tuple[list[int], list[int]]:
    """Token ids for the plot and, per token, the index of the plot word it belongs to (-1: none).

    Each whitespace token is tokenized in three parts (leading punctuation, the plot word, trailing
    punctuation) so every token maps to exactly one word; only the word's own tokens count for it.
    """
    spans = word_spans(plot)
    ids: list[int] = []
    owner: list[int] = []
    next_word = 0
    for token in plot.split():
        span = spans[next_word] if next_word < len(spans) else None
        if span is None or span.word not in token:
            parts = [(token, -1)]  # punctuation-only token: read by the model, owned by no word
        else:
            at = token.find(span.word)
            parts = [
                (token[:at], -1),
                (span.word, next_word),
                (token[at + len(span.word) :], -1),
            ]
            next_word += 1
        for text, word_index in parts:
            for tok in tokenize(text) if text else ():
                ids.append(vocab.index.get(tok, 1))
                owner.append(word_index)
    if max_tokens is not None:
        ids, owner = ids[:max_tokens], owner[:max_tokens]
    return ids, owner


def explain_gradients(
    model: Predictor,
    plot: str,
    genres: Sequence[str] | None = None,
    steps: int = 32,
    *,
    max_words: int = MAX_OCCLUDED_WORDS,
) -> Explanation:
    """Integrated gradients of each genre's logit w.r.t. the token embeddings, summed per plot word.

    The baseline is the all-padding sequence (padding embeds to zeros), so a genre's word weights
    add up (with the attributions of punctuation tokens) to logit(plot) - logit(padding only).
    Returns the same structure as `occlusion.explain`, on the logit scale.
    """
    if not isinstance(plot, str):
        raise MovieGenreError(f"plot: expected text, got {type(plot).__name__}")
    if steps < 2:
        raise MovieGenreError(f"steps: expected at least 2, got {steps}")
    net, embedding, vocab, max_tokens = _parts(model)
    chosen = genre_indices(model, genres)
    import torch
    from captum.attr import LayerIntegratedGradients

    spans = word_spans(plot)
    result = Explanation({model.labels[g]: [] for g in chosen})
    result.method, result.scale, result.total_words = "gradients", "logit", len(spans)
    ids, owner = _encode_by_word(plot, vocab, max_tokens)
    # Only words that kept at least one token within the model's limit (and the word cap) count.
    explained = min(max_words, max((o + 1 for o in owner), default=0))
    result.explained_words = explained
    if not explained:
        return result

    was_training = net.training
    net.eval()
    try:
        batch = torch.tensor([ids] * len(chosen), dtype=torch.int64)
        mask = torch.ones(batch.shape, dtype=torch.float32)
        baseline = torch.zeros_like(batch)  # padding id: the "no words at all" input
        lig = LayerIntegratedGradients(lambda i, m: net(i, m), embedding)
        attributions = lig.attribute(
            batch,
            baselines=baseline,
            additional_forward_args=(mask,),
            target=list(chosen),
            n_steps=steps,
            internal_batch_size=_INTERNAL_BATCH,
        )
        per_token = attributions.sum(dim=-1).detach().cpu().numpy().astype(np.float64)  # (G, T)
    finally:
        net.train(was_training)

    owner_array = np.asarray(owner)
    for row, g in enumerate(chosen):
        sums = np.zeros(explained, dtype=np.float64)
        valid = (owner_array >= 0) & (owner_array < explained)
        np.add.at(sums, owner_array[valid], per_token[row, valid])
        result[model.labels[g]] = [(spans[i].word, float(sums[i])) for i in range(explained)]
    return result
