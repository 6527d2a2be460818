"""`moviegenre serve`: the web page and JSON API on a production WSGI server."""

from __future__ import annotations

import argparse

from moviegenre.cli.options import add_model_flag


def register(subparsers: argparse._SubParsersAction) -> None:
    from moviegenre.serving.server import (
        DEFAULT_CONNECTION_LIMIT,
        DEFAULT_THREADS,
        DEFAULT_TIMEOUT,
        MAX_THREADS,
    )

    parser = subparsers.add_parser(
        "serve",
        help="serve the web page and JSON API (waitress)",
        description="Serve the genre predictor page and the JSON API at /api/v1/. Listens on "
        "127.0.0.1 only unless --host says otherwise. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    add_model_flag(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"threads that run the model, 1..{MAX_THREADS} (default: {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        help="seconds a connection may stay silent before it is closed "
        f"(default: {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--connection-limit",
        type=int,
        default=DEFAULT_CONNECTION_LIMIT,
        help="open connections at most; more are answered 503 and closed "
        f"(default: {DEFAULT_CONNECTION_LIMIT})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from moviegenre.serving.server import serve

    serve(args.model, host=args.host, port=args.port, threads=args.threads,
          timeout=args.timeout, connection_limit=args.connection_limit)  # fmt: skip
    return 0
