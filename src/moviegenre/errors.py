"""The one exception type users see: a clear, one-line message about bad input."""

from __future__ import annotations

import importlib
from types import ModuleType


class MovieGenreError(Exception):
    """Bad input or a broken file; the CLI prints the message on one line and exits with 2."""


def optional_import(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise MovieGenreError naming the extra that installs it.

    For what the serving install (`pip install .`) leaves out on purpose: reports, Parquet.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MovieGenreError(
            f"{purpose} needs {package}, which the serving install leaves out: "
            f"pip install 'moviegenre[{extra}]'"
        ) from None
