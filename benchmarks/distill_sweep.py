"""How much distillation helps the BiLSTM: hard labels vs labels blended with a teacher's view.

The teacher (by default the frozen-MiniLM + word TF-IDF ensemble `moviegenre train --distill`
uses) is cross-fitted once on the train split; then one LSTM is trained per (alpha, seed), where
alpha is the weight of the hard labels (1 = no distillation). Thresholds are tuned on valid;
valid and test micro-F1 are reported side by side, and alpha should be chosen on valid.

    python benchmarks/distill_sweep.py --data ../shared/data/tmdb-overviews/movies.jsonl \
        --alphas 1,0.7,0.5,0.3 --seeds 0 --out runs/distill_sweep

Frozen MiniLM embeddings are cached (~/.cache/moviegenre/embeddings) across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--alphas", default="1,0.7,0.5,0.3", help="hard-label weights to try")
    parser.add_argument("--seeds", default="0", help="LSTM seeds to try")
    parser.add_argument("--epochs", type=int, default=None, help="LSTM epochs (default: model's)")
    parser.add_argument("--out", default="runs/distill_sweep")
    args = parser.parse_args(argv)

    import torch

    from moviegenre.data.dataset import label_set, split_records, target_matrix
    from moviegenre.data.readers import read_data
    from moviegenre.files import atomic_path, write_text_atomic
    from moviegenre.models.lstm import LSTMGenreModel
    from moviegenre.models.vector_cache import default_cache_dir
    from moviegenre.training.distill import DEFAULT_TEACHER, cross_fitted_probs, soft_targets
    from moviegenre.training.leaderboard import machine_description
    from moviegenre.training.train import tune_and_score

    torch.set_num_threads(1)
    splits = split_records(read_data(args.data).usable())
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    labels = label_set(train)
    hard = target_matrix(train, labels)
    valid_plots, valid_y = [r.plot for r in valid], target_matrix(valid, labels)
    test_plots, test_y = [r.plot for r in test], target_matrix(test, labels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    teacher_file = out / "teacher.npy"
    started = time.perf_counter()
    if teacher_file.is_file():
        teacher = np.load(teacher_file)
    else:
        teacher = cross_fitted_probs(DEFAULT_TEACHER, labels, train, hard, valid_plots, valid_y,
                                     cache_dir=default_cache_dir())  # fmt: skip
        with atomic_path(teacher_file) as tmp, open(tmp, "wb") as handle:
            np.save(handle, teacher)  # a cut-short run must not leave a truncated cache
    print(f"teacher ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for alpha in [float(a) for a in args.alphas.split(",")]:
            options = {"seed": seed, "progress": False}
            if args.epochs:
                options["epochs"] = args.epochs
            model = LSTMGenreModel(labels, **options)
            started = time.perf_counter()
            model.fit([r.plot for r in train], soft_targets(hard, teacher, alpha),
                      valid_plots, valid_y)  # fmt: skip
            seconds = time.perf_counter() - started
            metrics = tune_and_score(model, valid_plots, valid_y, {"test": (test_plots, test_y)})
            scores = {name: {k: round(metrics[name][k], 4)
                             for k in ("micro_f1", "macro_f1", "samples_f1")}
                      for name in ("valid", "test")}  # fmt: skip
            row = {"alpha": alpha, "seed": seed, "seconds": round(seconds, 1),
                   "best_epoch": model.training_info.get("best_epoch"), **scores}  # fmt: skip
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)

    lines = [
        "| alpha (hard-label weight) | seed | valid micro-F1 | test micro-F1 | test macro-F1 "
        "| test samples-F1 | best epoch | train (s) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['alpha']:g} | {r['seed']} | {r['valid']['micro_f1']:.4f} | "
            f"{r['test']['micro_f1']:.4f} | {r['test']['macro_f1']:.4f} | "
            f"{r['test']['samples_f1']:.4f} | {r['best_epoch']} | {r['seconds']:.0f} |"
        )
    text = f"Machine: {machine_description()}, one PyTorch thread.\n\n" + "\n".join(lines) + "\n"
    write_text_atomic(out / "sweep.md", text)
    write_text_atomic(out / "sweep.json", json.dumps(rows, indent=2) + "\n")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
