"""Input checks: the warnings that say a plot is out of the model's reach, and why.

Every answer carries a list of `{"code": ..., "message": ...}` warnings, empty when all is well:

- ``unknown_words``: few of the plot's words were seen in training (share below UNKNOWN_SHARE);
- ``not_english``: a language identifier (py3langid, its model inside its wheel) names another
  language; it runs only on plots whose known-word share is below SUSPECT_SHARE, so almost never
  on real English plots, and is loaded on first use;
- ``unsupported_language``: (a model that covers several languages) the plot is in a language
  outside them; the warning's `language` field names it;
- ``too_short``: fewer than MIN_WORDS words;
- ``truncated``: the model read only the first words of the plot.

Every check also names the plot's language (`PlotCheck.language`, ISO 639-1 code and confidence):
"en" without asking the identifier when the plot is plainly English (SUSPECT_SHARE known words or
more), else the identifier's answer; a caller may state it instead.

The cut-offs were chosen on the validation split (docs/calibration.md,
benchmarks/answer_warnings.py).
A plot with no known word at all (gibberish, only digits or symbols, another script) is
"unreadable": its answer names no genre (see `PlotCheck.readable`).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviegenre.text.tokenizer import count_words

# Below this share of known words a plot gets `unknown_words`: under every validation plot's share
# (lowest 0.495) with a margin; gibberish scores 0.
UNKNOWN_SHARE = 0.4
# Below this share the language is identified: about 0.5% of validation plots, while French,
# German and Spanish plots score about 0.1-0.65.
SUSPECT_SHARE = 0.8
# The identifier's normalised probability needed to name a language (it gives "Tokyo Philharmonic
# Orchestra live Kimetsu no Yaiba concert" Aragonese at 0.1, French plots 0.99).
LANGUAGE_CONFIDENCE = 0.5
# ... or this much for a plot with under UNKNOWN_SHARE known words: py3langid gives some short
# Spanish plots 0.48, gibberish 0.07-0.1 (benchmarks/multilingual_check.py).
FOREIGN_CONFIDENCE = 0.3
# Fewer words than this: `too_short`. Plots cut to 3 words or fewer keep under two thirds of the
# full plots' validation micro-F1.
MIN_WORDS = 4
# Words seen this often in the training split count as known (as the BiLSTM's vocabulary).
MIN_COUNT = 2
# The confidence an answer states for a plot the shortcut calls English (SUSPECT_SHARE known words
# or more): the share of such validation plots py3langid also calls English (1,464 of 1,465;
# benchmarks/multilingual_check.py, "shortcut_agreement").
SHORTCUT_CONFIDENCE = 0.999
KNOWN_WORDS_FILE = "known_words.json"

_WORD = re.compile(r"[^\W\d_]+")
# ISO 639-1 codes py3langid answers with, for messages; others are shown as their code.
LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay", "nb": "Norwegian", "nl": "Dutch",
    "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip
# Languages written without spaces between words: their length is counted in characters.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th"})
# What a caller may state as a plot's language: an ISO 639-1 (or 639-3) code.
LANGUAGE_PATTERN = "^[A-Za-z]{2,3}$"
# Codes that are not a human language: "zxx" is py3langid's "no linguistic content".
_NOT_A_LANGUAGE = {"zxx", "und"}

# Every warning code and what it means (the OpenAPI document and the docs show these).
WARNING_CODES = {
    "unknown_words": f"Under {UNKNOWN_SHARE:.0%} of the plot's words were seen in training; the "
    "message gives the share. A plot with no known word at all gets no genre.",
    "not_english": "A language identifier (run only on plots with under "
    f"{SUSPECT_SHARE:.0%} known words) names another language; the message names it.",
    "unsupported_language": "The plot is in a language the model does not cover (a model that "
    "covers several); the warning's `language` field gives its ISO 639 code.",
    "too_short": f"Fewer than {MIN_WORDS} words: too few to judge.",
    "truncated": "The model read only the first words of the plot (also the `truncated` flag).",
}

_identifier: Any = None
_identifier_lock = threading.Lock()


@functools.lru_cache(maxsize=1024)
def identify_language(text: str) -> tuple[str, float]:
    """(ISO 639 code, normalised probability) from py3langid, loaded on the first call.

    Cached: a multilingual model routes by the language and its answer names it, one plot each."""
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    lang, confidence = _identifier.classify(text)
    return str(lang), float(confidence)


def words(plot: str) -> list[str]:
    """The plot's words: runs of letters (any alphabet), lower-cased; digits and punctuation
    split them. One regular expression, not the model's tokenizer: it runs on every answer."""
    return _WORD.findall(plot.lower())


@dataclass(frozen=True)
class PlotCheck:
    """What the checks found: the warnings, whether any word of the plot is known (or, for a
    covered language, whether it has a word at all), and its language ({"code", "confidence"})."""

    warnings: list[dict[str, str]] = field(default_factory=list)
    readable: bool = True
    language: dict[str, Any] | None = None


def _warning(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


class InputChecker:
    """Checks plots against the words a model was trained on (None: only length checks).

    covered: the languages a multilingual model answers besides English (None: English only, and
    other languages get `not_english`); a plot in a covered language gets no word or language
    warning, one in another language `unsupported_language`.
    """

    def __init__(
        self, known_words: Iterable[str] | None = None, covered: Iterable[str] | None = None
    ) -> None:
        self.known: frozenset[str] | None = (
            frozenset(known_words) if known_words is not None else None
        )
        self.covered: frozenset[str] | None = frozenset(covered) if covered is not None else None

    def covering(self, languages: Iterable[str]) -> InputChecker:
        """The same known words, for a model that also covers `languages`."""
        return InputChecker(self.known, languages)

    def known_fraction(self, plot: str) -> float | None:
        """The plot's share of known words (None without known words)."""
        if not self.known:
            return None
        known, total = self.known_share(plot)
        return known / total if total else 0.0

    def language(
        self, plot: str, stated: str | None = None, share: float | None = None
    ) -> tuple[str, float]:
        """(ISO 639-1 code, confidence): stated by the caller (1.0), "en" by the shortcut for a
        plot with SUSPECT_SHARE known words or more, else py3langid's answer. `share`: the known
        share when the caller has it (one word count per answer)."""
        if stated:
            return stated.strip().lower(), 1.0
        share = self.known_fraction(plot) if share is None else share
        if share is not None and share >= SUSPECT_SHARE:
            return "en", SHORTCUT_CONFIDENCE
        return identify_language(plot)

    def named(
        self, plot: str, code: str, confidence: float, share: float | None = None
    ) -> str | None:
        """`code` when it names the plot's language for the warnings and the routing: confident
        (LANGUAGE_CONFIDENCE), or FOREIGN_CONFIDENCE for a plot with under UNKNOWN_SHARE known
        words (such a plot is not English)."""
        if code in _NOT_A_LANGUAGE:
            return None
        if confidence >= LANGUAGE_CONFIDENCE or code == "en":
            return code
        if confidence >= FOREIGN_CONFIDENCE:
            share = self.known_fraction(plot) if share is None else share
            if share is not None and share < UNKNOWN_SHARE:
                return code
        return None

    def foreign(self, plot: str, stated: str | None = None) -> str | None:
        """The plot's language when a multilingual model should answer it away from its English
        member: a named language other than English (None: English or unsure)."""
        named = self.named(plot, *self.language(plot, stated))
        return None if named == "en" else named

    @classmethod
    def fit(cls, plots: Iterable[str], min_count: int = MIN_COUNT) -> InputChecker:
        """Known words: those seen `min_count` times or more in the training plots."""
        counts = Counter(w for plot in plots for w in words(plot))
        return cls(w for w, c in counts.items() if c >= min_count)

    def save(self, directory: Path) -> str | None:
        """Write the known words into a bundle directory; return the file name (None: none)."""
        if self.known is None:
            return None
        path = Path(directory) / KNOWN_WORDS_FILE
        path.write_text(json.dumps(sorted(self.known), ensure_ascii=False) + "\n", "utf-8")
        return KNOWN_WORDS_FILE

    @classmethod
    def load(cls, path: Path) -> InputChecker:
        """Read a known-words file; ValueError when it is not a JSON list of strings."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{path}: expected a JSON list of words ({exc})") from exc
        if not isinstance(data, list) or not all(isinstance(w, str) for w in data):
            raise ValueError(f"{path}: expected a JSON list of words")
        return cls(data)

    def known_share(self, plot: str) -> tuple[int, int]:
        """(known words, words) of the plot; (0, 0) for a plot without a word."""
        found = words(plot)
        known = self.known or frozenset()
        return len([w for w in found if w in known]), len(found)

    def check(
        self, plot: str, max_words: int | None = None, language: str | None = None
    ) -> PlotCheck:
        """The warnings for one plot, in a fixed order, whether it is readable at all, and its
        language (`language`: the caller's ISO 639-1 code, else detected)."""
        out: list[dict[str, str]] = []
        readable = True
        total_words = count_words(plot)
        counts = self.known_share(plot) if self.known is not None else (0, 0)
        share = (counts[0] / counts[1] if counts[1] else 0.0) if self.known else None
        code, confidence = self.language(plot, language, share)
        named = self.named(plot, code, confidence, share)
        unit = "word"
        if self.covered is not None and named is not None and named != "en":
            # a multilingual model: English words say nothing about a plot in another language,
            # and its encoder reads the whole plot (no truncation)
            readable = bool(words(plot))
            max_words = None
            if named in UNSPACED_LANGUAGES:
                unit, total_words = "character", sum(len(w) for w in words(plot))
            if named not in self.covered:
                name = LANGUAGE_NAMES.get(named, named)
                out.append({"code": "unsupported_language", "language": named, "message": (
                    f"the plot looks like {name} ({named}), a language the model does not cover; "
                    "its genres are a guess from the words it shares with the languages it does"
                )})  # fmt: skip
        elif self.known is not None:
            known, total = counts
            share = known / total if total else 0.0
            readable = known > 0
            if share < UNKNOWN_SHARE:
                what = (
                    f"only {share:.0%} of the plot's words ({known} of {total}) are"
                    if total
                    else "none of the plot's words are"
                )
                out.append(_warning("unknown_words", (
                    f"{what} known to the model; its scores say little about this plot"
                )))  # fmt: skip
            if share < SUSPECT_SHARE and named is not None and named != "en":
                name = LANGUAGE_NAMES.get(named, named)
                out.append(_warning("not_english", (
                    f"the plot looks like {name} ({named}), not English; the model was "
                    "trained on English plots only"
                )))  # fmt: skip
        if total_words < MIN_WORDS:
            out.append(_warning("too_short", (
                f"the plot has {total_words} {unit}{'s' if total_words != 1 else ''}; with fewer "
                f"than {MIN_WORDS} the genres are little better than a guess"
            )))  # fmt: skip
        if max_words is not None and total_words > max_words:
            out.append(_warning("truncated", (
                f"the model read only the first {max_words} of the plot's {total_words} words"
            )))  # fmt: skip
        language_field = {"code": code, "confidence": round(confidence, 4)}
        return PlotCheck(warnings=out, readable=readable, language=language_field)
