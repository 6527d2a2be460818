"""The `catalogue` model type: any label set, small data, bundles that serve without PyTorch."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from no_torch import run_without_torch

from moviegenre.bundle import load_bundle, save_bundle
from moviegenre.errors import MovieGenreError
from moviegenre.models import model_class
from moviegenre.models.catalogue import PRIOR_DIR, CatalogueGenreModel

# A catalogue's own labels, one holding commas and one with a single example.
CUES = {
    "Animals & Nature": ["wolves", "forest", "elephants", "ocean", "wildlife"],
    "Heists": ["vault", "robbery", "crew", "casino", "diamonds"],
    "Arts, Entertainment, and Culture": ["painter", "museum", "orchestra", "ballet", "gallery"],
    "Coming of Age": ["teenager", "school", "summer", "prom", "growing"],
}
SINGLE = "Solo Label"
FILLER = "the a story of one day when life changes and people find their way home".split()


def _catalogue(n: int, seed: int) -> tuple[list[str], np.ndarray, list[str]]:
    rng = random.Random(seed)
    labels = sorted([*CUES, SINGLE])
    plots, rows = [], []
    for i in range(n):
        chosen = rng.sample(sorted(CUES), rng.choice([1, 2]))
        length = 350 if i == 1 else [1, 5, 20, 40][i % 4]  # descriptions of 1 to 350 words
        words = [rng.choice(CUES[label]) for label in chosen for _ in range(max(1, length // 4))]
        words += rng.choices(FILLER, k=max(0, length - len(words)))
        rng.shuffle(words)
        plots.append(" ".join(words[:length]))
        rows.append([1.0 if label in chosen else 0.0 for label in labels])
    targets = np.array(rows, dtype=np.float32)
    plots[0], targets[0] = "a lone violinist crosses the desert", 0.0
    targets[0, labels.index(SINGLE)] = 1.0
    return plots, targets, labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[CatalogueGenreModel, Path]:
    plots, targets, labels = _catalogue(50, 0)
    valid_plots, valid_targets, _ = _catalogue(20, 1)
    model = model_class("catalogue")(labels)
    model.fit(plots, targets, valid_plots, valid_targets)
    model.fit_decisions(valid_plots, valid_targets)
    path = save_bundle(model, tmp_path_factory.mktemp("catalogue") / "bundle")
    return model, path


def test_learns_own_labels_from_small_data(trained: tuple[CatalogueGenreModel, Path]) -> None:
    model, _ = trained
    plots = ["A daring crew plans a casino vault robbery.", "Wolves roam the ocean forest.", "x"]
    probs = model.predict_proba(plots)
    assert probs.shape == (3, 5) and np.all((probs >= 0) & (probs <= 1))
    assert model.labels[int(probs[0].argmax())] == "Heists"
    assert model.labels[int(probs[1].argmax())] == "Animals & Nature"
    # the single-example label gets a threshold like any other, and a plain heist is not it
    assert np.isfinite(model.thresholds).all()
    assert model.predict(plots[:1])[0, model.labels.index(SINGLE)] == 0


def test_bundle_carries_the_fast_model_and_loads_back(
    trained: tuple[CatalogueGenreModel, Path],
) -> None:
    model, path = trained
    manifest = json.loads((path / "bundle.json").read_text())
    assert manifest["model_type"] == "catalogue" and manifest["labels"] == model.labels
    prior = manifest["config"]["prior_model"]
    assert set(prior["sha256"]) == {p.name for p in (path / PRIOR_DIR).iterdir()}
    loaded = load_bundle(path)
    assert isinstance(loaded, CatalogueGenreModel)
    assert loaded.prior_source == path / PRIOR_DIR  # its own copy, not the installed fast model
    plots = ["A painter opens a gallery.", "Teenagers at summer school."]
    np.testing.assert_allclose(loaded.predict_proba(plots), model.predict_proba(plots), atol=1e-5)


def test_bundle_predicts_without_torch(trained: tuple[CatalogueGenreModel, Path]) -> None:
    model, path = trained
    out = run_without_torch(
        """
        import json
        import moviegenre.api as api
        model = api.load_model(sys.argv[1])
        probs = model.predict_proba(["A daring crew plans a casino vault robbery."])
        print(json.dumps({"labels": model.labels, "probs": probs[0].tolist()}))
        """,
        str(path),
    )
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["labels"] == model.labels
    expected = model.predict_proba(["A daring crew plans a casino vault robbery."])[0]
    np.testing.assert_allclose(answer["probs"], expected, atol=1e-5)


def test_options_are_checked_and_work_without_the_prior() -> None:
    with pytest.raises(MovieGenreError, match="prior"):
        CatalogueGenreModel(["a", "b"], prior="default")
    with pytest.raises(MovieGenreError, match="weights"):
        CatalogueGenreModel(["a", "b"], weights=(1.0, -1.0, 0.0))
    plots, targets, labels = _catalogue(20, 2)
    model = CatalogueGenreModel(labels, prior="none", neighbours=100).fit(plots, targets)
    assert model.predict_raw(plots[:2]).shape == (2, len(labels))
    with pytest.raises(MovieGenreError, match="not fitted"):
        CatalogueGenreModel(labels).predict_raw(["a plot"])


def test_trains_through_the_train_path_and_predicts_from_the_cli(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from moviegenre.cli.main import main
    from moviegenre.training.train import train

    result = train(tiny_corpus, "catalogue", tmp_path / "bundle")
    assert result.metrics["test"]["micro_f1"] > 0.8  # the corpus's cue words are easy
    capsys.readouterr()
    code = main(["predict", "--model", str(tmp_path / "bundle"), "--json",
                 "A haunted house: a ghost and a demon make them scream."])  # fmt: skip
    assert code == 0 and "Horror" in capsys.readouterr().out
