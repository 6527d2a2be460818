"""A shipped tier's ensemble weights scored on valid, test and plots written elsewhere.

    python benchmarks/tier_weights.py --tier best --top 8
    python benchmarks/tier_weights.py --tier default --top 8

For every weighting of the tier's plot ensemble on a 0.1 grid: per-genre thresholds tuned on
movies.jsonl's valid split (as `train()` tunes them), then micro/macro-F1 on valid, on test, and
on the Netflix blurbs of benchmarks/written_elsewhere.py (the 8 genres that map; films in the
corpus left out). The rows with the best valid micro-F1 come first: the near-ties on valid are
where plots written elsewhere can tell weightings apart (docs/best.md).
"""

from __future__ import annotations

import os

# pinned before numpy is imported: its BLAS reads these once, when it loads
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MOVIEGENRE_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import written_elsewhere as elsewhere  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=["default", "best"], default="best")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--top", type=int, default=8, help="rows shown, best valid micro first")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"tier_weights: no data directory {args.data_dir} (is ../shared absent?)")
        return 1

    from moviegenre import load_model
    from moviegenre.evaluation.metrics import macro_f1_min_support, micro_f1
    from moviegenre.models.ensemble import simplex_grid
    from moviegenre.thresholds import decide, tune_thresholds

    english = load_model(args.tier).members[0]  # the router's English member
    ensemble = getattr(english, "text", None) or english  # the default's is inside its fusion
    labels = list(ensemble.labels)
    corpus = elsewhere.read_jsonl(args.data_dir / "tmdb-overviews" / "movies.jsonl")
    large = elsewhere.read_jsonl(args.data_dir / "tmdb-overviews" / "movies-large.jsonl")
    keys = {elsewhere.title_key(r["title"], r.get("year")) for r in large}
    netflix, netflix_truth, _ = elsewhere.proxy_set(
        args.data_dir / "raw" / "netflix_titles.csv", keys
    )
    scored = [labels.index(g) for g in elsewhere.SCORED]
    sets = {}
    for split in ("valid", "test"):
        rows = [r for r in corpus if r["split"] == split]
        sets[split] = (
            [r["overview"] for r in rows],
            elsewhere.matrix([r["genres"] for r in rows], labels),
        )
    sets["netflix"] = (netflix, netflix_truth)
    probs = {
        name: [m.predict_proba(plots) for m in ensemble.members]
        for name, (plots, _) in sets.items()
    }

    rows = []
    for weights in simplex_grid(len(ensemble.members), 0.1):
        mixed = {
            name: sum(w * p for w, p in zip(weights, probs[name], strict=True)) for name in sets
        }
        thresholds = tune_thresholds(mixed["valid"], sets["valid"][1])
        row = [weights]
        for name, (_, truth) in sets.items():
            decided = decide(mixed[name], thresholds, 1)
            if name == "netflix":
                decided = decided[:, scored]
            row += [micro_f1(truth, decided), macro_f1_min_support(truth, decided, 1)]
        rows.append(row)
    rows.sort(key=lambda r: -r[1])
    shipped = [round(float(w), 1) for w in ensemble.weights]
    kinds = [m.model_type for m in ensemble.members]
    print(f"{args.tier}: members {kinds}, shipped weights {shipped}")
    columns = ["valid micro", "valid macro", "test micro", "test macro", "Netflix micro",
               "Netflix macro"]  # fmt: skip
    print("| weights | " + " | ".join(columns) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for weights, *scores in rows[: args.top]:
        mark = " (shipped)" if [round(w, 1) for w in weights] == shipped else ""
        cells = " | ".join(f"{s:.4f}" for s in np.asarray(scores))
        print(f"| {' / '.join(f'{w:.1f}' for w in weights)}{mark} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
