"""Streaming batch prediction: CSV/TSV/JSON Lines/Parquet in, JSON Lines out, chunk by chunk."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError

# Checked in this order (case-insensitive) when no text column is named.
TEXT_COLUMNS = ("plot", "overview", "description", "summary", "synopsis", "plot_summary", "text")
# Copied to the output so rows can be matched back to the input.
ID_COLUMNS = ("id", "title")
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DEFAULT_CHUNK = 512
# Chunks allowed in flight per worker: enough to keep workers busy, small enough for flat memory.
IN_FLIGHT_PER_WORKER = 4


@dataclass(frozen=True)
class Row:
    """One input row: its plot (None when missing) and the id/title fields to copy to the output."""

    text: str | None
    keys: dict[str, Any]
    error: str | None = None


def detect_format(path: Path) -> str:
    """The input format from the file extension."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise MovieGenreError(
            f"{path}: unknown input format {path.suffix!r}; expected one of {known}"
        )
    return kind


def pick_text_column(columns: list[str], wanted: str | None, path: Path) -> str:
    """The column holding the plot: `wanted` if given, else the first known plot-like name."""
    if wanted:
        if wanted in columns:
            return wanted
        raise MovieGenreError(
            f"{path}: no column {wanted!r}; columns are: {', '.join(map(str, columns)) or '(none)'}"
        )
    lowered = {str(c).lower(): c for c in columns}
    for name in TEXT_COLUMNS:
        if name in lowered:
            return lowered[name]
    raise MovieGenreError(
        f"{path}: no plot column found (looked for {', '.join(TEXT_COLUMNS)}); "
        f"columns are: {', '.join(map(str, columns)) or '(none)'}; name one with --text-column"
    )


def _id_columns(columns: list[str]) -> dict[str, str]:
    lowered = {str(c).lower(): c for c in columns}
    return {name: lowered[name] for name in ID_COLUMNS if name in lowered}


def _text_value(value: Any) -> tuple[str | None, str | None]:
    """(plot, error) for a cell: plots must be non-empty strings."""
    if value is None:
        return None, "empty plot"
    if not isinstance(value, str):
        return None, f"plot is a {type(value).__name__}, expected text"
    if not value.strip():
        return None, "empty plot"
    return value, None


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class InputFile:
    """A lazily read input file: its format, text column, and (when cheap) its row count."""

    def __init__(self, path: str | Path, text_column: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise MovieGenreError(f"{self.path}: no such file")
        self.format = detect_format(self.path)
        self.columns = self._columns()
        self.text_column = pick_text_column(self.columns, text_column, self.path)
        self.id_columns = _id_columns(self.columns)

    def _columns(self) -> list[str]:
        if self.format == "parquet":
            return list(self._parquet().schema_arrow.names)
        if self.format == "jsonl":
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        raise MovieGenreError(
                            f"{self.path}:{number}: not valid JSON ({exc.args[0]})"
                        ) from exc
                    if not isinstance(obj, dict):
                        raise MovieGenreError(
                            f"{self.path}:{number}: expected a JSON object per line"
                        )
                    return list(obj)
            raise MovieGenreError(f"{self.path}: the file holds no rows")
        with open(self.path, encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next(csv.reader(handle, dialect=self._dialect()), None)
        if not header:
            raise MovieGenreError(f"{self.path}: the file is empty (expected a header row)")
        return header

    def _dialect(self) -> type[csv.Dialect]:
        return csv.excel_tab if self.format == "tsv" else csv.excel

    def _parquet(self) -> Any:
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid and OSError for damaged files
            raise MovieGenreError(f"{self.path}: not a readable Parquet file ({exc})") from exc

    def count_rows(self) -> int | None:
        """Row count if it is cheap: Parquet metadata, or newlines of a JSON Lines file."""
        if self.format == "parquet":
            return int(self._parquet().metadata.num_rows)
        if self.format == "jsonl":
            count, last = 0, b"\n"
            with open(self.path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    count += block.count(b"\n")
                    last = block[-1:]
            return count + (last != b"\n")
        return None  # CSV rows may span lines; counting would mean parsing the file twice

    def rows(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[Row]:
        """Every row in file order, read lazily."""
        if self.format == "parquet":
            yield from self._parquet_rows(chunk_size)
        elif self.format == "jsonl":
            yield from self._jsonl_rows()
        else:
            yield from self._csv_rows()

    def _row(self, record: dict[str, Any]) -> Row:
        keys = {name: _json_safe(record.get(col)) for name, col in self.id_columns.items()}
        text, error = _text_value(record.get(self.text_column))
        return Row(text, keys, error)

    def _csv_rows(self) -> Iterator[Row]:
        csv.field_size_limit(1 << 24)  # 16 MB cells; the default 128 KB rejects long plots
        with open(self.path, encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.DictReader(handle, dialect=self._dialect())
            for record in reader:
                yield self._row(record)

    def _jsonl_rows(self) -> Iterator[Row]:
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue  # blank lines are not rows
                try:
                    record = json.loads(line)
                except ValueError:
                    yield Row(None, {}, f"line {number} is not valid JSON")
                    continue
                if not isinstance(record, dict):
                    yield Row(None, {}, f"line {number} is not a JSON object")
                    continue
                yield self._row(record)

    def _parquet_rows(self, chunk_size: int) -> Iterator[Row]:
        columns = list(dict.fromkeys([self.text_column, *self.id_columns.values()]))
        for batch in self._parquet().iter_batches(batch_size=chunk_size, columns=columns):
            for record in batch.to_pylist():
                yield self._row(record)


def chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_lines(model: Any, rows: list[Row]) -> str:
    """JSON Lines text for a chunk of rows, in order; rows without a plot get an `error` field."""
    texts = [row.text for row in rows if row.text is not None]
    predictions = iter(_prediction_dicts(model, texts) if texts else [])
    lines = []
    for row in rows:
        if row.text is None:
            record = {**row.keys, "genres": [], "scores": {}, "truncated": False,
                      "error": row.error or "empty plot"}  # fmt: skip
        else:
            record = {**row.keys, **next(predictions)}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


def _prediction_dicts(model: Any, texts: list[str]) -> list[dict[str, Any]]:
    """What `api.to_predictions(...).to_dict()` gives, computed for the whole chunk at once.

    Per-row NumPy calls cost more than the model on short plots, so the decisions and the genre
    order are computed on the chunk's matrix; the values are identical to the API's.
    """
    from moviegenre.text.tokenizer import count_words
    from moviegenre.training.thresholds import decide

    probs = model.predict_proba(texts)
    chosen = decide(probs, model.thresholds, model.min_genres).astype(bool)
    order = np.argsort(-probs, axis=1)
    # float32 values never sit within float64 error of a 4-decimal tie (ties are exact and rounded
    # half-even both ways), so np.round gives exactly Python's round(float(p), 4), 10x faster.
    rounded = np.round(probs.astype(np.float64), 4).tolist()
    labels, limit = model.labels, model.max_words
    out = []
    for text, row, picks, ranked in zip(
        texts, rounded, chosen.tolist(), order.tolist(), strict=True
    ):
        out.append({
            "genres": [labels[i] for i in ranked if picks[i]],
            "scores": dict(zip(labels, row, strict=True)),
            "truncated": limit is not None and count_words(text) > limit,
        })  # fmt: skip
    return out


# --- worker processes: one model per process, loaded by the pool initializer -----------------
_worker_model: Any = None
_worker_error: str | None = None


def _init_worker(model_path: str | None, runtime: str) -> None:
    global _worker_model, _worker_error
    from moviegenre.bundle import load_bundle

    try:
        _worker_model = load_bundle(model_path, runtime=runtime)
    except MovieGenreError as exc:
        # Reported with the first chunk: a failing initializer would be respawned forever.
        _worker_error = str(exc)


def _work(rows: list[Row]) -> str:
    if _worker_error is not None:
        raise MovieGenreError(_worker_error)
    return predict_lines(_worker_model, rows)


def _bounded(items: Iterator[list[Row]], slots: threading.Semaphore) -> Iterator[list[Row]]:
    """Pool.imap reads its input eagerly; waiting on `slots` bounds the chunks queued at once."""
    for item in items:
        slots.acquire()
        yield item


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds on Linux; elsewhere spawn is the only safe choice
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def predict_file(
    input_path: str | Path,
    output_path: str | Path,
    model_path: str | Path | None = None,
    *,
    model: Any = None,
    runtime: str = "auto",
    text_column: str | None = None,
    workers: int = 1,
    batch_size: int = DEFAULT_CHUNK,
    progress: bool = True,
) -> int:
    """Predict every row of `input_path` into `output_path` (JSON Lines, input order); returns rows.

    Memory stays flat whatever the file size: rows are read and written chunk by chunk. The output
    appears only when complete (temp file in the same directory, then renamed); `-` writes stdout.
    """
    from tqdm import tqdm

    if workers < 1:
        raise MovieGenreError(f"--workers {workers}: expected 1 or more")
    if batch_size < 1:
        raise MovieGenreError(f"--batch-size {batch_size}: expected 1 or more")
    source = InputFile(input_path, text_column)
    to_stdout = str(output_path) == "-"
    if model is None and workers == 1:
        from moviegenre.bundle import load_bundle

        model = load_bundle(model_path, runtime=runtime)
    elif model is None:
        from moviegenre.bundle.bundle import default_model_path, read_manifest

        read_manifest(model_path or default_model_path())  # fail before starting workers
    if to_stdout:
        handle, temp = sys.stdout, None
    else:
        output_path = Path(output_path)
        if not output_path.parent.is_dir():
            raise MovieGenreError(f"{output_path}: the output directory does not exist")
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{output_path.name}.", suffix=".tmp", dir=output_path.parent
        )
        temp = Path(temp_name)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
        handle = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    total = source.count_rows()
    pool = None
    written = 0
    try:
        pieces = chunks(source.rows(batch_size), batch_size)
        if workers > 1:
            pool = _pool_context().Pool(
                workers, initializer=_init_worker,
                initargs=(None if model_path is None else str(model_path), runtime),
            )  # fmt: skip
            slots = threading.Semaphore(workers * IN_FLIGHT_PER_WORKER)
            results = pool.imap(_work, _bounded(pieces, slots))
        else:
            slots = None
            results = (predict_lines(model, chunk) for chunk in pieces)
        bar = tqdm(total=total, unit="rows", desc="predict", disable=not progress,
                   file=sys.stderr, dynamic_ncols=True, mininterval=0.5)  # fmt: skip
        with bar:
            for text in results:
                if slots is not None:
                    slots.release()
                handle.write(text)
                rows = text.count("\n")  # one line per row; json.dumps escapes inner newlines
                written += rows
                bar.update(rows)
        if pool is not None:
            pool.close()
            pool.join()
            pool = None
        if temp is not None:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(temp, output_path)
            temp = None
        else:
            handle.flush()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if temp is not None:
            handle.close()
            temp.unlink(missing_ok=True)
    return written
