"""Distillation: cross-fitted teacher probabilities, soft targets, and training the LSTM on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_options import LSTM_TINY, TFIDF_TEACHER

from moviegenre.data.record import MovieRecord
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.training import distill
from moviegenre.training.distill import cross_fitted_probs, fold_of, soft_targets
from moviegenre.training.train import train


def _record(i: int, series: str = "") -> MovieRecord:
    return MovieRecord(id=str(i), title=f"Movie {i}", year="2001", plot=f"plot number {i}",
                       genres=("Drama",), series=series)  # fmt: skip


def test_folds_are_stable_cover_every_fold_and_keep_a_series_together() -> None:
    movies = [_record(i) for i in range(200)]
    folds = [fold_of(r, 5) for r in movies]
    assert folds == [fold_of(r, 5) for r in movies]  # a hash, not a random draw
    assert set(folds) == set(range(5))
    assert max(np.bincount(folds)) < 70  # roughly even (40 expected per fold)
    episodes = [_record(i, series="Twin Peaks") for i in range(30)]
    assert len({fold_of(r, 5) for r in episodes}) == 1
    assert [fold_of(r, 5, seed=1) for r in movies] != folds


class _Recorder(GenreModel):
    """A stand-in teacher that remembers what it trained on and answers 1 for plots it saw."""

    model_type = "recorder"
    fitted: list[set[str]] = []

    def fit(self, plots, targets, valid_plots=None, valid_targets=None):
        self.seen = set(plots)
        _Recorder.fitted.append(self.seen)
        return self

    def predict_raw(self, plots):
        return np.array([[1.0 if p in self.seen else 0.25] * len(self.labels) for p in plots],
                        dtype=np.float32)  # fmt: skip

    def save_files(self, directory):  # pragma: no cover - never saved
        return {}

    @classmethod
    def load_files(cls, directory, config, labels):  # pragma: no cover
        raise NotImplementedError


def test_no_movie_is_scored_by_a_teacher_that_trained_on_it(monkeypatch) -> None:
    monkeypatch.setattr(
        distill, "build_model", lambda name, labels, options, cache_dir=None: _Recorder(labels)
    )
    _Recorder.fitted = []
    movies = [_record(i) for i in range(60)]
    targets = np.ones((60, 2), dtype=np.float32)
    probs = cross_fitted_probs({"type": "recorder"}, ["A", "B"], movies, targets, [], targets[:0],
                               folds=4)  # fmt: skip
    assert len(_Recorder.fitted) == 4
    # every fold's teacher saw the other three folds only, and each movie got an unseen answer
    assert all(len(seen) < 60 for seen in _Recorder.fitted)
    np.testing.assert_array_equal(probs, np.full((60, 2), 0.25, dtype=np.float32))


def test_cached_folds_are_reused_and_an_ensemble_teacher_is_weighted_per_member(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        distill, "build_model", lambda name, labels, options, cache_dir=None: _Recorder(labels)
    )
    movies = [_record(i) for i in range(60)]
    targets = np.ones((60, 2), dtype=np.float32)
    valid_plots, valid_targets = ["plot number 1", "a new plot"], np.eye(2, dtype=np.float32)
    teacher = {"type": "ensemble", "options": {"members": [{"type": "a"}, {"type": "b"}]}}
    _Recorder.fitted = []
    report: dict = {}
    first = cross_fitted_probs(teacher, ["A", "B"], movies, targets, valid_plots, valid_targets,
                               folds=3, teacher_cache=tmp_path, report=report)  # fmt: skip
    assert len(_Recorder.fitted) == 6  # two members, three folds each
    assert len(list(tmp_path.glob("*.npz"))) == 6
    assert len(report["member_weights"]) == 2 and abs(sum(report["member_weights"]) - 1) < 1e-6
    _Recorder.fitted = []
    again = cross_fitted_probs(teacher, ["A", "B"], movies, targets, valid_plots, valid_targets,
                               folds=3, teacher_cache=tmp_path)  # fmt: skip
    assert _Recorder.fitted == []  # every fold came from the cache
    np.testing.assert_array_equal(again, first)
    # other training targets are another teacher: nothing is reused
    cross_fitted_probs(teacher, ["A", "B"], movies, targets * 0, valid_plots, valid_targets,
                       folds=3, teacher_cache=tmp_path)  # fmt: skip
    assert len(_Recorder.fitted) == 6


def test_too_few_movies_for_the_folds_is_a_clear_error() -> None:
    with pytest.raises(MovieGenreError, match="cannot fill 5 folds"):
        cross_fitted_probs(TFIDF_TEACHER, ["A", "B"], [_record(0), _record(1)],
                           np.ones((2, 2), np.float32), [], np.ones((0, 2)), folds=5)  # fmt: skip


def test_soft_targets_blend_and_refuse_a_bad_alpha() -> None:
    hard = np.array([[1.0, 0.0]])
    teacher = np.array([[0.6, 0.2]])
    np.testing.assert_allclose(soft_targets(hard, teacher, 0.5), [[0.8, 0.1]], rtol=1e-6)
    np.testing.assert_allclose(soft_targets(hard, teacher, 1.0), hard)
    with pytest.raises(MovieGenreError, match="alpha"):
        soft_targets(hard, teacher, 1.5)


def test_lstm_learns_from_a_tfidf_teacher_and_records_it(tiny_corpus: Path, tmp_path: Path,
                                                          monkeypatch) -> None:  # fmt: skip
    pytest.importorskip("torch")

    from moviegenre.bundle import load_bundle
    from moviegenre.models.lstm import LSTMGenreModel

    seen_targets = []
    original_fit = LSTMGenreModel.fit

    def spying_fit(self, plots, targets, *rest):
        seen_targets.append(np.asarray(targets))
        return original_fit(self, plots, targets, *rest)

    monkeypatch.setattr(LSTMGenreModel, "fit", spying_fit)
    out = tmp_path / "bundle"
    result = train(tiny_corpus, "lstm", out, model_options=LSTM_TINY,
                   distill={"teacher": TFIDF_TEACHER, "alpha": 0.5, "folds": 3})  # fmt: skip
    targets = seen_targets[0]
    soft = targets[(targets > 0) & (targets < 1)]
    assert soft.size > 0.5 * targets.size  # blended: hardly any target is still exactly 0 or 1
    assert targets.min() >= 0.0 and targets.max() <= 1.0
    assert result.metrics["valid"]["micro_f1"] > 0.8
    recorded = json.loads((out / "bundle.json").read_text())["training"]["distillation"]
    assert recorded["teacher"] == TFIDF_TEACHER and recorded["alpha"] == 0.5
    assert recorded["folds"] == 3
    assert load_bundle(out, runtime="native").predict_proba(["a ghost"]).shape == (1, 5)


def test_a_model_that_cannot_take_soft_targets_is_refused(tiny_corpus: Path) -> None:
    with pytest.raises(MovieGenreError, match="cannot learn from a teacher"):
        train(tiny_corpus, "tfidf", None, distill={"teacher": TFIDF_TEACHER})


def test_unknown_distillation_setting_is_refused(tiny_corpus: Path) -> None:
    pytest.importorskip("torch")
    with pytest.raises(MovieGenreError, match="unknown distillation setting"):
        train(tiny_corpus, "lstm", None, distill={"alhpa": 0.3})


@pytest.mark.parametrize(
    ("teacher", "message"),
    [("{not json", "--teacher is not valid JSON"), ('["tfidf"]', 'a JSON object with a "type"')],
)
def test_cli_refuses_a_bad_teacher_in_one_line(tiny_corpus: Path, tmp_path: Path, teacher: str,
                                               message: str) -> None:  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "moviegenre", "train", "--data", str(tiny_corpus),
         "--model-type", "lstm", "--out", str(tmp_path / "b"), "--teacher", teacher],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_run_settings_do_not_make_another_teacher(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(
        distill, "build_model", lambda name, labels, options, cache_dir=None: _Recorder(labels)
    )
    movies = [_record(i) for i in range(30)]
    targets = np.ones((30, 2), dtype=np.float32)
    _Recorder.fitted = []
    for spec in ({"type": "lstm", "options": {"progress": False, "device": "cpu"}},
                 {"type": "lstm"}):  # fmt: skip
        cross_fitted_probs(spec, ["A", "B"], movies, targets, [], targets[:0], folds=3,
                           teacher_cache=tmp_path)  # fmt: skip
    assert len(_Recorder.fitted) == 3  # the second run found the first one's folds
    cross_fitted_probs({"type": "lstm", "options": {"hidden": 8}}, ["A", "B"], movies, targets,
                       [], targets[:0], folds=3, teacher_cache=tmp_path)  # fmt: skip
    assert len(_Recorder.fitted) == 6  # a hyper-parameter is another teacher
