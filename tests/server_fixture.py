"""`moviegenre serve` as a real process on a free loopback port, for the tests that need one."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


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

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def start_server(bundle: Path, *options: str, port: int | None = None) -> Server:
    """Start `moviegenre serve` on a free loopback port and wait until it answers /healthz."""
    port = port or free_port()
    command = [sys.executable, "-m", "moviegenre", "serve", "--model", str(bundle),
               "--port", str(port), *options]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(process, port)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if server.request("GET", "/healthz")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("server did not start within 60 s")
        time.sleep(0.05)


def stop_server(server: Server) -> str:
    """SIGTERM (the server drains and exits), then return its log (once; later calls: "")."""
    if server.process.stderr.closed:
        return ""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    log = server.process.stderr.read().decode()
    server.process.stderr.close()
    return log


@contextlib.contextmanager
def running_server(bundle: Path, *options: str) -> Iterator[Server]:
    """`moviegenre serve` on a free loopback port for the length of the block.

    Tests that read the log call stop_server inside the block; this one then does nothing.
    """
    server = start_server(bundle, *options)
    try:
        yield server
    finally:
        stop_server(server)
