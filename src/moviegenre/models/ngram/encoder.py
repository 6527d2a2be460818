"""The n-gram model's reading of plots: its vocabulary rule and the encoder (words and word pairs
to ids, a whole batch at once, with a hashed pair index)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.text.tokenizer import PAD, PLOT_SEPARATOR, UNK, fast_word_stream, fast_words

UNK_ID = 1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: Knuth's multiplicative hashing


class PairIndex:
    """Sorted pair keys -> positions, found by one hash probe per query, vectorised.

    A binary search costs about 16 dependent memory reads per query over 57,000 keys and was a
    quarter of the n-gram model's prediction time; here each query reads one slot of a table four
    times the size of the key set. A slot two keys hash to keeps the first and is marked crowded;
    only queries that miss on a crowded slot fall back to a binary search.
    """

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.bits = max(4, int(np.ceil(np.log2(max(len(self.keys), 1) * 4))))
        size = 1 << self.bits
        slots = self._slots(self.keys)
        self.slot_key = np.full(size, -1, dtype=np.int64)  # keys are >= 0: -1 is an empty slot
        self.slot_position = np.zeros(size, dtype=np.int64)
        taken, first = np.unique(slots, return_index=True)
        self.slot_key[taken], self.slot_position[taken] = self.keys[first], first
        self.crowded = np.bincount(slots, minlength=size) > 1

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        # uint64 arithmetic wraps modulo 2^64; the top bits of the product are the slot
        return ((keys.astype(np.uint64) * _GOLDEN) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position of each query in the keys, whether it is there at all)."""
        slots = self._slots(queries)
        found = (self.slot_key[slots] == queries) & (queries >= 0)  # -1 marks empty slots
        position = self.slot_position[slots]
        retry = np.flatnonzero(~found & self.crowded[slots])
        if len(retry):
            at = np.minimum(np.searchsorted(self.keys, queries[retry]), len(self.keys) - 1)
            position[retry], found[retry] = at, self.keys[at] == queries[retry]
        return position, found


class NgramEncoder:
    """Plot text -> the ids of its words and of its known word pairs, for a whole batch at once.

    The batch is tokenised as one stream (`fast_word_stream`), its words are looked up with one
    C-level `map` over a dict, and pair ids are found by hashing `left * V + right` into the
    known pairs (`PairIndex`).
    """

    def __init__(self, words: Sequence[str], pair_keys: np.ndarray) -> None:
        if list(words[:2]) != [PAD, UNK]:
            raise MovieGenreError("an n-gram vocabulary starts with the padding and unknown tokens")
        self.words = list(words)
        # keyed by bytes, what the tokenizer returns (no decoding per token); -1 marks plot ends
        self.index = {w.encode(): i for i, w in enumerate(self.words)}
        self.index[PLOT_SEPARATOR] = -1
        self.pair_keys = np.asarray(pair_keys, dtype=np.int64)
        if len(self.pair_keys) and np.any(np.diff(self.pair_keys) <= 0):
            raise MovieGenreError("n-gram pair keys must be sorted and unique")
        if len(self.pair_keys) and self.pair_keys[0] < 0:
            raise MovieGenreError("n-gram pair keys cannot be negative")
        self.pairs = PairIndex(self.pair_keys)

    def encode(self, plots: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(word ids, word offsets, pair ids, pair offsets): flat ids, and offsets of length
        n + 1 where plot i's ids are ids[offsets[i]:offsets[i + 1]]. A plot without a word reads
        as one unknown word."""
        n = len(plots)
        stream = fast_word_stream(plots)
        ids = np.fromiter(
            map(self.index.get, stream, itertools.repeat(UNK_ID)), dtype=np.int64,
            count=len(stream),
        )  # fmt: skip
        is_word = ids >= 0
        owner = np.cumsum(~is_word)  # plot index of every position (separators excluded below)
        pair_ids = np.zeros(0, dtype=np.int64)
        pair_owner = np.zeros(0, dtype=np.int64)
        if len(ids) > 1 and len(self.pair_keys):
            keys = ids[:-1] * len(self.words) + ids[1:]
            position, known = self.pairs.find(keys)
            keep = is_word[:-1] & is_word[1:] & known
            pair_ids, pair_owner = position[keep], owner[:-1][keep]
        word_ids, word_owner = ids[is_word], owner[is_word]
        counts = np.bincount(word_owner, minlength=n)
        if not counts.all():  # empty plots: one unknown word each
            empty = np.flatnonzero(counts == 0)
            at = np.searchsorted(word_owner, empty)
            word_ids = np.insert(word_ids, at, UNK_ID)
            counts[empty] = 1
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        pair_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair_owner, minlength=n), out=pair_offsets[1:])
        return word_ids, offsets, pair_ids, pair_offsets


def word_counts(plots: Sequence[str]) -> Counter:
    """How often each word (as `fast_words` cuts them) occurs in `plots`."""
    return Counter(tok.decode() for plot in plots for tok in fast_words(plot))


def readable_glove_words(n: int, source: str | Path | None = None) -> list[str]:
    """The `n` most frequent words of a GloVe file that the tokenizer can produce whole
    ("n't" or "u.s." never come out of `fast_words` as one word)."""
    from moviegenre.text.embeddings import glove_vocabulary

    words = glove_vocabulary(n, source) if n else []
    return [w for w in words if fast_words(w) == [w.encode()]]
