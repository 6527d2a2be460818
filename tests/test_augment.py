"""Made-up plots for distillation: pieces of two plots of one fold, labelled by a teacher that
trained on neither."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moviegenre.data.record import MovieRecord
from moviegenre.errors import MovieGenreError
from moviegenre.models.base import GenreModel
from moviegenre.training import distill
from moviegenre.training.augment import mixed_plots, sentences
from moviegenre.training.distill import cross_fitted_teacher, distilled_targets


def _plot(i: int) -> str:
    # every word names its movie, so a piece of text says where it came from
    return f"m{i}w1 m{i}w2 m{i}w3. m{i}w4 m{i}w5! m{i}w6 m{i}w7? m{i}w8."


def _sources(text: str) -> set[int]:
    return {int(word[1:].split("w")[0]) for word in text.replace(".", "").split()
            if word.startswith("m")}  # fmt: skip


def test_sentences_split_after_end_marks_only() -> None:
    parts = ["A man.", "A plan!", "A canal?", "Panama"]
    assert sentences("A man. A plan! A canal? Panama") == parts
    assert sentences("Dr.Who returns") == ["Dr.Who returns"]
    assert sentences("   ") == []


def test_mixed_plots_join_pieces_of_two_plots_of_one_fold() -> None:
    plots = [_plot(i) for i in range(40)]
    fold = np.arange(40) % 4
    texts, text_fold = mixed_plots(plots, fold, per_plot=3, seed=7)
    assert len(texts) == 120 and len(text_fold) == 120
    for n, (text, k) in enumerate(zip(texts, text_fold, strict=True)):
        source = n % 40  # per_plot rounds over the plots in order
        assert k == fold[source]
        found = _sources(text)
        assert source in found and 1 <= len(found) <= 2
        assert all(fold[j] == k for j in found)  # never a piece of another fold's movie
        assert text != plots[source]  # a piece, not the whole plot
    assert mixed_plots(plots, fold, 3, seed=7)[0] == texts  # fixed for a seed
    assert mixed_plots(plots, fold, 3, seed=8)[0] != texts
    assert mixed_plots(plots, fold, 0)[0] == []


def test_one_sentence_plots_are_cut_by_words_and_bad_counts_refused() -> None:
    plots = ["one two three four five six seven eight nine", "alpha beta gamma delta epsilon"]
    texts, _ = mixed_plots(plots, np.zeros(2, dtype=int), per_plot=2)
    assert all(0 < len(t.split()) < 14 for t in texts)
    with pytest.raises(MovieGenreError, match="0 or more"):
        mixed_plots(plots, np.zeros(2, dtype=int), per_plot=-1)
    with pytest.raises(MovieGenreError, match="one fold per plot"):
        mixed_plots(plots, np.zeros(3, dtype=int), per_plot=1)


class _WordRecorder(GenreModel):
    """A stand-in teacher that answers 1 when any word of a plot was in its training plots."""

    model_type = "word-recorder"
    fits = 0

    def fit(self, plots, targets, valid_plots=None, valid_targets=None):
        self.words = {w for p in plots for w in p.replace(".", "").split()}
        _WordRecorder.fits += 1
        return self

    def predict_raw(self, plots):
        seen = [any(w in self.words for w in p.replace(".", "").split()) for p in plots]
        return np.array([[1.0 if s else 0.25] * len(self.labels) for s in seen], np.float32)

    def save_files(self, directory):  # pragma: no cover - never saved
        return {}

    @classmethod
    def load_files(cls, directory, config, labels):  # pragma: no cover
        raise NotImplementedError


def _build(name, labels, options, cache_dir=None) -> _WordRecorder:  # noqa: ANN001
    return _WordRecorder(labels)


def _movies(n: int) -> list[MovieRecord]:
    return [MovieRecord(id=str(i), title=f"Movie {i}", year="2001", plot=_plot(i),
                        genres=("Drama",)) for i in range(n)]  # fmt: skip


def test_no_made_up_plot_is_scored_by_a_teacher_that_saw_a_piece_of_it(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(distill, "build_model", _build)
    movies = _movies(50)
    targets = np.ones((50, 2), dtype=np.float32)
    _WordRecorder.fits = 0
    teacher = {"type": "word-recorder"}
    answers = cross_fitted_teacher(teacher, ["A", "B"], movies, targets, [], targets[:0],
                                   folds=5, teacher_cache=tmp_path, augment=2)  # fmt: skip
    assert _WordRecorder.fits == 5 and len(answers.extra_plots) == 100
    # had any fold model trained on a source of a made-up plot, it would have answered 1.0
    np.testing.assert_array_equal(answers.extra, np.full((100, 2), 0.25, dtype=np.float32))
    np.testing.assert_array_equal(answers.train, np.full((50, 2), 0.25, dtype=np.float32))
    again = cross_fitted_teacher(teacher, ["A", "B"], movies, targets, [], targets[:0],
                                 folds=5, teacher_cache=tmp_path, augment=2)  # fmt: skip
    assert _WordRecorder.fits == 5  # all from the cache, made-up plots included
    np.testing.assert_array_equal(again.extra, answers.extra)
    assert again.extra_plots == answers.extra_plots
    cross_fitted_teacher(teacher, ["A", "B"], movies, targets, [], targets[:0],
                         folds=5, teacher_cache=tmp_path, augment=1)  # fmt: skip
    assert _WordRecorder.fits == 10  # other made-up plots: the folds are fitted again


def test_distilled_targets_add_the_made_up_plots_with_the_teachers_answers(monkeypatch) -> None:
    monkeypatch.setattr(distill, "build_model", _build)
    from moviegenre.models.ngram import NgramGenreModel

    movies = _movies(30)
    hard = np.zeros((30, 2), dtype=np.float32)
    hard[:, 0] = 1.0
    student = NgramGenreModel(["A", "B"])
    plots, soft, record = distilled_targets(
        student, {"teacher": {"type": "word-recorder"}, "alpha": 0.5, "augment": 3}, ["A", "B"],
        movies, hard, [], np.zeros((0, 2), np.float32),
    )  # fmt: skip
    assert plots[:30] == [m.plot for m in movies] and len(plots) == 120
    assert soft.shape == (120, 2) and record["augment"] == 3
    np.testing.assert_allclose(soft[:30], [[0.625, 0.125]] * 30)  # 0.5 * label + 0.5 * teacher
    np.testing.assert_allclose(soft[30:], 0.25)  # the teacher alone
