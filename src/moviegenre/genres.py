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


# Genres some sources use for one name that spans two TMDB genres. A value here wins over
# `_ALIASES`; `normalize_genre` returns the first genre, `normalize_genres` all of them.
_COMPOSITE: dict[str, tuple[str, ...]] = {
    "action/adventure": ("Action", "Adventure"),
    "action comedy": ("Action", "Comedy"),
    "action thriller": ("Action", "Thriller"),
    "romantic comedy": ("Romance", "Comedy"),
    "romantic drama": ("Romance", "Drama"),
    "romantic fantasy": ("Romance", "Fantasy"),
    "romantic thriller": ("Romance", "Thriller"),
    "comedy-drama": ("Comedy", "Drama"),
    "comedy drama": ("Comedy", "Drama"),
    "dramedy": ("Comedy", "Drama"),
    "crime drama": ("Crime", "Drama"),
    "crime thriller": ("Crime", "Thriller"),
    "crime comedy": ("Crime", "Comedy"),
    "family drama": ("Family", "Drama"),
    "historical drama": ("History", "Drama"),
    "war drama": ("War", "Drama"),
    "musical comedy": ("Music", "Comedy"),
    "musical drama": ("Music", "Drama"),
    "horror comedy": ("Horror", "Comedy"),
    "comedy horror": ("Comedy", "Horror"),
    "sci-fi horror": ("Science Fiction", "Horror"),
    "science fiction horror": ("Science Fiction", "Horror"),
    "space western": ("Science Fiction", "Western"),
    "sword and sorcery": ("Fantasy", "Adventure"),
    "fairy tale": ("Fantasy", "Family"),
    "children's fantasy": ("Family", "Fantasy"),
    "concert film": ("Music", "Documentary"),
    "rockumentary": ("Music", "Documentary"),
    "music documentary": ("Music", "Documentary"),
    "detective fiction": ("Mystery", "Crime"),
    "spy": ("Action", "Thriller"),
    "spy film": ("Action", "Thriller"),
    "combat films": ("War", "Action"),
    "sci-fi & fantasy": ("Science Fiction", "Fantasy"),
    "action & adventure": ("Action", "Adventure"),
    "war & politics": ("War",),
}

# More one-to-one names from IMDb's genres.list, Freebase (CMU Movie Summary Corpus) and the
# free-text Genre column of the Wikipedia Movie Plots data. Genres with no TMDB counterpart
# (IMDb's Short, Adult, Reality-TV, Sport, Talk-Show; Freebase's World cinema, Indie, ...)
# are deliberately absent: they keep their own name and show up as unmapped.
_SOURCE_ALIASES: dict[str, str] = {
    # IMDb
    "news": "Documentary",
    # Freebase / CMU
    "crime": "Crime",
    "gangster film": "Crime",
    "heist": "Crime",
    "caper story": "Crime",
    "detective": "Mystery",
    "whodunit": "Mystery",
    "psychological horror": "Horror",
    "natural horror films": "Horror",
    "zombie film": "Horror",
    "monster movie": "Horror",
    "creature film": "Horror",
    "splatter film": "Horror",
    "parody": "Comedy",
    "spoof": "Comedy",
    "satire": "Comedy",
    "black comedy": "Comedy",
    "slapstick": "Comedy",
    "screwball comedy": "Comedy",
    "mockumentary": "Comedy",
    "comedy of manners": "Comedy",
    "computer animation": "Animation",
    "animated cartoon": "Animation",
    "stop motion": "Animation",
    "television movie": "TV Movie",
    "made-for-tv movie": "TV Movie",
    "historical fiction": "History",
    "historical epic": "History",
    "epic western": "Western",
    "anti-war": "War",
    "anti-war film": "War",
    "christmas movie": "Family",
    "erotic thriller": "Thriller",
    "political thriller": "Thriller",
    "superhero movie": "Action",
    "superhero": "Action",
    "martial arts": "Action",
    "disaster": "Action",
    "fantasy adventure": "Fantasy",
    "romance": "Romance",
    # Wikipedia Movie Plots (lower-case free text)
    "melodrama": "Drama",
    "social drama": "Drama",
    "period": "History",
    "war film": "War",
    "wuxia": "Action",
    "film noir": "Crime",
    "neo-noir": "Crime",
    "animated feature": "Animation",
    "kids": "Family",
}

# Placeholders that mean "no genre given" in some sources (Wikipedia writes "unknown").
_NO_GENRE = frozenset({"unknown", "n/a", "na", "none", "null", "nan", "-", "--", "?"})

# TMDB's numeric genre ids, as in the API's `genre_ids` lists.
TMDB_GENRE_IDS: dict[int, str] = {
    28: "Action", 12: "Adventure", 16: "Animation", 35: "Comedy", 80: "Crime",
    99: "Documentary", 18: "Drama", 10751: "Family", 14: "Fantasy", 36: "History",
    27: "Horror", 10402: "Music", 9648: "Mystery", 10749: "Romance", 878: "Science Fiction",
    10770: "TV Movie", 53: "Thriller", 10752: "War", 37: "Western",
}  # fmt: skip

# Genre names that exist in some source but have no TMDB counterpart: enough to recognise a
# 0/1 column named after one of them as a genre column (IMDb's movies_genres.csv has them).
OTHER_GENRE_NAMES: frozenset[str] = frozenset(
    {"Short", "Adult", "Reality-TV", "Sport", "Talk-Show", "Game-Show", "Lifestyle",
     "Experimental", "Erotica", "Commercial", "Biography", "Musical", "Sci-Fi", "Film-Noir",
     "News", "Sports", "Indie", "World cinema", "Silent film", "Black-and-white"}
)  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


_ALIAS_TABLE: dict[str, tuple[str, ...]] = {
    **{_key(k): (v,) for k, v in _ALIASES.items()},
    **{_key(k): (v,) for k, v in _SOURCE_ALIASES.items()},
    **{_key(k): v for k, v in _COMPOSITE.items()},
}


def add_aliases(aliases: dict[str, str | list[str] | tuple[str, ...]]) -> None:
    """Extend the alias table for this process, e.g. {"Kung Fu": "Action"}.

    A value may also be a list of genres, for a name that spans several ({"Dramedy":
    ["Comedy", "Drama"]}).
    """
    for alias, genre in aliases.items():
        genres = (genre,) if isinstance(genre, str) else tuple(genre)
        genres = tuple(" ".join(g.split()) for g in genres if g and g.strip())
        if genres:
            _ALIAS_TABLE[_key(alias)] = genres


def load_alias_file(path: str | Path) -> None:
    """Extend the alias table from a JSON object file mapping alias to genre."""
    from moviegenre.errors import MovieGenreError

    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MovieGenreError(
            f"{path}: cannot read alias table ({exc}); expected a JSON object"
        ) from exc
    if not isinstance(table, dict) or not all(_is_alias_value(v) for v in table.values()):
        raise MovieGenreError(
            f"{path}: expected a JSON object mapping alias to a genre name or a list of names"
        )
    add_aliases(table)


def _is_alias_value(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def map_genre(name: str) -> tuple[str, ...]:
    """All canonical genres a source's genre name stands for (its own name when unmapped)."""
    cleaned = " ".join(str(name).split())
    if not cleaned or cleaned.lower() in _NO_GENRE:
        return ()
    return _ALIAS_TABLE.get(_key(cleaned), (cleaned,))


def normalize_genre(name: str) -> str | None:
    """Map a genre name onto its canonical name; an unmapped one keeps its own (trimmed) name."""
    genres = map_genre(name)
    return genres[0] if genres else None


def normalize_genres(names: Iterable[str]) -> tuple[str, ...]:
    """Normalise and de-duplicate a list of genre names, keeping first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        for genre in map_genre(name):
            seen.setdefault(genre, None)
    return tuple(seen)


def is_genre_name(name: str) -> bool:
    """True when `name` is a genre some source uses: a TMDB genre, an alias, or a known other."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        return False
    return _key(cleaned) in _ALIAS_TABLE or cleaned in OTHER_GENRE_NAMES


def is_known(genre: str) -> bool:
    """True for one of the 19 canonical TMDB genres."""
    return genre in TMDB_GENRES
