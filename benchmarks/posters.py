"""Posters: the targets through the JSON API, speed and size of the shipped model, and the choices.

    OMP_NUM_THREADS=1 MOVIEGENRE_THREADS=1 python benchmarks/posters.py \
        --data ../shared/data/tmdb-overviews/movies.jsonl \
        --posters ../shared/data/posters/index.csv --out runs/posters-benchmark

Sections (each a JSON file and a Markdown summary in --out):
1. Poster alone through the API on the MovieLens-labelled test posters (never seen in training;
   macro-F1 over the 17 genres MovieLens can name, and over all 19), beside the best constant set.
2. Plot alone and plot + poster through the API, with the shipped thresholds, on the corpus test
   movies that have a poster (95% bootstrap intervals; the gain's interval is paired).
3. Speed: plot-only requests with the shipped model against its text model alone (interleaved,
   run twice), a request with a poster, cold start (fresh process, load + first answer, twice),
   and the shipped model's size.
4. Choices, on corpus test movies with a poster: late fusion (shipped) against a stacked head
   (per-genre logistic regression on both models' logits, fitted on valid); the int8 image
   network against float32 (poster model retrained on each; features cached).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.api import load_model
from moviegenre.data.dataset import target_matrix
from moviegenre.data.poster_index import corpus_with_posters, read_poster_index
from moviegenre.evaluation.metrics import (
    bootstrap_interval,
    compute_metrics,
    macro_f1_min_support,
    micro_f1,
)
from moviegenre.files import write_text_atomic
from moviegenre.serving.app import create_app
from moviegenre.thresholds import decide, tune_thresholds

MIN10 = 10


def b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def ask(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/predict", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:200]}")
    return response.get_json()


def decisions(answers: list[dict[str, Any]], labels: list[str]) -> np.ndarray:
    index = {g: i for i, g in enumerate(labels)}
    out = np.zeros((len(answers), len(labels)), dtype=np.int8)
    for row, answer in enumerate(answers):
        for genre in answer["genres"]:
            out[row, index[genre]] = 1
    return out


def scores(targets: np.ndarray, decided: np.ndarray, labels: list[str]) -> dict[str, Any]:
    found = compute_metrics(targets, decided, labels)
    return {
        "micro_f1": round(found["micro_f1"], 4),
        "micro_f1_ci": [round(x, 4) for x in found["micro_f1_ci"]],
        "macro_f1": round(found["macro_f1"], 4),
        "macro_f1_ci": [round(x, 4) for x in bootstrap_interval(
            lambda t, d: compute_metrics(t, d, labels, bootstrap=0)["macro_f1"], targets, decided,
            resamples=200)],
        "macro_f1_min10": round(macro_f1_min_support(targets, decided, MIN10), 4),
        "rows": int(targets.shape[0]),
    }  # fmt: skip


def poster_alone(client: Any, index: Path, labels: list[str]) -> dict[str, Any]:
    """Section 1: MovieLens-labelled test posters, poster alone, through the API."""
    records = [r for r in read_poster_index(index)
               if r.label_source == "movielens" and r.split == "test" and r.genres]  # fmt: skip
    named = sorted({g for r in read_poster_index(index) if r.label_source == "movielens"
                    for g in r.genres})  # fmt: skip
    columns = [labels.index(g) for g in named]
    targets = target_matrix(records, labels)
    started = time.perf_counter()
    answers = [ask(client, {"poster": b64(r.path)}) for r in records]
    seconds = time.perf_counter() - started
    assert all(a["inputs"] == ["poster"] for a in answers)
    decided = decisions(answers, labels)
    constant = np.zeros_like(decided)
    constant[:, [labels.index("Drama"), labels.index("Comedy")]] = 1
    sub = [labels[j] for j in columns]
    return {
        "posters": len(records),
        "genres_scored": sub,
        "api_seconds_per_poster": round(seconds / len(records), 4),
        "poster_alone": scores(targets[:, columns], decided[:, columns], sub),
        "poster_alone_all_19": scores(targets, decided, labels),
        "constant_drama_comedy": scores(targets[:, columns], constant[:, columns], sub),
    }


def fusion_gain(client: Any, data: Path, index: Path, labels: list[str]) -> dict[str, Any]:
    """Section 2: plot alone against plot + poster, through the API, shipped thresholds."""
    movies = corpus_with_posters(data, index, labels, "test")
    plot = [ask(client, {"plot": p}) for p in movies.plots]
    both = [ask(client, {"plot": p, "poster": b64(f)})
            for p, f in zip(movies.plots, movies.posters, strict=True)]  # fmt: skip
    assert all(a["inputs"] == ["plot"] for a in plot)
    assert all(a["inputs"] == ["plot", "poster"] for a in both)
    a, b = decisions(plot, labels), decisions(both, labels)
    t = movies.targets
    return {
        "movies": len(movies.plots),
        "genres_with_10": [g for g, n in zip(labels, t.sum(axis=0), strict=True) if n >= MIN10],
        "plot": scores(t, a, labels),
        "plot+poster": scores(t, b, labels),
        "micro_gain": round(micro_f1(t, b) - micro_f1(t, a), 4),
        "micro_gain_ci": [round(x, 4) for x in bootstrap_interval(
            lambda t, a, b: micro_f1(t, b) - micro_f1(t, a), t, a, b)],
        "macro_min10_gain": round(
            macro_f1_min_support(t, b, MIN10) - macro_f1_min_support(t, a, MIN10), 4),
        "macro_min10_gain_ci": [round(x, 4) for x in bootstrap_interval(
            lambda t, a, b: macro_f1_min_support(t, b, MIN10) - macro_f1_min_support(t, a, MIN10),
            t, a, b)],
    }  # fmt: skip


def latency(client: Any, bodies: list[dict[str, Any]]) -> float:
    """Median seconds per request over `bodies`, one request at a time."""
    times = []
    for body in bodies:
        started = time.perf_counter()
        ask(client, body)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# A fresh process: import, load the bundle (argv[1], "-" for the shipped one), answer one movie.
COLD = (
    "import sys, time; t = time.perf_counter(); import moviegenre; "
    "model = None if sys.argv[1] == '-' else sys.argv[1]; "
    "poster = sys.argv[2] if len(sys.argv) > 2 else None; "
    "moviegenre.predict('A haunted house terrifies a family.', model, poster=poster); "
    "print(time.perf_counter() - t)"
)


def speed(shipped: Any, data: Path, index: Path) -> dict[str, Any]:
    """Section 3: plot-only speed against the text model alone, posters, cold start, size."""
    from moviegenre.bundle import default_model_path

    text = shipped.text
    text.metadata = dict(text.metadata)
    movies = corpus_with_posters(data, index, shipped.labels, "test")
    plots = [{"plot": p} for p in movies.plots[:200]]
    clients = {"shipped": create_app(model=shipped).test_client(),
               "text alone": create_app(model=text).test_client()}  # fmt: skip
    runs = []
    for _ in range(2):  # interleaved, twice: the machine is shared and noisy
        run = {name: latency(client, plots) for name, client in clients.items()}
        run["ratio"] = run["shipped"] / run["text alone"]
        runs.append({k: round(v * (1 if k == "ratio" else 1000), 3) for k, v in run.items()})
    posters = [{"plot": p, "poster": b64(f)}
               for p, f in zip(movies.plots[:100], movies.posters[:100], strict=True)]  # fmt: skip
    with_poster = latency(clients["shipped"], posters)
    cold: dict[str, list[float]] = {"shipped, plot": [], "text alone, plot": [],
                                    "shipped, plot + poster": []}  # fmt: skip
    cases = {"shipped, plot": ["-"], "text alone, plot": [text.metadata["path"]],
             "shipped, plot + poster": ["-", str(movies.posters[0])]}  # fmt: skip
    for _ in range(2):  # interleaved, twice
        for name, args in cases.items():
            out = subprocess.run([sys.executable, "-c", COLD, *args], capture_output=True,
                                 text=True, check=True)  # fmt: skip
            cold[name].append(round(float(out.stdout.strip().splitlines()[-1]), 3))
    folder = default_model_path()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    network = sum(p.stat().st_size for p in folder.rglob("network.onnx"))
    return {
        "plot_request_ms (p50 of 200, shipped / text alone)": runs,
        "plot_and_poster_request_ms (p50 of 100)": round(with_poster * 1000, 2),
        "cold_start_s (two runs each, interleaved)": cold,
        "shipped_model_mb": round(size / 1e6, 2),
        "image_network_mb": round(network / 1e6, 2),
    }


def choices(shipped: Any, data: Path, index: Path, cache: Path) -> dict[str, Any]:
    """Section 4: late fusion against a stacked head; int8 against float32 image network."""
    from sklearn.linear_model import LogisticRegression

    from moviegenre.training.poster_models import poster_probs_cached, train_poster

    labels = shipped.labels
    sets = {}
    for split in ("valid", "test"):
        movies = corpus_with_posters(data, index, labels, split)
        text = shipped.text_proba(movies.plots)
        poster = poster_probs_cached(shipped, movies.posters, cache)
        sets[split] = (text, poster, movies.targets)

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-5, 1 - 1e-5)
        return np.log(p / (1 - p))

    (vt, vp, vy), (tt, tp, ty) = sets["valid"], sets["test"]
    stacked_valid, stacked_test = np.zeros_like(vt), np.zeros_like(tt)
    for j in range(len(labels)):
        x_valid = np.stack([logit(vt[:, j]), logit(vp[:, j])], axis=1)
        x_test = np.stack([logit(tt[:, j]), logit(tp[:, j])], axis=1)
        if vy[:, j].min() == vy[:, j].max():
            stacked_valid[:, j], stacked_test[:, j] = vt[:, j], tt[:, j]
            continue
        # valid scores for the thresholds come from 5-fold cross-fitting, not from the fit itself
        folds = np.arange(len(vy)) % 5
        for k in range(5):
            head = LogisticRegression(C=1.0).fit(x_valid[folds != k], vy[folds != k, j])
            stacked_valid[folds == k, j] = head.predict_proba(x_valid[folds == k])[:, 1]
        head = LogisticRegression(C=1.0).fit(x_valid, vy[:, j])
        stacked_test[:, j] = head.predict_proba(x_test)[:, 1]
    stacked = decide(stacked_test, tune_thresholds(stacked_valid, vy), shipped.min_genres)
    late = decide(shipped.fuse(tt, tp), shipped.thresholds_for(("plot", "poster")),
                  shipped.min_genres)  # fmt: skip
    plot = decide(tt, shipped.thresholds_for(("plot",)), shipped.min_genres)
    result: dict[str, Any] = {
        "plot alone": scores(ty, plot, labels),
        f"late fusion, poster weight {shipped.poster_weight} (shipped)": scores(ty, late, labels),
        "stacked head on both models' logits": scores(ty, stacked, labels),
    }
    for quantise in (True, False):
        trained = train_poster(index, None, cache_dir=cache, quantise=quantise, progress=False)
        name = "int8" if quantise else "float32"
        result[f"poster model, {name} network"] = {
            k: {m: round(v[m], 4) for m in ("micro_f1", "macro_f1")}
            for k, v in trained.metrics.items()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/tmdb-overviews/movies.jsonl")
    )
    parser.add_argument("--posters", type=Path, default=Path("../shared/data/posters/index.csv"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/moviegenre/posters")
    parser.add_argument("--out", type=Path, default=Path("runs/posters-benchmark"))
    parser.add_argument("--sections", default="1,2,3,4", help="which sections to run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = load_model()
    client = create_app(model=shipped).test_client()
    wanted = set(args.sections.split(","))
    steps = {
        "1": ("poster_alone", lambda: poster_alone(client, args.posters, shipped.labels)),
        "2": ("fusion_gain", lambda: fusion_gain(client, args.data, args.posters, shipped.labels)),
        "3": ("speed", lambda: speed(shipped, args.data, args.posters)),
        "4": ("choices", lambda: choices(shipped, args.data, args.posters, args.cache_dir)),
    }
    for key, (name, step) in steps.items():
        if key not in wanted:
            continue
        started = time.perf_counter()
        result = step()
        result["seconds"] = round(time.perf_counter() - started, 1)
        write_text_atomic(args.out / f"{name}.json", json.dumps(result, indent=2) + "\n")
        print(f"== {name}\n{json.dumps(result, indent=2)}", flush=True)


if __name__ == "__main__":
    main()
