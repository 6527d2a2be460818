"""`moviegenre serve` as a real gunicorn process on loopback: start-up, headers, slow clients."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from moviegenre.serving.server import gunicorn_options, is_loopback


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


@contextlib.contextmanager
def running_server(
    bundle: Path, workers: int = 2, threads: int = 4, timeout: int = 10
) -> Iterator[Server]:
    """Start `moviegenre serve` on a free loopback port; stop it (and its workers) afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "moviegenre", "serve", "--model", str(bundle),
               "--port", str(port), "--workers", str(workers), "--threads", str(threads),
               "--timeout", str(timeout)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if server.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()  # gunicorn's master stops its workers on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def rss_kib(pid: int) -> int:
    """Resident memory of a process and all its children, from /proc (no psutil)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pids.extend(int(c) for c in children)
    return total


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_gunicorn_options_preload_and_threads():
    options = gunicorn_options("127.0.0.1", 8000, 3, 5, 30)
    assert options["preload_app"] is True  # several workers share one preloaded model
    assert gunicorn_options("127.0.0.1", 8000, 1, 5, 30)["preload_app"] is False
    assert options["worker_class"] == "gthread"
    assert (options["workers"], options["threads"]) == (3, 5)
    assert options["bind"] == "127.0.0.1:8000"
    assert gunicorn_options("::1", 80, 1, 1, 5)["bind"] == "[::1]:80"


def test_serve_defaults_to_loopback_and_no_debug():
    from moviegenre.cli.main import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 5000
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
def test_real_server_answers_with_headers_and_limits(tfidf_bundle):
    with running_server(tfidf_bundle, workers=1, threads=2) as server:
        status, headers, body = server.request(
            "POST", "/api/v1/predict", json.dumps({"plot": "ghost"}).encode(),
            {"Content-Type": "application/json"},
        )  # fmt: skip
        assert status == 200 and "Horror" in json.loads(body)["genres"]
        assert headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Server"].startswith("gunicorn")
        status, _, body = server.request(
            "POST", "/api/v1/predict", b"x" * (2 << 20), {"Content-Type": "application/json"}
        )
        assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
        status, headers, _ = server.request("DELETE", "/api/v1/model")
        assert status == 405 and headers["Allow"]


@needs_proc
def test_slow_client_does_not_block_others(tfidf_bundle):
    with running_server(tfidf_bundle, workers=1, threads=2) as server:
        slow = socket.create_connection(("127.0.0.1", server.port))
        try:
            # Half a request: headers promise a body that never comes.
            slow.sendall(
                b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            time.sleep(0.5)
            started = time.monotonic()
            for _ in range(20):
                status, _, _ = server.request(
                    "POST",
                    "/api/v1/predict",
                    b'{"plot": "love"}',
                    {"Content-Type": "application/json"},
                )
                assert status == 200
            assert time.monotonic() - started < 15
        finally:
            slow.close()


def test_no_wsgi_server_is_a_clear_error(tfidf_bundle, monkeypatch):
    import builtins

    from moviegenre.errors import MovieGenreError
    from moviegenre.serving import server as server_module

    real_import = builtins.__import__

    def no_waitress(name, *args, **kwargs):
        if name == "waitress":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(server_module, "_gunicorn_available", lambda: False)
    monkeypatch.setattr(builtins, "__import__", no_waitress)
    with pytest.raises(MovieGenreError, match="waitress"):
        server_module.serve(tfidf_bundle, port=free_port())


@pytest.mark.parametrize(("workers", "threads"), [(0, 1), (1, 0)])
def test_serve_rejects_bad_worker_counts(workers, threads):
    from moviegenre.errors import MovieGenreError
    from moviegenre.serving.server import serve

    with pytest.raises(MovieGenreError, match="at least 1"):
        serve(None, workers=workers, threads=threads)
