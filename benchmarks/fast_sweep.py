"""Quality against speed: students distilled from one cross-fitted teacher, side by side.

The teacher (an ensemble spec whose members are cross-fitted one by one, see
`training/distill.py`) is computed once, its folds cached in `--teacher-cache`; then each
candidate student is trained on hard labels blended with the teacher's probabilities (alpha
is the hard-label weight), its per-genre thresholds tuned on valid, and scored on valid and
test. Speed is measured in process on one thread, 20,000 test plots in batches of 256, every
candidate timed in turn and the best of three rounds kept, plus the p50 of one plot.

    python benchmarks/fast_sweep.py --data ../shared/data/tmdb-overviews/movies.jsonl \\
        --candidates benchmarks/fast_candidates.json --out runs/fast_sweep

Each finished candidate is kept (`<name>/` bundle and `<name>.json`), so a rerun resumes; the
results go to `sweep.md`, `sweep.json` and `sweep.png` (quality against plots/s) in `--out`.
Choose on valid; test is reported beside it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MOVIEGENRE_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DISTILLED = {True: "yes", False: "no", None: "reference"}


def _speed(models: dict, plots: list[str], rounds: int = 3) -> dict[str, float]:
    """Plots/s of each model on `plots` in batches of 256, interleaved, best of `rounds`."""
    best = dict.fromkeys(models, 0.0)
    batches = [plots[i : i + 256] for i in range(0, len(plots), 256)]
    for _ in range(rounds):
        for name, model in models.items():
            started = time.perf_counter()
            for batch in batches:
                model.predict_proba(batch)
            best[name] = max(best[name], len(plots) / (time.perf_counter() - started))
    return best


def _p50_ms(model, plots: list[str], n: int = 500) -> float:
    model.predict_proba(plots[:1])
    times = []
    for i in range(n):
        started = time.perf_counter()
        model.predict_proba([plots[i % len(plots)]])
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from moviegenre.files import atomic_path

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        ax.scatter(r["plots_s"], r["valid"]["micro_f1"], color="C0")
        ax.scatter(r["plots_s"], r["test"]["micro_f1"], color="C1", marker="x")
        ax.annotate(r["name"], (r["plots_s"], r["valid"]["micro_f1"]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")  # fmt: skip
    ax.scatter([], [], color="C0", label="valid micro-F1")
    ax.scatter([], [], color="C1", marker="x", label="test micro-F1")
    ax.set_xscale("log")
    ax.set_xlabel("plots/s, in process, one thread, batches of 256 (log scale)")
    ax.set_ylabel("micro-F1 (thresholds tuned on valid)")
    ax.set_title("Distilled students: quality against speed")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--candidates", required=True, help="JSON list of {name, type, options}")
    parser.add_argument("--teacher", help="teacher spec as JSON (default: training/distill.py's)")
    parser.add_argument("--teacher-cache", default="runs/teacher-cache")
    parser.add_argument("--embedding-cache", help="frozen MiniLM embeddings cache directory")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument(
        "--augment", type=int, default=0, metavar="N",
        help="made-up plots per movie, for candidates with \"augment\": true",
    )  # fmt: skip
    parser.add_argument("--plots", type=int, default=20000, help="test plots timed (cycled)")
    parser.add_argument(
        "--reference", action="append", default=[], metavar="NAME=BUNDLE",
        help="an already trained bundle to score and time beside the students (repeatable)",
    )  # fmt: skip
    parser.add_argument("--out", default="runs/fast_sweep")
    args = parser.parse_args(argv)

    import torch

    from moviegenre.bundle import load_bundle, save_bundle
    from moviegenre.data.dataset import label_set, split_records, target_matrix
    from moviegenre.data.readers import read_data
    from moviegenre.evaluation.metrics import compute_metrics
    from moviegenre.files import write_text_atomic
    from moviegenre.models import model_class
    from moviegenre.thresholds import decide
    from moviegenre.training.distill import DEFAULT_TEACHER, cross_fitted_teacher, soft_targets
    from moviegenre.training.leaderboard import machine_description

    torch.set_num_threads(1)
    splits = split_records(read_data(args.data).usable())
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    labels = label_set(train)
    hard = target_matrix(train, labels)
    valid_plots, valid_y = [r.plot for r in valid], target_matrix(valid, labels)
    test_plots, test_y = [r.plot for r in test], target_matrix(test, labels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    teacher = json.loads(args.teacher) if args.teacher else DEFAULT_TEACHER
    report: dict = {}
    started = time.perf_counter()
    answers = cross_fitted_teacher(teacher, labels, train, hard, valid_plots, valid_y,
                                   cache_dir=args.embedding_cache,
                                   teacher_cache=args.teacher_cache, report=report,
                                   augment=args.augment)  # fmt: skip
    print(f"teacher ready in {time.perf_counter() - started:.0f} s {report}", file=sys.stderr)
    targets = soft_targets(hard, answers.train, args.alpha)
    train_plots = [r.plot for r in train]

    rows = []
    for spec in json.loads(Path(args.candidates).read_text()):
        name = spec["name"]
        result_path, bundle = out / f"{name}.json", out / name
        if result_path.is_file() and (bundle / "bundle.json").is_file():
            rows.append(json.loads(result_path.read_text()))
            continue
        distilled = spec.get("distill", True)
        plots, y = train_plots, targets if distilled else hard
        if spec.get("augment"):
            if not answers.extra_plots:
                print(f"{name}: left out (trains on made-up plots: rerun with --augment N)",
                      file=sys.stderr)  # fmt: skip
                continue
            plots, y = plots + answers.extra_plots, np.concatenate([y, answers.extra])
        model = model_class(spec["type"])(labels, **spec.get("options", {}))
        started = time.perf_counter()
        model.fit(plots, y, valid_plots, valid_y)
        seconds = time.perf_counter() - started
        model.fit_decisions(valid_plots, valid_y)  # thresholds and calibration, as train() does
        save_bundle(model, bundle)
        row = {"name": name, "type": spec["type"], "options": spec.get("options", {}),
               "distilled": distilled, "augment": args.augment if spec.get("augment") else 0,
               "train_s": round(seconds, 1)}  # fmt: skip
        for split, plots, y in (("valid", valid_plots, valid_y), ("test", test_plots, test_y)):
            metrics = compute_metrics(y, decide(model.predict_proba(plots), model.thresholds, 1),
                                      labels)  # fmt: skip
            row[split] = {k: round(metrics[k], 4) for k in ("micro_f1", "macro_f1")}
        write_text_atomic(result_path, json.dumps(row, indent=2) + "\n")
        print(json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)

    paths = {r["name"]: out / r["name"] for r in rows}
    for item in args.reference:
        name, _, path = item.partition("=")
        model = load_bundle(path)
        paths[name] = Path(path)
        row = {"name": name, "type": model.kind, "options": {}, "distilled": None,
               "train_s": None}  # fmt: skip
        for split, plots, y in (("valid", valid_plots, valid_y), ("test", test_plots, test_y)):
            metrics = compute_metrics(y, decide(model.predict_proba(plots), model.thresholds, 1),
                                      labels)  # fmt: skip
            row[split] = {k: round(metrics[k], 4) for k in ("micro_f1", "macro_f1")}
        rows.append(row)

    # speed: every bundle as it is loaded for serving, timed in turn (fastText too, when installed)
    loaded = {name: load_bundle(path) for name, path in paths.items()}
    try:
        from fasttext_baseline import train_best

        fast_text, summary = train_best()
        loaded["fastText"] = fast_text
        rows.append({"name": "fastText", "type": "fastText", "options": summary["settings"],
                     "distilled": False, "train_s": summary["settings"]["train_s"],
                     "valid": summary["valid"], "test": summary["test"]})  # fmt: skip
    except ImportError as exc:
        print(f"fastText left out ({exc})", file=sys.stderr)
    timed = (test_plots * (args.plots // len(test_plots) + 1))[: args.plots]
    speed = _speed(loaded, timed)
    for r in rows:
        r["plots_s"] = round(speed[r["name"]])
        r["p50_ms"] = round(_p50_ms(loaded[r["name"]], test_plots), 3)
        r["bundle_mb"] = round(_size_mb(paths[r["name"]]), 1) if r["name"] in paths else None
    rows.sort(key=lambda r: -r["plots_s"])
    lines = [
        f"Machine: {machine_description()}, one thread. Teacher: {json.dumps(teacher)}, "
        f"member weights {report.get('member_weights')} (valid micro-F1 of the cross-fitted "
        f"teacher {report.get('teacher_valid_micro_f1')}); alpha {args.alpha}.",
        "",
        "| student | distilled | valid micro-F1 | test micro-F1 | test macro-F1 | plots/s "
        "| one plot p50 (ms) | bundle (MB) | train (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {DISTILLED[r['distilled']]} | {r['valid']['micro_f1']:.4f} "
            f"| {r['test']['micro_f1']:.4f} | {r['test']['macro_f1']:.4f} | {r['plots_s']:,} "
            f"| {r['p50_ms']:.2f} | {'-' if r['bundle_mb'] is None else r['bundle_mb']} | "
            f"{'-' if r['train_s'] is None else format(r['train_s'], '.0f')} |"
        )
    text = "\n".join(lines) + "\n"
    write_text_atomic(out / "sweep.md", text)
    write_text_atomic(out / "sweep.json", json.dumps(rows, indent=2) + "\n")
    _plot(rows, out / "sweep.png")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
