"""Metrics on hand-checked cases, the bootstrap interval, and the `evaluate` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moviegenre.cli.main import main
from moviegenre.evaluation.metrics import (
    bootstrap_micro_f1,
    compute_metrics,
    precision_recall_curves,
)

LABELS = ["Action", "Comedy", "Drama"]
# Three movies, three genres. Counted by hand:
#   movie 0: truth {A, C}, predicted {A}      -> tp 1, fn 1
#   movie 1: truth {C},    predicted {C, D}   -> tp 1, fp 1
#   movie 2: truth {D},    predicted {D}      -> tp 1
# pooled tp 3, fp 1, fn 1: micro P = R = 3/4, micro F1 = 2*3 / (2*3 + 1 + 1) = 0.75.
TARGETS = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
DECISIONS = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_micro_f1_precision_and_recall_match_a_hand_count():
    m = compute_metrics(TARGETS, DECISIONS, LABELS)
    assert m["rows"] == 3
    assert m["micro_precision"] == pytest.approx(0.75)
    assert m["micro_recall"] == pytest.approx(0.75)
    assert m["micro_f1"] == pytest.approx(0.75)


def test_macro_samples_subset_and_hamming_match_a_hand_count():
    m = compute_metrics(TARGETS, DECISIONS, LABELS)
    # Per genre: Action P1 R1 F1=1; Comedy P1 R1/2 F1=2/3; Drama P1/2 R1 F1=2/3.
    assert m["per_genre"]["Action"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert m["per_genre"]["Comedy"]["f1"] == pytest.approx(2 / 3)
    assert m["per_genre"]["Comedy"]["support"] == 2
    assert m["per_genre"]["Drama"]["precision"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    # Weighted by support 1, 2, 1.
    assert m["weighted_f1"] == pytest.approx((1 * 1 + 2 * 2 / 3 + 1 * 2 / 3) / 4)
    # Per movie F1: 2/3, 2/3, 1.
    assert m["samples_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["subset_accuracy"] == pytest.approx(1 / 3)  # only movie 2 is exactly right
    assert m["hamming_loss"] == pytest.approx(2 / 9)  # two wrong cells of nine


def test_perfect_and_empty_predictions():
    perfect = compute_metrics(TARGETS, TARGETS, LABELS)
    assert perfect["micro_f1"] == 1.0 and perfect["subset_accuracy"] == 1.0
    assert perfect["hamming_loss"] == 0.0 and perfect["micro_f1_ci"] == [1.0, 1.0]
    nothing = compute_metrics(TARGETS, np.zeros_like(TARGETS), LABELS)
    assert nothing["micro_f1"] == 0.0 and nothing["micro_recall"] == 0.0


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        compute_metrics(TARGETS, DECISIONS[:2], LABELS)


def _noisy(rows: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    targets = rng.random((rows, 8)) < 0.25
    flips = rng.random((rows, 8)) < 0.15  # about 15% of decisions wrong
    return targets.astype(int), (targets ^ flips).astype(int)


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_rows():
    widths = []
    for rows in (100, 1500):
        targets, decisions = _noisy(rows)
        point = compute_metrics(targets, decisions, [str(i) for i in range(8)])["micro_f1"]
        low, high = bootstrap_micro_f1(targets, decisions)
        assert low < point < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # ~sqrt(15) = 3.9 times narrower in theory


def test_bootstrap_is_reproducible():
    # Its speed is measured by benchmarks, not asserted here: a loaded machine would fail a timer.
    targets, decisions = _noisy(1500)
    first = bootstrap_micro_f1(targets, decisions, resamples=1000)
    assert bootstrap_micro_f1(targets, decisions, resamples=1000) == first
    assert bootstrap_micro_f1(targets, decisions, seed=7) != first


def test_precision_recall_curves_mark_the_threshold_operating_point():
    targets = np.array([[1, 0], [1, 0], [0, 0], [0, 1]])
    probs = np.array([[0.9, 0.1], [0.4, 0.2], [0.6, 0.3], [0.1, 0.8]])
    curves = precision_recall_curves(targets, probs, ["A", "B"], thresholds=[0.5, 0.5])
    a = curves["A"]
    # At 0.5, A is predicted for movies 0 and 2: precision 1/2, recall 1/2.
    assert a["operating_precision"] == pytest.approx(0.5)
    assert a["operating_recall"] == pytest.approx(0.5)
    assert a["support"] == 2 and len(a["precision"]) == len(a["recall"])
    assert curves["B"]["average_precision"] == pytest.approx(1.0)


def test_precision_recall_curves_skip_genres_without_positives():
    curves = precision_recall_curves(np.array([[1, 0], [0, 0]]), np.full((2, 2), 0.5), ["A", "B"])
    assert set(curves) == {"A"} and "threshold" not in curves["A"]


# --- the evaluate command -------------------------------------------------------------------


def test_evaluate_writes_json_and_a_self_contained_report(
    tfidf_bundle, tiny_corpus, tmp_path, capsys
):
    out_json, out_html = tmp_path / "m.json", tmp_path / "r.html"
    code = main(["evaluate", "--model", str(tfidf_bundle), "--data", str(tiny_corpus),
                 "--json", str(out_json), "--report", str(out_html)])  # fmt: skip
    assert code == 0
    stdout = capsys.readouterr().out
    assert "micro F1" in stdout and "macro F1" in stdout and "samples F1" in stdout
    metrics = json.loads(out_json.read_text())
    for key in ("rows", "micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "hamming_loss",
                "per_genre", "micro_f1_ci", "split", "model", "ece", "brier", "log_loss",
                "per_genre_ece", "reliability", "uncalibrated"):  # fmt: skip
        assert key in metrics
    # calibrated and uncalibrated reliability tables, each over every (movie, genre) score
    assert set(metrics["reliability"]) == {"uncalibrated", "calibrated"}
    for table in metrics["reliability"].values():
        assert sum(row["count"] for row in table) == 40 * len(metrics["per_genre"])
    assert "ECE" in stdout and "Brier score" in stdout and "uncalibrated" in stdout
    assert metrics["split"] == "test" and metrics["rows"] == 40  # the fixture's 40 test movies
    assert metrics["micro_f1"] > 0.8  # the fixture's genres are easy to learn
    low, high = metrics["micro_f1_ci"]
    assert low <= metrics["micro_f1"] <= high
    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # the bar chart, the PR curves and the reliability diagram
    assert page.count("data:image/png;base64,") == 3
    assert "src='http" not in page and 'src="http' not in page  # nothing fetched from elsewhere
    assert "Macro F1" in page and "which average" in page
    assert "Expected calibration error" in page and "reliability diagram" in page
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary file behind


def test_evaluate_split_all_scores_every_row(tfidf_bundle, tiny_corpus, tmp_path):
    out = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(tfidf_bundle), "--data", str(tiny_corpus),
                 "--split", "all", "--json", str(out)]) == 0  # fmt: skip
    assert json.loads(out.read_text())["rows"] == 300


def test_unknown_genres_are_named_on_stderr_and_ignored(
    tfidf_bundle, tiny_corpus, tmp_path, capsys
):
    lines = tiny_corpus.read_text().splitlines()
    edited = []
    for line in lines:
        row = json.loads(line)
        if row["split"] == "test":
            row["genres"] = [*row["genres"], "Western"]  # not among the fixture model's genres
        edited.append(json.dumps(row))
    data = tmp_path / "with_western.jsonl"
    data.write_text("\n".join(edited) + "\n")
    out = tmp_path / "m.json"
    page = tmp_path / "r.html"
    assert main(["evaluate", "--model", str(tfidf_bundle), "--data", str(data),
                 "--json", str(out), "--report", str(page)]) == 0  # fmt: skip
    assert "ignored: Western (40)" in page.read_text()
    err = capsys.readouterr().err
    assert "warning" in err and "Western" in err
    metrics = json.loads(out.read_text())
    assert "Western" not in metrics["per_genre"] and metrics["rows"] == 40


def test_missing_data_file_is_a_one_line_error(tfidf_bundle, tmp_path, capsys):
    code = main(["evaluate", "--model", str(tfidf_bundle), "--data", str(tmp_path / "nope.jsonl")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "nope.jsonl" in err and len(err.splitlines()) == 1


def test_an_empty_split_is_a_one_line_error(tfidf_bundle, tiny_corpus, tmp_path, capsys):
    only_train = [ln for ln in tiny_corpus.read_text().splitlines() if '"split": "train"' in ln]
    data = tmp_path / "train_only.jsonl"
    data.write_text("\n".join(only_train) + "\n")
    out = tmp_path / "m.json"
    code = main(["evaluate", "--model", str(tfidf_bundle), "--data", str(data),
                 "--json", str(out)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "'test' split" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_data_without_a_split_is_split_by_movie(tfidf_bundle, tiny_corpus, tmp_path):
    rows = [json.loads(line) for line in tiny_corpus.read_text().splitlines()]
    for row in rows:
        row["split"] = None  # no split of its own: evaluate must split by title + year
    data = tmp_path / "no_split.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(tfidf_bundle), "--data", str(data),
                 "--json", str(out)]) == 0  # fmt: skip
    rows_scored = json.loads(out.read_text())["rows"]
    # About a tenth of 300 movies fall in the test split by the title+year hash, and the hash
    # (not the fixture's own 40-row test block) decides which.
    assert 10 <= rows_scored <= 60


def test_report_pngs_are_valid_images(tfidf_bundle, tiny_corpus, tmp_path):
    import base64
    import re

    out_html = tmp_path / "r.html"
    main(["evaluate", "--model", str(tfidf_bundle), "--data", str(tiny_corpus),
          "--report", str(out_html)])  # fmt: skip
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", out_html.read_text())
    assert len(images) == 3
    for encoded in images:
        assert base64.b64decode(encoded).startswith(b"\x89PNG\r\n\x1a\n")
