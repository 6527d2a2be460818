"""Run the app on a production WSGI server: gunicorn (preloaded, gthread), else waitress."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from moviegenre.errors import MovieGenreError


def _gunicorn_available() -> bool:
    if os.name == "nt":  # gunicorn needs fork(); it does not run on Windows
        return False
    try:
        import gunicorn.app.base  # noqa: F401
    except ImportError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gunicorn_options(
    host: str, port: int, workers: int, threads: int, timeout: int
) -> dict[str, Any]:
    """gunicorn settings, gthread workers.

    With several workers the app is preloaded in the master, so the model is loaded once and its
    pages are shared by the forked workers. With one worker (the default) the worker alone loads
    it: the master then stays small instead of holding a second copy of the model's libraries.
    """
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # A worker stuck longer than this is restarted; slow clients only hold one thread each.
        "timeout": timeout,
        "graceful_timeout": 10,
        "keepalive": 5,
        "preload_app": workers > 1,
        # Bound request line and headers; the body limit is the app's MAX_CONTENT_LENGTH.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "moviegenre",
    }


def serve(
    model_path: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    threads: int = 8,
    timeout: int = 30,
) -> None:
    """Load the model once, then serve until interrupted (never in debug mode)."""
    if workers < 1 or threads < 1:
        raise MovieGenreError("--workers and --threads must be at least 1")
    if not 0 <= port <= 65535:
        raise MovieGenreError(f"--port must be 0..65535, got {port}")
    from moviegenre.bundle.bundle import default_model_path, read_manifest
    from moviegenre.serving.app import create_app

    # Check the bundle (manifest, checksums, no unsafe files) before binding the port, so a bad
    # model stops here with a one-line error rather than inside a worker.
    read_manifest(model_path if model_path is not None else default_model_path())
    preload = workers > 1 or not _gunicorn_available()
    app = create_app(model_path=model_path) if preload else None
    if not is_loopback(host):
        print(f"moviegenre: warning: listening on {host}, reachable from other machines",
              file=sys.stderr)  # fmt: skip
    if _gunicorn_available():
        from gunicorn.app.base import BaseApplication

        class _Server(BaseApplication):
            def __init__(self, application: Any, options: dict[str, Any]) -> None:
                self.application = application
                self.options = options
                super().__init__()

            def load_config(self) -> None:
                for key, value in self.options.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                # One worker: the model is loaded here, in the worker, once at its start.
                return self.application or create_app(model_path=model_path)

        print(f"moviegenre: serving on http://{host}:{port} (gunicorn, {workers} workers x "
              f"{threads} threads)", file=sys.stderr)  # fmt: skip
        _Server(app, gunicorn_options(host, port, workers, threads, timeout)).run()
        return
    try:
        import waitress
    except ImportError:
        raise MovieGenreError(
            "no production web server available: install gunicorn (Linux, macOS) "
            "or waitress (Windows: pip install waitress)"
        ) from None
    print(f"moviegenre: serving on http://{host}:{port} (waitress, {threads} threads)",
          file=sys.stderr)  # fmt: skip
    waitress.serve(app, host=host, port=port, threads=threads, channel_timeout=timeout,
                   max_request_body_size=app.config["MAX_CONTENT_LENGTH"])  # fmt: skip
