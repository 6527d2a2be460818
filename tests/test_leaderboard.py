"""`moviegenre benchmark`: both leaderboard files, per-model resume, and option parsing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from tiny_options import LSTM_TINY, TFIDF_TEACHER

from moviegenre.cli.benchmark_cmd import parse_options
from moviegenre.cli.main import main
from moviegenre.errors import MovieGenreError
from moviegenre.training.leaderboard import parse_models


def _bench(tiny_corpus: Path, out: Path) -> int:
    return main([
        "benchmark", "--data", str(tiny_corpus), "--models", "tfidf,ensemble", "--out", str(out),
        "--no-cache", "--option", "tfidf.min_df=1",
    ])  # fmt: skip


def test_benchmark_writes_leaderboard_and_resumes(
    tiny_corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "bench"
    assert _bench(tiny_corpus, out) == 0
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    rows = {row["model"]: row for row in board["models"]}
    assert set(rows) == {"tfidf", "ensemble"}
    for row in rows.values():
        assert 0.8 < row["micro_f1"] <= 1.0 and 0 < row["macro_f1"] <= 1.0
        assert row["plots_per_second"] > 0 and row["bundle_mb"] > 0 and row["train_seconds"] >= 0
    assert rows["ensemble"]["members"] == ["tfidf"]  # built from this run's tfidf bundle
    assert rows["tfidf"]["options"] == {"min_df": 1}
    markdown = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "| tfidf |" in markdown and "| ensemble |" in markdown and "Machine:" in markdown

    stamps = {m: (out / m / "bundle.json").stat().st_mtime_ns for m in rows}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="moviegenre.training.leaderboard"):
        assert _bench(tiny_corpus, out) == 0
    assert {m: (out / m / "bundle.json").stat().st_mtime_ns for m in rows} == stamps
    assert sum("not retrained" in r.getMessage() for r in caplog.records) == 2

    (out / "ensemble.json").unlink()  # as if the run died after training tfidf
    assert _bench(tiny_corpus, out) == 0
    assert (out / "tfidf" / "bundle.json").stat().st_mtime_ns == stamps["tfidf"]
    assert (out / "ensemble" / "bundle.json").stat().st_mtime_ns != stamps["ensemble"]
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_unknown_model_is_one_line_error(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    assert main(["benchmark", "--data", str(tiny_corpus), "--models", "tfidf,forest",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "forest" in capsys.readouterr().err
    with pytest.raises(MovieGenreError):
        parse_models(" , ")


def test_parse_options() -> None:
    assert parse_options(["minilm.head=mlp", "tfidf.C=8", "minilm.finetune=true"]) == {
        "minilm": {"head": "mlp", "finetune": True},
        "tfidf": {"C": 8},
    }
    with pytest.raises(MovieGenreError, match="MODEL.KEY=VALUE"):
        parse_options(["head=mlp"])


def test_variants_train_their_model_type_with_their_settings(
    tiny_corpus: Path, tmp_path: Path, monkeypatch
) -> None:
    pytest.importorskip("torch")

    import moviegenre.training.train as training

    calls = []
    real_train = training.train

    def recording_train(data, model_type, out, **kwargs):
        calls.append((model_type, Path(out).name, kwargs.get("distill")))
        if kwargs.get("distill") is not None:  # a fast teacher for the tiny corpus
            kwargs["distill"] = {"teacher": TFIDF_TEACHER, "folds": 3}
        return real_train(data, model_type, out, **kwargs)

    monkeypatch.setattr(training, "train", recording_train)
    tiny = [f"lstm-distilled.{k}={json.dumps(v)}" for k, v in LSTM_TINY.items()]
    args = ["benchmark", "--data", str(tiny_corpus), "--models", "lstm-distilled,tfidf,ensemble",
            "--out", str(tmp_path), "--no-cache", "--option", "tfidf.min_df=1"]  # fmt: skip
    for option in tiny:
        args += ["--option", option]
    assert main(args) == 0
    assert calls[0] == ("lstm", "lstm-distilled", {})  # the variant's model type and settings
    assert [c[0] for c in calls[1:]] == ["tfidf", "ensemble"] and calls[1][2] is None
    rows = {
        r["model"]: r for r in json.loads((tmp_path / "leaderboard.json").read_text())["models"]
    }
    assert rows["ensemble"]["members"] == ["lstm-distilled", "tfidf"]
    manifest = json.loads((tmp_path / "lstm-distilled" / "bundle.json").read_text())
    assert manifest["model_type"] == "lstm" and manifest["training"]["distillation"]["folds"] == 3
    assert "lstm-distilled" in parse_models("lstm-distilled,minilm-finetuned")
    assert parse_models("ngram-distilled") == ["ngram-distilled"]
