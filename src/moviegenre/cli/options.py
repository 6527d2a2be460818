"""Flags several commands share: the model, the data reader flags and KEY=VALUE options."""

from __future__ import annotations

import argparse
import json
from typing import Any

from moviegenre.errors import MovieGenreError


def add_model_flag(parser: argparse.ArgumentParser) -> None:
    """--model: a bundle directory, or the name of a bundle shipped in the package."""
    from moviegenre.bundle.bundle import SHIPPED_MODELS

    names = " or ".join(SHIPPED_MODELS)
    parser.add_argument(
        "--model", metavar="DIR",
        help=f"model bundle directory, or a shipped model: {names} (default: default)",
    )  # fmt: skip


def add_reader_flags(parser: argparse.ArgumentParser, imdb: bool = False) -> None:
    """--text-column and --genre-column (and, with `imdb`, --include-tv and --aliases)."""
    parser.add_argument("--text-column", help="column holding the plot (default: detected)")
    parser.add_argument("--genre-column", help="column holding the genres (default: detected)")
    if imdb:
        parser.add_argument(
            "--include-tv", action="store_true", help="IMDb lists: keep TV series and episodes"
        )
        parser.add_argument(
            "--aliases", metavar="FILE.json",
            help="extra genre aliases: a JSON object alias -> genre",
        )  # fmt: skip


def add_labels_flag(parser: argparse.ArgumentParser, default: str | None = "tmdb") -> None:
    """--labels: TMDB's genres, the labels as the file writes them, or a label file."""
    parser.add_argument(
        "--labels", metavar="tmdb|as-written|FILE.json", default=default,
        help="how genre names become labels: tmdb (TMDB's 19 and their aliases), as-written "
        "(every label as the file writes it) or a label file (docs/labels.md)"
        + (f"; default {default}" if default else ""),
    )  # fmt: skip


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options `read_data`/`iter_records` take, from the flags `add_reader_flags` added.

    --aliases is applied here (it extends the genre names every reader recognises).
    """
    if getattr(args, "aliases", None):
        from moviegenre.genres import load_alias_file

        load_alias_file(args.aliases)
    pairs = (
        ("text_column", args.text_column),
        ("genre_column", args.genre_column),
        ("include_tv", getattr(args, "include_tv", False)),
        ("labels", getattr(args, "labels", None)),
    )
    return {key: value for key, value in pairs if value}


def parse_key_value(item: str, flag: str, form: str = "KEY=VALUE") -> tuple[str, Any]:
    """("key", value) from "key=value": VALUE is read as JSON when it parses, else kept as text.

    `form` is what the error message says the flag expects (e.g. MODEL.KEY=VALUE).
    """
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise MovieGenreError(f"{flag} {item!r}: expected {form}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw
