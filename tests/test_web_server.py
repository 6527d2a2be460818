"""`moviegenre serve` as a real waitress process on loopback: answers, limits, timeouts, faults."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from server_fixture import free_port, needs_proc, running_server, start_server, stop_server

from moviegenre.models.base import Predictor
from moviegenre.serving.app import SECURITY_HEADERS
from moviegenre.serving.server import (
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_THREADS,
    DEFAULT_TIMEOUT,
    MAX_THREADS,
    ServerSettings,
    is_loopback,
    raise_open_file_limit,
)
from moviegenre.serving.service import Limits

MAX_BODY_BYTES = Limits().max_body_bytes

JSON = {"Content-Type": "application/json"}
# Headers that promise a JSON body; the tests send part of it, or none.
POST_HEAD = (
    b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n"
)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass  # an answer before the close is fine
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def assert_json_error(status: int, headers: dict[str, str], body: bytes, code: str) -> None:
    assert headers["Content-Type"].startswith("application/json"), (status, headers, body)
    for key, value in SECURITY_HEADERS.items():
        assert headers[key] == value, (key, headers)
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"], error


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_defaults_hold_against_slow_clients():
    settings = ServerSettings()
    options = settings.adjustments(MAX_BODY_BYTES)
    assert settings.host == "127.0.0.1"
    assert options["connection_limit"] == DEFAULT_CONNECTION_LIMIT >= 1000
    assert options["channel_timeout"] == DEFAULT_TIMEOUT >= 10
    assert options["cleanup_interval"] <= DEFAULT_TIMEOUT  # idle ones really do get closed
    assert options["asyncore_use_poll"] is True  # select() fails past 1,024 descriptors
    assert 1 <= options["threads"] == DEFAULT_THREADS <= MAX_THREADS <= 64
    assert options["max_request_body_size"] == MAX_BODY_BYTES + 1  # waitress refuses >= limit
    assert options["expose_tracebacks"] is False


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [("threads", 0, "--threads"), ("threads", 65, "--threads"), ("timeout", 0, "--timeout"),
     ("connection_limit", 0, "--connection-limit"), ("port", 70000, "--port")],
)  # fmt: skip
def test_bad_settings_are_one_line_errors(field, value, flag):
    from moviegenre.errors import MovieGenreError

    with pytest.raises(MovieGenreError, match=flag):
        ServerSettings(**{field: value}).check()


def test_open_file_limit_is_raised_to_what_connections_need():
    resource = pytest.importorskip("resource", reason="no RLIMIT_NOFILE on this platform")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if soft > 64:  # lower it first, so raising it is what the call has to do
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        want = 2000 if hard == resource.RLIM_INFINITY else min(2000, hard)
        assert raise_open_file_limit(2000) == want
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == want
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_serve_defaults_to_loopback_and_no_debug():
    from moviegenre.cli.main import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 5000
    assert args.connection_limit >= 1000 and args.timeout >= 10 and args.threads <= 64
    assert not hasattr(args, "debug")


def test_serve_rejects_a_missing_bundle(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "moviegenre", "serve", "--model", str(tmp_path / "nope"),
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "moviegenre: error:" in result.stderr and "nope" in result.stderr


@needs_proc
def test_every_answer_has_headers_and_errors_are_json(tfidf_bundle):
    with running_server(tfidf_bundle) as server:
        status, headers, body = server.request(
            "POST", "/api/v1/predict", json.dumps({"plot": "ghost"}).encode(), JSON
        )
        assert status == 200 and "Horror" in json.loads(body)["genres"]
        assert headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Server"] == "moviegenre"
        # Over the body limit: refused by the server from the Content-Length, body unread.
        status, headers, body = server.request(
            "POST", "/api/v1/predict", b"x" * (MAX_BODY_BYTES + 1), JSON
        )
        assert status == 413
        assert_json_error(status, headers, body, "payload_too_large")
        # Chunked, so the server only learns the size while reading.
        chunks = (b"x" * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2))
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("POST", "/api/v1/predict", body=chunks, headers=JSON,
                         encode_chunked=True)  # fmt: skip
            response = conn.getresponse()
            assert response.status == 413
            assert_json_error(
                413, dict(response.getheaders()), response.read(), "payload_too_large"
            )
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before the client has sent everything
        finally:
            conn.close()
        status, headers, body = server.request("DELETE", "/api/v1/model")
        assert status == 405 and headers["Allow"]
        assert_json_error(status, headers, body, "method_not_allowed")
        status, headers, body = server.request("GET", "/api/v1/nope")
        assert_json_error(status, headers, body, "not_found")
        status, headers, body = server.request("POST", "/api/v1/predict", b"{}", {})
        assert status == 415
        assert_json_error(status, headers, body, "unsupported_media_type")
        status, headers, body = server.request("POST", "/api/v1/predict", b"[", JSON)
        assert status == 400
        assert_json_error(status, headers, body, "bad_request")
        # Requests the server itself rejects before the app sees them.
        status, headers, body = server.request(
            "GET", "/healthz", headers={"X-Big": "y" * (128 * 1024)}
        )
        assert status == 431
        assert_json_error(status, headers, body, "headers_too_large")
        sock = server.connect()
        sock.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):  # the server closes after an error answer
            answer += chunk
        sock.close()
        head, _, raw = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer
        assert b"X-Frame-Options: DENY" in head
        assert json.loads(raw)["error"]["code"] == "bad_request"
        assert "Traceback" not in stop_server(server)


@needs_proc
def test_connections_past_the_limit_are_refused_not_left_waiting(tfidf_bundle):
    with running_server(tfidf_bundle, "--connection-limit", "5") as server:
        held = []
        for _ in range(5):  # an answered request: the server has accepted the connection
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200 and response.read()
            held.append(conn)
        try:
            extra = server.connect()
            extra.settimeout(5)
            answer = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := extra.recv(4096):  # answered and closed, not left hanging
                    answer += chunk
            extra.close()
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503"), answer
            assert b"X-Content-Type-Options: nosniff" in head
            assert json.loads(body)["error"]["code"] == "service_unavailable"
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.3)
        assert server.request("GET", "/healthz")[0] == 200  # room again once they left


@needs_proc
def test_silent_and_stalled_connections_are_closed_after_the_timeout(tfidf_bundle):
    with running_server(tfidf_bundle, "--timeout", "2") as server:
        silent = server.connect()
        stalled_header = server.connect()
        stalled_header.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        stalled_body = server.connect()
        stalled_body.sendall(POST_HEAD % 50 + b"{")
        idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read()
        trickling = server.connect()
        trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        # A byte every half second keeps a connection open past the timeout.
        while time.monotonic() - started < 4:
            trickling.sendall(b"a")
            time.sleep(0.5)
        for sock in (silent, stalled_header, stalled_body, idle.sock):
            assert closed_by_server(sock, within=4)
        assert not closed_by_server(trickling, within=0.2)
        trickling.sendall(b"\r\n\r\n")  # and it is still served once it finishes
        trickling.settimeout(10)
        assert trickling.recv(4096).startswith(b"HTTP/1.1 200")
        for sock in (silent, stalled_header, stalled_body, trickling):
            sock.close()
        idle.close()


@needs_proc
def test_clients_that_disconnect_mid_request_cost_nothing(tfidf_bundle):
    with running_server(tfidf_bundle, "--threads", "2") as server:
        for _ in range(20):
            sock = server.connect()  # half a body, then gone
            sock.sendall(POST_HEAD % 40 + b"{")
            sock.close()
            sock = server.connect()  # a whole request, gone before the answer
            body = json.dumps({"plots": ["a ghost story"] * 200}).encode()
            sock.sendall(POST_HEAD % len(body) + body)
            # Linger on, zero seconds: the close is a reset, as when a client crashes.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        status, _, body = server.request("POST", "/api/v1/predict", b'{"plot": "love"}', JSON)
        assert status == 200 and json.loads(body)["genres"]
        time.sleep(0.5)
        fds = len(os.listdir(f"/proc/{server.process.pid}/fd"))
        log = stop_server(server)
    assert "Traceback" not in log and "Exception" not in log, log
    assert fds < 30  # nothing of the dropped clients is still open


class SlowModel(Predictor):
    """A model whose predictions wait until the test lets them finish."""

    def __init__(self) -> None:
        super().__init__(["Horror", "Comedy"])
        self.metadata = {"model_type": "slow"}
        self.entered = threading.Event()
        self.release = threading.Event()

    def predict_raw(self, plots):
        self.entered.set()
        assert self.release.wait(30)
        return np.full((len(plots), 2), 0.9, dtype=np.float32)


def test_stop_answers_requests_in_flight_then_returns():
    from moviegenre.serving.app import create_app
    from moviegenre.serving.server import build_server

    model = SlowModel()
    server = build_server(create_app(model=model), ServerSettings(port=0, threads=2))
    port = int(server.effective_port)
    loop = threading.Thread(target=server.serve_until_stopped, daemon=True)
    loop.start()
    idle = socket.create_connection(("127.0.0.1", port))  # an idle keep-alive client
    answers: list[int] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/v1/predict", b'{"plot": "ghost"}', JSON)
        answers.append(conn.getresponse().status)

    requester = threading.Thread(target=client)
    requester.start()
    assert model.entered.wait(10)
    server.stop()  # what SIGTERM does
    time.sleep(1.5)  # the loop has noticed: it no longer accepts, it waits for the request
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert closed_by_server(idle, within=2)  # nothing in flight there: closed
    assert loop.is_alive()
    model.release.set()
    requester.join(10)
    loop.join(10)
    assert answers == [200]  # the request in flight was answered
    assert not loop.is_alive()


@needs_proc
def test_sigterm_stops_the_server_cleanly(tfidf_bundle):
    server = start_server(tfidf_bundle)
    slow = [server.connect() for _ in range(20)]
    for sock in slow[:10]:
        sock.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\n")
    server.process.send_signal(signal.SIGTERM)
    log = stop_server(server)
    # 0: it exited by itself, slow clients did not hold it (stop_server kills after 30 s);
    # how fast it stops is measured by benchmarks/slow_clients.py
    assert server.process.returncode == 0
    assert "moviegenre: stopped" in log and "Traceback" not in log
    for sock in slow:
        sock.close()


@needs_proc
def test_a_restarted_server_answers_on_the_same_port(tfidf_bundle):
    """Under a restart policy (docs/api.md), a killed server comes back on its port at once."""
    first = start_server(tfidf_bundle)
    client = first.connect()  # an open connection leaves the port in TIME_WAIT once killed
    first.process.kill()
    first.process.wait()
    stop_server(first)
    client.close()
    second = start_server(tfidf_bundle, port=first.port)  # binds despite TIME_WAIT
    try:
        status, _, _ = second.request("POST", "/api/v1/predict", b'{"plot": "ghost"}', JSON)
        # how soon it answers (the 2 s target) is measured by benchmarks/slow_clients.py
        assert status == 200
    finally:
        stop_server(second)


def test_small_requests_are_run_before_queued_large_ones():
    from types import SimpleNamespace

    from moviegenre.serving.app import create_app
    from moviegenre.serving.server import build_server
    from moviegenre.serving.waitress_server import LIGHT_BODY_BYTES

    server = build_server(create_app(model=SlowModel()), ServerSettings(port=0, threads=1))
    dispatcher = server.task_dispatcher
    started, release, order = threading.Event(), threading.Event(), []

    class Task:
        def __init__(self, name: str, body: int) -> None:
            self.name, self.requests = name, [SimpleNamespace(content_length=body)]

        def service(self) -> None:
            if self.name == "first":
                started.set()
                release.wait(10)
            order.append(self.name)

    try:
        dispatcher.add_task(Task("first", 10))
        assert started.wait(10)  # the one thread is busy: everything below queues
        for name, body in [("poster 1", 200_000), ("plot 1", 50), ("poster 2", 300_000),
                           ("plot 2", LIGHT_BODY_BYTES)]:  # fmt: skip
            dispatcher.add_task(Task(name, body))
        release.set()
        deadline = time.monotonic() + 10
        while len(order) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert order == ["first", "plot 1", "plot 2", "poster 1", "poster 2"]
    finally:
        release.set()
        dispatcher.shutdown(timeout=1)
        server.close()


def test_large_requests_never_hold_every_thread():
    from types import SimpleNamespace

    from moviegenre.serving.app import create_app
    from moviegenre.serving.server import build_server

    server = build_server(create_app(model=SlowModel()), ServerSettings(port=0, threads=2))
    dispatcher = server.task_dispatcher
    release, order, started = threading.Event(), [], threading.Event()

    class Task:
        def __init__(self, name: str, body: int) -> None:
            self.name, self.requests = name, [SimpleNamespace(content_length=body)]

        def service(self) -> None:
            order.append(self.name)
            if self.name == "poster 1":
                started.set()
                release.wait(10)

    try:
        dispatcher.add_task(Task("poster 1", 200_000))
        assert started.wait(10)
        dispatcher.add_task(Task("poster 2", 200_000))  # a thread is idle, yet it must wait
        dispatcher.add_task(Task("plot", 50))
        deadline = time.monotonic() + 10
        while "plot" not in order and time.monotonic() < deadline:
            time.sleep(0.01)
        assert order == ["poster 1", "plot"]  # the second thread stayed free for the plot
        release.set()
        while len(order) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert order == ["poster 1", "plot", "poster 2"]
    finally:
        release.set()
        dispatcher.shutdown(timeout=1)
        server.close()
