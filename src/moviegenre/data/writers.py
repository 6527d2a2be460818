"""Write movie records to CSV, TSV, JSON Lines or Parquet (chosen by extension), atomically."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from moviegenre.data.record import MovieRecord
from moviegenre.errors import MovieGenreError, optional_import
from moviegenre.files import atomic_path, atomic_writer

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}
COLUMNS = ("id", "title", "year", "plot", "genres", "split", "sources", "series")
# CSV/TSV cells hold lists (genres, sources) as one string joined with this.
LIST_SEPARATOR = "|"


def output_format(path: str | Path) -> str:
    """The format a path's extension asks for; MovieGenreError for any other extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise MovieGenreError(
            f"{path}: cannot write this extension; expected one of {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def write_records(records: Iterable[MovieRecord], path: str | Path) -> int:
    """Write records to `path` in the format its extension names; returns how many were written.

    CSV and TSV hold genres and sources as `|`-joined strings; JSON Lines uses the corpus's
    field names (overview for the plot) with lists; Parquet uses list<string> columns.
    """
    path = Path(path)
    kind = output_format(path)
    if kind == "parquet":
        return _write_parquet(records, path)
    count = 0
    with atomic_writer(path, newline="") as handle:
        if kind == "jsonl":
            for record in records:
                handle.write(json.dumps(_as_json(record), ensure_ascii=False) + "\n")
                count += 1
            return count
        # "\r\n" (RFC 4180) also makes csv quote cells holding a lone "\r", which "\n" would not.
        delimiter = "\t" if kind == "tsv" else ","
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow(
                [
                    record.id,
                    record.title,
                    record.year,
                    record.plot,
                    LIST_SEPARATOR.join(record.genres),
                    record.split or "",
                    LIST_SEPARATOR.join(record.sources),
                    record.series or "",
                ]
            )
            count += 1
    return count


def _as_json(record: MovieRecord) -> dict:
    return {
        "id": record.id,
        "title": record.title,
        "year": record.year,
        "overview": record.plot,
        "genres": list(record.genres),
        "split": record.split,
        "sources": list(record.sources),
        "series": record.series,
    }


def _write_parquet(records: Iterable[MovieRecord], path: Path, batch: int = 8192) -> int:
    pa = optional_import("pyarrow", "parquet", "writing Parquet")
    pq = optional_import("pyarrow.parquet", "parquet", "writing Parquet")

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("title", pa.string()),
            ("year", pa.string()),
            ("plot", pa.string()),
            ("genres", pa.list_(pa.string())),
            ("split", pa.string()),
            ("sources", pa.list_(pa.string())),
            ("series", pa.string()),
        ]
    )
    count = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        rows: list[dict] = []
        for record in records:
            row = _as_json(record)
            row["plot"] = row.pop("overview")
            rows.append(row)
            count += 1
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows = []
        if rows or not count:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    return count
