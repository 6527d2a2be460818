"""Shared fixtures: pinned threads, the shared corpus (skipped when absent), small data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

try:  # two threads on two busy cores can be ten times slower than one
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
CORPUS = SHARED_DATA / "tmdb-overviews" / "movies.jsonl"
RAW = SHARED_DATA / "raw"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def corpus_path() -> Path:
    if not CORPUS.is_file():
        pytest.skip(f"needs the shared corpus at {CORPUS} (not present on this machine)")
    return CORPUS


@pytest.fixture
def raw_dir() -> Path:
    if not RAW.is_dir():
        pytest.skip(f"needs the shared raw files at {RAW} (not present on this machine)")
    return RAW


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small corpus-format JSON Lines file with learnable genre words, made on the fly."""
    import json
    import random

    rng = random.Random(0)
    cues = {
        "Horror": ["ghost", "haunted", "blood", "demon", "scream"],
        "Comedy": ["hilarious", "wacky", "prank", "funny", "laughs"],
        "Romance": ["love", "kiss", "wedding", "heart", "romance"],
        "Action": ["explosion", "chase", "gun", "fight", "mission"],
        "Science Fiction": ["alien", "spaceship", "robot", "planet", "future"],
    }
    filler = "a the man woman city life story young old finds must when".split()
    path = tmp_path_factory.mktemp("corpus") / "movies.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(300):
            genres = rng.sample(sorted(cues), k=rng.choice([1, 1, 2]))
            words = [rng.choice(filler) for _ in range(12)]
            for genre in genres:
                words += rng.sample(cues[genre], k=3)
            rng.shuffle(words)
            split = "train" if i < 220 else "valid" if i < 260 else "test"
            handle.write(json.dumps({
                "id": f"{i:012x}", "title": f"Movie {i}", "year": str(1950 + i % 70),
                "overview": " ".join(words).capitalize() + ".", "genres": genres, "split": split,
                "sources": ["fixture"],
            }) + "\n")  # fmt: skip
    return path


@pytest.fixture(scope="session")
def tfidf_bundle(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small TF-IDF bundle trained on the tiny corpus: a real model, no PyTorch needed."""
    from moviegenre.training.train import train

    out = tmp_path_factory.mktemp("bundles") / "tfidf"
    train(tiny_corpus, "tfidf", out, model_options={"min_df": 1})
    return out


@pytest.fixture(scope="session")
def tfidf_client(tfidf_bundle: Path):
    """A Flask test client of the app serving the tiny TF-IDF bundle (the API and page tests)."""
    from moviegenre.serving.app import create_app

    return create_app(model_path=tfidf_bundle).test_client()


@pytest.fixture(scope="session")
def lstm_onnx_bundle(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small LSTM bundle with its ONNX export: seeded random weights, no training (torch)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from onnx_fixture import make_lstm_bundle

    return make_lstm_bundle(tiny_corpus, tmp_path_factory.mktemp("bundles") / "lstm_onnx")


@pytest.fixture(scope="session")
def poster_world(tiny_corpus: Path, tfidf_bundle: Path, tmp_path_factory: pytest.TempPathFactory):
    """A poster index beside the tiny corpus, a tiny image network, and the poster and fusion
    bundles trained on them (the fusion wraps the TF-IDF bundle)."""
    from types import SimpleNamespace

    from poster_fixture import make_network, make_poster_index

    from moviegenre.training.poster_models import train_fusion, train_poster

    folder = tmp_path_factory.mktemp("posters")
    index = make_poster_index(tiny_corpus, folder / "data")
    network = make_network(folder / "network.onnx")
    cache = folder / "cache"
    poster = train_poster(index, folder / "poster", cache_dir=cache, network=network,
                          progress=False).path  # fmt: skip
    fusion = train_fusion(tiny_corpus, index, tfidf_bundle, poster, folder / "fusion",
                          cache_dir=cache).path  # fmt: skip
    return SimpleNamespace(index=index, network=network, cache=cache, poster=poster,
                           fusion=fusion, images=folder / "data" / "images")  # fmt: skip
