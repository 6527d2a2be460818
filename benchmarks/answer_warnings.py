"""Measure what the answer warnings' cut-offs rest on, and how often they fire.

- known-word share of every valid and test plot (the `unknown_words` and language-check cut-offs);
- micro-F1 of valid and test plots cut to their first k words (the `too_short` cut-off);
- which warnings the shipped model gives the valid and test plots, and a few plots in French,
  German, Spanish and gibberish;
- the language identifier's load time, memory and time per plot.

    python benchmarks/answer_warnings.py --data ../shared/data/tmdb-overviews/movies.jsonl \
        --out runs/warnings

Writes results.json into --out and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

CUTS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30)
# Plots in French, German, Spanish and gibberish, shared with tests/test_warnings.py.
SAMPLES_FILE = Path(__file__).resolve().parent.parent / "tests/fixtures/out_of_reach_plots.json"


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", default="runs/warnings")
    args = parser.parse_args(argv)

    from moviegenre.api import load_model
    from moviegenre.data.dataset import split_records, target_matrix
    from moviegenre.data.readers import read_data
    from moviegenre.evaluation.metrics import micro_f1
    from moviegenre.text import checks

    model = load_model()
    checker = model.input_checker
    splits = split_records(read_data(args.data).usable())
    result: dict = {"cut_offs": {
        "unknown_share": checks.UNKNOWN_SHARE, "suspect_share": checks.SUSPECT_SHARE,
        "language_confidence": checks.LANGUAGE_CONFIDENCE, "min_words": checks.MIN_WORDS,
    }}  # fmt: skip

    # the language identifier first, in a fresh state: load time and memory
    before, started = _rss_mb(), time.perf_counter()
    checks.identify_language("warm up")
    result["language_id"] = {
        "load_seconds": round(time.perf_counter() - started, 3),
        "rss_added_mb": round(_rss_mb() - before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    for name in ("valid", "test"):
        records = splits[name]
        plots = [r.plot for r in records]
        targets = target_matrix(records, model.labels)
        shares = np.array([k / t if t else 0.0 for k, t in map(checker.known_share, plots)])
        started = time.perf_counter()
        for plot in plots:
            checks.identify_language(plot)
        per_plot_ms = (time.perf_counter() - started) / len(plots) * 1000
        found = [checker.check(p, model.max_words) for p in plots]
        codes = Counter(w["code"] for f in found for w in f.warnings)
        other = sum(any(w["code"] != "truncated" for w in f.warnings) for f in found)
        f1_cut = {}
        for k in CUTS:
            cut = [" ".join(p.split()[:k]) for p in plots]
            f1_cut[k] = round(micro_f1(targets, model.predict(cut)), 4)
        result[name] = {
            "plots": len(plots),
            "share_min": round(float(shares.min()), 3),
            "share_percentiles": {
                q: round(float(np.percentile(shares, q)), 3) for q in (0.5, 1, 5, 50)
            },
            "plots_below_unknown_share": int((shares < checks.UNKNOWN_SHARE).sum()),
            "plots_below_suspect_share": int((shares < checks.SUSPECT_SHARE).sum()),
            "language_id_ms_per_plot": round(per_plot_ms, 3),
            "warnings": dict(codes),
            "plots_with_a_warning_other_than_truncated": other,
            "share_with_a_warning_other_than_truncated": round(other / len(plots), 4),
            "flagged": [
                {"plot": p[:100], "warnings": [w["code"] for w in f.warnings]}
                for p, f in zip(plots, found, strict=True)
                if any(w["code"] != "truncated" for w in f.warnings)
            ],
            "micro_f1_first_k_words": f1_cut,
            "micro_f1_full": round(micro_f1(targets, model.predict(plots)), 4),
        }
    samples = json.loads(SAMPLES_FILE.read_text(encoding="utf-8"))
    result["samples"] = {
        kind: [
            {"plot": p, "known_words": checker.known_share(p),
             "warnings": [w["code"] for w in checker.check(p).warnings]}
            for p in plots
        ]
        for kind, plots in samples.items()
    }  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
