"""Movie data: one record type and readers for every format people have."""

from moviegenre.data.record import LoadResult, MovieRecord

__all__ = ["LoadResult", "MovieRecord"]
