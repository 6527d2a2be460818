"""Label vocabularies: TMDB's 19 (the default), labels as the file writes them, or a label file."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviegenre.errors import MovieGenreError
from moviegenre.genres import normalize_genres

TMDB = "tmdb"
AS_WRITTEN = "as-written"
# The separators a column of label cells may use, in the order the rule tries them: a column
# where any sampled cell holds "|" splits on "|" only (labels may hold commas), else ";", else ",".
SEPARATORS = ("|", ";", ",")
# One label as written: any printable text up to this length (a longer cell is not a label list).
MAX_LABEL = 100
BELOW_MIN = ("drop", "error")
OTHERS = ("keep", "drop")
_KEYS = {"labels", "drop", "min_count", "below_min", "others"}


def label_key(name: str) -> str:
    """How a label file matches names: spaces collapsed, case ignored."""
    return " ".join(str(name).split()).casefold()


def as_written(name: object) -> str:
    """A label as the file writes it: trimmed, inner runs of spaces kept as one."""
    return " ".join(str(name).split())


@dataclass(frozen=True)
class LabelVocabulary:
    """How genre names in a data file become a model's labels.

    `tmdb`: the alias table of genres.py (TMDB's 19; unknown names keep their own name).
    `as-written`: every label kept as written. A label file: `as-written`, then its aliases
    (many-to-one), the labels it drops, what happens to names it does not list, and a minimum
    count of examples (`apply_min_count`).
    """

    name: str = TMDB
    labels: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)  # label_key(alias or label) -> label
    drop: frozenset[str] = frozenset()  # label_key of dropped names
    min_count: int = 1
    below_min: str = "drop"
    others: str = "keep"

    @property
    def is_tmdb(self) -> bool:
        return self.name == TMDB

    def map(self, names: Iterable[object]) -> tuple[str, ...]:
        """The labels a list of names stands for, de-duplicated in first-seen order."""
        if self.is_tmdb:
            return normalize_genres(str(n) for n in names)
        seen: dict[str, None] = {}
        for raw in names:
            name = as_written(raw)
            key = label_key(name)
            if not name or key in self.drop:
                continue
            label = self.aliases.get(key)
            if label is None:
                if self.others == "drop":
                    continue
                label = name
            seen.setdefault(label, None)
        return tuple(seen)

    def to_json(self) -> dict[str, Any]:
        """What a bundle keeps, so evaluation and batch prediction read files the same way."""
        if self.is_tmdb or self.name == AS_WRITTEN and self.min_count <= 1:
            return {"vocabulary": self.name}
        aliases: dict[str, list[str]] = {label: [] for label in self.labels}
        for key, label in self.aliases.items():
            if key != label_key(label):
                aliases.setdefault(label, []).append(key)
        return {
            "vocabulary": self.name,
            "labels": aliases,
            "drop": sorted(self.drop),
            "min_count": self.min_count,
            "below_min": self.below_min,
            "others": self.others,
        }


TMDB_VOCABULARY = LabelVocabulary(TMDB)
AS_WRITTEN_VOCABULARY = LabelVocabulary(AS_WRITTEN)


def load_vocabulary(spec: str | Path | None) -> LabelVocabulary:
    """`tmdb` (or None), `as-written`, or the path of a label file (JSON, see docs/labels.md)."""
    if spec is None or str(spec) == TMDB:
        return TMDB_VOCABULARY
    if str(spec) == AS_WRITTEN:
        return AS_WRITTEN_VOCABULARY
    path = Path(spec)
    if not path.is_file():
        raise MovieGenreError(
            f"--labels {spec}: no such label file; expected tmdb, as-written or a JSON label file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MovieGenreError(f"{path}: cannot read the label file ({exc})") from exc
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MovieGenreError(
            f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    return vocabulary_from_json(table, str(path), name=str(path))


def vocabulary_from_json(table: object, where: str, name: str) -> LabelVocabulary:
    """A label file's object as a vocabulary; MovieGenreError naming the bad entry otherwise."""

    def bad(what: str) -> MovieGenreError:
        return MovieGenreError(f"{where}: {what} (see docs/labels.md)")

    if not isinstance(table, dict):
        raise bad('expected a JSON object with "labels" and optional rules')
    unknown = sorted(set(table) - _KEYS - {"vocabulary"})
    if unknown:
        raise bad(f"unknown key {unknown[0]!r}; the keys are {', '.join(sorted(_KEYS))}")
    entries = table.get("labels", {})
    if isinstance(entries, list):  # a plain list of labels: no aliases
        entries = {label: [] for label in entries}
    if not isinstance(entries, dict):
        raise bad('"labels" must be an object mapping each label to a list of its aliases')
    labels: list[str] = []
    aliases: dict[str, str] = {}
    for raw, names in entries.items():
        label = as_written(raw)
        if not label:
            raise bad('"labels" has an empty label name')
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad(f'"labels" → {label!r}: aliases must be a list of names')
        labels.append(label)
        for alias in [label, *names]:
            key = label_key(alias)
            if aliases.get(key, label) != label:
                raise bad(f"{alias!r} is an alias of both {aliases[key]!r} and {label!r}")
            aliases[key] = label
    drop = table.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(n, str) for n in drop):
        raise bad('"drop" must be a list of label names')
    min_count = table.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise bad(f'"min_count" must be a whole number of 1 or more, not {min_count!r}')
    below_min = table.get("below_min", "drop")
    if below_min not in BELOW_MIN:
        raise bad(f'"below_min" must be "drop" or "error", not {below_min!r}')
    # A file that lists labels is the vocabulary (others dropped); one with rules only keeps them.
    others = table.get("others", "drop" if labels else "keep")
    if others not in OTHERS:
        raise bad(f'"others" must be "keep" or "drop", not {others!r}')
    return LabelVocabulary(
        name=name, labels=tuple(labels), aliases=aliases,
        drop=frozenset(label_key(n) for n in drop), min_count=min_count, below_min=below_min,
        others=others,
    )  # fmt: skip


def vocabulary_of(manifest: dict[str, Any] | None) -> LabelVocabulary:
    """The vocabulary a bundle was trained with (TMDB's for bundles from before it was kept)."""
    kept = (manifest or {}).get("label_vocabulary") or {}
    name = kept.get("vocabulary", TMDB)
    if name in (TMDB, AS_WRITTEN) and len(kept) <= 1:
        return load_vocabulary(name)
    return vocabulary_from_json(
        {k: v for k, v in kept.items() if k != "vocabulary"}, "the bundle's label vocabulary",
        name=name,
    )  # fmt: skip


def column_separator(cells: Iterable[object]) -> str:
    """The separator of a column of label cells: the first of SEPARATORS any cell holds."""
    found = set()
    for cell in cells:
        if isinstance(cell, str) and cell.strip()[:1] not in ("[", "{"):
            found.update(s for s in SEPARATORS if s in cell)
    return next((s for s in SEPARATORS if s in found), ",")


class LabelCells:
    """Parses one column's cells for a non-TMDB vocabulary (splitting on the column's separator).

    The separator is decided from sampled cells (`column_separator`); a "|" that shows up only
    later switches the column to "|" from that row on (a comma can sit inside a label, a "|"
    cannot).
    """

    def __init__(self, vocabulary: LabelVocabulary, separator: str = ",") -> None:
        self.vocabulary = vocabulary
        self.separator = separator

    def split(self, text: str) -> list[str]:
        if self.separator != "|" and "|" in text:
            self.separator = "|"
        return [t for t in (as_written(p) for p in text.split(self.separator)) if t]


def apply_min_count(
    records: Sequence[Any], vocabulary: LabelVocabulary, warn: Any = None
) -> list[Any]:
    """Records with the labels under the vocabulary's minimum count removed (or an error).

    Counts are over all the given records; a record left with no label is left out. `warn`
    receives the warning line when labels are dropped.
    """
    if vocabulary.min_count <= 1:
        return list(records)
    counts = Counter(g for r in records for g in r.genres)
    rare = sorted(g for g, c in counts.items() if c < vocabulary.min_count)
    if not rare:
        return list(records)
    listed = ", ".join(f"{g} ({counts[g]})" for g in rare)
    if vocabulary.below_min == "error":
        raise MovieGenreError(
            f"{vocabulary.name}: fewer than {vocabulary.min_count} examples (min_count): {listed}"
        )
    if warn is not None:
        warn(f"dropping labels with fewer than {vocabulary.min_count} examples: {listed}")
    from dataclasses import replace

    gone = set(rare)
    kept = (replace(r, genres=tuple(g for g in r.genres if g not in gone)) for r in records)
    return [r for r in kept if r.genres]


def label_counts(records: Iterable[Any]) -> dict[str, int]:
    """Each label's number of records, most frequent first."""
    return dict(Counter(g for r in records for g in r.genres).most_common())


_SAFE = re.compile(r"[^\x00-\x1f\x7f]+")


def is_label(name: str) -> bool:
    """A plausible label as written: short, has a letter or digit, no control characters."""
    return (
        0 < len(name) <= MAX_LABEL
        and bool(_SAFE.fullmatch(name))
        and any(c.isalnum() for c in name)
    )
