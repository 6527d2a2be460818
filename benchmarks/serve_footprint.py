"""Cold start, sequential latency and memory (PSS) of `moviegenre serve` through every lazy load.

Run it from the serving install (`pip install .`, no PyTorch), on a quiet machine:
    .venv/bin/python benchmarks/serve_footprint.py --port 5071
It starts the server, times the first /healthz answer, sends 300 plot requests, then one French
plot (loads the language detector) and one poster (loads the image network), and prints the
server's PSS after each step. Its figures are quoted in docs/api.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

PLOT = "Two detectives hunt a serial killer through a rain-soaked city."
FRENCH = "Un tueur à gages à la retraite reprend du service quand des gangsters tuent son chien."


def pss_mb(pid: int) -> float:
    """Proportional set size of the server process, in MB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no Pss line")


def post(port: int, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/predict",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5071)
    args = parser.parse_args()
    command = shutil.which("moviegenre", path=str(Path(sys.executable).parent))
    started = time.perf_counter()
    server = subprocess.Popen(
        [command, "serve", "--port", str(args.port)], stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.02)
        print(f"cold start to the first /healthz answer: {time.perf_counter() - started:.2f} s")
        print(f"PSS after start: {pss_mb(server.pid):.0f} MB")
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda _: post(args.port, {"plot": PLOT}), range(200)))
        latencies = []
        for _ in range(101):
            begin = time.perf_counter()
            post(args.port, {"plot": PLOT})
            latencies.append(time.perf_counter() - begin)
        latencies.sort()
        print(f"sequential p50: {latencies[50] * 1000:.1f} ms")
        print(f"PSS after 301 plot requests (32 at once): {pss_mb(server.pid):.0f} MB")
        codes = [w["code"] for w in post(args.port, {"plot": FRENCH})["warnings"]]
        print(f"French plot warnings: {codes}")
        image = io.BytesIO()
        Image.new("RGB", (128, 190), (200, 30, 30)).save(image, "JPEG")
        answer = post(
            args.port, {"plot": PLOT, "poster": base64.b64encode(image.getvalue()).decode()}
        )
        print(f"with a poster, inputs: {answer['inputs']}")
        print(f"PSS after the language detector and the image network loaded: "
              f"{pss_mb(server.pid):.0f} MB")  # fmt: skip
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
