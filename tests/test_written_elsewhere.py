"""The pure logic of benchmarks/written_elsewhere.py: category mapping, title matching, F1."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "written_elsewhere.py"
PINNED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MOVIEGENRE_THREADS")


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # the script pins threads in os.environ when imported; monkeypatch puts them back afterwards
    for name in PINNED:
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("written_elsewhere", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_categories_map_to_the_scored_genres_only(script: ModuleType) -> None:
    assert script.netflix_genres("Dramas, International Movies, Romantic Movies") == [
        "Drama",
        "Romance",
    ]
    assert script.netflix_genres("Comedies, Stand-Up Comedy") == ["Comedy"]
    assert script.netflix_genres("Action & Adventure, Sci-Fi & Fantasy") == []
    assert len(script.SCORED) == 8


def test_title_key_ignores_case_and_punctuation_but_not_the_year(script: ModuleType) -> None:
    assert script.title_key("Amélie!", 2001) == script.title_key("amélie", "2001")
    assert script.title_key("Se7en", "1995") != script.title_key("Se7en", "1996")
    assert script.title_key("Se7en", "") != script.title_key("Se7en", "1995")


def test_f1_scores_micro_and_macro(script: ModuleType) -> None:
    truth = np.array([[1, 0], [1, 0], [0, 1]])
    decided = np.array([[1, 0], [0, 0], [0, 1]])
    # column 0: tp 1, fn 1 -> F1 2/3; column 1: F1 1; micro: 2*2 / (2*2 + 1) = 0.8
    assert script.f1_scores(truth, decided) == {"micro_f1": 0.8, "macro_f1": 0.8333}


def test_proxy_set_drops_unmapped_shows_and_corpus_films(
    script: ModuleType, tmp_path: Path
) -> None:
    rows = [
        "type,title,release_year,listed_in,description",
        'Movie,Kept,2019,"Dramas, Horror Movies",A haunted house.',
        "Movie,Unmapped,2019,International Movies,A journey.",
        "Movie,In Corpus,2010,Comedies,A wedding goes wrong.",
        "TV Show,A Show,2019,TV Dramas,A family saga.",
    ]
    path = tmp_path / "netflix.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    plots, truth, counts = script.proxy_set(path, {script.title_key("In Corpus", 2010)})
    assert plots == ["A haunted house."]
    assert truth.tolist() == [[int(g in ("Drama", "Horror")) for g in script.SCORED]]
    assert counts == {"movies": 3, "no_mapped_category": 1, "in_tmdb_corpus": 1}
