"""Train the poster model from a poster index, and fuse it with a text model into one bundle.

Label sources: the index holds posters of corpus movies (corpus genres and split) and posters
labelled from MovieLens (genres mapped to TMDB names, a hash split). The poster model learns from
both; for each genre, a poster counts only when its label source can name that genre (MovieLens
has no History or TV Movie, so its posters are not negatives for them). Poster-only thresholds are
tuned on valid posters of one source (`threshold_source`, MovieLens by default: that is how the
poster-alone answers are judged); the fusion's thresholds come from corpus valid movies, the way
plot+poster answers are judged.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.calibration import DEFAULT_METHOD
from moviegenre.data.dataset import target_matrix
from moviegenre.data.poster_index import (
    LABEL_SOURCES,
    JoinedMovies,
    PosterRecord,
    corpus_with_posters,
    read_poster_index,
)
from moviegenre.errors import MovieGenreError
from moviegenre.evaluation.metrics import compute_metrics, macro_f1_min_support
from moviegenre.thresholds import decide
from moviegenre.training.build import recorded_command
from moviegenre.training.scoring import TrainResult, evaluate_scores, headline

log = logging.getLogger(__name__)

CALIBRATION_POSTERS = 200  # training posters that set the int8 network's activation ranges
WEIGHT_GRID = tuple(round(0.05 * i, 2) for i in range(11))  # poster weight 0 .. 0.5
MACRO_MIN_SUPPORT = 10  # "macro>=10": macro-F1 over genres with at least this many movies
MACRO_TOLERANCE = 0.005  # the fusion may not cost plot-alone's macro>=10 more than this
# Valid micro-F1 differences under this (about one movie's worth on 396 movies) are noise: the
# smallest weight that close to the best is kept, the poster trusted no more than it must be.
MICRO_NOISE = 0.002


def default_cache_dir() -> Path:
    """Where poster features and the converted image network are kept between runs."""
    return Path.home() / ".cache" / "moviegenre" / "posters"


def image_network(cache_dir: Path, records: list[PosterRecord], quantise: bool = True) -> Path:
    """The image network's ONNX file, converted once from the published weights and kept."""
    from moviegenre.images.convert import export_network
    from moviegenre.images.reader import read_poster

    name = "efficientnet-lite0-int8.onnx" if quantise else "efficientnet-lite0-float32.onnx"
    path = Path(cache_dir) / name
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    calibration = None
    if quantise:
        train = [r for r in records if r.split == "train"]
        rng = np.random.default_rng(0)
        picks = rng.choice(len(train), min(CALIBRATION_POSTERS, len(train)), replace=False)
        calibration = [read_poster(train[i].path) for i in sorted(picks)]
    fidelity = export_network(path, calibration)
    log.info("image network %s written (%s)", path, fidelity or "float32")
    return path


def cached_features(
    records: list[PosterRecord], network: Path, cache_dir: Path, progress: bool = True
) -> tuple[list[PosterRecord], np.ndarray]:
    """Features of each readable poster (unreadable ones dropped with a warning), cached on disk."""
    from moviegenre.images.cache import FeatureCache
    from moviegenre.images.features import PosterEncoder

    cache = FeatureCache(Path(cache_dir) / "features", PosterEncoder(network, batch_size=32))
    features, errors = cache.features([r.path for r in records], progress=progress)
    if errors:
        first = next(iter(errors.values()))
        print(f"moviegenre: warning: {len(errors)} poster(s) could not be read and are left out "
              f"(first: {first})", file=sys.stderr)  # fmt: skip
    keep = [i for i in range(len(records)) if i not in errors]
    return [records[i] for i in keep], features[keep]


def source_genres(records: list[PosterRecord]) -> dict[str, set[str]]:
    """The genres each label source uses anywhere in the index."""
    seen: dict[str, set[str]] = {source: set() for source in LABEL_SOURCES}
    for record in records:
        seen[record.label_source].update(record.genres)
    return seen


def known_matrix(
    records: list[PosterRecord], labels: list[str], seen: dict[str, set[str]]
) -> np.ndarray:
    """(n, labels) booleans: whether each poster's label source can name each genre."""
    return np.asarray([[g in seen[r.label_source] for g in labels] for r in records], dtype=bool)


def train_poster(
    index: str | Path,
    out: str | Path | None,
    *,
    cache_dir: str | Path | None = None,
    C: float = 0.003,
    label_sources: tuple[str, ...] = LABEL_SOURCES,
    threshold_source: str = "movielens",
    quantise: bool = True,
    network: str | Path | None = None,
    min_genres: int = 1,
    calibration: str | None = DEFAULT_METHOD,
    progress: bool = True,
) -> TrainResult:
    """Fit the poster model on the index's train posters and write a bundle to `out`.

    calibration: the method fitted per genre on the threshold source's valid posters (None: the
    head's own scores).

    network: an image network ONNX file (pixels -> 1280 features) to use instead of the one
    converted from EfficientNet-Lite0's published weights (kept in `cache_dir`).
    """
    from moviegenre.genres import TMDB_GENRES
    from moviegenre.models.poster import PosterGenreModel

    if threshold_source not in LABEL_SOURCES or not set(label_sources) <= set(LABEL_SOURCES):
        raise MovieGenreError(f"label sources must be among {', '.join(LABEL_SOURCES)}")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    records = [r for r in read_poster_index(index) if r.genres]
    network = Path(network) if network else image_network(cache_dir, records, quantise)
    records, features = cached_features(records, network, cache_dir, progress)
    seen = source_genres(records)
    labels = [g for g in TMDB_GENRES if any(g in genres for genres in seen.values())]
    started = time.perf_counter()
    train = np.asarray([r.split == "train" and r.label_source in label_sources for r in records])
    if not train.any():
        raise MovieGenreError(f"{index}: no training posters from {', '.join(label_sources)}")
    targets = target_matrix(records, labels)
    known = known_matrix(records, labels, seen)
    model = PosterGenreModel(labels, C=C, network=str(network))
    model.fit_features(features[train], targets[train], known[train])
    seconds = time.perf_counter() - started
    model.min_genres = min_genres
    raw = model.proba_from_features(features)  # no calibrator yet: the head's own scores
    tuning = np.asarray(
        [r.split == "valid" and r.label_source == threshold_source for r in records]
    )
    # micro-F1 + macro-F1 of the decisions: per-genre F1 tuning makes weak genres fire too often;
    # the calibrator is fitted on the posters the thresholds are tuned on (a genre that source
    # cannot name, all 0 there, keeps its scores)
    model.tune_decisions(raw[tuning], targets[tuning], "joint", calibration)
    metrics: dict[str, dict[str, Any]] = {}
    for split in ("valid", "test"):
        for source in LABEL_SOURCES:
            rows = np.asarray([r.split == split and r.label_source == source for r in records])
            if rows.any():
                # genres a source cannot name are not scored on its posters
                columns = [j for j, g in enumerate(labels) if g in seen[source]]
                metrics[f"{split}_{source}"] = evaluate_scores(
                    model, raw[rows], targets[rows], columns
                )
    path = None
    if out is not None:
        from moviegenre.bundle import save_bundle

        extra = {
            "training": {
                "command": recorded_command(),
                "data": Path(index).name,
                "train_rows": int(train.sum()),
                "label_sources": list(label_sources),
                "threshold_source": threshold_source,
                "calibration": calibration or "none",
                "how_sources_combine": "a poster counts for a genre only when its label source "
                "can name that genre",
                "network": network.name,
                "seconds": round(seconds, 1),
            },
            "metrics": {name: headline(m) for name, m in metrics.items()},
        }
        path = save_bundle(model, out, extra=extra)
    return TrainResult(model, metrics, seconds, path)


def poster_probs_cached(fusion: Any, paths: list[Path], cache_dir: Path) -> np.ndarray:
    """A fusion's poster probabilities (its label order) for poster files, features cached."""
    from moviegenre.images.cache import FeatureCache

    cache = FeatureCache(Path(cache_dir) / "features", fusion.poster.encoder)
    features, errors = cache.features(paths, progress=False)
    if errors:
        raise MovieGenreError(
            f"{len(errors)} poster(s) could not be read: {next(iter(errors.values()))}"
        )
    return fusion.poster_proba_from_features(features)


def train_fusion(
    data: str | Path,
    index: str | Path,
    text_dir: str | Path,
    poster_dir: str | Path,
    out: str | Path | None,
    *,
    cache_dir: str | Path | None = None,
) -> TrainResult:
    """Fuse two bundles: the fusion learns its poster weight and thresholds itself
    (`FusionGenreModel.assemble`, over WEIGHT_GRID) on corpus valid movies that have a poster.
    """
    from moviegenre.bundle import load_bundle
    from moviegenre.models.fusion import FusionGenreModel

    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    text, poster = load_bundle(text_dir), load_bundle(poster_dir)
    if isinstance(text, FusionGenreModel):  # rebuilding a fusion: keep its text model
        text = text.text
    if text is None or text.inputs != ("plot",) or poster.inputs != ("poster",):
        raise MovieGenreError("fusion needs a text bundle and a poster bundle, in that order")
    labels = list(text.labels)
    model = FusionGenreModel(labels, [text, poster])
    started = time.perf_counter()
    valid = corpus_with_posters(data, index, labels, "valid")
    if not valid.plots:
        raise MovieGenreError(f"{index}: no corpus valid movie has a poster to tune the fusion on")
    text_valid = model.text_proba(valid.plots)
    poster_valid = poster_probs_cached(model, valid.posters, cache_dir)
    model.assemble(
        text_valid, poster_valid, valid.targets, WEIGHT_GRID,
        min_support=MACRO_MIN_SUPPORT, macro_tolerance=MACRO_TOLERANCE, micro_noise=MICRO_NOISE,
    )  # fmt: skip
    best = model.poster_weight
    seconds = time.perf_counter() - started
    test = corpus_with_posters(data, index, labels, "test")
    metrics = poster_rows(model, test, cache_dir) if test.plots else {}
    path = None
    if out is not None:
        from moviegenre.bundle import save_bundle

        meta = text.metadata
        extra = {
            "fingerprint": meta.get("fingerprint"),
            "training": {
                **(meta.get("training") or {}),
                "fusion": {
                    "command": recorded_command(),
                    "valid_movies_with_poster": len(valid.plots),
                    "poster_weight": best,
                    "seconds": round(seconds, 1),
                },
            },
            # plot-only answers are the text model's: its metrics stay the headline
            "metrics": {**(meta.get("metrics") or {}),
                        "posters_test": {k: headline(v) for k, v in metrics.items()}},
        }  # fmt: skip
        path = save_bundle(model, out, extra=extra)
    return TrainResult(model, metrics, seconds, path)


def poster_rows(model: Any, movies: JoinedMovies, cache_dir: Path) -> dict[str, dict[str, Any]]:
    """Plot-only, poster-only and plot+poster metrics of a fusion model on the same movies."""
    from moviegenre.models.fusion import BOTH
    from moviegenre.movie import PLOT, POSTER

    text_probs = model.text_proba(movies.plots)
    poster_probs = poster_probs_cached(model, movies.posters, cache_dir)
    rows = {}
    for key, probs in ((PLOT, text_probs), (POSTER, poster_probs),
                       (BOTH, model.fuse(text_probs, poster_probs))):  # fmt: skip
        decided = decide(probs, model.thresholds_for(key.split("+")), model.min_genres)
        found = compute_metrics(movies.targets, decided, model.labels)
        found["macro_f1_min10"] = macro_f1_min_support(movies.targets, decided, MACRO_MIN_SUPPORT)
        rows[key] = found
    return rows
