"""Genre names: the 19 TMDB genres, one alias table, and mappings from IMDb, CMU and Wikipedia."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

TMDB_GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "TV Movie",
    "Thriller", "War", "Western",
)  # fmt: skip

# Keys are normalised (see `_key`): lower case, no spaces, hyphens or underscores.
# Sources: TMDB's own spellings, IMDb's genres.list, Freebase (CMU corpus) and Wikipedia plots.
_ALIASES: dict[str, str] = {
    **{g.lower().replace(" ", ""): g for g in TMDB_GENRES},
    "scifi": "Science Fiction",
    "sciencefiction": "Science Fiction",
    "sf": "Science Fiction",
    "tvmovie": "TV Movie",
    "television movie": "TV Movie",
    "musical": "Music",
    "musicals": "Music",
    "animated": "Animation",
    "anime": "Animation",
    "cartoon": "Animation",
    "documentaries": "Documentary",
    "doc": "Documentary",
    "historical": "History",
    "history film": "History",
    "war film": "War",
    "romantic": "Romance",
    "suspense": "Thriller",
    "crime fiction": "Crime",
    "film-noir": "Crime",
    "filmnoir": "Crime",
    "noir": "Crime",
    "horror film": "Horror",
    "mystery film": "Mystery",
    "thriller film": "Thriller",
    "family film": "Family",
    "children's": "Family",
    "children's/family": "Family",
    "kids": "Family",
    "fantasy film": "Fantasy",
    "western film": "Western",
    "spaghetti western": "Western",
    "comedy film": "Comedy",
    "romantic comedy": "Romance",
    "romance film": "Romance",
    "drama film": "Drama",
    "action film": "Action",
    "adventure film": "Adventure",
    "action/adventure": "Action",
    "martial arts film": "Action",
    "animated film": "Animation",
    "documentary film": "Documentary",
    "musical film": "Music",
    "music film": "Music",
    "biography": "History",
    "biographical film": "History",
    "biopic": "History",
    "period piece": "History",
    "science fiction film": "Science Fiction",
    "psychological thriller": "Thriller",
    "crime thriller": "Thriller",
    "slasher": "Horror",
    "supernatural": "Horror",
    "war drama": "War",
    "teen": "Drama",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


_ALIAS_TABLE: dict[str, str] = {_key(k): v for k, v in _ALIASES.items()}


def add_aliases(aliases: dict[str, str]) -> None:
    """Extend the alias table for this process, e.g. {"Kung Fu": "Action"}."""
    for alias, genre in aliases.items():
        _ALIAS_TABLE[_key(alias)] = genre


def load_alias_file(path: str | Path) -> None:
    """Extend the alias table from a JSON object file mapping alias to genre."""
    from moviegenre.errors import MovieGenreError

    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MovieGenreError(f"{path}: cannot read alias table ({exc}); expected a JSON object") from exc
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise MovieGenreError(f"{path}: expected a JSON object mapping alias to genre name")
    add_aliases(table)


def normalize_genre(name: str) -> str | None:
    """Map a genre name onto its canonical name; an unmapped one keeps its own (trimmed) name."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        return None
    return _ALIAS_TABLE.get(_key(cleaned), cleaned)


def normalize_genres(names: Iterable[str]) -> tuple[str, ...]:
    """Normalise and de-duplicate a list of genre names, keeping first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        genre = normalize_genre(name)
        if genre is not None:
            seen.setdefault(genre, None)
    return tuple(seen)


def is_known(genre: str) -> bool:
    """True for one of the 19 canonical TMDB genres."""
    return genre in TMDB_GENRES
