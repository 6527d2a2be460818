"""Compare calibration methods (Platt, temperature, beta, isotonic) per model bundle.

For each bundle the model's own scores are computed on the valid and test splits. A method is
chosen on valid alone (5-fold cross-validation inside the valid split: fit on four folds, score
the fifth), then each method is fitted on the whole valid split and scored on test: ECE (10
equal-width bins over every genre score), the worst genre's ECE, Brier score, log loss, and the
micro-F1 of the decisions when the raw thresholds are mapped through the calibrator (with how
many test decisions changed). A second protocol re-tunes the thresholds on calibrated scores
instead: calibrator on one half of valid, thresholds on the other half, five seeds.

    python benchmarks/calibration.py --data ../shared/data/tmdb-overviews/movies.jsonl \
        --out runs/calibration --figure docs/figures/calibration-default.png

Without --models: the shipped default model and its two members. Writes results.json and
results.md into --out, and the default model's reliability diagram to --figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEEDS = 5
FOLDS = 5


def _scores(model, records) -> np.ndarray:
    plots = [r.plot for r in records]
    return np.concatenate(
        [model.predict_raw(plots[i : i + 256]) for i in range(0, len(plots), 256)]
    ).astype(np.float64)


def _cross_validated(raw: np.ndarray, targets: np.ndarray, method: str) -> dict[str, float]:
    """ECE and log loss of `method` on valid, each fold scored by a map fitted on the others."""
    from moviegenre.calibration import Calibrator
    from moviegenre.evaluation.metrics import calibration_metrics

    order = np.random.default_rng(0).permutation(len(raw))
    out = np.empty_like(raw)
    for fold in range(FOLDS):
        held = order[fold::FOLDS]
        kept = np.setdiff1d(order, held)
        out[held] = Calibrator.fit(raw[kept], targets[kept], method).transform(raw[held])
    m = calibration_metrics(targets, out, [str(j) for j in range(raw.shape[1])])
    return {"ece": m["ece"], "log_loss": m["log_loss"]}


def compare(name: str, model, valid, test, labels) -> dict:
    from moviegenre.calibration import METHODS, Calibrator
    from moviegenre.data.dataset import target_matrix
    from moviegenre.evaluation.metrics import calibration_metrics, micro_f1
    from moviegenre.thresholds import decide, tune_thresholds

    vy, ty = target_matrix(valid, labels), target_matrix(test, labels)
    vraw, traw = _scores(model, valid), _scores(model, test)
    thresholds = tune_thresholds(vraw, vy)
    base = decide(traw, thresholds, model.min_genres)
    raw = calibration_metrics(ty, traw, labels)
    rows = [{
        "method": "none", "valid_cv_ece": None, "valid_cv_log_loss": None, "ece": raw["ece"],
        "worst_genre_ece": max(raw["per_genre_ece"].values()), "brier": raw["brier"],
        "log_loss": raw["log_loss"], "micro_f1": micro_f1(ty, base), "changed_decisions": 0,
        "fit_seconds": 0.0,
    }]  # fmt: skip
    for method in METHODS:
        started = time.perf_counter()
        calibrator = Calibrator.fit(vraw, vy, method)
        seconds = time.perf_counter() - started
        probs = calibrator.transform(traw)
        mapped = calibrator.map_thresholds(thresholds).astype(np.float32)  # as a bundle stores it
        decisions = decide(probs, mapped, model.min_genres)
        m = calibration_metrics(ty, probs, labels)
        cv = _cross_validated(vraw, vy, method)
        rows.append({
            "method": method, "valid_cv_ece": cv["ece"], "valid_cv_log_loss": cv["log_loss"],
            "ece": m["ece"], "worst_genre_ece": max(m["per_genre_ece"].values()),
            "brier": m["brier"], "log_loss": m["log_loss"], "micro_f1": micro_f1(ty, decisions),
            "changed_decisions": int((decisions != base).sum()),
            "threshold_flips": int(((traw >= thresholds) != (probs >= mapped)).sum()),
            "fit_seconds": round(seconds, 3),
        })  # fmt: skip
    chosen = min(rows[1:], key=lambda r: (round(r["valid_cv_ece"], 3), r["valid_cv_log_loss"]))
    retuned = []
    for seed in range(SEEDS):
        order = np.random.default_rng(seed).permutation(len(vraw))
        a, b = order[: len(order) // 2], order[len(order) // 2 :]
        calibrator = Calibrator.fit(vraw[a], vy[a], chosen["method"])
        tuned = tune_thresholds(calibrator.transform(vraw[b]), vy[b])
        retuned.append(micro_f1(ty, decide(calibrator.transform(traw), tuned, model.min_genres)))
    return {
        "model": name,
        "model_type": str(model.metadata.get("model_type", model.model_type)),
        "valid_rows": len(valid),
        "test_rows": len(test),
        "chosen_on_valid": chosen["method"],
        "methods": rows,
        "retuned_thresholds_micro_f1": [round(f, 4) for f in retuned],
        "reliability": {
            "valid_raw": vraw,
            "test_raw": traw,
            "test_targets": ty,
            "valid_targets": vy,
        },  # fmt: skip
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| model | method | valid ECE (5-fold CV) | test ECE | worst genre ECE | Brier | "
        "log loss | micro-F1 (mapped thresholds) | threshold flips | decisions changed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def cell(value, digits=4):
        return "-" if value is None else f"{value:.{digits}f}"

    for result in results:
        for row in result["methods"]:
            mark = " (chosen on valid)" if row["method"] == result["chosen_on_valid"] else ""
            lines.append(
                f"| {result['model']} | {row['method']}{mark} | {cell(row['valid_cv_ece'])} | "
                f"{cell(row['ece'])} | {cell(row['worst_genre_ece'])} | {cell(row['brier'])} | "
                f"{cell(row['log_loss'])} | {cell(row['micro_f1'])} | "
                f"{row.get('threshold_flips', 0)} | {row['changed_decisions']} |"
            )
    lines += ["", "Thresholds re-tuned instead (calibrator on one half of valid, thresholds on "
              "the other; test micro-F1 per seed):", ""]  # fmt: skip
    for result in results:
        mapped = next(r for r in result["methods"] if r["method"] == result["chosen_on_valid"])
        lines.append(
            f"- {result['model']} ({result['chosen_on_valid']}): "
            f"{', '.join(f'{f:.4f}' for f in result['retuned_thresholds_micro_f1'])} "
            f"(mapped: {mapped['micro_f1']:.4f})"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--models", default="", help="comma-separated bundle directories "
                        "(default: the shipped model and its members)")  # fmt: skip
    parser.add_argument("--out", default="runs/calibration")
    parser.add_argument("--figure", help="write the first model's reliability diagram here (PNG)")
    args = parser.parse_args(argv)

    from moviegenre.bundle import default_model_path, load_bundle
    from moviegenre.calibration import Calibrator
    from moviegenre.data.dataset import split_records
    from moviegenre.data.readers import read_data
    from moviegenre.evaluation.metrics import reliability_table

    default = default_model_path()
    paths = [Path(p) for p in args.models.split(",") if p] or [
        default,
        default / "members" / "0",
        default / "members" / "1",
    ]
    splits = split_records(read_data(args.data).usable())
    results = []
    for path in paths:
        model = load_bundle(path)
        name = "shipped default" if path == default else path.name
        if path.parent.name == "members" and path.parent.parent == default:
            name = f"default member {path.name} ({model.metadata.get('model_type')})"
        print(f"calibration: {name}", file=sys.stderr)
        results.append(compare(name, model, splits["valid"], splits["test"], model.labels))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.figure:
        from moviegenre.evaluation.report import reliability_diagram

        first = results[0]
        arrays = first["reliability"]
        calibrator = Calibrator.fit(arrays["valid_raw"], arrays["valid_targets"],
                                    first["chosen_on_valid"])  # fmt: skip
        figure = reliability_diagram({
            "uncalibrated": reliability_table(arrays["test_targets"], arrays["test_raw"]),
            "calibrated": reliability_table(arrays["test_targets"],
                                            calibrator.transform(arrays["test_raw"])),
        })  # fmt: skip
        figure.savefig(args.figure, dpi=100, bbox_inches="tight")
        print(f"wrote {args.figure}", file=sys.stderr)
    for result in results:
        result.pop("reliability")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    (out / "results.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
