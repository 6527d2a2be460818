"""Plots written elsewhere: the shipped tiers on Netflix's own blurbs, against a TF-IDF reference.

    python benchmarks/written_elsewhere.py --data-dir ../shared/data --tiers fast,default,best \
        --out docs/written-elsewhere.md --json benchmarks/.cache/written-elsewhere.json

The proxy set: Netflix movie descriptions (raw/netflix_titles.csv) whose categories map cleanly
to a TMDB genre (CATEGORY_TO_GENRE); only those 8 genres are scored. Netflix movies whose title
and year match a movie in movies-large.jsonl (any split) are dropped: they may have been trained
on. The reference is TF-IDF word 1-2 grams + one-vs-rest logistic regression, trained on the
corpus's train split (all 19 genres), thresholds tuned per genre for F1 on valid, at least one
genre a plot; it is trained once on movies.jsonl and once on movies-large.jsonl. The same numbers
on movies.jsonl's test split (the same 8 genres) show how much is lost to the change of writer.
"""

from __future__ import annotations

import os

# pinned before numpy is imported: its BLAS reads these once, when it loads
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MOVIEGENRE_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

CATEGORY_TO_GENRE = {
    "Dramas": "Drama",
    "Comedies": "Comedy",
    "Stand-Up Comedy": "Comedy",
    "Horror Movies": "Horror",
    "Thrillers": "Thriller",
    "Documentaries": "Documentary",
    "Romantic Movies": "Romance",
    "Music & Musicals": "Music",
    "Children & Family Movies": "Family",
}
SCORED = sorted(set(CATEGORY_TO_GENRE.values()))
BATCH = 256


def title_key(title: str, year: Any) -> str:
    """Title (lower-case, alphanumerics only) + year: how a Netflix film is matched to TMDB's."""
    return "".join(c for c in str(title).lower() if c.isalnum()) + "|" + str(year or "").strip()


def netflix_genres(listed_in: str) -> list[str]:
    """The scored TMDB genres a Netflix `listed_in` field maps to (empty when none does)."""
    names = (n.strip() for n in listed_in.split(","))
    return sorted({CATEGORY_TO_GENRE[n] for n in names if n in CATEGORY_TO_GENRE})


def f1_scores(truth: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """Micro- and macro-F1 of 0/1 matrices; macro averages the columns with a positive."""
    truth, decided = np.asarray(truth, dtype=bool), np.asarray(decided, dtype=bool)
    tp = (truth & decided).sum(axis=0).astype(float)
    wrong = (truth ^ decided).sum(axis=0).astype(float)
    micro = 2 * tp.sum() / max(2 * tp.sum() + wrong.sum(), 1.0)
    per_genre = 2 * tp / np.maximum(2 * tp + wrong, 1.0)
    present = truth.any(axis=0)
    macro = float(per_genre[present].mean()) if present.any() else 0.0
    return {"micro_f1": round(float(micro), 4), "macro_f1": round(macro, 4)}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def matrix(genre_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """0/1 rows: which of `labels` each genre list names (names outside `labels` ignored)."""
    rows = [[label in set(genres) for label in labels] for genres in genre_lists]
    return np.array(rows, dtype=np.int8).reshape(len(genre_lists), len(labels))


def proxy_set(csv_path: Path, corpus_keys: set[str]) -> tuple[list[str], np.ndarray, dict]:
    """Netflix movie plots, their 8-genre truth, and counts of what was left out and why."""
    plots, genres = [], []
    counts = {"movies": 0, "no_mapped_category": 0, "in_tmdb_corpus": 0}
    with open(csv_path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("type") != "Movie" or not (row.get("description") or "").strip():
                continue
            counts["movies"] += 1
            mapped = netflix_genres(row.get("listed_in") or "")
            if not mapped:
                counts["no_mapped_category"] += 1
            elif title_key(row["title"], row.get("release_year")) in corpus_keys:
                counts["in_tmdb_corpus"] += 1
            else:
                plots.append(row["description"].strip())
                genres.append(mapped)
    return plots, matrix(genres, SCORED), counts


def fit_reference(rows: list[dict[str, Any]], labels: list[str]) -> Any:
    """TF-IDF + one-vs-rest LR on the train split, per-genre F1 thresholds from valid."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    from moviegenre.thresholds import decide, tune_thresholds

    train = [r for r in rows if r["split"] == "train"]
    valid = [r for r in rows if r["split"] == "valid"]
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        OneVsRestClassifier(LogisticRegression(C=4.0, max_iter=1000)),
    )
    model.fit([r["overview"] for r in train], matrix([r["genres"] for r in train], labels))
    valid_probs = model.predict_proba([r["overview"] for r in valid])
    thresholds = tune_thresholds(valid_probs, matrix([r["genres"] for r in valid], labels))

    def predict(plots: list[str]) -> np.ndarray:
        # the at-least-one-genre rule over all 19 genres, as the shipped tiers decide
        return decide(model.predict_proba(plots), thresholds, min_genres=1)

    return predict


def scored_columns(decided: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    return np.asarray(decided)[:, [list(labels).index(g) for g in SCORED]]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, one thread"


def render(results: dict[str, Any]) -> str:
    """The markdown report: command, date, machine, rows, the table and the caveats."""
    sets, counts = results["sets"], results["netflix_counts"]
    netflix, tmdb = sets["netflix"], sets["tmdb_test"]
    lines = [
        "# Plots written elsewhere: Netflix blurbs",
        "",
        f"Measured {results['date']} on {results['machine']} ({results['seconds']:.0f} s):",
        "",
        f"    {results['command']}",
        "",
        f"Netflix proxy: {netflix['rows']:,} movies, median {netflix['median_words']:g} words; "
        f"TMDB test: {tmdb['rows']:,} movies, median {tmdb['median_words']:g} words. Of "
        f"{counts['movies']:,} Netflix movies, {counts['no_mapped_category']:,} have no category "
        f"that maps to a scored genre and {counts['in_tmdb_corpus']:,} match a movies-large.jsonl "
        "title + year (any split); both are left out.",
        "",
        f"Micro- and macro-F1 over the 8 scored genres ({', '.join(SCORED)}), from shipped "
        "decisions; ratio = model / TF-IDF reference trained on movies.jsonl.",
        "",
        "| model | TMDB test micro | macro | ratio micro | ratio macro | Netflix micro | macro "
        "| ratio micro | ratio macro |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ref = results["models"]["reference (movies.jsonl)"]
    for name, row in results["models"].items():
        cells = []
        for set_name in ("tmdb_test", "netflix"):
            got, base = row[set_name], ref[set_name]
            cells += [f"{got['micro_f1']:.3f}", f"{got['macro_f1']:.3f}"]
            cells += [f"{got[k] / base[k]:.2f}" for k in ("micro_f1", "macro_f1")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    positives = ", ".join(f"{g} {c:,}" for g, c in netflix["positives"].items())
    mapped = ", ".join(f'"{c}"' for c in CATEGORY_TO_GENRE)
    lines += [
        "",
        f"Netflix movies per scored genre: {positives}.",
        "",
        "Caveats:",
        "",
        "- A proxy: Netflix's categories are not TMDB's genres. Only categories that map to one "
        f'TMDB genre are scored ({mapped}); "Action & Adventure", "Sci-Fi & Fantasy", '
        '"International Movies", "Independent Movies" and the rest are not, since none maps to '
        "one TMDB genre.",
        "- Netflix's taxonomy is coarser than TMDB's and gives a film fewer categories, so a genre "
        "a model rightly predicts may be missing from the truth (a false positive here). Compare "
        "models with each other, not with TMDB figures.",
        "- Every model still predicts all 19 genres (at least one a plot); 8 columns are scored.",
        "- Dropping films found in the TMDB corpus leaves the less known ones (many of them not "
        "American); title + year matching misses retitled or redated films, so a few may remain.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tiers", default="fast,default,best")
    parser.add_argument("--out", type=Path, default=Path("docs/written-elsewhere.md"))
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/.cache/written-elsewhere.json")
    )
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        sys.exit(f"written_elsewhere: no data directory {args.data_dir} (is ../shared absent?)")

    import moviegenre
    from moviegenre.files import write_text_atomic

    started = time.perf_counter()
    corpus = read_jsonl(args.data_dir / "tmdb-overviews" / "movies.jsonl")
    large = read_jsonl(args.data_dir / "tmdb-overviews" / "movies-large.jsonl")
    corpus_keys = {title_key(r["title"], r.get("year")) for r in large if r.get("year")}
    plots, truth, counts = proxy_set(args.data_dir / "raw" / "netflix_titles.csv", corpus_keys)
    test = [r for r in corpus if r["split"] == "test"]
    sets = {
        "netflix": (plots, truth),
        "tmdb_test": ([r["overview"] for r in test], matrix([r["genres"] for r in test], SCORED)),
    }
    labels = sorted({g for r in corpus for g in r["genres"]})

    predictors: dict[str, tuple[Any, list[str]]] = {}
    for name, rows in (("movies.jsonl", corpus), ("movies-large.jsonl", large)):
        predictors[f"reference ({name})"] = (fit_reference(rows, labels), labels)
        print(f"trained reference on {name}", file=sys.stderr)
    for tier in [t.strip() for t in args.tiers.split(",") if t.strip()]:
        model = moviegenre.load_model(tier)
        predictors[tier] = (model.predict, list(model.labels))

    models: dict[str, dict[str, Any]] = {}
    for name, (predict, model_labels) in predictors.items():
        models[name] = {"seconds": {}}
        for set_name, (set_plots, set_truth) in sets.items():
            clock = time.perf_counter()
            decided = np.concatenate(
                [predict(set_plots[i : i + BATCH]) for i in range(0, len(set_plots), BATCH)]
            )
            models[name]["seconds"][set_name] = round(time.perf_counter() - clock, 1)
            models[name][set_name] = f1_scores(set_truth, scored_columns(decided, model_labels))
        print(f"{name}: {models[name]}", file=sys.stderr)

    command = ["python benchmarks/written_elsewhere.py", *(sys.argv[1:] if argv is None else argv)]
    results = {
        "command": " ".join(command),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "scored_genres": SCORED,
        "netflix_counts": counts,
        "sets": {
            name: {
                "rows": len(p),
                "median_words": float(np.median([len(x.split()) for x in p])),
                "positives": dict(zip(SCORED, t.sum(axis=0).tolist(), strict=True)),
            }
            for name, (p, t) in sets.items()
        },
        "models": models,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
    markdown = render(results)
    write_text_atomic(args.out, markdown)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
