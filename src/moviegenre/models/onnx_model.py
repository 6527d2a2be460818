"""Inference-only models exported to ONNX, run with ONNX Runtime (no PyTorch on this path)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import Predictor
from moviegenre.onnx_sessions import make_session

# Plots are grouped by length before batching so a batch pads to similar lengths; 64 keeps the
# per-call overhead small without making the padded matrices large.
DEFAULT_BATCH_SIZE = 64
_ORT_DTYPES = {
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
}


class _VocabEncoder:
    """Word-level ids from `moviegenre.text.tokenizer.Vocabulary` (the BiLSTM's tokenizer)."""

    def __init__(self, path: Path, max_len: int) -> None:
        from moviegenre.text.tokenizer import Vocabulary

        try:
            tokens = json.loads(path.read_text(encoding="utf-8"))
            self.vocab = Vocabulary(tokens)
        except (OSError, ValueError, TypeError) as exc:
            raise MovieGenreError(f"{path}: expected a JSON list of tokens ({exc})") from exc
        self.max_len = max_len

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.vocab.encode(text, self.max_len) for text in texts]


class _WordPieceEncoder:
    """Sub-word ids from a Hugging Face `tokenizers` file (the MiniLM encoder's tokenizer)."""

    def __init__(self, path: Path, max_len: int) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MovieGenreError(
                "this model needs the 'tokenizers' package: pip install 'moviegenre[minilm]'"
            ) from exc
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exception subclasses from Rust
            raise MovieGenreError(f"{path}: not a tokenizers JSON file ({exc})") from exc
        self.tokenizer.no_padding()  # we pad per length-sorted batch ourselves
        self.tokenizer.enable_truncation(max_length=max_len)
        self.max_len = max_len

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [enc.ids for enc in self.tokenizer.encode_batch(list(texts))]


class OnnxGenreModel(Predictor):
    """A bundle's ONNX export: tokenizer from the bundle config, graph run by ONNX Runtime.

    Only a predictor: it cannot be trained or re-saved (train and save the model type it came
    from). The graph takes padded token ids and a 0/1 mask (named `ids`/`mask` or
    `input_ids`/`attention_mask`) and returns `probs`, one sigmoid per genre.
    """

    def __init__(
        self,
        labels: Sequence[str],
        session: Any,
        encoder: _VocabEncoder | _WordPieceEncoder,
        max_words: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        super().__init__(labels)
        self.session = session
        self.encoder = encoder
        self.batch_size = batch_size
        self._max_words = max_words
        self.input_names = [i.name for i in session.get_inputs()]
        self.input_dtypes = {
            i.name: _ORT_DTYPES.get(i.type, np.int64) for i in session.get_inputs()
        }
        outputs = [o.name for o in session.get_outputs()]
        self.output_name = "probs" if "probs" in outputs else outputs[0]
        known = {"ids", "input_ids", "mask", "attention_mask", "token_type_ids"}
        unknown = [n for n in self.input_names if n not in known]
        if unknown:
            raise MovieGenreError(
                f"ONNX graph has unexpected inputs {unknown}; expected ids and mask"
            )

    @property
    def max_words(self) -> int | None:
        return self._max_words

    def _feeds(self, encoded: list[list[int]]) -> dict[str, np.ndarray]:
        width = max(len(seq) for seq in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, seq in enumerate(encoded):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feeds = {}
        for name in self.input_names:
            value = ids if name in ("ids", "input_ids") else mask
            if name == "token_type_ids":
                value = np.zeros_like(ids)
            feeds[name] = value.astype(self.input_dtypes[name], copy=False)
        return feeds

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        plots = list(plots)
        out = np.zeros((len(plots), len(self.labels)), dtype=np.float32)
        if not plots:
            return out
        encoded = self.encode(plots)
        # Sort by length so each batch pads to almost nothing, then scatter back to input order.
        order = sorted(range(len(plots)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            feeds = self._feeds([encoded[i] or [1] for i in rows])
            (probs,) = self.session.run([self.output_name], feeds)
            out[rows] = probs
        return out

    def encode(self, plots: Sequence[str]) -> list[list[int]]:
        """The token ids the graph reads for each plot (before padding)."""
        return self.encoder.encode(list(plots))

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> OnnxGenreModel:
        directory = Path(directory)
        graph = directory / str(config.get("onnx") or "model.onnx")
        if not graph.is_file():
            raise MovieGenreError(f"{directory}: the ONNX file {graph.name} is missing")
        tok = config.get("tokenizer")
        if not isinstance(tok, dict) or not tok.get("file") or "max_len" not in tok:
            raise MovieGenreError(
                f"{directory}: config.tokenizer must name its type, file and max_len"
            )
        tok_path = directory / str(tok["file"])
        if not tok_path.is_file():
            raise MovieGenreError(f"{directory}: tokenizer file {tok_path.name} is missing")
        max_len = int(tok["max_len"] or 0)  # 0: a vocab tokenizer reads every word
        kind = tok.get("type", "vocab")
        if kind == "vocab":
            encoder: _VocabEncoder | _WordPieceEncoder = _VocabEncoder(tok_path, max_len)
        elif kind == "wordpiece" and max_len > 0:
            encoder = _WordPieceEncoder(tok_path, max_len)
        else:
            raise MovieGenreError(
                f"{directory}: unknown tokenizer type {kind!r} (or a wordpiece max_len of 0);"
                " expected 'vocab' or 'wordpiece' with a positive max_len"
            )
        session = make_session(graph)
        (output,) = [
            o for o in session.get_outputs() if o.name == "probs"
        ] or session.get_outputs()[:1]
        width = output.shape[-1] if output.shape else None
        if isinstance(width, int) and width != len(labels):
            raise MovieGenreError(
                f"{graph}: the graph outputs {width} genres but the bundle has {len(labels)} labels"
            )
        max_words = config.get("max_words", max_len)
        return cls(labels, session, encoder, max_words=int(max_words) if max_words else None)
