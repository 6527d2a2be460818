"""Sixteen huge posters at once against `moviegenre serve`: answers, server memory, plot latency.

    OMP_NUM_THREADS=1 python benchmarks/hostile_posters.py --out runs/hostile-posters

Starts the real server (`python -m moviegenre serve`, shipped model, 127.0.0.1 only, its default
threads), has it answer one small poster (so the image network is loaded), then sends 16
concurrent requests, each with a different 39.7-megapixel PNG (5000 x 7940: eight 16-bit
greyscale, eight single-colour RGB, 80-200 KB each, made once and kept in --out), while one client
sends plot-only requests one after another. The server's process tree is sampled (RSS and PSS
summed over the tree) every 20 ms from before the storm to its end.

Reported, beside a reference taken in the same run (plot-only latency on the idle server):
answers by status, whether every 503 is JSON with Retry-After, peak growth of the tree's RSS and
PSS over its level after the small poster, and the plot-only latencies during the storm.
Targets (issue: posters that cannot take the server down): >= 12 of 16 answered 200, the rest
503 with Retry-After, no other 5xx; growth <= 400 MB; every plot-only answer within 2 s.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SIZE = (5000, 7940)  # 39.7 megapixels, under the 40 MP limit
PLOT = "Two detectives hunt a serial killer through a rain-soaked city."
GROWTH_LIMIT_MB = 400
PLOT_LIMIT_S = 2.0


def hostile_posters(folder: Path) -> list[Path]:
    """Eight 16-bit greyscale and eight single-colour RGB PNGs of SIZE, each different."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(8):
        path = folder / f"grey16-{i}.png"
        if not path.exists():
            rows = np.arange(SIZE[1], dtype=np.uint32)[:, None]
            # a vertical gradient with a different slope and band pattern per poster
            values = (rows * (3 + i) + (rows // (40 + 10 * i)) * 997) % 65536
            grey = np.broadcast_to(values.astype(np.uint16), (SIZE[1], SIZE[0]))
            Image.fromarray(np.ascontiguousarray(grey)).save(path, "PNG", compress_level=9)
        paths.append(path)
    for i in range(8):
        path = folder / f"rgb-{i}.png"
        if not path.exists():
            colour = (30 * i, 255 - 30 * i, (70 * i) % 256)
            Image.new("RGB", SIZE, colour).save(path, "PNG", compress_level=9)
        paths.append(path)
    for path in paths:
        size_kb = path.stat().st_size / 1024
        if not 80 <= size_kb <= 200:
            raise SystemExit(f"{path}: {size_kb:.0f} KB, outside 80-200 KB")
    return paths


def small_poster() -> bytes:
    image = Image.new("RGB", (300, 450), (180, 20, 20))
    image.paste((20, 20, 20), (0, 300, 300, 450))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(port: int, body: bytes, timeout: float = 120) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/api/v1/predict", body, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def poster_body(data: bytes) -> bytes:
    return json.dumps({"poster": base64.b64encode(data).decode("ascii")}).encode()


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """RSS and PSS summed over `pids`, in MB."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


class Sampler(threading.Thread):
    """Samples the server tree's memory every 20 ms until stopped; keeps the peaks."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop_event = pid, threading.Event()
        self.peak_rss = self.peak_pss = 0.0
        self.samples = 0

    def run(self) -> None:
        pids = tree(self.pid)
        while not self.stop_event.is_set():
            rss, pss = memory_mb(pids)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.samples += 1
            if self.samples % 50 == 0:
                pids = tree(self.pid)
            time.sleep(0.02)


def start_server(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "moviegenre", "serve", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOVIEGENRE_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start within 120 s")


def plot_latencies(port: int, count: int) -> list[float]:
    times = []
    body = json.dumps({"plot": PLOT}).encode()
    for _ in range(count):
        start = time.perf_counter()
        status, _, _ = post(port, body, timeout=60)
        times.append(time.perf_counter() - start)
        if status != 200:
            raise SystemExit(f"a plot-only request answered {status}")
    return times


def storm(port: int, posters: list[Path], pid: int) -> dict[str, Any]:
    bodies = [poster_body(p.read_bytes()) for p in posters]
    results: list[tuple[int, dict[str, str], bytes] | str] = [""] * len(bodies)
    sampler = Sampler(pid)
    sampler.start()
    time.sleep(0.3)  # a few samples of the level before the storm
    go = threading.Barrier(len(bodies) + 1)

    def send(i: int) -> None:
        go.wait()
        try:
            results[i] = post(port, bodies[i])
        except OSError as exc:
            results[i] = f"{type(exc).__name__}: {exc}"

    senders = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in senders:
        thread.start()
    go.wait()
    started = time.perf_counter()
    plots: list[float] = []
    body = json.dumps({"plot": PLOT}).encode()
    time.sleep(0.05)  # the posters are on their way first
    while any(thread.is_alive() for thread in senders):
        begin = time.perf_counter()
        status, _, _ = post(port, body, timeout=60)
        plots.append(time.perf_counter() - begin)
        if status != 200:
            plots[-1] = float("inf")
        time.sleep(0.05)
    storm_s = time.perf_counter() - started
    for thread in senders:
        thread.join()
    time.sleep(0.2)
    sampler.stop_event.set()
    sampler.join()
    statuses: dict[str, int] = {}
    busy_ok = True
    for result in results:
        if isinstance(result, str):
            statuses[result] = statuses.get(result, 0) + 1
            continue
        status, headers, payload = result
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status == 503:
            try:
                is_json = "error" in json.loads(payload)
            except ValueError:
                is_json = False
            busy_ok = busy_ok and is_json and headers.get("retry-after", "").isdigit()
    return {
        "statuses": statuses,
        "every_503_json_with_retry_after": busy_ok,
        "storm_s": round(storm_s, 2),
        "peak_rss_mb": round(sampler.peak_rss, 1),
        "peak_pss_mb": round(sampler.peak_pss, 1),
        "plot_requests": len(plots),
        "plot_max_s": round(max(plots), 3) if plots else None,
        "plot_p50_s": round(statistics.median(plots), 3) if plots else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/hostile-posters"))
    args = parser.parse_args()
    posters = hostile_posters(args.out / "posters")
    port = free_port()
    server = start_server(port)
    try:
        status, _, payload = post(port, poster_body(small_poster()))
        if status != 200:
            raise SystemExit(f"the small poster answered {status}: {payload[:200]!r}")
        idle = plot_latencies(port, 20)
        time.sleep(0.5)
        base_rss, base_pss = memory_mb(tree(server.pid))
        result = storm(port, posters, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result.update(
        poster_kb=[round(p.stat().st_size / 1024) for p in posters],
        base_rss_mb=round(base_rss, 1),
        base_pss_mb=round(base_pss, 1),
        growth_rss_mb=round(result["peak_rss_mb"] - base_rss, 1),
        growth_pss_mb=round(result["peak_pss_mb"] - base_pss, 1),
        idle_plot_p50_s=round(statistics.median(idle), 3),
        idle_plot_max_s=round(max(idle), 3),
    )
    ok_200 = result["statuses"].get("200", 0)
    others = {k: v for k, v in result["statuses"].items() if k not in ("200", "503")}
    result["targets_met"] = (
        ok_200 >= 12
        and not others
        and result["every_503_json_with_retry_after"]
        and result["growth_rss_mb"] <= GROWTH_LIMIT_MB
        and (result["plot_max_s"] or 0) <= PLOT_LIMIT_S
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"result-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(
        f"| {ok_200} / 16 | {result['statuses'].get('503', 0)} | {sum(others.values())} | "
        f"{result['growth_rss_mb']:.0f} / {result['growth_pss_mb']:.0f} MB | "
        f"{result['plot_requests']}, max {result['plot_max_s']} s, p50 {result['plot_p50_s']} s | "
        f"{result['idle_plot_p50_s']} s | {result['storm_s']} s |"
    )


if __name__ == "__main__":
    main()
