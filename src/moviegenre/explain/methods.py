"""The explanation methods by name, timing one and checking that its weights mean something."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from moviegenre.errors import MovieGenreError
from moviegenre.explain.core import SAMPLE_PLOT, Explanation, word_spans
from moviegenre.models.base import Predictor

METHODS = ("occlusion", "gradients")


def explain_with(
    method: str, model: Predictor, plot: str, genres: Sequence[str] | None = None
) -> Explanation:
    """Explain `plot` with the named method ("gradients" needs PyTorch; imported only then)."""
    if method == "occlusion":
        from moviegenre.explain.occlusion import explain

        return explain(model, plot, genres=genres)
    if method == "gradients":
        from moviegenre.explain.gradients import explain_gradients

        return explain_gradients(model, plot, genres=genres)
    raise MovieGenreError(f"method: expected {' or '.join(METHODS)}, got {method!r}")


def benchmark_explain(
    model: Predictor, n: int = 20, plot: str | None = None, method: str = "occlusion"
) -> dict[str, Any]:
    """Time explaining one plot (default: a 60-word synopsis) `n` times on one CPU thread.

    Returns median/p95/mean milliseconds; the first call is a warm-up and is not counted.
    """
    from moviegenre.torch_device import one_thread

    plot = SAMPLE_PLOT if plot is None else plot
    if method not in METHODS:
        raise MovieGenreError(f"method: expected {' or '.join(METHODS)}, got {method!r}")
    run = lambda: explain_with(method, model, plot)  # noqa: E731
    timings = []
    with one_thread():
        run()
        for _ in range(max(1, n)):
            started = time.perf_counter()
            run()
            timings.append((time.perf_counter() - started) * 1000.0)
    timings.sort()
    return {
        "method": method,
        "model_type": model.kind,
        "words": len(word_spans(plot)),
        "runs": len(timings),
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[min(len(timings) - 1, int(0.95 * len(timings)))], 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def faithfulness(
    model: Predictor, plots: Sequence[str], k: int = 3, seed: int = 1234
) -> tuple[float, float]:
    """Occlusion's deletion check: the mean drop of each plot's top-genre probability when its
    `k` highest-weighted words are removed, and when `k` random words are (seeded).

    Faithful weights make the first drop much larger than the second.
    """
    import random

    import numpy as np

    from moviegenre.explain.occlusion import explain, remove_words

    rng = random.Random(seed)
    top_drops, random_drops = [], []
    for plot in plots:
        explanation = explain(model, plot)
        original = model.predict_proba([plot])[0]
        genre = int(np.argmax(original))
        weights = [w for _, w in explanation[model.labels[genre]]]
        best = sorted(range(len(weights)), key=lambda i: -weights[i])[:k]
        chance = rng.sample(range(len(weights)), k)
        after = model.predict_proba([remove_words(plot, best), remove_words(plot, chance)])
        top_drops.append(float(original[genre] - after[0, genre]))
        random_drops.append(float(original[genre] - after[1, genre]))
    return float(np.mean(top_drops)), float(np.mean(random_drops))
