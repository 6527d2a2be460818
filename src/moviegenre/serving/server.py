"""Run the app on waitress: one event loop owns every connection, a few threads run the model."""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviegenre.errors import MovieGenreError

# Threads that run the app (and so the model); the event loop reads and writes every socket, so a
# slow client never holds one. Two cores: a few threads keep both busy while one waits on I/O.
DEFAULT_THREADS = 4
MAX_THREADS = 64
DEFAULT_CONNECTION_LIMIT = 1000
# Seconds a connection may stay silent (idle keep-alive, a stalled header or body) before closing.
DEFAULT_TIMEOUT = 30
MAX_HEADER_BYTES = 64 * 1024
# File descriptors beyond the connections: listener, wake-up pipe, model files, temp files, logs.
FD_RESERVE = 64

log = logging.getLogger("moviegenre.serve")


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def raise_open_file_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE to `needed` (at most the hard limit); return the soft limit.

    Every connection is a file descriptor; the usual soft limit of 1,024 is below the connection
    limit, and the poll loop (unlike select) has no limit of its own.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return needed
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed if soft == resource.RLIM_INFINITY else soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


@dataclass(frozen=True)
class ServerSettings:
    """What `moviegenre serve` tunes; everything else is waitress's default."""

    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = DEFAULT_THREADS
    timeout: int = DEFAULT_TIMEOUT
    connection_limit: int = DEFAULT_CONNECTION_LIMIT

    def check(self) -> None:
        if not 1 <= self.threads <= MAX_THREADS:
            raise MovieGenreError(f"--threads must be 1..{MAX_THREADS}, got {self.threads}")
        if self.timeout < 1:
            raise MovieGenreError(f"--timeout must be at least 1 second, got {self.timeout}")
        if self.connection_limit < 1:
            raise MovieGenreError(
                f"--connection-limit must be at least 1, got {self.connection_limit}"
            )
        if not 0 <= self.port <= 65535:
            raise MovieGenreError(f"--port must be 0..65535, got {self.port}")

    def adjustments(self, max_body_bytes: int) -> dict[str, Any]:
        """waitress settings (see waitress.adjustments.Adjustments)."""
        return {
            "host": self.host,
            "port": self.port,
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.timeout,
            # How often idle connections are looked for: a closed one is gone within 1.5 x timeout.
            "cleanup_interval": max(1, self.timeout // 2),
            # poll(), not select(): select fails past 1,024 open descriptors.
            "asyncore_use_poll": True,
            # waitress refuses bigger bodies itself, before buffering them (the answer is ours);
            # it refuses a body *of* its limit, the app allows one, hence the + 1.
            "max_request_body_size": max_body_bytes + 1,
            "max_request_header_size": MAX_HEADER_BYTES,
            "expose_tracebacks": False,
            "ident": "moviegenre",
        }


def build_server(app: Any, settings: ServerSettings) -> Any:
    """Bind a waitress server for `app` (a Flask app) with the app's body limit and JSON errors."""
    from waitress.adjustments import Adjustments

    from moviegenre.serving.app import ERROR_HINTS, too_large_hint
    from moviegenre.serving.service import app_limits
    from moviegenre.serving.waitress_server import LightFirstDispatcher, Server

    dispatcher = LightFirstDispatcher()
    dispatcher.set_thread_count(settings.threads)
    server = Server(
        app,
        adj=Adjustments(**settings.adjustments(int(app.config["MAX_CONTENT_LENGTH"]))),
        dispatcher=dispatcher,
    )
    server.error_hints = {**ERROR_HINTS, 413: too_large_hint(app_limits(app))}
    return server


def _quiet_waitress_logs() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # A client that goes away mid-request, or a queue of requests under load, is not news.
    logging.getLogger("waitress").setLevel(logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def serve(
    model_path: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 5000,
    threads: int = DEFAULT_THREADS,
    timeout: int = DEFAULT_TIMEOUT,
    connection_limit: int = DEFAULT_CONNECTION_LIMIT,
) -> None:
    """Load the model once, then serve until SIGTERM or Ctrl-C (never in debug mode).

    On SIGTERM or SIGINT the server stops accepting, answers the requests it has already read
    (for up to waitress_server.DRAIN_SECONDS) and returns.
    """
    settings = ServerSettings(host, port, threads, timeout, connection_limit)
    settings.check()
    from moviegenre.bundle.bundle import read_manifest
    from moviegenre.serving.app import create_app

    # Check the bundle (manifest, checksums, no unsafe files) before loading anything, so a bad
    # model stops here with a one-line error.
    read_manifest(model_path)
    soft = raise_open_file_limit(connection_limit + FD_RESERVE)
    if soft < connection_limit + FD_RESERVE:
        raise MovieGenreError(
            f"--connection-limit {connection_limit} needs {connection_limit + FD_RESERVE} open "
            f"files, but the hard limit is {soft}; lower --connection-limit or raise the limit "
            "(ulimit -Hn, LimitNOFILE= in systemd)"
        )
    app = create_app(model_path=model_path)
    _quiet_waitress_logs()
    try:
        server = build_server(app, settings)
    except OSError as exc:
        raise MovieGenreError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not is_loopback(host):
        print(f"moviegenre: warning: listening on {host}, reachable from other machines",
              file=sys.stderr)  # fmt: skip
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.stop())
    print(f"moviegenre: serving on http://{server.effective_host}:{server.effective_port} "
          f"(waitress, {threads} threads, up to {connection_limit} connections, "
          f"{timeout} s inactivity timeout)", file=sys.stderr, flush=True)  # fmt: skip
    server.serve_until_stopped()
    print("moviegenre: stopped", file=sys.stderr, flush=True)
