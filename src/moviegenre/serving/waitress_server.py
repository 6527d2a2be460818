"""The waitress classes the app is served with: JSON error answers of the server's own, a refusal
at the connection limit, the drain on SIGTERM, and a thread pool that runs plots before posters
(built by `server.build_server`)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from moviegenre.serving.app import SECURITY_HEADERS, error_document

log = logging.getLogger("moviegenre.serve")
# After SIGTERM: the requests already read get this long to be answered before the process exits.
DRAIN_SECONDS = 10
# Requests with a body up to this size (a plot, a few plots) are run before queued larger ones
# (posters, long batches), so a flood of posters never makes a plot wait behind it.
LIGHT_BODY_BYTES = 64 * 1024


def error_answer(status: int, message: str) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of an error the server answers itself, in the app's shape."""
    body = json.dumps(error_document(status, message)).encode()
    headers = [("Content-Type", "application/json"), *SECURITY_HEADERS.items()]
    return headers, body


def refusal_answer() -> bytes:
    """The whole answer sent to a connection over the limit before it is closed."""
    headers, body = error_answer(503, "too many open connections; try again shortly")
    lines = ["HTTP/1.1 503 Service Unavailable", *(f"{k}: {v}" for k, v in headers),
             f"Content-Length: {len(body)}", "Retry-After: 1", "Connection: close"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class JsonErrorTask(ErrorTask):
    """waitress's own answers (oversize body, malformed request) in the app's shape."""

    def execute(self) -> None:
        error = self.request.error
        message = self.channel.server.error_hints.get(error.code) or str(error.body)
        headers, body = error_answer(error.code, message)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class Channel(HTTPChannel):
    """A connection that reads no new request while the server drains."""

    error_task_class = JsonErrorTask

    def readable(self) -> bool:
        # While draining, read no new request; the ones already read are still answered.
        return not self.server.draining and super().readable()


class Server(TcpWSGIServer):
    """waitress's server with a refusal at the connection limit and a drain on stop.

    error_hints: the app's messages for the errors waitress answers itself (by status).
    """

    channel_class = Channel
    error_hints: dict[int, str] = {}  # set per server by build_server
    draining = False
    stop_requested = False
    refused = 0
    refusal = refusal_answer()

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
            if is_light(task):
                at = next((i for i, t in enumerate(queue) if not is_light(t)), len(queue))
                queue.insert(at, task)
            else:
                queue.append(task)
            self.queue_cv.notify()

    def _runnable(self) -> bool:
        if not self.queue:
            return False
        if is_light(self.queue[0]):  # light ones sit before every heavy one
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
                heavy = not is_light(task)
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


def is_light(task: Any) -> bool:
    """Whether a queued waitress task (a connection) carries a request with a small body."""
    requests = getattr(task, "requests", None)
    if not requests:
        return True
    return (getattr(requests[0], "content_length", 0) or 0) <= LIGHT_BODY_BYTES
