"""Streaming batch prediction: any file the data readers read in, JSON Lines out, chunk by chunk."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moviegenre.data.labels import vocabulary_of
from moviegenre.data.readers import iter_records
from moviegenre.data.record import MovieRecord
from moviegenre.errors import MovieGenreError
from moviegenre.files import atomic_writer
from moviegenre.movie import Movie
from moviegenre.prediction import Prediction, answer

DEFAULT_CHUNK = 512
# The progress bar's row total for a text file is estimated from the newlines in its first
# ESTIMATE_SAMPLE bytes and its size: a total and time left for the cost of one small read.
ESTIMATE_SAMPLE = 1024 * 1024
# Compressed inputs (gzip, bzip2, xz, zip) give no cheap estimate: their bar shows a count.
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"PK\x03\x04")
# Chunks allowed in flight per worker: enough to keep workers busy, small enough for flat memory.
IN_FLIGHT_PER_WORKER = 4
NO_PLOT = "empty plot"


@dataclass
class BatchResult:
    """What a run wrote: one line per row read, and the damaged rows it skipped (not written)."""

    output: str
    lines: int = 0
    without_plot: int = 0  # rows with neither a plot nor a poster
    bad_posters: int = 0  # rows whose poster is missing or unreadable (an error line each)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def predicted(self) -> int:
        return self.lines - self.without_plot - self.bad_posters

    @property
    def skipped(self) -> int:
        return sum(self.skip_reasons.values())

    def summary(self) -> str:
        """One line for stderr, with the same skip reasons `moviegenre data inspect` counts."""
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.skip_reasons.most_common())
        posters = (
            f"{self.bad_posters} with a missing or broken poster (an error line each), "
            if self.bad_posters
            else ""
        )
        text = (
            f"wrote {self.lines} lines to {self.output}: {self.predicted} predicted, "
            f"{self.without_plot} without a plot (an error line each), {posters}"
            f"{self.skipped} damaged rows skipped" + (f" ({reasons})" if reasons else "")
        )
        if self.dropped:
            left_out = ", ".join(f"{n} {reason}" for reason, n in self.dropped.most_common())
            text += f", left out by rule: {left_out}"
        return text


def chunks(rows: Iterable[MovieRecord], size: int) -> Iterator[list[MovieRecord]]:
    chunk: list[MovieRecord] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_lines(model: Any, rows: list[MovieRecord], poster_root: Path | None = None) -> str:
    """JSON Lines text for a chunk of rows, in order, each with the row's id and title; rows
    without a plot get empty genres and an `error` field.

    poster_root: posters are read (their paths relative to this folder) and used beside the
    plots; a row with neither, or whose poster is missing or unreadable, gets an error line.
    """
    if poster_root is None:
        answers = answer(model, [Movie(row.plot) for row in rows if row.plot])
        errors: dict[int, str] = {i: NO_PLOT for i, row in enumerate(rows) if not row.plot}
    else:
        answers, errors = _with_posters(model, rows, poster_root)
    predictions = iter(answers)
    lines = []
    for number, row in enumerate(rows):
        keys = {"id": row.id, "title": row.title}
        if number in errors:
            # the same fields as any answer (empty, made from nothing), so every line has one shape
            empty = Prediction(genres=[], scores={}, inputs=()).to_dict()
            record = {**keys, **empty, "error": errors[number]}
        else:
            record = {**keys, **next(predictions).to_dict()}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


def _with_posters(
    model: Any, rows: list[MovieRecord], poster_root: Path
) -> tuple[list[Any], dict[int, str]]:
    """Predictions for the rows that can be answered, and an error for each that cannot."""
    from moviegenre.images.reader import PosterError, read_poster

    errors: dict[int, str] = {}
    movies = []
    for number, row in enumerate(rows):
        picture = None
        if row.poster:
            try:
                picture = read_poster(poster_root / row.poster)  # an absolute path stays as is
            except PosterError as exc:
                errors[number] = f"poster: {exc}"
                continue
        if not row.plot and picture is None:
            errors[number] = NO_PLOT
            continue
        movies.append(Movie(row.plot or None, picture))
    return answer(model, movies), errors


# --- worker processes: one model per process, loaded by the pool initializer -----------------
_worker_model: Any = None
_worker_error: str | None = None


_worker_poster_root: Path | None = None


def _init_worker(model_path: str | None, runtime: str, poster_root: Path | None = None) -> None:
    global _worker_model, _worker_error, _worker_poster_root
    _worker_poster_root = poster_root
    from moviegenre.bundle import load_bundle

    try:
        _worker_model = load_bundle(model_path, runtime=runtime)
    except MovieGenreError as exc:
        # Reported with the first chunk: a failing initializer would be respawned forever.
        _worker_error = str(exc)


def _work(rows: list[MovieRecord]) -> str:
    if _worker_error is not None:
        raise MovieGenreError(_worker_error)
    return predict_lines(_worker_model, rows, _worker_poster_root)


def bounded(items: Iterator[list[Any]], slots: threading.Semaphore) -> Iterator[list[Any]]:
    """Pool.imap reads its input eagerly; waiting on `slots` bounds the chunks queued at once."""
    for item in items:
        slots.acquire()
        yield item


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds on Linux; elsewhere spawn is the only safe choice
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _counted(
    pieces: Iterator[list[MovieRecord]], result: BatchResult
) -> Iterator[list[MovieRecord]]:
    """The chunks, counting rows without a plot (nor a poster) as they are read (each gets an
    error line)."""
    for chunk in pieces:
        result.without_plot += sum(1 for row in chunk if not row.plot and not row.poster)
        yield chunk


@contextlib.contextmanager
def _output(path: str | Path) -> Iterator[IO[str]]:
    """stdout for "-", else a file that appears only when complete (atomic rename)."""
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(path)
    if not path.parent.is_dir():
        raise MovieGenreError(f"{path}: the output directory does not exist")
    with atomic_writer(path, newline="\n") as handle:
        yield handle


def estimate_rows(path: str | Path) -> int | None:
    """About how many rows `path` holds, cheaply, or None when that cannot be known cheaply.

    Parquet: the exact count from its footer. An uncompressed text file (CSV, TSV, JSON Lines):
    its size times the newlines per byte of its first ESTIMATE_SAMPLE bytes, less a CSV/TSV
    header line (plots with line breaks inside quotes make it an overestimate). Anything else
    (stdin, compressed, a folder): None.
    """
    path = Path(path)
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
        if path.suffix.lower() == ".parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError:
                return None
            return int(pq.ParquetFile(path).metadata.num_rows)
        with open(path, "rb") as handle:
            sample = handle.read(ESTIMATE_SAMPLE)
    except (OSError, ValueError):
        return None
    if not sample or sample.startswith(_COMPRESSED_MAGIC):
        return None
    lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") else 1)
    rows = lines if len(sample) == size else round(size * lines / len(sample))
    header = path.suffix.lower() in (".csv", ".tsv", ".txt")
    return max(0, rows - (1 if header else 0))


def predict_file(
    input_path: str | Path,
    output_path: str | Path,
    model_path: str | Path | None = None,
    *,
    model: Any = None,
    runtime: str = "auto",
    text_column: str | None = None,
    poster_column: str | None = None,
    workers: int = 1,
    batch_size: int = DEFAULT_CHUNK,
    progress: bool = True,
) -> BatchResult:
    """Predict every row of `input_path` into `output_path` (JSON Lines, input order).

    The input is read by the data readers (`moviegenre.data.readers.iter_records`): any format,
    compression and encoding they read, damaged rows skipped and counted as `data inspect`
    counts them. Memory stays flat whatever the file size: rows are read and written chunk by
    chunk. The output appears only when complete; `-` writes stdout.

    poster_column: the column holding each movie's poster file (relative paths are read from
    the input file's folder); the model must read posters. A missing or broken poster is an
    error line for its row, not for the run.
    """
    from tqdm import tqdm

    if workers < 1:
        raise MovieGenreError(f"--workers {workers}: expected 1 or more")
    if batch_size < 1:
        raise MovieGenreError(f"--batch-size {batch_size}: expected 1 or more")
    options: dict[str, Any] = {"poster_column": poster_column} if poster_column else {}
    poster_root = Path(input_path).resolve().parent if poster_column else None
    if model is None and workers == 1:
        from moviegenre.bundle import load_bundle

        model = load_bundle(model_path, runtime=runtime)
    elif model is None:
        from moviegenre.bundle.bundle import read_manifest

        # fail before starting workers
        manifest = read_manifest(model_path)
    # Genre cells are read the way the model's training file was (a label holding a comma or a
    # "!" is no damaged row), so every row with a plot gets its line.
    options["labels"] = vocabulary_of(
        manifest if model is None else getattr(model, "metadata", None) or {}
    )
    source = iter_records(input_path, text_column=text_column, **options)
    if poster_column:
        from moviegenre.models import model_class

        reads = model.inputs if model is not None else model_class(manifest["model_type"]).inputs
        if "poster" not in reads:
            raise MovieGenreError(
                "--poster-column needs a model that reads posters; this one reads plots only"
            )
    result = BatchResult("stdout" if str(output_path) == "-" else str(output_path))
    pool = None
    try:
        with _output(output_path) as handle:
            pieces = _counted(chunks(source, batch_size), result)
            if workers > 1:
                pool = _pool_context().Pool(
                    workers, initializer=_init_worker,
                    initargs=(None if model_path is None else str(model_path), runtime,
                              poster_root),
                )  # fmt: skip
                slots = threading.Semaphore(workers * IN_FLIGHT_PER_WORKER)
                results = pool.imap(_work, bounded(pieces, slots))
            else:
                slots = None
                results = (predict_lines(model, chunk, poster_root) for chunk in pieces)
            total = estimate_rows(input_path) if progress else None
            bar = tqdm(unit=" rows", desc="predict", disable=not progress, file=sys.stderr,
                       dynamic_ncols=True, mininterval=0.5, total=total)  # fmt: skip
            with bar:
                for text in results:
                    if slots is not None:
                        slots.release()
                    handle.write(text)
                    rows = text.count("\n")  # one line per row; json.dumps escapes newlines
                    result.lines += rows
                    result.bad_posters += text.count('"error": "poster: ')
                    if bar.total is not None and bar.n + rows > bar.total:
                        bar.total = bar.n + rows  # an underestimate: never past 100%
                    bar.update(rows)
                if bar.total is not None and bar.n != bar.total:
                    bar.total = bar.n  # the estimate was high (skipped rows, multi-line plots)
                    bar.refresh()
            if pool is not None:
                pool.close()
                pool.join()
                pool = None
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    result.skip_reasons.update(source.result.skip_reasons)
    result.dropped.update(source.result.dropped)
    return result
