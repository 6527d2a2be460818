"""The shipped default on plots in other languages: the Portuguese check, English test, ECE, speed.

- Portuguese: the JustWatch synopses (`moviegenre.data.justwatch`: mapped to TMDB genres, films
  of either English corpus dropped), answered by the shipped default (language detected), by
  its English member alone (the default before plots in other languages), and by the reference
  head (scikit-learn logistic regression on the encoder's vectors of the English train split,
  thresholds tuned on English valid). Micro-F1, and macro-F1 over the genres the set holds.
- English test split: the default against its English member; which plots left the English path.
- ECE (15 equal-width bins, every genre score pooled) per language group.
- Language: the share of answers naming the right code, and of answers with a `not_english` or
  `unsupported_language` warning.
- Speed: single-plot p50 of `moviegenre.predict` on English valid plots, the default and its
  English member interleaved in the same run (one thread).

    python benchmarks/multilingual_check.py --data ../shared/data --cache runs/use-cache \
        --out runs/multilingual-check

Writes results.json into --out and prints the tables of docs/languages.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

LANGUAGE_WARNINGS = {"not_english", "unsupported_language"}


def _f1(targets: np.ndarray, decisions: np.ndarray) -> dict[str, float]:
    from moviegenre.evaluation.metrics import macro_f1_min_support, micro_f1

    return {
        "micro_f1": round(micro_f1(targets, decisions), 4),
        "macro_f1": round(macro_f1_min_support(targets, decisions, 1), 4),
    }


def _answers(model, plots: list[str], labels: list[str]):
    from moviegenre.movie import movies_from
    from moviegenre.prediction import answer

    found = answer(model, movies_from(plots))
    decisions = np.asarray([[g in p.genres for g in labels] for p in found], dtype=np.int8)
    probs = np.asarray([[p.scores[g] for g in labels] for p in found], dtype=np.float64)
    return found, decisions, probs


def _reference(data: Path, cache: str, labels: list[str], plots: list[str]) -> np.ndarray:
    """The reference head's 0/1 answers for `plots`."""
    from sklearn.linear_model import LogisticRegression

    from moviegenre.models.use import cached_embeddings
    from moviegenre.thresholds import decide, tune_thresholds

    rows = [json.loads(line) for line in (data / "tmdb-overviews/movies.jsonl").open()]
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "valid")}
    x = {s: cached_embeddings([r["overview"] for r in split[s]], cache) for s in split}
    y = {s: np.asarray([[g in r["genres"] for g in labels] for r in split[s]]) for s in split}
    heads = [LogisticRegression(C=1.0, max_iter=2000).fit(x["train"], y["train"][:, j])
             for j in range(len(labels))]  # fmt: skip
    valid = np.stack([h.predict_proba(x["valid"])[:, 1] for h in heads], axis=1)
    thresholds = tune_thresholds(valid, y["valid"])
    vectors = cached_embeddings(plots, cache)
    return decide(np.stack([h.predict_proba(vectors)[:, 1] for h in heads], axis=1), thresholds)


def _p50_ms(models: dict, plots: list[str], rounds: int) -> dict[str, float]:
    from moviegenre.api import predict

    times: dict[str, list[float]] = {name: [] for name in models}
    for model in models.values():
        predict(plots[0], model)  # warm: loads lazy parts
    for _ in range(rounds):
        for plot in plots:
            for name, model in models.items():  # interleaved: both see the same load
                started = time.perf_counter()
                predict(plot, model)
                times[name].append(time.perf_counter() - started)
    return {name: round(statistics.median(t) * 1000, 3) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    from moviegenre.api import load_model
    from moviegenre.bundle.bundle import default_model_path, load_bundle
    from moviegenre.data.justwatch import read_justwatch
    from moviegenre.evaluation.metrics import expected_calibration_error

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--cache", default="runs/use-cache")
    parser.add_argument("--out", default="runs/multilingual-check")
    parser.add_argument("--speed-plots", type=int, default=200)
    parser.add_argument("--speed-rounds", type=int, default=2)
    args = parser.parse_args(argv)
    data = Path(args.data)

    default = load_model()
    before = load_bundle(default_model_path() / "members" / "0")  # the English member
    labels = list(default.labels)
    check = read_justwatch(
        data / "multilingual/justwatch_br_movies.csv", data / "tmdb-overviews/movies-large.jsonl"
    )
    pt_targets = check.targets(labels)
    rows = [json.loads(line) for line in (data / "tmdb-overviews/movies.jsonl").open()]
    test = [r for r in rows if r["split"] == "test"]
    en_plots = [r["overview"] for r in test]
    en_targets = np.asarray([[g in r["genres"] for g in labels] for r in test], dtype=np.float32)

    results: dict = {"portuguese_rows": len(check.plots), "dropped": check.dropped}
    pt_found, pt_after, pt_probs = _answers(default, check.plots, labels)
    _, pt_before, _ = _answers(before, check.plots, labels)
    results["portuguese"] = {
        "reference": _f1(pt_targets, _reference(data, args.cache, labels, check.plots)),
        "before": _f1(pt_targets, pt_before),
        "default": _f1(pt_targets, pt_after),
        "language_right": round(float(np.mean([p.language["code"] == "pt" for p in pt_found])), 4),
        "language_warning": round(
            float(
                np.mean(
                    [bool({w["code"] for w in p.warnings} & LANGUAGE_WARNINGS) for p in pt_found]
                )
            ),
            4,
        ),  # fmt: skip
        "ece": round(expected_calibration_error(pt_targets, pt_probs), 4),
    }
    en_found, en_after, en_probs = _answers(default, en_plots, labels)
    _, en_before, en_before_probs = _answers(before, en_plots, labels)
    results["english_test"] = {
        "before": _f1(en_targets, en_before),
        "default": _f1(en_targets, en_after),
        "ece_before": round(expected_calibration_error(en_targets, en_before_probs), 4),
        "ece": round(expected_calibration_error(en_targets, en_probs), 4),
        "routed_to_head": int(sum(default.foreign_rows(en_plots))),
        "language_en": round(float(np.mean([p.language["code"] == "en" for p in en_found])), 4),
    }
    # how often py3langid agrees with the English shortcut (the confidence answers state for it)
    from moviegenre.text.checks import SUSPECT_SHARE, identify_language

    valid_plots = [r["overview"] for r in rows if r["split"] == "valid"]
    checker = default.input_checker
    passed = [p for p in valid_plots if (checker.known_fraction(p) or 0.0) >= SUSPECT_SHARE]
    agree = sum(identify_language(p)[0] == "en" for p in passed)
    results["shortcut_agreement"] = {"valid_plots": len(valid_plots), "shortcut": len(passed),
                                     "identifier_says_en": agree}  # fmt: skip
    print("scored; timing", file=sys.stderr)
    valid = [r["overview"] for r in rows if r["split"] == "valid"][: args.speed_plots]
    speed = _p50_ms({"before": before, "default": default}, valid, args.speed_rounds)
    speed["ratio"] = round(speed["default"] / speed["before"], 3)
    results["english_p50_ms"] = speed

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    pt, en = results["portuguese"], results["english_test"]
    print(f"Portuguese check ({len(check.plots)} synopses), micro / macro F1:")
    print("| model | micro-F1 | macro-F1 |\n| --- | ---: | ---: |")
    for name in ("reference", "before", "default"):
        print(f"| {name} | {pt[name]['micro_f1']:.3f} | {pt[name]['macro_f1']:.3f} |")
    print(f"language right {pt['language_right']:.1%}, language warnings "
          f"{pt['language_warning']:.1%}, ECE {pt['ece']:.4f}")  # fmt: skip
    print(f"English test: before {en['before']}, default {en['default']}, ECE "
          f"{en['ece_before']} -> {en['ece']}, to the head {en['routed_to_head']}")  # fmt: skip
    print(f"English single-plot p50: {speed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
