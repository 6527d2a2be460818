"""Slow clients against `moviegenre serve`: normal requests with and without hundreds of
connections that trickle headers or bodies (or say nothing), and the server's memory, threads and
open files before, during and after. Loopback only; bounded in requests and time.

    python benchmarks/slow_clients.py                      # 2,000 requests from 32 clients
    python benchmarks/slow_clients.py --write-docs         # and update BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from moviegenre.files import write_text_atomic

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "BENCHMARKS.md"
START, END = "<!-- slow-clients:start -->", "<!-- slow-clients:end -->"
PLOTS = [
    "A haunted house where a ghost and a demon terrorise a family.",
    "Two strangers fall in love during a wedding in Paris.",
    "An alien spaceship lands and a robot must save the planet.",
    "A hilarious prank war between two wacky neighbours.",
    "A cop chases a gang through the city after an explosion.",
]
BODIES = [json.dumps({"plot": p}).encode() for p in PLOTS]
JSON = {"Content-Type": "application/json"}
HARD_DEADLINE_S = 300  # the whole run stops by itself after this, whatever happens
RUNNING: list[subprocess.Popen] = []  # servers to kill if the deadline passes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_stats(pid: int) -> dict[str, float]:
    """Threads, resident and proportional memory (MB) and open descriptors of a process and its
    children (servers that fork workers), from /proc."""
    totals = {"threads": 0, "rss_mb": 0.0, "pss_mb": 0.0, "fds": 0}
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            fds = len(os.listdir(f"/proc/{current}/fd"))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pss = next(int(ln.split()[1]) for ln in rollup.splitlines() if ln.startswith("Pss:"))
        totals["threads"] += int(fields["Threads"])
        totals["rss_mb"] += int(fields["VmRSS"].split()[0]) / 1024
        totals["pss_mb"] += pss / 1024
        totals["fds"] += fds
        pids.extend(int(c) for c in children)
    return totals


class Server:
    """`moviegenre serve` with its default settings on a free loopback port."""

    def __init__(self, model: Path | None = None, other: str | None = None) -> None:
        self.port = free_port()
        self.command = [sys.executable, "-m", "moviegenre", "serve", "--port", str(self.port),
                        *(["--model", str(model)] if model else [])]  # fmt: skip
        if other:  # another server for the same app, to compare (see server_variants.py)
            self.command = shlex.split(other.format(port=self.port, python=sys.executable))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # A file, not a pipe: a server that logs every request would fill a pipe and stall.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )
        RUNNING.append(self.process)
        deadline = time.monotonic() + 60
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start: {self.stop()[-2000:]}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def stop(self) -> str:
        """SIGTERM, wait, and return what the server wrote."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log.closed:
            return ""
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


def run_load(port: int, requests: int, clients: int) -> dict[str, Any]:
    """`requests` predict calls from `clients` keep-alive clients; latencies and errors."""
    counter = iter(range(requests))
    lock = threading.Lock()

    def client(_: int) -> tuple[list[float], list[str]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        times, errors = [], []
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            start = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/predict", BODIES[n % len(BODIES)], JSON)
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200 or "genres" not in json.loads(payload):
                    errors.append(f"status {response.status}: {payload[:120]!r}")
                else:
                    times.append(time.perf_counter() - start)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
        conn.close()
        return times, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - start
    times = sorted(t for ts, _ in outcomes for t in ts)
    errors = [e for _, es in outcomes for e in es]
    return {
        "requests": requests,
        "clients": clients,
        "ok": len(times),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_ms": 1000 * statistics.median(times) if times else None,
        "p99_ms": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))] if times else None,
        "seconds": elapsed,
        "rps": requests / elapsed,
    }


class SlowClients:
    """Connections that never finish a request: they trickle header bytes, trickle body bytes,
    or say nothing at all. One thread sends each trickling connection a byte every `interval`
    seconds, which keeps it clear of the server's inactivity timeout."""

    def __init__(self, port: int, headers: int, bodies: int, silent: int, interval: float):
        self.interval = interval
        self.kinds: dict[str, list[socket.socket]] = {"headers": [], "bodies": [], "silent": []}
        for kind, count in (("headers", headers), ("bodies", bodies), ("silent", silent)):
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                if kind == "headers":
                    sock.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                elif kind == "bodies":
                    sock.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Type: application/json\r\nContent-Length: 100000\r\n"
                                 b'\r\n{"plot": "')  # fmt: skip
                sock.setblocking(False)
                self.kinds[kind].append(sock)
        self.stop_event = threading.Event()
        self.send_errors = 0
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        socks = self.kinds["headers"] + self.kinds["bodies"]
        if not socks:
            return
        step = self.interval / len(socks)  # spread the bytes evenly over the interval
        i = 0
        while not self.stop_event.wait(step if step >= 0.001 else 0):
            try:
                socks[i % len(socks)].send(b"a")
            except OSError:
                self.send_errors += 1
            i += 1

    def still_open(self) -> dict[str, int]:
        """How many of each kind the server has not closed (no EOF, no reset)."""
        counts = {}
        for kind, socks in self.kinds.items():
            n = 0
            for sock in socks:
                try:
                    if sock.recv(1024) == b"":  # EOF, or an answer followed by a close
                        continue
                except BlockingIOError:
                    n += 1  # nothing to read: the connection is still waiting on us
                except OSError:
                    continue
            counts[kind] = n
        return counts

    def close(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)
        for socks in self.kinds.values():
            for sock in socks:
                sock.close()


def measure(
    model: Path | None,
    requests: int,
    clients: int,
    headers: int,
    bodies: int,
    silent: int,
    interval: float,
    other: str | None = None,
) -> dict[str, Any]:
    """One run: baseline load, the same load with the slow clients held, then release."""
    started = time.monotonic()
    server = Server(model, other)
    pid = server.process.pid
    result: dict[str, Any] = {"server": other or "moviegenre serve"}
    slow = None
    try:
        run_load(server.port, min(100, requests), clients)  # warm-up: connections, caches
        result["before"] = process_stats(pid)
        result["baseline"] = run_load(server.port, requests, clients)
        slow = SlowClients(server.port, headers, bodies, silent, interval)
        time.sleep(min(2.0, interval))  # every trickling connection has sent a byte since
        result["held"] = process_stats(pid)
        result["loaded"] = run_load(server.port, requests, clients)
        result["during"] = process_stats(pid)
        result["slow_open_after"] = slow.still_open()
        result["slow_total"] = {k: len(v) for k, v in slow.kinds.items()}
        result["slow_send_errors"] = slow.send_errors
        slow.close()
        slow = None
        # The server notices each close on its next loop turn; give it a moment, bounded.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            after = process_stats(pid)
            if after["fds"] <= result["before"]["fds"] + 2:
                break
            time.sleep(0.2)
        result["after"] = after
        result["after_load"] = run_load(server.port, min(200, requests), clients)
    finally:
        if slow is not None:
            slow.close()
        stderr = server.stop()
    result["server_exit_code"] = server.process.returncode
    result["tracebacks_in_log"] = stderr.count("Traceback")
    result["ratio"] = result["loaded"]["p50_ms"] / result["baseline"]["p50_ms"]
    result["seconds"] = time.monotonic() - started
    return result


def measure_restart(model: Path | None) -> float:
    """Seconds from starting a server on the port of a SIGKILLed one to its first answer."""
    first = Server(model)
    port = first.port
    first.process.kill()
    first.process.wait()
    first.stop()
    started = time.perf_counter()
    command = [sys.executable, "-m", "moviegenre", "serve", "--port", str(port),
               *(["--model", str(model)] if model else [])]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    RUNNING.append(process)
    try:
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", "/api/v1/predict", BODIES[0], JSON)
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if process.poll() is not None or time.perf_counter() - started > 60:
                raise RuntimeError("the restarted server did not answer")
            time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(timeout=30)


def table(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| run | load | errors | p50 (ms) | p99 (ms) | req/s | server threads | PSS (MB) | "
        "open files |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        for name, load, stats in (("without slow clients", r["baseline"], r["before"]),
                                  ("with slow clients", r["loaded"], r["during"]),
                                  ("after they left", r["after_load"], r["after"])):  # fmt: skip
            lines.append(
                f"| {i} | {name} | {load['errors']} of {load['requests']} | "
                f"{load['p50_ms']:.1f} | {load['p99_ms']:.1f} | {load['rps']:.0f} | "
                f"{stats['threads']} | {stats['pss_mb']:.0f} | {stats['fds']} |"
            )
    return lines


def report(runs: list[dict[str, Any]], command: str) -> str:
    r = runs[0]
    total = sum(r["slow_total"].values())
    kinds = ", ".join(f"{n} {k}" for k, n in r["slow_total"].items())
    lines = [
        START,
        "## Slow clients (`moviegenre serve`, default settings, loopback)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with:",
        "",
        f"    {command}",
        "",
        f"{r['baseline']['requests']:,} `POST /api/v1/predict` requests from "
        f"{r['baseline']['clients']} keep-alive clients, first alone, then while {total} slow "
        f"connections stay open ({kinds}; the trickling ones send a byte every few seconds), "
        "then again after the slow clients closed; two runs, each against a fresh server.",
        "",
        *table(runs),
        "",
    ]
    for i, run in enumerate(runs, 1):
        open_after = ", ".join(f"{run['slow_open_after'][k]} of {n} {k}"
                               for k, n in run["slow_total"].items())  # fmt: skip
        lines.append(
            f"- Run {i}: p50 with slow clients / without = {run['ratio']:.2f}; still open after "
            f"the load: {open_after}; tracebacks in the server log: {run['tracebacks_in_log']}."
        )
    if "restart_s" in r:
        lines.append(
            f"- A server started on the port of a SIGKILLed one answered its first predict "
            f"request {r['restart_s']:.2f} s after it was started."
        )
    lines += ["", END]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace the slow-client section of BENCHMARKS.md (benchmarks/run.py keeps it)."""
    current = OUT.read_text(encoding="utf-8") if OUT.exists() else "# Benchmarks\n"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        tail = rest.split(END, 1)[1]
        updated = head + text + tail
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    write_text_atomic(OUT, updated)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="bundle to serve (default: the shipped model)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--trickle-headers", type=int, default=250)
    parser.add_argument("--trickle-bodies", type=int, default=250)
    parser.add_argument("--silent", type=int, default=100)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between bytes")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--server",
        help="measure another server instead: a command with {port} and {python} "
        "(see benchmarks/server_variants.py)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--write-docs", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "benchmarks/slow_clients.py",
                          *(argv if argv is not None else sys.argv[1:])])  # fmt: skip

    def give_up() -> None:
        print(f"[slow clients] stopped after {HARD_DEADLINE_S} s", file=sys.stderr, flush=True)
        for process in RUNNING:
            process.kill()
        os._exit(3)

    timer = threading.Timer(HARD_DEADLINE_S, give_up)
    timer.daemon = True
    timer.start()
    runs = []
    for i in range(args.runs):
        print(f"[slow clients] run {i + 1} of {args.runs}...", file=sys.stderr)
        slow = (args.trickle_headers, args.trickle_bodies, args.silent)
        runs.append(measure(args.model, args.requests, args.clients, *slow, args.interval,
                            args.server))  # fmt: skip
    if args.write_docs and not args.server:
        runs[0]["restart_s"] = measure_restart(args.model)
    text = report(runs, command)
    print(text)
    if args.json:
        write_text_atomic(args.json, json.dumps(runs, indent=2))
    if args.write_docs and not args.server:
        write_docs(text)
    timer.cancel()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
