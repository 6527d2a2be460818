"""`moviegenre explain`: show which words of a plot drove each predicted genre."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import IO

from moviegenre.cli.options import add_model_flag
from moviegenre.errors import MovieGenreError
from moviegenre.explain.methods import METHODS, explain_with

_MARK_OPEN, _MARK_CLOSE = "[[", "]]"
_ANSI_MARK, _ANSI_RESET = "\033[1;32m", "\033[0m"  # bold green


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show which words of a plot raised each predicted genre",
        description="Predict a plot's genres and mark the words that raised each of them.",
    )
    parser.add_argument("text", nargs="+", metavar="TEXT", help="the plot summary ('-': stdin)")
    add_model_flag(parser)
    parser.add_argument(
        "--method", choices=METHODS, default="occlusion",
        help="occlusion (any model, default) or gradients (integrated gradients, PyTorch LSTM)",
    )  # fmt: skip
    parser.add_argument("--top", type=int, default=5, metavar="K", help="words to mark per genre")
    parser.add_argument(
        "--genre", action="append", metavar="G",
        help="explain this genre instead of the predicted ones (repeatable)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _read_plot(parts: list[str]) -> str:
    if parts == ["-"]:
        return sys.stdin.read()
    return " ".join(parts)


def _use_colour(stream: IO[str]) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def mark_plot(plot: str, positions: set[int], colour: bool = False) -> str:
    """The plot with the words at `positions` (indexes into its plot words) marked."""
    from moviegenre.explain.core import word_spans

    pieces, last = [], 0
    for index, span in enumerate(word_spans(plot)):
        if index not in positions:
            continue
        # Mark the word itself, not the punctuation around it ("[[ghost]]," not "[[ghost,]]").
        start = plot.find(span.word, span.start, span.end)
        end = start + len(span.word)
        opened, closed = (_ANSI_MARK, _ANSI_RESET) if colour else (_MARK_OPEN, _MARK_CLOSE)
        pieces += [plot[last:start], opened, plot[start:end], closed]
        last = end
    pieces.append(plot[last:])
    return "".join(pieces)


def run(args: argparse.Namespace) -> int:
    from moviegenre.api import load_model
    from moviegenre.explain.core import top_words
    from moviegenre.movie import Movie
    from moviegenre.prediction import answer

    if args.top < 1:
        raise MovieGenreError(f"--top: expected a positive number, got {args.top}")
    plot = _read_plot(args.text)
    # Gradients need the PyTorch network, which the ONNX runtime does not have.
    model = load_model(args.model, runtime="native" if args.method == "gradients" else "auto")
    if args.genre:
        unknown = [g for g in args.genre if g not in model.labels]
        if unknown:
            # "; " when a label holds a comma ("Arts, Entertainment, and Culture"), so each
            # label reads as one.
            sep = "; " if any("," in label for label in model.labels) else ", "
            raise MovieGenreError(
                f"--genre {unknown[0]!r}: unknown genre; this model knows: {sep.join(model.labels)}"
            )
    prediction = answer(model, [Movie(plot)])[0]
    shown = list(dict.fromkeys(args.genre)) if args.genre else prediction.genres
    # JSON callers get every genre (or the asked ones); the text view only needs the shown ones.
    wanted = shown if (args.genre or not args.json) else None
    explanation = explain_with(args.method, model, plot, wanted)

    if args.json:
        payload = {
            "genres": prediction.genres,
            "scores": prediction.scores,
            "explanation": {
                genre: [[word, round(weight, 6)] for word, weight in pairs]
                for genre, pairs in explanation.items()
            },
            **explanation.info(),
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0

    out = sys.stdout
    colour = _use_colour(out)
    listed = ", ".join(f"{g} ({prediction.scores[g]:.2f})" for g in prediction.genres) or "none"
    print(f"Predicted genres: {listed}", file=out)
    method, scale = explanation.method, explanation.scale
    print(f"Method: {method} (weights are {scale} changes; + raises the genre)", file=out)
    if explanation.truncated:
        print(
            f"Note: only the first {explanation.explained_words} of {explanation.total_words} "
            "words were explained.",
            file=out,
        )
    for genre in shown:
        top = top_words(explanation, genre, args.top)
        print(f"\n{genre} ({prediction.scores[genre]:.2f})", file=out)
        if not top:
            print("  no word raises this genre", file=out)
            continue
        print("  " + mark_plot(plot, {i for i, _, _ in top}, colour).strip(), file=out)
        width = max(len(word) for _, word, _ in top)
        for _, word, weight in top:
            print(f"    {word:<{width}}  {weight:+.4f}", file=out)
    return 0
