"""`moviegenre data`: inspect a data file, convert between formats, import IMDb's lists."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from moviegenre.cli.options import add_labels_flag, add_reader_flags, reader_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="inspect, convert and import movie data files")
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _help(parser))

    inspect = commands.add_parser("inspect", help="count rows, skipped rows, genres, plot lengths")
    inspect.add_argument("path", help="data file (any supported format) or CMU corpus folder")
    inspect.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_reader_flags(inspect, imdb=True)
    add_labels_flag(inspect, default=None)
    inspect.set_defaults(func=run_inspect)

    convert = commands.add_parser(
        "convert", help="read any supported format, write .csv, .tsv, .jsonl or .parquet"
    )
    convert.add_argument("input", help="data file (any supported format)")
    convert.add_argument("output", help="file to write; its extension picks the format")
    add_reader_flags(convert, imdb=True)
    add_labels_flag(convert)
    convert.set_defaults(func=run_convert)

    imdb = commands.add_parser(
        "import-imdb", help="join IMDb's plot.list and genres.list into movies_genres.csv"
    )
    imdb.add_argument("plot_list", help="plot.list or plot.list.gz")
    imdb.add_argument("genres_list", help="genres.list or genres.list.gz")
    imdb.add_argument(
        "output",
        help="file to write: .csv/.tsv gives the movies_genres.csv layout (tab-separated, "
        "title, plot, one 0/1 column per IMDb genre); .jsonl/.parquet give records",
    )
    imdb.add_argument("--include-tv", action="store_true", help="keep TV series and episodes")
    imdb.add_argument("--aliases", metavar="FILE.json", help="extra genre aliases (JSON object)")
    imdb.set_defaults(func=run_import_imdb)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _progress(iterable, path: str):  # noqa: ANN001, ANN202 - a thin tqdm wrapper
    # disable=None: a bar on an interactive stderr only, never in logs or captured output.
    return tqdm(iterable, desc=f"reading {Path(path).name}", unit=" rows", disable=None)


def run_inspect(args: argparse.Namespace) -> int:
    from moviegenre.data.summary import label_choices, summarize

    options = reader_options(args)
    label_file = options.pop("labels", None)
    if label_file in ("tmdb", "as-written"):
        label_file = None  # both are always shown
    choices = label_choices(args.path, label_file, **options)  # a bad label file fails first
    summary = summarize(args.path, progress=lambda stream: _progress(stream, args.path), **options)
    summary["label_choices"] = choices
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(_human(summary))
    return 0


def _human(summary: dict) -> str:
    lines = [
        f"{summary['path']} ({summary['format']})",
        f"rows read:           {summary['rows']}",
        f"rows skipped:        {summary['skipped']}",
    ]
    lines += [f"  {count:>6}  {reason}" for reason, count in summary["skip_reasons"].items()]
    if summary["dropped"]:
        lines.append("left out by rule:")
        lines += [f"  {count:>6}  {reason}" for reason, count in summary["dropped"].items()]
    lines += [
        f"rows without plot:   {summary['without_plot']}",
        f"rows without genres: {summary['without_genres']}",
        "splits:              "
        + ", ".join(f"{name} {count}" for name, count in summary["splits"].items()),
        "genres:",
    ]
    lines += [f"  {count:>6}  {genre}" for genre, count in summary["genres"].items()]
    unmapped = summary["unmapped_genres"]
    lines.append("unmapped genres:     " + (", ".join(unmapped) if unmapped else "none"))
    stats = summary["plot_words"]
    lines.append(
        f"plot length (words): min {stats['min']}, median {stats['median']}, "
        f"mean {stats['mean']}, max {stats['max']}"
    )
    for choice, found in summary.get("label_choices", {}).items():
        lines.append(f"labels with --labels {choice}: {found['labels']}")
        lines += [f"  {count:>6}  {label}" for label, count in found["counts"].items()]
        if found["below_min_count"]:
            lines.append(f"  under min_count ({found['below_min']}): "
                         + ", ".join(found["below_min_count"]))  # fmt: skip
    return "\n".join(lines)


def run_convert(args: argparse.Namespace) -> int:
    from moviegenre.data.readers import iter_records
    from moviegenre.data.writers import output_format, write_records

    output_format(args.output)  # a bad extension fails before any reading
    stream = iter_records(args.input, **reader_options(args))
    written = write_records(_progress(stream, args.input), args.output)
    result = stream.result
    reasons = ", ".join(f"{c} {r}" for r, c in result.skip_reasons.most_common())
    print(
        f"wrote {written} records to {args.output}; skipped {result.skipped} damaged rows"
        + (f" ({reasons})" if reasons else ""),
        file=sys.stderr,
    )
    return 0


def run_import_imdb(args: argparse.Namespace) -> int:
    from moviegenre.data.imdb import join_imdb_lists, to_record, write_movies_genres
    from moviegenre.data.readers import detect_format
    from moviegenre.data.writers import output_format, write_records
    from moviegenre.errors import MovieGenreError

    if args.aliases:
        from moviegenre.genres import load_alias_file

        load_alias_file(args.aliases)
    kind = output_format(args.output)
    for path in (args.plot_list, args.genres_list):
        if detect_format(path) != "imdb-lists":
            raise MovieGenreError(f"{path}: not an IMDb list; expected plot.list or genres.list")
    titles, result = join_imdb_lists(args.plot_list, args.genres_list, args.include_tv)
    if kind in ("csv", "tsv"):
        columns = write_movies_genres(titles, args.output)
        detail = f"{len(columns)} genre columns"
    else:
        write_records((to_record(t) for t in titles), args.output)
        detail = kind
    left_out = ", ".join(f"{c} {r}" for r, c in result.dropped.most_common())
    print(
        f"wrote {len(titles)} titles to {args.output} ({detail})"
        + (f"; left out {left_out}" if left_out else "")
        + (f"; skipped {result.skipped} damaged lines" if result.skipped else ""),
        file=sys.stderr,
    )
    return 0
