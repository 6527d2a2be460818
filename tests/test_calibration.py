"""Calibration: each method lowers ECE on miscalibrated scores, rises strictly, keeps decisions,
and travels through a bundle (JSON) to every runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moviegenre.calibration import DEFAULT_METHOD, METHODS, Calibrator
from moviegenre.evaluation.metrics import (
    calibration_metrics,
    expected_calibration_error,
    reliability_table,
)
from moviegenre.thresholds import decide


def _overconfident(n: int, genres: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores that are too extreme: the true probability is sigmoid(logit / 3 - 1)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, size=(n, genres))
    truth = 1 / (1 + np.exp(-(logits / 3 - 1)))
    targets = (rng.random((n, genres)) < truth).astype(np.int8)
    return (1 / (1 + np.exp(-logits))).astype(np.float32), targets


def test_ece_matches_a_hand_computed_case() -> None:
    probs = np.array([0.05, 0.05, 0.95, 0.95, 0.55])
    targets = np.array([0, 1, 1, 1, 1])
    # bins: [0.0, 0.1): 2 scores, mean 0.05, rate 0.5; [0.9, 1.0]: 2, mean 0.95, rate 1;
    # [0.5, 0.6): 1, mean 0.55, rate 1
    expected = (2 * 0.45 + 2 * 0.05 + 1 * 0.45) / 5
    assert expected_calibration_error(targets, probs) == pytest.approx(expected)
    table = reliability_table(targets, probs)
    assert [row["count"] for row in table] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert reliability_table([1], [1.0])[-1]["count"] == 1  # 1.0 belongs to the last bin


def test_calibration_metrics_report_brier_log_loss_and_each_genre() -> None:
    targets = np.array([[1, 0], [0, 0]])
    probs = np.array([[0.8, 0.1], [0.3, 0.2]])
    m = calibration_metrics(targets, probs, ["A", "B"])
    assert m["brier"] == pytest.approx(np.mean([0.04, 0.01, 0.09, 0.04]))
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.9, 0.7, 0.8])), rel=1e-6)
    assert set(m["per_genre_ece"]) == {"A", "B"}


@pytest.mark.parametrize("method", METHODS)
def test_every_method_rises_strictly_and_round_trips_json(method: str) -> None:
    probs, targets = _overconfident(4000, 3, seed=1)
    calibrator = Calibrator.fit(probs, targets, method)
    grid = np.linspace(0.001, 0.999, 2000)
    mapped = calibrator.transform(np.repeat(grid[:, None], 3, axis=1)).astype(np.float64)
    assert np.all(np.diff(mapped, axis=0) > 0), "the map must rise strictly everywhere"
    again = Calibrator.from_json(json.loads(json.dumps(calibrator.to_json())))
    np.testing.assert_array_equal(again.transform(probs), calibrator.transform(probs))


@pytest.mark.parametrize("method", ["platt", "beta", "isotonic"])
def test_fitting_on_one_sample_lowers_ece_on_another(method: str) -> None:
    fit_probs, fit_targets = _overconfident(6000, 4, seed=2)
    probs, targets = _overconfident(6000, 4, seed=3)
    before = expected_calibration_error(targets, probs)
    after = expected_calibration_error(targets, Calibrator.fit(fit_probs, fit_targets, method)
                                       .transform(probs))  # fmt: skip
    assert before > 0.1 and after < 0.03


@pytest.mark.parametrize("method", METHODS)
def test_mapped_thresholds_keep_every_decision(method: str) -> None:
    probs, targets = _overconfident(3000, 5, seed=4)
    calibrator = Calibrator.fit(probs, targets, method)
    thresholds = np.array([0.2, 0.35, 0.5, 0.61, 0.8], dtype=np.float32)
    before = probs >= thresholds
    after = calibrator.transform(probs) >= calibrator.map_thresholds(thresholds)
    np.testing.assert_array_equal(before, after)
    # with min_genres=0 the full decision rule is unchanged too
    np.testing.assert_array_equal(
        decide(probs, thresholds, 0),
        decide(calibrator.transform(probs), calibrator.map_thresholds(thresholds), 0),
    )


def test_a_genre_without_positives_keeps_its_scores() -> None:
    probs, targets = _overconfident(500, 2, seed=5)
    targets[:, 1] = 0
    calibrator = Calibrator.fit(probs, targets, DEFAULT_METHOD)
    np.testing.assert_allclose(calibrator.transform(probs)[:, 1], probs[:, 1], atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [
        {"method": "magic", "a": [1], "b": [1], "c": [0]},
        {"method": "platt", "a": [-1.0], "b": [-1.0], "c": [0]},
        {"method": "beta", "a": [1.0, 2.0], "b": [1.0], "c": [0.0]},
        {"method": "isotonic", "x": [[0.5, 0.2]], "y": [[0.1, 0.9]]},
        {"method": "platt"},
        ["not", "an", "object"],
    ],
)
def test_malformed_calibration_is_refused(bad) -> None:
    with pytest.raises(ValueError):
        Calibrator.from_json(bad)


def _plots(corpus, split: str) -> list[str]:
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    return [r["overview"] for r in rows if r["split"] == split]


def test_train_calibrates_and_the_bundle_applies_it(tfidf_bundle, tiny_corpus) -> None:
    from moviegenre.bundle import load_bundle

    manifest = json.loads((tfidf_bundle / "bundle.json").read_text())
    assert manifest["calibration"]["method"] == DEFAULT_METHOD
    assert manifest["training"]["calibration"] == DEFAULT_METHOD
    test = manifest["metrics"]["test"]
    assert {"ece", "brier", "log_loss", "ece_uncalibrated"} <= set(test)
    assert "per_genre_ece" not in test  # headline figures only in the manifest
    card = (tfidf_bundle / "MODEL_CARD.md").read_text()
    assert "## Calibration" in card and f"{test['ece']:.4f}" in card
    model = load_bundle(tfidf_bundle)
    plots = _plots(tiny_corpus, "test")
    raw = model.predict_raw(plots)
    np.testing.assert_array_equal(model.predict_proba(plots), model.calibrator.transform(raw))
    assert not np.allclose(model.predict_proba(plots), raw)


def test_train_without_calibration_keeps_raw_scores(tiny_corpus, tmp_path) -> None:
    from moviegenre.bundle import load_bundle
    from moviegenre.training.train import train

    result = train(tiny_corpus, "tfidf", tmp_path / "raw", calibration=None,
                   model_options={"min_df": 1})  # fmt: skip
    assert json.loads((tmp_path / "raw" / "bundle.json").read_text())["calibration"] is None
    model = load_bundle(tmp_path / "raw")
    plots = _plots(tiny_corpus, "test")
    assert model.calibrator is None
    np.testing.assert_array_equal(model.predict_proba(plots), model.predict_raw(plots))
    assert "ece_uncalibrated" not in result.metrics["test"]


def test_calibration_keeps_the_decisions_of_train(tiny_corpus, tmp_path) -> None:
    from moviegenre.training.train import train

    plain = train(tiny_corpus, "tfidf", None, calibration=None, min_genres=0,
                  model_options={"min_df": 1}).model  # fmt: skip
    for method in METHODS:
        calibrated = train(tiny_corpus, "tfidf", None, calibration=method, min_genres=0,
                           model_options={"min_df": 1}).model  # fmt: skip
        plots = _plots(tiny_corpus, "test") + _plots(tiny_corpus, "valid")
        np.testing.assert_array_equal(calibrated.predict(plots), plain.predict(plots))


def test_a_bundle_with_broken_calibration_is_refused(tfidf_bundle, tmp_path) -> None:
    import shutil

    from moviegenre.bundle import load_bundle
    from moviegenre.errors import MovieGenreError

    broken = tmp_path / "broken"
    shutil.copytree(tfidf_bundle, broken)
    manifest = json.loads((broken / "bundle.json").read_text())
    manifest["calibration"] = {"method": "beta", "a": [1.0], "b": [1.0], "c": [0.0]}
    (broken / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(MovieGenreError, match="calibration covers 1 genres"):
        load_bundle(broken)


def test_the_onnx_runtime_applies_the_calibration(lstm_onnx_bundle, tiny_corpus, tmp_path) -> None:
    from moviegenre.bundle import load_bundle, save_bundle

    native = load_bundle(lstm_onnx_bundle, runtime="native")
    plots = _plots(tiny_corpus, "valid")
    rows = [json.loads(line) for line in tiny_corpus.read_text().splitlines()]
    targets = np.array([[g in r["genres"] for g in native.labels] for r in rows
                        if r["split"] == "valid"], dtype=np.int8)  # fmt: skip
    native.fit_decisions(plots, targets)
    save_bundle(native, tmp_path / "calibrated")
    onnx = load_bundle(tmp_path / "calibrated", runtime="onnx")
    assert type(onnx).__name__ == "OnnxGenreModel" and onnx.calibrator is not None
    test = _plots(tiny_corpus, "test")
    np.testing.assert_allclose(onnx.predict_proba(test), native.predict_proba(test), atol=1e-5)
    assert np.max(np.abs(onnx.predict_proba(test) - onnx.predict_raw(test))) > 1e-3
    np.testing.assert_array_equal(onnx.thresholds, native.thresholds)


def test_an_ensemble_calibrates_itself_and_keeps_its_members(tfidf_bundle, tiny_corpus, tmp_path):
    from moviegenre.bundle import load_bundle
    from moviegenre.training.train import train

    train(tiny_corpus, "ensemble", tmp_path / "ens",
          model_options={"members": [str(tfidf_bundle), str(tfidf_bundle)]})  # fmt: skip
    model = load_bundle(tmp_path / "ens")
    assert model.calibrator is not None and model.calibrator.method == DEFAULT_METHOD
    assert all(member.calibrator is not None for member in model.members)
    plots = _plots(tiny_corpus, "test")
    np.testing.assert_array_equal(
        model.predict_proba(plots), model.calibrator.transform(model.predict_raw(plots))
    )


def test_the_card_of_a_composite_without_its_own_map_points_to_its_members() -> None:
    from moviegenre.bundle.card import calibration_summary

    metrics = {"test": {"ece": 0.0041, "ece_uncalibrated": 0.1068}}
    fusion = {"calibration": None, "config": {"members": ["text", "poster"]}, "metrics": metrics}
    text = calibration_summary(fusion)
    assert "members/*/MODEL_CARD.md" in text and "--calibration none" not in text
    assert "0.0041" in text
    plain = calibration_summary({"calibration": None, "config": {}, "metrics": metrics})
    assert "--calibration none" in plain
    calibrated = calibration_summary({"calibration": {"method": "beta"}, "metrics": metrics})
    assert "beta method" in calibrated
