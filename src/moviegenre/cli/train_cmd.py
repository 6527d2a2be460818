"""`moviegenre train`: fit a model type on a data file and write a bundle."""

from __future__ import annotations

import argparse
import json
import sys

from moviegenre.models import MODEL_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a model and write a bundle directory")
    parser.add_argument("--data", required=True, help="training data file (any supported format)")
    parser.add_argument(
        "--model-type", default="lstm", choices=sorted(k for k in MODEL_TYPES if k != "onnx")
    )
    parser.add_argument("--out", required=True, help="bundle directory to write")
    parser.add_argument("--threshold-metric", choices=("f1", "mcc"), default="f1")
    parser.add_argument(
        "--allow-no-genre", action="store_true",
        help="let the model answer no genre (default: the most probable genre is always returned)",
    )  # fmt: skip
    parser.add_argument("--text-column", help="column holding the plot (default: detected)")
    parser.add_argument("--genre-column", help="column holding the genres (default: detected)")
    parser.set_defaults(func=run)


def reader_options(args: argparse.Namespace) -> dict:
    return {
        k: v
        for k, v in (("text_column", args.text_column), ("genre_column", args.genre_column))
        if v
    }


def model_options(args: argparse.Namespace) -> dict:
    """Options for the chosen model type (each model type adds its own flags)."""
    return {}


def run(args: argparse.Namespace) -> int:
    from moviegenre.training.train import headline, train

    result = train(
        args.data,
        args.model_type,
        args.out,
        model_options=model_options(args),
        threshold_metric=args.threshold_metric,
        min_genres=0 if args.allow_no_genre else 1,
        reader_options=reader_options(args),
    )
    summary = {name: headline(m) for name, m in result.metrics.items()}
    print(json.dumps({"bundle": str(result.path), "seconds": round(result.seconds, 1),
                      "metrics": summary}, indent=2))  # fmt: skip
    print(f"wrote {result.path} in {result.seconds:.0f} s", file=sys.stderr)
    return 0
