"""The `best` tier experiment: frozen int8 MiniLM heads beside the shipped default and fast.

Steps (each resumable; encoder outputs and member scores are cached with np.save under --cache):

    python benchmarks/best_tier.py encode --workers 2     # MiniLM vectors of movies-large.jsonl
    python benchmarks/best_tier.py members                # default (plot only) and fast scores
    python benchmarks/best_tier.py heads                  # heads on movies.jsonl vs -large train
    python benchmarks/best_tier.py combine                # weights, thresholds, calibration
    python benchmarks/best_tier.py speed                  # shipped best vs default, one thread

Everything is tuned on the valid split; the test split is scored only by `combine --test`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "tmdb-overviews"
LARGE = DATA / "movies-large.jsonl"
SMALL = DATA / "movies.jsonl"
CHUNK = 512
# heads compared on valid: (kind, C of the regression or hidden units of the MLP)
HEAD_GRID = (("lr", 2.0), ("lr", 8.0), ("mlp", 512.0))
# tried on movies-large's train split only, after the grid above chose that corpus
LARGE_ONLY = (("mlp", 1024.0), ("mlp3", 512.0), ("knn", 40.0), ("knn", 20.0), ("knn", 80.0))


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The corpus rows of a JSON-lines file, in file order."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _encode_chunk(job: tuple[int, list[str], str]) -> int:
    number, plots, cache = job
    target = Path(cache, "minilm", f"chunk-{number:05d}.npy")
    if target.exists():
        return number
    from moviegenre.encoders import minilm

    vectors = minilm.embed(plots)
    partial = target.with_suffix(".part.npy")
    np.save(partial, vectors)
    os.replace(partial, target)
    return number


def encode(args: argparse.Namespace) -> None:
    """MiniLM vectors of every movies-large.jsonl plot, in file order, chunk by chunk."""
    os.environ["MOVIEGENRE_THREADS"] = "1"
    rows = read_rows(LARGE)
    Path(args.cache, "minilm").mkdir(parents=True, exist_ok=True)
    jobs = [
        (i // CHUNK, [r["overview"] for r in rows[i : i + CHUNK]], args.cache)
        for i in range(0, len(rows), CHUNK)
    ]
    start = time.perf_counter()
    if args.workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            for done in pool.imap_unordered(_encode_chunk, jobs):
                print(f"chunk {done} {time.perf_counter() - start:.0f}s", flush=True)
    else:
        for job in jobs:
            _encode_chunk(job)
            print(f"chunk {job[0]} {time.perf_counter() - start:.0f}s", flush=True)
    vectors = np.concatenate(
        [np.load(Path(args.cache, "minilm", f"chunk-{n:05d}.npy")) for n in range(len(jobs))]
    )
    np.save(Path(args.cache, "minilm-large.npy"), vectors)
    print(f"{len(rows)} plots encoded in {time.perf_counter() - start:.0f}s", flush=True)


def labels() -> list[str]:
    """The 19 genres, in the shipped default model's order."""
    from moviegenre import load_model

    return list(load_model("fast").labels)


def targets_of(rows: list[dict[str, Any]], names: list[str]) -> np.ndarray:
    """The (n, genres) 0/1 matrix of the rows' genres."""
    index = {name: j for j, name in enumerate(names)}
    out = np.zeros((len(rows), len(names)), dtype=np.int8)
    for i, row in enumerate(rows):
        for genre in row["genres"]:
            out[i, index[genre]] = 1
    return out


def split_rows(rows: list[dict[str, Any]], split: str) -> np.ndarray:
    """Indices of the rows of one split."""
    return np.asarray([i for i, r in enumerate(rows) if r["split"] == split], dtype=np.int64)


def members(args: argparse.Namespace) -> None:
    """Calibrated probabilities of the shipped default (plots only) and fast models, valid/test."""
    from moviegenre import load_model

    rows = read_rows(LARGE)
    names = labels()
    for name in ("default", "fast"):
        model = load_model(name)
        columns = [model.labels.index(label) for label in names]
        for split in ("valid", "test"):
            target = Path(args.cache, f"{name}-{split}.npy")
            if target.exists():
                continue
            plots = [rows[i]["overview"] for i in split_rows(rows, split)]
            start = time.perf_counter()
            probs = model.predict_proba(plots)[:, columns]
            np.save(target, probs.astype(np.float32))
            print(f"{name} {split}: {len(plots)} plots in {time.perf_counter() - start:.1f}s")


def _small_ids() -> set[str]:
    return {r["id"] for r in read_rows(SMALL) if r["split"] == "train"}


def fit_head(kind: str, x: np.ndarray, y: np.ndarray, c: float, seed: int = 0) -> Any:
    """A per-genre logistic regression (kind "lr") or a one-hidden-layer MLP ("mlp")."""
    if kind == "mlp3":  # three seeds, probabilities averaged
        return [fit_head("mlp", x, y, c, seed) for seed in range(3)]
    if kind == "knn":  # label votes of the nearest training plots (vectors are L2-normalised)
        return ("knn", x, y.astype(np.float32), int(c))
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(LogisticRegression(C=c, max_iter=2000)).fit(x, y)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(int(c),), alpha=1e-3, batch_size=128, learning_rate_init=1e-3,
        max_iter=60, early_stopping=True, validation_fraction=0.1, n_iter_no_change=4,
        random_state=seed,
    ).fit(x, y)  # fmt: skip


def head_proba(head: Any, x: np.ndarray) -> np.ndarray:
    """(n, genres) probabilities of a fitted head."""
    if isinstance(head, list):
        return np.mean([head_proba(h, x) for h in head], axis=0).astype(np.float32)
    if isinstance(head, tuple):
        _, train_x, train_y, k = head
        similarity = x @ train_x.T
        nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
        weights = np.exp(np.take_along_axis(similarity, nearest, axis=1) / 0.1)
        votes = np.einsum("nk,nkg->ng", weights, train_y[nearest])
        return (votes / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    return np.asarray(head.predict_proba(x), dtype=np.float32)


def heads(args: argparse.Namespace) -> None:
    """Heads on MiniLM vectors, trained on movies.jsonl's train split or movies-large's."""
    from moviegenre.evaluation.metrics import tuned_micro_f1

    rows = read_rows(LARGE)
    names = labels()
    x = np.load(Path(args.cache, "minilm-large.npy"))
    y = targets_of(rows, names)
    train_large = split_rows(rows, "train")
    small = _small_ids()
    train_small = np.asarray([i for i in train_large if rows[i]["id"] in small])
    valid = split_rows(rows, "valid")
    results = []
    runs = [(k, c, "movies", train_small) for k, c in HEAD_GRID]
    runs += [(k, c, "movies-large", train_large) for k, c in HEAD_GRID + LARGE_ONLY]
    for kind, c, corpus, train in runs:
        if True:
            tag = f"{kind}-{c:g}-{corpus}"
            if Path(args.cache, f"head-{tag}-test.npy").exists():
                probs = np.load(Path(args.cache, f"head-{tag}-valid.npy"))
                score = tuned_micro_f1(probs, y[valid])
                results.append({"head": tag, "valid_micro_f1": round(score, 4)})
                continue
            start = time.perf_counter()
            head = fit_head(kind, x[train], y[train], c)
            probs = head_proba(head, x[valid])
            test_probs = head_proba(head, x[split_rows(rows, "test")])  # read by combine --test
            score = tuned_micro_f1(probs, y[valid])
            np.save(Path(args.cache, f"head-{tag}-valid.npy"), probs)
            np.save(Path(args.cache, f"head-{tag}-test.npy"), test_probs)
            results.append({"head": tag, "valid_micro_f1": round(score, 4)})
            print(f"{tag}: valid micro-F1 {score:.4f} ({time.perf_counter() - start:.0f}s)")
    Path(args.cache, "heads.json").write_text(json.dumps(results, indent=1))


def scores(probs: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """Micro- and macro-F1 of the decisions at these thresholds (at least one genre a plot)."""
    from sklearn.metrics import f1_score

    from moviegenre.thresholds import decide

    decided = decide(probs, thresholds, 1)
    return (
        float(f1_score(y, decided, average="micro", zero_division=0)),
        float(f1_score(y, decided, average="macro", zero_division=0)),
    )


def combine(args: argparse.Namespace) -> None:
    """Weighted means of member probabilities: weights and thresholds tuned on valid."""
    from moviegenre.models.ensemble import simplex_grid
    from moviegenre.thresholds import tune_thresholds

    rows = read_rows(LARGE)
    names = labels()
    y = targets_of(rows, names)
    y_valid, y_test = y[split_rows(rows, "valid")], y[split_rows(rows, "test")]

    def load(name: str, split: str) -> np.ndarray:
        return np.load(Path(args.cache, f"{name}-{split}.npy")).astype(np.float64)

    heads_run = json.loads(Path(args.cache, "heads.json").read_text())
    candidates = [["default"], ["fast"], ["default", "fast"]]
    for entry in heads_run:
        tag = f"head-{entry['head']}"
        candidates += [[tag], [tag, "default"], [tag, "fast"], [tag, "default", "fast"]]
    knn = "head-knn-40-movies-large"
    for head in ("mlp-512", "mlp-1024", "mlp3-512"):
        tag = f"head-{head}-movies-large"
        candidates += [[tag, knn, "default"], [tag, knn, "default", "fast"]]
    report = []
    for names_used in candidates:
        valid = np.stack([load(n, "valid") for n in names_used])
        best = (-1.0, None)
        for weights in simplex_grid(len(names_used), 0.05 if len(names_used) < 3 else 0.1):
            mixed = np.tensordot(np.asarray(weights), valid, axes=1)
            micro, _ = scores(mixed, y_valid, tune_thresholds(mixed, y_valid))
            if micro > best[0] + 1e-9:
                best = (micro, weights)
        weights = np.asarray(best[1])
        mixed = np.tensordot(weights, valid, axes=1)
        thresholds = tune_thresholds(mixed, y_valid)
        entry = {"members": names_used, "weights": [round(float(w), 2) for w in weights]}
        entry["valid_micro_f1"], entry["valid_macro_f1"] = scores(mixed, y_valid, thresholds)
        if args.test:
            test = np.tensordot(weights, np.stack([load(n, "test") for n in names_used]), axes=1)
            entry["test_micro_f1"], entry["test_macro_f1"] = scores(test, y_test, thresholds)
        report.append(entry)
        print(
            " + ".join(names_used), entry["weights"],
            " ".join(f"{k} {v:.4f}" for k, v in entry.items() if k.endswith("f1")),
            flush=True,
        )  # fmt: skip
    name = "combine-test.json" if args.test else "combine-valid.json"
    Path(args.cache, name).write_text(json.dumps(report, indent=1))


def _timings(name: str, plots: list[str], one: list[str]) -> dict[str, float]:
    from moviegenre import load_model

    model = load_model(name)
    model.predict_proba(plots[:8])  # warm-up: sessions, tokenizer, caches
    times = []
    for plot in one:
        start = time.perf_counter()
        model.predict_proba([plot])
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(0, len(plots), 256):
        model.predict_proba(plots[i : i + 256])
    seconds = time.perf_counter() - start
    return {"p50_ms": 1000 * float(np.median(times)), "plots_per_s": len(plots) / seconds}


def speed(args: argparse.Namespace) -> None:
    """One-plot p50 latency and batch throughput in process, one thread, best against default;
    then `moviegenre predict --input --model best` end to end with one worker."""
    import subprocess
    import tempfile

    os.environ.update(MOVIEGENRE_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    rows = [r for r in read_rows(SMALL) if r["split"] == "test"]
    plots = [r["overview"] for r in rows][: args.rows]
    one = plots[: args.one]
    result: dict[str, Any] = {}
    for name in ("default", "best"):
        result[name] = _timings(name, plots, one)
        print(name, {k: round(v, 2) for k, v in result[name].items()}, flush=True)
    result["ratio_plots_per_s"] = result["best"]["plots_per_s"] / result["default"]["plots_per_s"]
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "plots.jsonl")
        source.write_text("".join(json.dumps({"overview": p}) + "\n" for p in plots))
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "moviegenre", "predict", "--model", "best", "--input",
             str(source), "--output", str(Path(folder, "out.jsonl")), "--workers", "1",
             "--quiet"],
            check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    result["cli_plots_per_s"] = len(plots) / seconds
    print(
        f"best/default throughput {result['ratio_plots_per_s']:.3f}; predict --input --model "
        f"best: {len(plots)} plots in {seconds:.1f}s = {result['cli_plots_per_s']:.0f} plots/s "
        "(process start included)", flush=True,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run one step of the experiment."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["encode", "members", "heads", "combine", "speed"])
    parser.add_argument("--cache", default=str(ROOT / "runs" / "best-cache"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--test", action="store_true", help="also score the test split")
    parser.add_argument("--rows", type=int, default=1000, help="speed: test plots in batches")
    parser.add_argument("--one", type=int, default=200, help="speed: plots timed one by one")
    args = parser.parse_args(argv)
    globals()[args.step](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
