"""Run the app on waitress: one event loop owns every connection, a few threads run the model."""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import sys
import time
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
# After SIGTERM: the requests already read get this long to be answered before the process exits.
DRAIN_SECONDS = 10
MAX_HEADER_BYTES = 64 * 1024
# Requests with a body up to this size (a plot, a few plots) are run before queued larger ones
# (posters, long batches), so a flood of posters never makes a plot wait behind it.
LIGHT_BODY_BYTES = 64 * 1024
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


def _error_answer(status: int, reason: str, message: str) -> tuple[list[tuple[str, str]], bytes]:
    from moviegenre.serving.app import SECURITY_HEADERS, error_document

    body = json.dumps(error_document(status, message)).encode()
    headers = [("Content-Type", "application/json"), *SECURITY_HEADERS.items()]
    return headers, body


def _refusal() -> bytes:
    """The whole answer sent to a connection over the limit before it is closed."""
    headers, body = _error_answer(
        503, "Service Unavailable", "too many open connections; try again shortly"
    )
    lines = ["HTTP/1.1 503 Service Unavailable", *(f"{k}: {v}" for k, v in headers),
             f"Content-Length: {len(body)}", "Retry-After: 1", "Connection: close"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def build_server(app: Any, settings: ServerSettings) -> Any:
    """Bind a waitress server for `app` (a Flask app) with the app's body limit and JSON errors."""
    from waitress import wasyncore
    from waitress.adjustments import Adjustments
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask, ThreadedTaskDispatcher

    from moviegenre.serving.app import ERROR_HINTS

    class JsonErrorTask(ErrorTask):
        """waitress's own answers (oversize body, malformed request) in the app's shape."""

        def execute(self) -> None:
            error = self.request.error
            message = ERROR_HINTS.get(error.code) or str(error.body)
            headers, body = _error_answer(error.code, error.reason, message)
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend(headers)
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class LightFirstDispatcher(ThreadedTaskDispatcher):
        """waitress's thread pool, with small requests first and a thread kept free for them.

        A task is a connection with its requests read. One whose first request has a body of at
        most LIGHT_BODY_BYTES (a plot) goes after the light tasks already queued and before any
        large one (a poster); large tasks keep their order. At most threads - 1 large tasks run
        at once (when there are 2 threads or more), so a flood of posters, each waiting for the
        decode gate, never holds every thread while plots wait behind it.
        """

        heavy_running = 0

        def add_task(self, task: Any) -> None:
            with self.lock:
                queue = self.queue
                if _is_light(task):
                    at = next((i for i, t in enumerate(queue) if not _is_light(t)), len(queue))
                    queue.insert(at, task)
                else:
                    queue.append(task)
                self.queue_cv.notify()

        def _runnable(self) -> bool:
            if not self.queue:
                return False
            if _is_light(self.queue[0]):  # light ones sit before every heavy one
                return True
            threads = len(self.threads) - self.stop_count
            return self.heavy_running < max(1, threads - 1)

        def handler_thread(self, thread_no: int) -> None:
            # waitress's loop (waitress/task.py), taking only what _runnable allows
            while True:
                with self.lock:
                    while not self._runnable() and self.stop_count == 0:
                        self.active_count -= 1
                        self.queue_cv.wait()
                        self.active_count += 1
                    if self.stop_count > 0:
                        self.active_count -= 1
                        self.stop_count -= 1
                        self.threads.discard(thread_no)
                        self.thread_exit_cv.notify()
                        break
                    task = self.queue.popleft()
                    heavy = not _is_light(task)
                    self.heavy_running += heavy
                try:
                    task.service()
                except BaseException:
                    self.logger.exception("Exception when servicing %r", task)
                finally:
                    if heavy:
                        with self.lock:
                            self.heavy_running -= 1
                            self.queue_cv.notify()

    class Channel(HTTPChannel):
        error_task_class = JsonErrorTask

        def readable(self) -> bool:
            # While draining, read no new request; the ones already read are still answered.
            return not self.server.draining and super().readable()

    class Server(TcpWSGIServer):
        channel_class = Channel
        draining = False
        stop_requested = False
        refused = 0
        refusal = _refusal()

        def readable(self) -> bool:
            # waitress stops accepting at the limit, which leaves new clients waiting in the
            # backlog; accepting and refusing them at once tells them to go elsewhere.
            now = time.time()
            if now >= self.next_channel_cleanup:
                self.next_channel_cleanup = now + self.adj.cleanup_interval
                self.maintenance(now)
            return self.accepting

        def handle_accept(self) -> None:
            if len(self.active_channels) < self.adj.connection_limit:
                super().handle_accept()
                return
            try:
                accepted = self.accept()
            except OSError:
                return
            if accepted is None:
                return
            conn = accepted[0]
            try:
                conn.setblocking(False)
                conn.send(self.refusal)
            except OSError:
                pass
            finally:
                conn.close()
            if self.refused == 0:
                log.warning("connection limit (%d) reached: refusing new connections with 503",
                            self.adj.connection_limit)  # fmt: skip
            self.refused += 1

        def stop(self) -> None:
            """Ask the loop to drain and return (from a signal handler or another thread)."""
            self.stop_requested = True

        def serve_until_stopped(self, drain_seconds: float = DRAIN_SECONDS) -> None:
            use_poll, timeout = self.adj.asyncore_use_poll, self.adj.asyncore_loop_timeout
            while not self.stop_requested:
                wasyncore.loop(timeout=timeout, map=self._map, use_poll=use_poll, count=1)
            self.drain(drain_seconds)

        def drain(self, seconds: float) -> None:
            """Stop accepting, answer the requests already read, close every other connection."""
            self.draining = True
            self.accepting = False
            wasyncore.dispatcher.close(self)  # the listening socket; the wake-up pipe stays
            deadline = time.monotonic() + seconds
            while True:
                busy = False
                for channel in list(self.active_channels.values()):
                    if channel.requests or channel.total_outbufs_len:
                        busy = True
                    else:
                        channel.handle_close()
                if not busy or time.monotonic() > deadline:
                    break
                wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
            self.task_dispatcher.shutdown(timeout=1)
            wasyncore.close_all(self._map)

    max_body = int(app.config["MAX_CONTENT_LENGTH"])
    dispatcher = LightFirstDispatcher()
    dispatcher.set_thread_count(settings.threads)
    return Server(app, adj=Adjustments(**settings.adjustments(max_body)), dispatcher=dispatcher)


def _is_light(task: Any) -> bool:
    """Whether a queued waitress task (a connection) carries a request with a small body."""
    requests = getattr(task, "requests", None)
    if not requests:
        return True
    return (getattr(requests[0], "content_length", 0) or 0) <= LIGHT_BODY_BYTES


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
    (for up to DRAIN_SECONDS) and returns.
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
