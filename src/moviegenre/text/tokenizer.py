"""Turn plot text into tokens and token ids: one tokenizer, fitted once, saved with the model."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

PAD, UNK = "<pad>", "<unk>"
# Words, numbers and the apostrophe forms GloVe knows ("n't", "'s" split off like GloVe's corpus).
_TOKEN = re.compile(r"n't|[a-z0-9]+(?:[.\-][a-z0-9]+)*|'[a-z]+|[^\sa-z0-9]")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$", re.UNICODE)


def normalize_text(text: str) -> str:
    """Lower-case, Unicode-normalised text with accents folded (GloVe 6B is mostly lower ASCII)."""
    text = unicodedata.normalize("NFKD", text)
    if not text.isascii():  # ASCII has no combining marks; the per-character scan is the slow part
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().replace("\u2019", "'").replace("`", "'")


def tokenize(text: str) -> list[str]:
    """Split a plot into lower-case word and punctuation tokens."""
    text = normalize_text(text).replace("n't", " n't")
    return _TOKEN.findall(text)


# ASCII punctuation -> space and A-Z -> a-z in one pass over bytes (a C-level table lookup, no
# regular expression; bytes.lower() changes only A-Z too); the separator byte between plots
# (\x01) is left alone
_LOWER_NO_PUNCT = bytes.maketrans(
    string.punctuation.encode() + string.ascii_uppercase.encode(),
    b" " * len(string.punctuation) + string.ascii_lowercase.encode(),
)
PLOT_SEPARATOR = b"\x01"
# Unicode punctuation that would otherwise glue two words together once non-ASCII is dropped
_WIDE_PUNCT = "\u2014\u2013\u2012\u2026\u00a0\u2018\u2019\u201c\u201d"


def _fold_to_ascii(text: str) -> str:
    """The text in ASCII: wide punctuation as spaces, accents folded, other non-ASCII dropped."""
    if text.isascii():
        return text
    for mark in _WIDE_PUNCT:  # str.replace is a C loop; str.translate looks up every char
        text = text.replace(mark, " ")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _ascii_words(text: str) -> bytes:
    """Lower-case ASCII bytes, punctuation as spaces (accents folded, other non-ASCII dropped)."""
    return _fold_to_ascii(text).encode().translate(_LOWER_NO_PUNCT)


def fast_words(text: str) -> list[bytes]:
    """Lower-case words as ASCII bytes, punctuation dropped ("don't" -> b"don", b"t").

    The n-gram model's tokenizer: several times faster than `tokenize` (a few C-level passes
    over the text and one split, no regular expression), at the price of dropping punctuation
    tokens, which a bag of words barely uses. Accents are folded as by `normalize_text`; other
    characters outside ASCII are dropped (TMDB overviews are English).
    """
    return [w for w in _ascii_words(text).split() if w != PLOT_SEPARATOR]


def fast_word_stream(texts: Sequence[str]) -> list[bytes]:
    """The `fast_words` of many plots in one list, PLOT_SEPARATOR between consecutive plots.

    One join, one pass and one split for the whole batch instead of one per plot. A text that
    itself holds the separator byte is tokenised on its own, so plots never run together.
    """
    if not texts:
        return []
    joined = " \x01 ".join(texts)
    if joined.count("\x01") == len(texts) - 1:
        if not joined.isascii():
            # folded plot by plot: most plots are ASCII already, and Unicode normalisation of
            # the whole batch (for one accented name) was a tenth of the n-gram model's time
            joined = " \x01 ".join([t if t.isascii() else _fold_to_ascii(t) for t in texts])
        return joined.encode().translate(_LOWER_NO_PUNCT).split()
    stream: list[bytes] = []
    for i, text in enumerate(texts):
        if i:
            stream.append(PLOT_SEPARATOR)
        stream.extend(fast_words(text))
    return stream


def count_words(text: str) -> int:
    """Number of whitespace-separated words (what users mean by a plot's length)."""
    return len(text.split())


def plot_words(text: str) -> list[str]:
    """The plot's whitespace-separated words, edge punctuation stripped (explanation units)."""
    words = (_EDGE_PUNCT.sub("", w) for w in text.split())
    return [w for w in words if w]


class Vocabulary:
    """Token <-> id mapping; id 0 is padding and id 1 stands for unknown words."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError("a vocabulary starts with the padding and unknown tokens")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def fit(
        cls, texts: Iterable[str], min_count: int = 2, max_size: int | None = None
    ) -> Vocabulary:
        """Build from training texts: tokens seen `min_count` times or more, most frequent first."""
        counts = Counter(tok for text in texts for tok in tokenize(text))
        common = [t for t, c in counts.most_common(max_size) if c >= min_count]
        return cls([PAD, UNK, *sorted(common, key=lambda t: (-counts[t], t))])

    def encode(self, text: str, max_len: int) -> list[int]:
        """The ids of the text's tokens: the first `max_len`, or all of them when it is 0."""
        ids = [self.index.get(tok, 1) for tok in tokenize(text)]
        if max_len:
            ids = ids[:max_len]
        return ids or [1]  # an empty plot still has one (unknown) token so the model can run

    def encode_batch(self, texts: Sequence[str], max_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Padded id matrix (int64) and 0/1 mask (float32), both (len(texts), longest)."""
        encoded = [self.encode(t, max_len) for t in texts]
        width = max((len(e) for e in encoded), default=1)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.float32)
        for row, seq in enumerate(encoded):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        return ids, mask
