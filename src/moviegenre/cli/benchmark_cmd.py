"""`moviegenre benchmark`: train and evaluate several model types and write the leaderboard."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from moviegenre.cli.options import parse_key_value
from moviegenre.errors import MovieGenreError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="train and evaluate model types; write leaderboard.md and leaderboard.json",
        description="Train each model type on the train split, tune thresholds on valid, score "
        "the test split, time training and prediction, and write a leaderboard. Models already "
        "done in --out are not retrained (a run resumes after an interruption).",
    )
    parser.add_argument("--data", required=True, help="data file with train/valid/test splits")
    parser.add_argument(
        "--models", default="tfidf,minilm,ensemble",
        help="comma-separated model types (minilm-finetuned included) or the variants "
        "lstm-distilled, ngram-distilled; "
        "default: tfidf,minilm,ensemble",
    )  # fmt: skip
    parser.add_argument("--out", default="runs/benchmark", help="output directory")
    parser.add_argument(
        "--option", action="append", default=[], metavar="MODEL.KEY=VALUE",
        help="a model option, e.g. minilm.head=mlp (VALUE is read as JSON when it parses)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", default=None,
        help="cache for frozen MiniLM embeddings (default: ~/.cache/moviegenre/embeddings)",
    )  # fmt: skip
    parser.add_argument("--no-cache", action="store_true", help="do not cache embeddings")
    parser.add_argument("--force", action="store_true", help="retrain models already done")
    parser.set_defaults(func=run)


def parse_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """["minilm.head=mlp", "tfidf.C=8"] -> {"minilm": {"head": "mlp"}, "tfidf": {"C": 8}}."""
    options: dict[str, dict[str, Any]] = {}
    form = "MODEL.KEY=VALUE, e.g. minilm.head=mlp"
    for item in items:
        key, value = parse_key_value(item, "--option", form)
        model, dot, name = key.partition(".")
        if not dot or not model or not name:
            raise MovieGenreError(f"--option {item!r}: expected {form}")
        options.setdefault(model, {})[name] = value
    return options


def run(args: argparse.Namespace) -> int:
    from moviegenre.training.leaderboard import parse_models, render_markdown, run_benchmark

    models = parse_models(args.models)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    cache = None
    if not args.no_cache:
        from moviegenre.models.vector_cache import default_cache_dir

        cache = args.cache_dir or default_cache_dir()
    rows = run_benchmark(
        args.data, models, args.out, model_options=parse_options(args.option),
        cache_dir=cache, force=args.force,
    )  # fmt: skip
    sys.stdout.write(render_markdown(rows, args.data))
    print(f"wrote {args.out}/leaderboard.md and leaderboard.json", file=sys.stderr)
    return 0
