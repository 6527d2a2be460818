"""JustWatch Brazil's Portuguese synopses, with their genre names mapped to TMDB's (a check set)."""

from __future__ import annotations

import ast
import csv
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# JustWatch's main Portuguese genre names -> TMDB genres. Sub-genres ("Thriller de Ação",
# "Drama Romântico"...) are left out: JustWatch lists them besides the main names, not instead.
GENRE_MAP: dict[str, tuple[str, ...]] = {
    "Ação & Aventura": ("Action", "Adventure"),
    "Ação e Aventura": ("Action", "Adventure"),
    "Animação": ("Animation",),
    "Comédia": ("Comedy",),
    "Crime": ("Crime",),
    "Documentário": ("Documentary",),
    "Drama": ("Drama",),
    "Família": ("Family",),
    "Fantasia": ("Fantasy",),
    "Ficção Científica": ("Science Fiction",),
    "Guerra & Militar": ("War",),
    "História": ("History",),
    "Mistério & Thriller": ("Mystery", "Thriller"),
    "Música & Musical": ("Music",),
    "Romance": ("Romance",),
    "Terror": ("Horror",),
    "Western": ("Western",),
}


def _key(title: str, year: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip() + "|" + re.sub(r"\D", "", year)[:4]


@dataclass
class CheckSet:
    """Plots and their TMDB genres (`dropped`: rows left out, and why)."""

    plots: list[str]
    genres: list[tuple[str, ...]]
    dropped: dict[str, int] = field(default_factory=dict)

    def targets(self, labels: Sequence[str]) -> np.ndarray:
        """The 0/1 matrix, shape (plots, labels)."""
        return np.asarray([[g in row for g in labels] for row in self.genres], dtype=np.float32)


def read_justwatch(path: str | Path, corpus: str | Path | None = None) -> CheckSet:
    """Read the JustWatch CSV (semicolon-separated); drop rows without a mapped genre or synopsis,
    and rows whose film stands in `corpus` (title+year; the English title comes from the link's
    slug, e.g. .../filme/weapons-2025, or from the Portuguese title)."""
    known: set[str] = set()
    if corpus is not None:
        with open(corpus, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                known.add(_key(str(row.get("title") or ""), str(row.get("year") or "")))
    plots, genres = [], []
    dropped = {"in_corpus": 0, "no_genre": 0, "no_synopsis": 0}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            year = re.sub(r"\D", "", row.get("year") or "")
            slug = (row.get("link") or "").rstrip("/").rsplit("/", 1)[-1]
            slug = re.sub(rf"-{year}$", "", slug) if year else slug
            title = re.sub(r"\(\d{4}\)\s*$", "", row.get("title") or "")
            if {_key(slug, year), _key(title, year)} & known:
                dropped["in_corpus"] += 1
                continue
            try:
                names = ast.literal_eval(row.get("genres") or "[]")
            except (ValueError, SyntaxError):
                names = []
            mapped = sorted({g for name in names for g in GENRE_MAP.get(str(name).strip(), ())})
            plot = (row.get("synopsis_content") or "").strip()
            if not plot:
                dropped["no_synopsis"] += 1
            elif not mapped:
                dropped["no_genre"] += 1
            else:
                plots.append(plot)
                genres.append(tuple(mapped))
    return CheckSet(plots, genres, dropped)
