"""Atomic writes: a file or a directory appears whole at its path, or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def fsync_directory(path: str | Path) -> None:
    """Make renames inside `path` durable (a no-op where a directory cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`, moved onto `path` only when the block succeeds.

    The block writes the file however it likes (safetensors, Parquet, np.save...); it is then
    synced to disk, given an ordinary file's permissions (mkstemp makes it private) and renamed,
    so readers see the old file or the whole new one. On failure the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_writer(path: str | Path, newline: str | None = None) -> Iterator[IO[str]]:
    """A UTF-8 text handle whose content replaces `path` only when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline=newline) as handle:
        yield handle


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    with atomic_writer(path) as handle:
        handle.write(text)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def replace_directory(staging: str | Path, target: str | Path) -> None:
    """Move the finished directory `staging` onto `target` (same parent), replacing any old one.

    A directory cannot be renamed over a non-empty one, so the old one is first renamed aside
    and removed only after the new one is in place.
    """
    staging, target = Path(staging), Path(target)
    backup = None
    if target.exists():
        backup = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, backup)
    os.replace(staging, target)
    fsync_directory(target.parent)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
