"""Parse the command line, dispatch to a command module, and turn errors into one-line messages."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from moviegenre.errors import MovieGenreError
from moviegenre.version import __version__

# Each module defines `register(subparsers)`, which adds its command(s) and sets `func`.
COMMAND_MODULES = (
    "moviegenre.cli.data_cmd",
    "moviegenre.cli.train_cmd",
    "moviegenre.cli.evaluate_cmd",
    "moviegenre.cli.predict_cmd",
    "moviegenre.cli.explain_cmd",
    "moviegenre.cli.serve_cmd",
    "moviegenre.cli.export_cmd",
    "moviegenre.cli.benchmark_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moviegenre",
        description="Predict a movie's genres from its plot summary, its poster, or both.",
    )
    parser.add_argument("--version", action="version", version=f"moviegenre {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        # every listed module exists: a renamed one fails here, it never vanishes silently
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except MovieGenreError as exc:
        print(f"moviegenre: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("moviegenre: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
