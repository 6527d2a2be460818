"""Loading a model never runs code: no pickle-based loading anywhere in the package."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from moviegenre.text.tokenizer import Vocabulary, plot_words, tokenize

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "moviegenre"
FORBIDDEN = {
    "pickle import": re.compile(r"^\s*(import|from)\s+(c?pickle|joblib|dill|cloudpickle)\b", re.M),
    "torch.load": re.compile(r"torch\.load\s*\("),
    "torch.save": re.compile(r"torch\.save\s*\("),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "np.load of pickles": re.compile(r"\bpickle\.loads?\s*\("),
}


# The one allowed torch.load: the image network's published weights, read once at training time
# with weights_only=True (tensors only) and turned into our ONNX file; never a user's file.
ALLOWED = {("images/convert.py", "torch.load")}


def test_package_has_no_pickle_based_loading():
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        for name, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
        and (path.relative_to(PACKAGE).as_posix(), name) not in ALLOWED
    ]
    assert offenders == []


def test_the_one_torch_load_reads_tensors_only():
    text = (PACKAGE / "images" / "convert.py").read_text(encoding="utf-8")
    calls = list(FORBIDDEN["torch.load"].finditer(text))
    assert calls
    for call in calls:  # the arguments of each call (the docstring names the call too)
        arguments = text[call.end() : call.end() + 120]
        assert "weights_only=True" in arguments, "torch.load must pass weights_only=True"


def test_the_scan_would_catch_a_planted_import(tmp_path):
    planted = "import os\nimport pickle\nx = torch.load('w.pt')\n"
    assert FORBIDDEN["pickle import"].search(planted)
    assert FORBIDDEN["torch.load"].search(planted)


@given(st.text())
def test_tokenizer_never_crashes_and_yields_clean_tokens(text):
    tokens = tokenize(text)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)
    assert all(w and not w.isspace() for w in plot_words(text))


@given(st.lists(st.text(max_size=200), max_size=8), st.integers(min_value=1, max_value=50))
def test_vocabulary_encoding_is_well_formed_for_any_text(texts, max_len):
    vocab = Vocabulary.fit(["the ghost house", "the ghost"], min_count=1)
    ids, mask = vocab.encode_batch(texts, max_len)
    assert ids.shape == mask.shape and ids.shape[0] == len(texts)
    assert ids.shape[1] <= max_len or not texts
    assert ((ids > 0) == (mask > 0)).all()  # padding exactly where the mask is zero
    assert (ids < len(vocab)).all() and (mask.sum(axis=1) >= 1).all()
