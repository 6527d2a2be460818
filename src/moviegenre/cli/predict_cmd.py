"""`moviegenre predict`: genres for one plot, or a whole file streamed to JSON Lines."""

from __future__ import annotations

import argparse
import json
import sys

from moviegenre.cli.options import add_model_flag
from moviegenre.errors import MovieGenreError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the genres of a plot, or of every row of a file",
        description=(
            "Predict genres for one movie from its plot (TEXT, or - to read it from stdin), its "
            "poster (--poster FILE) or both, or stream a data "
            "file (--input: any format `moviegenre data inspect` reads, gzipped or not) to a JSON "
            "Lines file (--output), one line per row read, in input order. Damaged rows are "
            "skipped and counted in the summary printed at the end."
        ),
    )
    parser.add_argument("text", nargs="?", metavar="TEXT", help="the plot summary ('-': stdin)")
    add_model_flag(parser)
    parser.add_argument(
        "--runtime", choices=("auto", "onnx", "native"), default="auto",
        help="auto: ONNX Runtime when the bundle has an export (default)",
    )  # fmt: skip
    parser.add_argument(
        "--poster", metavar="FILE",
        help="the movie's poster (JPEG, PNG or WebP), with or without TEXT",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--input", metavar="FILE", help="file of plots (CSV/TSV, JSON Lines, Parquet; .gz too)"
    )
    parser.add_argument("--text-column", metavar="COL", help="column holding the plot (detected)")
    parser.add_argument(
        "--poster-column", metavar="COL",
        help="column holding each movie's poster file, relative to the input file's folder",
    )  # fmt: skip
    parser.add_argument("--output", metavar="OUT", help="JSON Lines file to write ('-': stdout)")
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help="processes to predict with (default 1); with --engine ray, model replicas "
        "(default: one per CPU of the cluster)",
    )  # fmt: skip
    parser.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local processes (default), or a Ray cluster (pip install 'moviegenre[ray]')",
    )  # fmt: skip
    parser.add_argument(
        "--address", metavar="ADDR",
        help="with --engine ray: the cluster to join (e.g. 10.0.0.5:6379, or auto); "
        "default: start a local one for this run",
    )  # fmt: skip
    parser.add_argument(
        "--language", metavar="CODE",
        help="the plot's language as an ISO 639-1 code (e.g. es), for short or mixed plots; "
        "detected when not given",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=int, default=512, metavar="B", help="rows per chunk (default 512)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (the summary line is still printed)"
    )
    parser.set_defaults(func=run)


def _format(prediction, labels_shown: int = 5) -> str:
    """A readable answer: the genres, then the top scores with a mark on the chosen ones."""
    lines = [f"genres: {', '.join(prediction.genres) or '(none)'}"]
    if prediction.inputs != ("plot",):
        lines.append(f"from: {' + '.join(prediction.inputs)}")
    if prediction.language is not None:
        language = prediction.language
        lines.append(f"language: {language['code']} ({language['confidence']:.2f})")
    # every warning, truncation included, on its own line above the scores
    lines += [f"warning ({w['code']}): {w['message']}" for w in prediction.warnings]
    ranked = sorted(prediction.scores.items(), key=lambda kv: -kv[1])[:labels_shown]
    width = max(len(name) for name, _ in ranked) if ranked else 0
    for name, score in ranked:
        mark = "*" if name in prediction.genres else " "
        lines.append(f"  {mark} {name:<{width}}  {score:.3f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.input:
        if args.poster:
            raise MovieGenreError(
                "--poster is for one movie; a file of movies takes --poster-column"
            )
        if args.text is not None:
            raise MovieGenreError("give either TEXT or --input FILE, not both")
        if args.language:
            raise MovieGenreError("--language is for one plot; a file's plots are detected")
        if not args.output:
            raise MovieGenreError("--input needs --output OUT.jsonl (or --output - for stdout)")
        if args.engine == "ray":
            from moviegenre.inference.ray_batch import predict_file_ray

            if args.poster_column:
                raise MovieGenreError("--poster-column works with the local engine")
            result = predict_file_ray(
                args.input, args.output, args.model, runtime=args.runtime,
                text_column=args.text_column, actors=args.workers, batch_size=args.batch_size,
                address=args.address, progress=not args.quiet,
            )  # fmt: skip
        else:
            from moviegenre.inference.batch import predict_file

            if args.address:
                raise MovieGenreError("--address goes with --engine ray")
            result = predict_file(
                args.input, args.output, args.model, runtime=args.runtime,
                text_column=args.text_column, poster_column=args.poster_column,
                workers=1 if args.workers is None else args.workers,
                batch_size=args.batch_size, progress=not args.quiet,
            )  # fmt: skip
        # Printed even with --quiet: the skipped rows are not in the output, so say so.
        print(result.summary(), file=sys.stderr)
        return 0
    if args.engine == "ray" or args.address:
        raise MovieGenreError("--engine ray and --address work with --input FILE")
    if args.text is None and not args.poster:
        raise MovieGenreError(
            'give a plot: moviegenre predict "TEXT" (or --poster FILE, or --input FILE)'
        )
    text = None
    if args.text is not None:
        text = sys.stdin.read() if args.text == "-" else args.text
        if not text.strip():
            raise MovieGenreError("the plot is empty; give a few sentences describing the movie")
    from moviegenre.api import load_model, predict

    poster = None
    if args.poster:
        from moviegenre.images.reader import read_poster

        poster = read_poster(args.poster)  # a bad image stops here, before the model loads
    model = load_model(args.model, runtime=args.runtime)
    prediction = predict(text, model, poster=poster, language=args.language)
    if args.json:
        print(json.dumps(prediction.to_dict(), ensure_ascii=False))
    else:
        print(_format(prediction))
    return 0
