"""`moviegenre serve`: the web page and JSON API on a production WSGI server."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the web page and JSON API (gunicorn)",
        description="Serve the genre predictor page and the JSON API at /api/v1/. Listens on "
        "127.0.0.1 only unless --host says otherwise.",
    )
    parser.add_argument("--model", metavar="DIR", help="model bundle (default: the shipped model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default: 8)")
    parser.add_argument(
        "--timeout", type=int, default=30, help="seconds before a stuck worker is restarted"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from moviegenre.serving.server import serve

    serve(args.model, host=args.host, port=args.port, workers=args.workers,
          threads=args.threads, timeout=args.timeout)  # fmt: skip
    return 0
