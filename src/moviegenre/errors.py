"""The one exception type users see: a clear, one-line message about bad input."""


class MovieGenreError(Exception):
    """Bad input or a broken file; the CLI prints the message on one line and exits with 2."""
