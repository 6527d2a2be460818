"""Load test of the real server: 10,000 requests from 32 clients, no errors, flat memory."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from server_fixture import needs_proc, running_server

TOTAL = int(os.environ.get("MOVIEGENRE_LOAD_REQUESTS", "10000"))
CLIENTS = 32
WINDOW = 1000  # memory is read after the first and after the last WINDOW requests
OVERSIZED = 20  # 2 MB bodies sent during the run
PLOTS = [
    "A haunted house where a ghost and a demon terrorise a family.",
    "Two strangers fall in love during a wedding in Paris.",
    "An alien spaceship lands and a robot must save the planet.",
    "A hilarious prank war between two wacky neighbours.",
    "A cop chases a gang through the city after an explosion.",
]

pytestmark = [pytest.mark.slow, needs_proc]


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


class Tally:
    """Shared counters; a lock keeps them exact across client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.issued = 0
        self.done = 0
        self.errors: list[str] = []
        self.rss_after_first: int | None = None
        self.first_window_done = threading.Event()

    def take(self) -> int | None:
        with self.lock:
            if self.issued >= TOTAL:
                return None
            self.issued += 1
            return self.issued

    def finish(self, error: str | None) -> None:
        with self.lock:
            self.done += 1
            if error:
                self.errors.append(error)
            if self.done == WINDOW:
                self.first_window_done.set()


def client_loop(port: int, tally: Tally) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        while (n := tally.take()) is not None:
            body = json.dumps({"plots": [PLOTS[n % 5]]} if n % 7 == 0 else {"plot": PLOTS[n % 5]})
            error = None
            try:
                conn.request("POST", "/api/v1/predict", body=body,
                             headers={"Content-Type": "application/json"})  # fmt: skip
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    error = f"status {response.status}: {payload[:200]!r}"
                elif not (json.loads(payload).get("genres") or json.loads(payload).get("results")):
                    error = f"empty answer {payload[:200]!r}"
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                conn.close()
            tally.finish(error)
    finally:
        conn.close()


def oversized_loop(port: int, results: list[int | str], stop: threading.Event) -> None:
    body = b'{"plot": "' + b"x" * (2 << 20) + b'"}'
    for _ in range(OVERSIZED):
        if stop.wait(0.5):
            return
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/api/v1/predict", body=body,
                         headers={"Content-Type": "application/json"})  # fmt: skip
            results.append(conn.getresponse().status)
        except (OSError, http.client.HTTPException) as exc:
            results.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()


def test_ten_thousand_requests(tfidf_bundle: Path, record_property) -> None:
    tally = Tally()
    oversized: list[int | str] = []
    stop = threading.Event()
    with running_server(tfidf_bundle) as server:
        pid = server.process.pid
        # A slow client: half a request, then silence for the whole run.
        slow = socket.create_connection(("127.0.0.1", server.port))
        slow.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(server.port, tally), daemon=True)
                   for _ in range(CLIENTS)]  # fmt: skip
        threads.append(threading.Thread(target=oversized_loop, args=(server.port, oversized, stop),
                                        daemon=True))  # fmt: skip
        for thread in threads:
            thread.start()
        assert tally.first_window_done.wait(300), "the first 1,000 requests did not finish"
        rss_first = rss_kib(pid)
        for thread in threads[:CLIENTS]:
            thread.join(timeout=600)
            assert not thread.is_alive(), "a client is stuck"
        elapsed = time.monotonic() - started
        rss_last = rss_kib(pid)
        stop.set()
        threads[-1].join(timeout=60)
        slow.close()
    growth = (rss_last - rss_first) / rss_first
    summary = (
        f"{tally.done} requests, {len(tally.errors)} errors, {elapsed:.1f} s "
        f"({tally.done / elapsed:.0f} req/s), RSS {rss_first / 1024:.1f} MiB after the first "
        f"{WINDOW}, {rss_last / 1024:.1f} MiB after the last {WINDOW} ({growth:+.1%}); "
        f"oversized: {oversized}"
    )
    print(summary)
    record_property("load_summary", summary)
    assert tally.done == TOTAL
    assert not tally.errors, tally.errors[:5]
    assert oversized and all(status == 413 for status in oversized), oversized
    # 10% is the target; shared CI machines are noisy, so the hard limit is 25%.
    assert growth < 0.25, summary
