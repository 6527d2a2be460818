"""What calibration and answer warnings cost: cold start, `predict --input`, server memory.

Each figure is measured for this tree and for a reference commit from before calibration and
warnings (its `src/`, extracted with `git archive`, run with this interpreter and PYTHONPATH), in
alternating order, in two rounds, so the ratio compares runs that shared the machine's load:

- cold start: a fresh process imports moviegenre, loads the shipped model and answers one plot
  (median of 3 per round);
- `moviegenre predict --input` on ROWS corpus plots, one worker: plots per second;
- `moviegenre serve`: peak PSS of the server's process tree after 300 English plots and then
  plots in French, German and Spanish (which load the language identifier).

    python benchmarks/calibration_speed.py --reference ba898a3

Writes the "Calibration and answer warnings" section of BENCHMARKS.md (benchmarks/run.py keeps
it) and benchmarks/.cache/calibration_speed.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402  (run.py pins every thread pool on import)
    CACHE,
    OUT,
    RssSampler,
    corpus_plots,
    free_port,
    machine_info,
    make_input,
    run_measured,
    wait_until_serving,
)

from moviegenre.files import write_text_atomic  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ROWS = 20_000
SECTION = "## Calibration and answer warnings"
BEGIN, END = "<!-- calibration-speed:start -->", "<!-- calibration-speed:end -->"
FOREIGN = REPO / "tests" / "fixtures" / "out_of_reach_plots.json"


def reference_tree(rev: str) -> Path:
    """The reference commit's src/ under benchmarks/.cache (extracted once)."""
    target = CACHE / f"reference-{rev}"
    if not (target / "src" / "moviegenre").is_dir():
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"],
                                 capture_output=True, check=True).stdout  # fmt: skip
        with tempfile.TemporaryFile() as handle:
            handle.write(archive)
            handle.seek(0)
            with tarfile.open(fileobj=handle) as tar:
                tar.extractall(target, filter="data")
    return target / "src"


def env_for(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def cold_start(src: Path) -> float:
    code = (
        "import time; t=time.perf_counter(); from moviegenre.api import load_model, predict; "
        "predict('A ghost haunts an old house.', load_model()); print(time.perf_counter()-t)"
    )
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env_for(src))  # fmt: skip
        runs.append(float(out.stdout.split()[-1]))
    return statistics.median(runs)


def batch(src: Path, source: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cmd = [sys.executable, "-m", "moviegenre", "predict", "--input", str(source),
               "--output", str(Path(tmp) / "out.jsonl"), "--workers", "1", "--quiet"]  # fmt: skip
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(src)  # run_measured inherits the environment
        try:
            result = run_measured(cmd)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH")
            else:
                os.environ["PYTHONPATH"] = saved
    return {"plots_per_s": ROWS / result["seconds"], "seconds": result["seconds"]}


def _post(port: int, plot: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/v1/predict", json.dumps({"plot": plot}).encode(),
                 {"Content-Type": "application/json"})  # fmt: skip
    response = conn.getresponse()
    response.read()
    return response.status


def server_memory(src: Path, english: list[str], foreign: list[str]) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moviegenre", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env_for(src))  # fmt: skip
    sampler = RssSampler(server.pid)
    try:
        wait_until_serving(server, port, timeout=120)
        statuses = [_post(port, plot) for plot in english]
        english_peak = sampler.peak_pss_mb
        statuses += [_post(port, plot) for plot in foreign]
        time.sleep(0.3)  # one more sample after the last answer
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"the server answered {sorted(set(statuses))}")
        return {"english_pss_mb": english_peak, "all_pss_mb": sampler.peak_pss_mb}
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def render(results: dict[str, Any], command: str) -> str:
    def ratio(key: str, sub: str | None = None) -> list[str]:
        out = []
        for r in results["rounds"]:
            now, ref = r["this"][key], r["reference"][key]
            if sub:
                now, ref = now[sub], ref[sub]
            out.append(f"{now:,.2f} vs {ref:,.2f} ({now / ref:.2f}x)")
        return out

    info = results["machine"]
    lines = [
        BEGIN,
        SECTION,
        "",
        f"Measured {results['when']} with `{command}`: this tree against the reference commit "
        f"`{results['reference']}` (before calibration and warnings), alternating, two rounds "
        f"(each cell: this vs reference, ratio). Load average at start: "
        f"{', '.join(f'{x:.2f}' for x in info['load_avg'] or [])} on {info['cores']} cores.",
        "",
        "| measure | round 1 | round 2 |",
        "|---|---|---|",
        "| cold start to the first answer (s, median of 3) | " + " | ".join(ratio("cold_s"))
        + " |",
        f"| `predict --input` {ROWS:,} corpus plots, one worker (plots/s) | "
        + " | ".join(ratio("batch", "plots_per_s")) + " |",
        "| server peak PSS after 300 English plots (MB) | "
        + " | ".join(ratio("server", "english_pss_mb")) + " |",
        "| server peak PSS after French, German and Spanish plots too (MB) | "
        + " | ".join(ratio("server", "all_pss_mb")) + " |",
        "",
        "The language identifier (py3langid) loads in the server only when a plot's known-word "
        "share is low (the last row); measured on its own: see docs/calibration.md.",
        END,
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    current = OUT.read_text(encoding="utf-8") if OUT.is_file() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        current = head + text + ("\n" + tail if tail else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    write_text_atomic(OUT, current)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="commit before calibration/warnings")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    command = "python benchmarks/calibration_speed.py " + " ".join(argv or sys.argv[1:])
    info = machine_info()
    CACHE.mkdir(parents=True, exist_ok=True)
    trees = {"this": REPO / "src", "reference": reference_tree(args.reference)}
    source = make_input(CACHE / f"plots_{ROWS}.jsonl", corpus_plots(), ROWS)
    english = corpus_plots("test")[:300]
    foreign = [p for kind, plots in json.loads(FOREIGN.read_text(encoding="utf-8")).items()
               if kind != "gibberish" for p in plots]  # fmt: skip
    rounds = []
    for number in range(args.rounds):
        measured: dict[str, dict[str, Any]] = {}
        # alternate which tree goes first, so neither always meets a warmer page cache
        order = list(trees) if number % 2 == 0 else list(reversed(trees))
        for name in order:
            print(f"round {number + 1}: {name}", file=sys.stderr)
            measured[name] = {
                "cold_s": cold_start(trees[name]),
                "batch": batch(trees[name], source),
                "server": server_memory(trees[name], english, foreign),
            }
        rounds.append(measured)
    results = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "reference": args.reference,
        "machine": {k: v for k, v in info.items() if k != "flags"},
        "rounds": rounds,
    }
    write_text_atomic(CACHE / "calibration_speed.json", json.dumps(results, indent=2) + "\n")
    text = render(results, command)
    write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
