"""500 slow clients against `moviegenre serve` (default settings) while 600 requests complete.

Runs benchmarks/slow_clients.py at CI size (the benchmark's own size, 2,000 requests from 32
clients, is what BENCHMARKS.md reports). Loopback only, bounded in requests and time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "slow_clients.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc"),
]


def run_once(tmp_path: Path) -> dict:
    out = tmp_path / "slow.json"
    command = [sys.executable, str(SCRIPT), "--requests", "600", "--clients", "16",
               "--trickle-headers", "250", "--trickle-bodies", "250", "--silent", "0",
               "--interval", "3", "--runs", "1", "--json", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)
    return json.loads(out.read_text())[0]


def test_500_slow_clients_do_not_slow_600_requests(tmp_path):
    # The p50 ratio compares two short timings on a shared 2-core machine; one noisy phase can
    # push it over, so a second run is allowed for it alone. Every other check holds on each run.
    ratios = []
    for _ in range(2):
        r = run_once(tmp_path)
        assert r["baseline"]["errors"] == 0 and r["loaded"]["errors"] == 0, r["loaded"]
        assert r["loaded"]["ok"] == 600 and r["after_load"]["errors"] == 0
        assert sum(r["slow_total"].values()) == 500
        assert sum(r["slow_open_after"].values()) >= 450, r["slow_open_after"]
        assert r["slow_send_errors"] == 0
        # Every thread of the server process, the ones that run the model among them.
        assert r["during"]["threads"] <= 64 and r["before"]["threads"] <= 64
        # All 500 connections were really held by the server, and released when they left
        # ("before" may still count a warm-up connection the server has not seen close yet).
        assert r["after"]["fds"] <= r["before"]["fds"] + 2, (r["before"], r["after"])
        assert r["held"]["fds"] >= r["after"]["fds"] + 500, (r["held"], r["after"])
        assert r["after"]["threads"] == r["before"]["threads"]
        assert r["tracebacks_in_log"] == 0 and r["server_exit_code"] == 0
        ratios.append(r["ratio"])
        if r["ratio"] <= 2:
            break
    assert min(ratios) <= 2, ratios
