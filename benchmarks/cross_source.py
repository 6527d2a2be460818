"""Cross-source robustness: train without one source's movies, test on that source, report the drop.

For each source S of the corpus `sources` field: fit on the train split minus every movie S holds
(thresholds tuned on the valid split minus S too), score the test-split movies S holds, and compare
with the model trained on the whole train split scored on the same movies.

    python benchmarks/cross_source.py --data ../shared/data/tmdb-overviews/movies.jsonl \
        --models tfidf,minilm --out runs/cross_source

Frozen MiniLM embeddings are cached (~/.cache/moviegenre/embeddings), so after the first run
only the heads are trained.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from moviegenre.data.dataset import label_set, split_records, target_matrix
from moviegenre.data.readers import read_data
from moviegenre.data.record import MovieRecord
from moviegenre.files import write_text_atomic
from moviegenre.models.vector_cache import default_cache_dir
from moviegenre.training.build import build_model
from moviegenre.training.train import tune_and_score

# the frozen-MiniLM head the benchmark picks on valid (see docs/leaderboard.md)
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {"minilm": {"head": "mlp"}}


def fit_and_score(
    model_type: str,
    options: dict[str, Any],
    labels: list[str],
    train: list[MovieRecord],
    valid: list[MovieRecord],
    tests: dict[str, list[MovieRecord]],
) -> dict[str, dict[str, float]]:
    """Fit on `train`, tune thresholds on `valid`, return headline metrics on each test subset."""
    model = build_model(model_type, labels, options, cache_dir=default_cache_dir())
    model.fit([r.plot for r in train], target_matrix(train, labels),
              [r.plot for r in valid], target_matrix(valid, labels))  # fmt: skip
    sets = {
        name: ([r.plot for r in rows], target_matrix(rows, labels)) for name, rows in tests.items()
    }
    metrics = tune_and_score(model, [r.plot for r in valid], target_matrix(valid, labels), sets)
    scores = {}
    for name, records in tests.items():
        scores[name] = {
            k: round(metrics[name][k], 4) for k in ("micro_f1", "macro_f1", "samples_f1")
        }
        scores[name]["rows"] = len(records)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/tmdb-overviews/movies.jsonl")
    parser.add_argument("--models", default="tfidf,minilm")
    parser.add_argument("--out", default="runs/cross_source")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)

    splits = split_records(read_data(args.data).usable())
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    labels = label_set(train)
    sources = sorted({s for r in train + valid + test for s in r.sources})
    results: dict[str, Any] = {"data": Path(args.data).name, "sources": {}, "models": {}}
    for source in sources:
        results["sources"][source] = {
            "train_rows_kept": sum(source not in r.sources for r in train),
            "test_rows": sum(source in r.sources for r in test),
        }
    for model_type in [m.strip() for m in args.models.split(",") if m.strip()]:
        options = DEFAULT_OPTIONS.get(model_type, {})
        started = time.perf_counter()
        tests = {"all": test} | {s: [r for r in test if s in r.sources] for s in sources}
        baseline = fit_and_score(model_type, options, labels, train, valid, tests)
        rows = {"all": {"normal": baseline["all"]}}
        for source in sources:
            held_out = fit_and_score(
                model_type, options, labels,
                [r for r in train if source not in r.sources],
                [r for r in valid if source not in r.sources],
                {source: tests[source]},
            )[source]  # fmt: skip
            normal = baseline[source]
            rows[source] = {
                "normal": normal,
                "held_out": held_out,
                "micro_drop": round(normal["micro_f1"] - held_out["micro_f1"], 4),
                "macro_drop": round(normal["macro_f1"] - held_out["macro_f1"], 4),
            }
            print(f"{model_type} without {source}: {rows[source]}", file=sys.stderr)
        seconds = round(time.perf_counter() - started, 1)
        results["models"][model_type] = {"options": options, "seconds": seconds, "rows": rows}
    out = Path(args.out)
    write_text_atomic(out / "cross_source.json", json.dumps(results, indent=2) + "\n")
    markdown = render(results)
    write_text_atomic(out / "cross_source.md", markdown)
    sys.stdout.write(markdown)
    return 0


def render(results: dict[str, Any]) -> str:
    """Markdown table: per model and source, normal vs held-out test F1 on that source's movies."""
    lines = [
        "| model | source (test movies) | micro-F1 normal | micro-F1 source held out | drop "
        "| macro-F1 normal | macro-F1 held out | drop |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for model_type, entry in results["models"].items():
        for source, row in entry["rows"].items():
            if source == "all":
                continue
            n, h = row["normal"], row["held_out"]
            lines.append(
                f"| {model_type} | {source} ({n['rows']}) | {n['micro_f1']:.3f} | "
                f"{h['micro_f1']:.3f} | {row['micro_drop']:+.3f} | {n['macro_f1']:.3f} | "
                f"{h['macro_f1']:.3f} | {row['macro_drop']:+.3f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
