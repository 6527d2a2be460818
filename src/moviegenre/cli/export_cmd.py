"""`moviegenre export --onnx`: add an ONNX Runtime export to a bundle and check its parity."""

from __future__ import annotations

import argparse
import sys

from moviegenre.errors import MovieGenreError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="add an ONNX export to a bundle (serving then needs no PyTorch)",
        description=(
            "Re-save a bundle with model.onnx, keeping its metrics and training record, after "
            "checking that ONNX Runtime and PyTorch give the same probabilities."
        ),
    )
    parser.add_argument("--model", required=True, metavar="DIR", help="bundle directory to update")
    parser.add_argument("--onnx", action="store_true", help="export to ONNX (the only target)")
    parser.add_argument(
        "--check-data", metavar="FILE",
        help="also compare on the plots of this file (any format the data readers read)",
    )  # fmt: skip
    parser.add_argument(
        "--check-rows", type=int, default=1000, metavar="N",
        help="at most this many plots from --check-data (default 1000)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _plots(path: str, limit: int) -> list[str]:
    from moviegenre.data.readers import iter_records

    plots = []
    for record in iter_records(path):
        if len(plots) >= limit:
            break
        if record.plot:
            plots.append(record.plot)
    return plots


def run(args: argparse.Namespace) -> int:
    if not args.onnx:
        raise MovieGenreError("choose an export target: moviegenre export --model DIR --onnx")
    from moviegenre.bundle.onnx_export import export_onnx

    plots = _plots(args.check_data, args.check_rows) if args.check_data else []
    result = export_onnx(args.model, plots)
    print(
        f"ONNX vs PyTorch max abs diff: {result.max_abs_diff:.2e} on {result.plots_checked} plots"
    )
    print(f"wrote {result.path / 'model.onnx'}", file=sys.stderr)
    return 0
