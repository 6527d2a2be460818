"""The benchmark: train and score several model types in one resumable run, then the leaderboard."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moviegenre.data.dataset import split_records
from moviegenre.data.readers import read_data
from moviegenre.errors import MovieGenreError
from moviegenre.files import write_text_atomic
from moviegenre.models import MODEL_TYPES, model_class
from moviegenre.models.base import Composite
from moviegenre.torch_device import one_thread

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("runs/benchmark")
THROUGHPUT_BATCH = 256
THROUGHPUT_PLOTS = 1024  # enough for a stable rate, small enough for slow CPU models
COLUMNS = (
    ("model", "model"),
    ("test micro-F1", "micro_f1"),
    ("test macro-F1", "macro_f1"),
    ("test samples-F1", "samples_f1"),
    ("subset accuracy", "subset_accuracy"),
    ("test ECE", "ece"),
    ("test ECE uncalibrated", "ece_uncalibrated"),
    ("train time (s)", "train_seconds"),
    ("plots/s (1 thread)", "plots_per_second"),
    ("bundle (MB)", "bundle_mb"),
)


def machine_description() -> str:
    """CPU model, core count, OS and Python: where the timings were taken."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def measure_throughput(
    bundle: Path, plots: Sequence[str], batch_size: int = THROUGHPUT_BATCH
) -> float:
    """Plots per second of a loaded bundle, batches of `batch_size`, one thread, caches off."""
    from moviegenre.bundle import load_bundle

    plots = list(plots)[:THROUGHPUT_PLOTS]
    if not plots:
        return 0.0
    model = load_bundle(bundle)
    with one_thread():  # a loaded bundle caches no embeddings: the real encoder is timed
        model.predict_proba(plots[: min(8, len(plots))])  # warm-up: lazy imports, first allocations
        started = time.perf_counter()
        for start in range(0, len(plots), batch_size):
            model.predict_proba(plots[start : start + batch_size])
        seconds = time.perf_counter() - started
    return len(plots) / max(seconds, 1e-9)


def bundle_megabytes(bundle: Path) -> float:
    return sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 1e6


def _result_path(out: Path, name: str) -> Path:
    return out / f"{name}.json"


def _done(out: Path, name: str) -> dict[str, Any] | None:
    """The saved result of a model already benchmarked in `out` (bundle and result JSON present)."""
    bundle, result = out / name, _result_path(out, name)
    if not (bundle / "bundle.json").is_file() or not result.is_file():
        return None
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable result: benchmark the model again
    return data if isinstance(data, dict) and data.get("model") == name else None


# Named variants a leaderboard row can be: (model type, its options, train() settings).
VARIANTS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    # the LSTM trained on labels blended with the cross-fitted frozen-MiniLM + TF-IDF teacher
    "lstm-distilled": ("lstm", {}, {"distill": {}}),
    # the fast n-gram model trained on the same kind of blended targets
    "ngram-distilled": ("ngram", {}, {"distill": {}}),
}


def variant(name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A leaderboard name's model type, default options and train() settings."""
    return VARIANTS.get(name, (name, {}, {}))


def parse_models(text: str) -> list[str]:
    """ "lstm,tfidf" -> ["lstm", "tfidf"], checked against the known model types and variants."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = sorted([*MODEL_TYPES, *VARIANTS])
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise MovieGenreError(
            f"--models: unknown model type(s) {', '.join(unknown) or '(none given)'}; "
            f"expected a comma-separated list of {', '.join(known)}"
        )
    return list(dict.fromkeys(names))


def run_benchmark(
    data: str | Path,
    models: Sequence[str],
    out: str | Path = DEFAULT_OUT,
    *,
    model_options: dict[str, dict[str, Any]] | None = None,
    cache_dir: str | Path | None = None,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Train, score and time each model type; return leaderboard rows, best test micro-F1 first.

    Models whose bundle and result JSON are already in `out` are not retrained (resume after an
    interruption) unless `force`. The ensemble runs last, over the other models' bundles.
    cache_dir: where frozen MiniLM embeddings are cached between runs (None: no cache).
    """
    from moviegenre.training.train import headline, train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(data)
    options = model_options or {}
    # composite models (the ensemble) run last, over the other rows' bundles
    composite = {m for m in models if issubclass(model_class(variant(m)[0]), Composite)}
    order = [m for m in models if m not in composite] + [m for m in models if m in composite]
    singles = [m for m in order if m not in composite]
    test_plots = [r.plot for r in split_records(read_data(data).usable()).get("test") or []]
    rows = []
    for name in order:
        done = None if force else _done(out, name)
        if done is not None:
            log.info("benchmark: %s already done in %s, not retrained", name, out)
            rows.append(done)
            continue
        log.info("benchmark: training %s", name)
        model_type, defaults, settings = variant(name)
        opts = {**defaults, **(options.get(name) or {})}
        if name in composite and "members" not in opts and singles:
            opts["members"] = [str((out / m).resolve()) for m in singles]
        result = train(data, model_type, out / name, model_options=opts,
                       command=f"moviegenre benchmark --models {','.join(models)}",
                       cache_dir=cache_dir, **settings)  # fmt: skip
        assert result.path is not None
        test = headline(result.metrics.get("test") or {})
        row = {
            "model": name,
            "options": {k: v for k, v in opts.items() if k != "members"},
            "micro_f1": test.get("micro_f1"),
            "macro_f1": test.get("macro_f1"),
            "samples_f1": test.get("samples_f1"),
            "subset_accuracy": test.get("subset_accuracy"),
            "ece": test.get("ece"),
            "ece_uncalibrated": test.get("ece_uncalibrated"),
            "test_rows": test.get("rows", 0),
            "valid": headline(result.metrics.get("valid") or {}),
            "train_seconds": round(result.seconds, 1),
            "plots_per_second": round(measure_throughput(result.path, test_plots), 1),
            "bundle_mb": round(bundle_megabytes(result.path), 2),
            "machine": machine_description(),
        }
        if name in composite:
            config = json.loads((result.path / "bundle.json").read_text(encoding="utf-8"))["config"]
            given = "members" in (options.get(name) or {})
            # members given as paths are named by type; this run's rows by their row names
            row["members"] = ([m["model_type"] for m in config["members"]] if given
                              else singles)  # fmt: skip
            row["weights"] = config["weights"]
            # members trained earlier in this run: the ensemble's cost includes theirs
            row["own_train_seconds"] = row["train_seconds"]
            row["train_seconds"] = round(
                row["train_seconds"]
                + sum(r.get("train_seconds") or 0 for r in rows if r["model"] in row["members"]),
                1,
            )
        write_text_atomic(_result_path(out, name), json.dumps(row, indent=2) + "\n")
        rows.append(row)
    rows.sort(key=lambda r: -(r.get("micro_f1") or 0.0))
    write_leaderboard(out, rows, data)
    return rows


def _cell(value: Any, key: str) -> str:
    if value is None:
        return "-"
    if key in ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "ece", "ece_uncalibrated"):
        return f"{value:.4f}"
    if key == "train_seconds":
        return f"{value:.1f}"
    if key == "plots_per_second":
        return f"{value:,.0f}"
    if key == "bundle_mb":
        return f"{value:.1f}"
    return str(value)


def render_markdown(rows: Sequence[dict[str, Any]], data: str | Path) -> str:
    """The leaderboard as a Markdown table with the data and machine it was measured on."""
    lines = [
        "# Leaderboard",
        "",
        f"Data: `{Path(data).name}`, test split ({rows[0].get('test_rows', '?') if rows else 0} "
        "movies); per-genre thresholds tuned on the validation split.",
        f"Machine: {rows[0].get('machine') if rows else machine_description()}.",
        f"Throughput: predict_proba on up to {THROUGHPUT_PLOTS} test plots, batches of "
        f"{THROUGHPUT_BATCH}, one thread. Bundle size includes everything in the bundle directory "
        "(an ensemble includes its members), and so does its training time.",
        "",
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "| " + " | ".join("---" if key == "model" else "---:" for _, key in COLUMNS) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key), key) for _, key in COLUMNS) + " |")
    ensembles = [r for r in rows if r.get("weights")]
    for row in ensembles:
        pairs = ", ".join(
            f"{m} {w:.1f}" for m, w in zip(row["members"], row["weights"], strict=True)
        )
        lines += ["", f"Ensemble weights (tuned on valid): {pairs}."]
    return "\n".join(lines) + "\n"


def write_leaderboard(out: Path, rows: Sequence[dict[str, Any]], data: str | Path) -> None:
    payload = {"data": Path(data).name, "machine": machine_description(), "models": list(rows)}
    write_text_atomic(out / "leaderboard.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(out / "leaderboard.md", render_markdown(rows, data))
