"""What a data file holds, as `moviegenre data inspect` reports it: rows read and skipped (with
the reasons), rows without plot or genres, splits, genres and plot lengths."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moviegenre.data.labels import AS_WRITTEN, TMDB, load_vocabulary
from moviegenre.data.readers import iter_records
from moviegenre.data.record import MovieRecord
from moviegenre.genres import TMDB_GENRES


def summarize(
    path: str | Path,
    progress: Callable[[Iterable[MovieRecord]], Iterable[MovieRecord]] | None = None,
    **options: object,
) -> dict[str, Any]:
    """Read `path` once (streamed, any supported format) and count what it holds, as a
    JSON-ready dict. `progress` may wrap the record stream (a progress bar); `options` are the
    readers' (text_column, genre_column, include_tv).
    """
    stream = iter_records(path, **options)
    genres: Counter[str] = Counter()
    splits: Counter[str] = Counter()
    lengths: list[int] = []
    without_plot = without_genres = usable = 0
    for record in progress(stream) if progress else stream:
        genres.update(record.genres)
        splits[record.split or "none"] += 1
        words = len(record.plot.split())
        if words:
            lengths.append(words)
        else:
            without_plot += 1
        if not record.genres:
            without_genres += 1
        elif words:
            usable += 1
    result = stream.result
    known = set(TMDB_GENRES)
    return {
        "path": str(path),
        "format": stream.format,
        "rows": stream.rows,
        "skipped": result.skipped,
        "skip_reasons": dict(result.skip_reasons.most_common()),
        "dropped": dict(result.dropped.most_common()),
        "without_plot": without_plot,
        "without_genres": without_genres,
        "usable": usable,
        "splits": dict(splits.most_common()),
        "genres": dict(genres.most_common()),
        "unmapped_genres": sorted(g for g in genres if g not in known),
        "plot_words": _length_stats(lengths),
    }


def _length_stats(lengths: list[int]) -> dict[str, float]:
    if not lengths:
        return {"min": 0, "median": 0, "mean": 0.0, "max": 0}
    return {
        "min": min(lengths),
        "median": float(statistics.median(lengths)),
        "mean": round(statistics.fmean(lengths), 1),
        "max": max(lengths),
    }


def label_choices(
    path: str | Path, label_file: str | None = None, **options: object
) -> dict[str, dict[str, Any]]:
    """The labels `path` gives under each choice of `train --labels`: tmdb, as-written and,
    when given, a label file. Each: the label counts over rows with a plot, and the labels a
    label file's min_count would drop (or refuse).
    """
    options = {k: v for k, v in options.items() if k != "labels"}
    choices: dict[str, dict[str, Any]] = {}
    for spec in (TMDB, AS_WRITTEN, *([label_file] if label_file else [])):
        vocabulary = load_vocabulary(spec)
        counts: Counter[str] = Counter()
        for record in iter_records(path, labels=vocabulary, **options):
            if record.plot.strip():
                counts.update(record.genres)
        rare = sorted(g for g, c in counts.items() if c < vocabulary.min_count)
        choices[str(spec)] = {
            "labels": len(counts),
            "counts": dict(counts.most_common()),
            "below_min_count": rare,
            "below_min": vocabulary.below_min if rare else None,
        }
    return choices
