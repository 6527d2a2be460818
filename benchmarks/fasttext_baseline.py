"""fastText beside our models: trained on the same split, tuned on valid by the same rule.

fastText (`fasttext-numpy2`, the maintained build of the original bindings) with the one-vs-all
loss gives one independent sigmoid per genre, like ours. A small grid (epochs, learning rate,
word n-grams) is searched on valid micro-F1 after our per-genre threshold tuning
(`moviegenre.thresholds.tune_thresholds`); the kept model's thresholds are those tuned on valid,
and it is scored on test with `evaluation.metrics.compute_metrics`, exactly as our bundles.

    python benchmarks/fasttext_baseline.py        # trains (cached in benchmarks/.cache) and scores
    python benchmarks/fasttext_baseline.py --corpus ../shared/data/tmdb-overviews/movies-large.jsonl

The trained model is a benchmark cache (fastText's own .bin format), never shipped or loaded by
moviegenre itself.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "benchmarks" / ".cache" / "fasttext"
CORPUS = REPO.parent / "shared" / "data" / "tmdb-overviews" / "movies.jsonl"
LARGE_CORPUS = CORPUS.with_name("movies-large.jsonl")  # same valid and test, 27,989 train movies
# The grid: epochs, learning rate, word n-grams (fastText's own defaults elsewhere: dim 100,
# minCount 1, bucket 2,000,000 for n-grams)
GRID = {"epoch": (5, 10, 25), "lr": (0.1, 0.25, 0.5), "wordNgrams": (1, 2)}


def clean(text: str) -> str:
    """What fastText reads: lower-cased, one line (it splits on whitespace itself)."""
    return text.lower().replace("\n", " ").replace("\r", " ")


def _label(genre: str) -> str:
    return "__label__" + genre.replace(" ", "_")


class FastTextGenres:
    """A trained fastText model answering (n, labels) probabilities in `labels` order."""

    def __init__(self, model: Any, labels: Sequence[str]) -> None:
        self.model, self.labels = model, list(labels)
        self.column = {_label(g): i for i, g in enumerate(self.labels)}

    def predict_proba(self, plots: Sequence[str]) -> np.ndarray:
        texts = [clean(p) for p in plots]
        names, probs = self.model.predict(texts, k=-1, threshold=0.0)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        column = self.column
        for row, (ns, ps) in enumerate(zip(names, probs, strict=True)):
            for name, p in zip(ns, ps, strict=True):
                out[row, column[name]] = p
        return out


def cache_dir(corpus: Path = CORPUS) -> Path:
    """Where the model trained on `corpus` is cached (movies.jsonl keeps the original folder)."""
    return CACHE if Path(corpus).name == CORPUS.name else CACHE / Path(corpus).stem


def splits(corpus: Path = CORPUS) -> tuple[list[str], dict[str, tuple[list[str], np.ndarray]]]:
    """(labels, {split: (plots, targets)}) from a corpus, via moviegenre's own split reader."""
    from moviegenre.data.dataset import label_set, split_records, target_matrix
    from moviegenre.data.readers import read_data

    parts = split_records(read_data(corpus).usable())
    labels = label_set(parts["train"])
    return labels, {
        name: ([r.plot for r in parts[name]], target_matrix(parts[name], labels))
        for name in ("train", "valid", "test")
    }


def _train_file(plots: Sequence[str], targets: np.ndarray, labels: Sequence[str]) -> Path:
    fd, path = tempfile.mkstemp(prefix="fasttext-train-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for plot, row in zip(plots, targets, strict=True):
            names = " ".join(_label(labels[i]) for i in np.flatnonzero(row))
            handle.write(f"{names} {clean(plot)}\n")
    return Path(path)


def train_best(
    log: Any = sys.stderr, corpus: Path = CORPUS
) -> tuple[FastTextGenres, dict[str, Any]]:
    """The grid's best model on valid (cached per corpus), with its thresholds and scores."""
    import fasttext

    from moviegenre.evaluation.metrics import compute_metrics
    from moviegenre.thresholds import decide, tune_thresholds

    labels, data = splits(corpus)
    cache = cache_dir(corpus)
    cache.mkdir(parents=True, exist_ok=True)
    summary_path, model_path = cache / "best.json", cache / "best.bin"
    if summary_path.is_file() and model_path.is_file():
        summary = json.loads(summary_path.read_text())
        return FastTextGenres(fasttext.load_model(str(model_path)), labels), summary
    train_file = _train_file(*data["train"], labels)
    valid_plots, valid_y = data["valid"]
    best, best_score, grid = None, -1.0, []
    try:
        for epoch, lr, ngrams in itertools.product(*GRID.values()):
            started = time.perf_counter()
            try:
                model = fasttext.train_supervised(
                    str(train_file), loss="ova", epoch=epoch, lr=lr, wordNgrams=ngrams, thread=1,
                    seed=0, verbose=0,
                )  # fmt: skip
            except RuntimeError as exc:  # fastText stops with "Encountered NaN" when it diverges
                row = {"epoch": epoch, "lr": lr, "wordNgrams": ngrams, "error": str(exc)}
                grid.append(row)
                print(f"fastText {json.dumps(row)}", file=log, flush=True)
                continue
            wrapped = FastTextGenres(model, labels)
            probs = wrapped.predict_proba(valid_plots)
            thresholds = tune_thresholds(probs, valid_y, "f1")
            score = compute_metrics(valid_y, decide(probs, thresholds, 1), labels)["micro_f1"]
            row = {"epoch": epoch, "lr": lr, "wordNgrams": ngrams, "valid_micro_f1": score,
                   "train_s": round(time.perf_counter() - started, 1)}  # fmt: skip
            grid.append(row)
            print(f"fastText {json.dumps(row)}", file=log, flush=True)
            if score > best_score:
                best, best_score = (wrapped, thresholds, row), score
    finally:
        train_file.unlink(missing_ok=True)
    assert best is not None
    wrapped, thresholds, row = best
    scores = {}
    for name in ("valid", "test"):
        plots, y = data[name]
        metrics = compute_metrics(y, decide(wrapped.predict_proba(plots), thresholds, 1), labels)
        scores[name] = {k: metrics[k] for k in ("micro_f1", "macro_f1", "samples_f1")}
    summary = {
        "corpus": Path(corpus).name,
        "train_plots": len(data["train"][0]),
        "settings": row,
        "grid": grid,
        "thresholds": thresholds.tolist(),
        **scores,
    }
    wrapped.model.save_model(str(model_path))
    summary_path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return wrapped, summary


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="default movies.jsonl")
    _, result = train_best(corpus=parser.parse_args().corpus)
    print(json.dumps({k: result[k] for k in ("settings", "valid", "test")}, indent=2))
