"""`moviegenre evaluate`: score a model bundle on a labelled data file, as text, JSON and HTML."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.cli import options
from moviegenre.errors import MovieGenreError

SPLITS = ("train", "valid", "test", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on a labelled data file (micro/macro/samples F1 and more)",
        description="Predict genres for one split of a labelled data file and score the model. "
        "Every F1, precision and recall figure says which average it is.",
    )
    options.add_model_flag(parser)
    parser.add_argument("--data", required=True, help="labelled data file (any supported format)")
    parser.add_argument(
        "--split", choices=SPLITS, default="test",
        help="which rows to score: the data's own split, else the split by movie (default: test); "
        "'all' scores every row with a plot and genres",
    )  # fmt: skip
    parser.add_argument("--json", metavar="OUT", help="also write the metrics as JSON here")
    parser.add_argument(
        "--report", metavar="OUT.html", help="also write a self-contained HTML report"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="plots per prediction batch")
    parser.add_argument(
        "--posters", metavar="INDEX",
        help="poster index CSV: also score the split's corpus movies that have a poster by input "
        "(plot only, poster only, plot + poster, as far as the model reads them)",
    )  # fmt: skip
    options.add_reader_flags(parser)
    options.add_labels_flag(parser, default=None)
    parser.set_defaults(func=run)


def select_split(records: list, split: str) -> list:
    """The records of one split; data without its own split is split by movie (title + year)."""
    from moviegenre.data.dataset import split_records

    if split == "all":
        return list(records)
    return split_records(records).get(split, [])


def predict_in_batches(model: Any, plots: list[str], batch_size: int) -> np.ndarray:
    """The model's own (uncalibrated) scores for `plots`, batch by batch behind a progress bar."""
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise MovieGenreError(f"--batch-size must be at least 1, got {batch_size}")
    parts = []
    with tqdm(total=len(plots), desc="predicting", unit="movie", file=sys.stderr) as bar:
        for start in range(0, len(plots), batch_size):
            batch = plots[start : start + batch_size]
            parts.append(np.asarray(model.predict_raw(batch), dtype=np.float32))
            bar.update(len(batch))
    return np.concatenate(parts, axis=0)


def evaluate(
    model: Any, data: str | Path, split: str = "test", batch_size: int = 256, **reader_options: Any
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Score `model` on one split of `data`: (metrics, targets, probabilities)."""
    from moviegenre.data.dataset import target_matrix, unknown_genres
    from moviegenre.data.readers import read_data
    from moviegenre.evaluation.metrics import (
        calibration_metrics,
        compute_metrics,
        reliability_table,
    )
    from moviegenre.thresholds import decide

    loaded = read_data(data, **reader_options)
    records = select_split(loaded.usable(), split)
    if not records:
        raise MovieGenreError(
            f"{data}: the {split!r} split has no movie with both a plot and genres to score"
        )
    unknown = unknown_genres(records, model.labels)
    known = set(model.labels)
    if unknown:
        listed = ", ".join(f"{g} ({n})" for g, n in sorted(unknown.items()))
        print(f"moviegenre: warning: the model does not know these genres, ignoring them: {listed}",
              file=sys.stderr)  # fmt: skip
        # A movie left with no genre the model knows has no fair target: leave it out.
        kept = [r for r in records if any(g in known for g in r.genres)]
        if len(kept) < len(records):
            print(f"moviegenre: warning: {len(records) - len(kept)} movie(s) have only unknown "
                  "genres and are not scored", file=sys.stderr)  # fmt: skip
        records = kept
        if not records:
            raise MovieGenreError(
                f"{data}: no movie in the {split!r} split has a genre the model knows"
            )
    targets = target_matrix(records, model.labels)
    raw = predict_in_batches(model, [r.plot for r in records], batch_size)
    probs = raw if model.calibrator is None else model.calibrator.transform(raw)
    decisions = decide(probs, model.thresholds, model.min_genres)
    metrics = compute_metrics(targets, decisions, model.labels)
    metrics.update(calibration_metrics(targets, probs, model.labels))
    metrics["calibration"] = model.calibrator.method if model.calibrator is not None else "none"
    metrics["reliability"] = {"calibrated": reliability_table(targets, probs)}
    if model.calibrator is not None:
        before = calibration_metrics(targets, raw, model.labels)
        metrics["uncalibrated"] = {k: before[k] for k in ("ece", "brier", "log_loss")}
        metrics["reliability"] = {"uncalibrated": reliability_table(targets, raw),
                                  **metrics["reliability"]}  # fmt: skip
    else:
        metrics["reliability"] = {"uncalibrated": metrics["reliability"]["calibrated"]}
    metrics["unknown_genres"] = dict(sorted(unknown.items()))
    return metrics, targets, probs


def summary_table(metrics: dict[str, Any]) -> str:
    """A readable text summary: headline figures with their average named, then each genre."""
    from moviegenre.evaluation.metrics import AVERAGE_NOTES, CALIBRATION_NOTES

    low, high = metrics.get("micro_f1_ci", [float("nan")] * 2)
    lines = [
        f"model: {metrics['model']}",
        f"data:  {metrics['data']}  (split: {metrics['split']}, {metrics['rows']} movies)",
        "",
        f"{'metric':<22}{'value':>8}   which average",
        f"{'micro F1':<22}{metrics['micro_f1']:>8.3f}   {AVERAGE_NOTES['micro']}",
        f"{'  95% interval':<22}{'':>8}   {low:.3f} to {high:.3f} (bootstrap over movies)",
        f"{'macro F1':<22}{metrics['macro_f1']:>8.3f}   {AVERAGE_NOTES['macro']}",
        f"{'weighted F1':<22}{metrics['weighted_f1']:>8.3f}   {AVERAGE_NOTES['weighted']}",
        f"{'samples F1':<22}{metrics['samples_f1']:>8.3f}   {AVERAGE_NOTES['samples']}",
        f"{'micro precision':<22}{metrics['micro_precision']:>8.3f}",
        f"{'micro recall':<22}{metrics['micro_recall']:>8.3f}",
        f"{'subset accuracy':<22}{metrics['subset_accuracy']:>8.3f}   "
        f"{AVERAGE_NOTES['subset_accuracy']}",
        f"{'Hamming loss':<22}{metrics['hamming_loss']:>8.3f}   {AVERAGE_NOTES['hamming_loss']}",
        "",
        f"probabilities: {metrics.get('calibration', 'none')} calibration"
        + (" (fitted on the validation split)" if metrics.get("uncalibrated") else ""),
    ]
    before = metrics.get("uncalibrated") or {}
    for label, key in (("ECE", "ece"), ("Brier score", "brier"), ("log loss", "log_loss")):
        if key in metrics:
            was = f" (uncalibrated {before[key]:.4f})" if key in before else ""
            lines.append(f"{label:<22}{metrics[key]:>8.4f}   {CALIBRATION_NOTES[key]}{was}")
    per_ece = metrics.get("per_genre_ece") or {}
    # As wide as the longest label: a catalogue's own labels can be long.
    width = max([18, *(len(name) + 2 for name in metrics["per_genre"])])
    heading = f"{'support':>8}{'precision':>11}{'recall':>8}{'F1':>7}{'ECE':>8}"
    lines += ["", f"{'genre':<{width}}{heading}"]
    for name, m in sorted(metrics["per_genre"].items(), key=lambda item: -item[1]["support"]):
        ece = f"{per_ece[name]:>8.4f}" if name in per_ece else ""
        lines.append(
            f"{name:<{width}}{m['support']:>8}{m['precision']:>11.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}"
            + ece
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from moviegenre.api import load_model
    from moviegenre.data.labels import vocabulary_of
    from moviegenre.files import write_text_atomic

    model = load_model(args.model)
    readers = options.reader_options(args)
    # Without --labels, the data is read the way the model's training file was.
    readers.setdefault("labels", vocabulary_of(model.metadata))
    metrics, targets, probs = evaluate(model, args.data, args.split, args.batch_size, **readers)
    metrics["split"] = args.split
    metrics["model"] = str(model.metadata.get("path") or args.model or "default")
    metrics["model_type"] = model.kind
    metrics["data"] = str(args.data)
    print(summary_table(metrics))
    if args.posters:
        from moviegenre.data.poster_index import corpus_with_posters
        from moviegenre.evaluation.by_inputs import by_inputs_table, evaluate_by_inputs

        movies = corpus_with_posters(args.data, args.posters, model.labels, args.split)
        if not movies.plots:
            raise MovieGenreError(
                f"{args.posters}: no {args.split} movie of {args.data} has a poster there"
            )
        metrics["by_inputs"] = evaluate_by_inputs(model, movies)
        print()
        print(by_inputs_table(metrics["by_inputs"], len(movies.plots)))
    if args.json:
        write_text_atomic(args.json, json.dumps(metrics, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    if args.report:
        from moviegenre.evaluation.metrics import precision_recall_curves
        from moviegenre.evaluation.report import render_report

        curves = precision_recall_curves(targets, probs, model.labels, model.thresholds)
        page = render_report(
            metrics, curves, model=metrics["model"], data=metrics["data"], split=args.split
        )
        write_text_atomic(args.report, page)
        print(f"wrote {args.report}", file=sys.stderr)
    return 0
