"""How much a random row split inflates test scores compared with our split by movie.

The four raw TMDB files in ../shared/data/raw hold many of the same movies, with near-identical
overviews. Pooling their rows and splitting the rows at random puts copies of one movie on both
sides of the split; splitting by movie (normalised title + year, moviegenre.data.split) does not.
The same TF-IDF model is trained on each train split, thresholds are tuned on each valid split and
micro-F1 is reported on each test split.

    python benchmarks/random_split.py [--raw ../shared/data/raw] [--json OUT] [--seed 0]
        [--classifier svm|logreg] [--C 0.1] [--char]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from moviegenre.data.dataset import label_set, target_matrix
from moviegenre.data.readers import read_data
from moviegenre.data.record import MovieRecord
from moviegenre.data.split import SPLIT_FRACTIONS, assign_splits, movie_key
from moviegenre.models.tfidf import TfidfGenreModel
from moviegenre.training.train import tune_and_score

RAW_FILES = (
    "tmdb_5000_movies.csv",
    "top10K-TMDB-movies.csv",
    "mymoviedb.csv",
    "movies_genre_onehot.csv",
)


def _title(title: str) -> str:
    return movie_key(MovieRecord(id="", title=title, year="", plot="", genres=())).rstrip("|")


def pooled_rows(raw: Path) -> tuple[list[MovieRecord], dict[str, int]]:
    """Every usable row of the four raw files, as read by the generic readers, not deduplicated.

    One raw file has no release year; its rows get the year the other files give the same title
    (when they agree on one), so that the split by movie can recognise them.
    """
    records: list[MovieRecord] = []
    counts: dict[str, int] = {}
    for name in RAW_FILES:
        usable = read_data(raw / name).usable()
        counts[name] = len(usable)
        records += [dataclasses.replace(r, sources=(name,), split=None) for r in usable]
    years: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.year.strip():
            years[_title(record.title)].add(record.year.strip())
    filled = 0
    for i, record in enumerate(records):
        known = years.get(_title(record.title), set())
        if not record.year.strip() and len(known) == 1:
            records[i] = dataclasses.replace(record, year=next(iter(known)))
            filled += 1
    counts["years_filled"] = filled
    return records, counts


def random_split(records: list[MovieRecord], seed: int) -> list[MovieRecord]:
    """Rows shuffled and cut 80/10/10, ignoring which movie they describe."""
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    out = list(records)
    start = 0
    for k, (name, fraction) in enumerate(SPLIT_FRACTIONS):
        stop = len(order) if k == len(SPLIT_FRACTIONS) - 1 else start + round(fraction * len(order))
        for i in order[start:stop]:
            out[i] = dataclasses.replace(records[i], split=name)
        start = stop
    return out


def _overview_key(plot: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", plot.lower()).strip()


def leakage(records: list[MovieRecord]) -> dict[str, float]:
    """Share of test rows whose movie, or whose exact (normalised) overview, is also in train."""
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    train_movies = {movie_key(r) for r in train}
    train_plots = {_overview_key(r.plot) for r in train}
    return {
        "test_rows_whose_movie_is_in_train": sum(movie_key(r) in train_movies for r in test)
        / len(test),
        "test_rows_whose_overview_is_in_train": sum(
            _overview_key(r.plot) in train_plots for r in test
        )
        / len(test),
    }


def score(records: list[MovieRecord], model_options: dict) -> dict[str, float]:
    """Train on train, tune thresholds on valid, score test; the headline figures."""
    splits: dict[str, list[MovieRecord]] = defaultdict(list)
    for record in records:
        splits[record.split or "train"].append(record)
    labels = label_set(splits["train"], min_count=20)  # genres too rare to learn are left out
    plots = {name: [r.plot for r in rows] for name, rows in splits.items()}
    targets = {name: target_matrix(rows, labels) for name, rows in splits.items()}
    started = time.perf_counter()
    model = TfidfGenreModel(labels, **model_options)
    model.fit(plots["train"], targets["train"], plots["valid"], targets["valid"])
    tests = {"test": (plots["test"], targets["test"])}
    metrics = tune_and_score(model, plots["valid"], targets["valid"], tests)["test"]
    return {
        "rows": {name: len(rows) for name, rows in sorted(splits.items())},
        "labels": len(labels),
        "micro_f1": round(metrics["micro_f1"], 4),
        "micro_f1_ci": [round(v, 4) for v in metrics["micro_f1_ci"]],
        "macro_f1": round(metrics["macro_f1"], 4),
        "samples_f1": round(metrics["samples_f1"], 4),
        "seconds": round(time.perf_counter() - started, 1),
        **{k: round(v, 4) for k, v in leakage(records).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_raw = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"
    parser.add_argument("--raw", type=Path, default=default_raw, help="folder with the raw CSVs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random row split")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--classifier", choices=("svm", "logreg"), default="svm")
    parser.add_argument("--C", type=float, default=0.1, help="regularisation (default 0.1)")
    parser.add_argument(
        "--char", action="store_true",
        help="add the character n-gram block (default: word n-grams only, much faster)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    records, counts = pooled_rows(args.raw)
    print(f"pooled {len(records)} rows from {len(RAW_FILES)} files: {counts}", file=sys.stderr)
    movies = Counter(movie_key(r) for r in records)
    print(f"{len(movies)} distinct movies (title + year); "
          f"{sum(1 for c in movies.values() if c > 1)} appear in more than one row",
          file=sys.stderr)  # fmt: skip
    options = {"classifier": args.classifier, "C": args.C}
    if not args.char:
        options["char_max_features"] = 0
    results = {
        "pooled_rows": len(records),
        "distinct_movies": len(movies),
        "model": "tfidf " + json.dumps(options),
        "random_row_split": score(random_split(records, args.seed), options),
        "split_by_movie": score(assign_splits(records), options),
    }
    gap = results["random_row_split"]["micro_f1"] - results["split_by_movie"]["micro_f1"]
    results["micro_f1_gap"] = round(gap, 4)
    print(json.dumps(results, indent=2))
    if args.json:
        from moviegenre.files import write_text_atomic

        write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
