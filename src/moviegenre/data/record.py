"""The movie record every reader produces, and the report of what a load read and skipped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MovieRecord:
    """One movie: its plot summary and the genres it belongs to (empty when unknown)."""

    id: str
    title: str
    year: str
    plot: str
    genres: tuple[str, ...]
    split: str | None = None  # "train" / "valid" / "test" when the data carries its own split
    sources: tuple[str, ...] = ()
    series: str | None = None  # for TV episodes: the series they belong to (the split key)
    poster: str | None = None  # the poster image's path as the file gives it (--poster-column)


@dataclass
class LoadResult:
    """Everything a reader produced: the records, and counts of what it skipped and why."""

    path: str
    format: str
    records: list[MovieRecord] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    # Well-formed entries left out by a rule of the format, not damage (IMDb video games, TV
    # titles without include_tv, CMU metadata without a plot): reported, never in `skipped`.
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped(self) -> int:
        return sum(self.skip_reasons.values())

    @property
    def rows(self) -> int:
        return len(self.records)

    @property
    def without_plot(self) -> int:
        return sum(1 for r in self.records if not r.plot.strip())

    @property
    def without_genres(self) -> int:
        return sum(1 for r in self.records if not r.genres)

    def skip(self, reason: str) -> None:
        self.skip_reasons[reason] += 1

    def usable(self) -> list[MovieRecord]:
        """Records with both a plot and at least one genre: what training and evaluation use."""
        return [r for r in self.records if r.plot.strip() and r.genres]
