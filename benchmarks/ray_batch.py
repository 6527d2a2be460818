"""`predict --input` on a local Ray cluster beside local worker processes: time and memory.

    python benchmarks/ray_batch.py                 # 20,000 rows, two runs of each
    python benchmarks/ray_batch.py --write-docs    # and update docs/distributed.md

Memory is the peak PSS of the command's whole process tree (Ray's daemons and actors included),
sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from run import CACHE, CORPUS, REPO, corpus_plots, make_input, measure_batch_cli

from moviegenre.files import write_text_atomic

DOC = REPO / "docs" / "distributed.md"
START, END = "<!-- ray-batch:start -->", "<!-- ray-batch:end -->"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--model", type=Path, help="bundle (default: the shipped model)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/distributed.md")
    args = parser.parse_args(argv)
    if not CORPUS.is_file():
        print(f"needs the corpus at {CORPUS}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "benchmarks/ray_batch.py",
                          *(argv if argv is not None else sys.argv[1:])])  # fmt: skip
    CACHE.mkdir(parents=True, exist_ok=True)
    source = make_input(CACHE / f"plots_{args.rows}.jsonl", corpus_plots(), args.rows)
    variants = [("local processes", ()), ("Ray, local cluster", ("--engine", "ray"))]
    rows = []
    for run in range(1, args.runs + 1):
        for name, extra in variants:
            print(f"[run {run}] {name}...", file=sys.stderr)
            r = measure_batch_cli(args.model, source, 2, extra)
            rows.append(
                f"| {run} | {name} | `{r['command']}` | {r['plots_per_s']:,.0f} | "
                f"{r['seconds']:.1f} | {r['tree_peak_pss_mb']:,.0f} |"
            )
    text = "\n".join([
        START,
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this project's 2-core "
        f"machine (Python {platform.python_version()}) with `{command}`: {args.rows:,} plots, "
        "2 workers or 2 Ray actors, the shipped model.",
        "",
        "| run | engine | command | plots/s | seconds | peak PSS of all processes (MB) |",
        "|---|---|---|---|---|---|",
        *rows,
        END,
    ])  # fmt: skip
    print(text)
    if args.write_docs:
        current = DOC.read_text(encoding="utf-8")
        if START in current and END in current:
            head, rest = current.split(START, 1)
            current = head + text + rest.split(END, 1)[1]
        else:
            current = current.rstrip("\n") + "\n\n" + text + "\n"
        write_text_atomic(DOC, current)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
