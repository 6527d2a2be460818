"""The BiLSTM-over-GloVe genre model (PyTorch): masked bidirectional LSTM, mean+max pooling."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from moviegenre.errors import MovieGenreError
from moviegenre.models.base import ExportsOnnx, GenreModel, TokenGradients
from moviegenre.tensors import read_tensors, write_tensors
from moviegenre.text.embeddings import DEFAULT_EMBEDDINGS, glove_vectors, init_embedding_matrix
from moviegenre.text.tokenizer import PAD, UNK, Vocabulary, tokenize

log = logging.getLogger(__name__)

WEIGHTS = "weights.safetensors"
VOCAB = "vocab.json"
ONNX_FILE = "model.onnx"


def _reverse_index(mask: torch.Tensor) -> torch.Tensor:
    """Per row, the index that reverses its valid prefix and leaves padding in place.

    index[b, t] = len_b - 1 - t for t < len_b, else t. Applying it twice is the identity.
    """
    lengths = mask.sum(dim=1).to(torch.int64).unsqueeze(1)  # (B, 1)
    steps = torch.arange(mask.shape[1], device=mask.device, dtype=torch.int64).unsqueeze(0)
    return torch.where(steps < lengths, lengths - 1 - steps, steps)


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class BiLSTMNet(nn.Module):
    """Bidirectional LSTM with masking instead of packing (packed sequences do not export to ONNX).

    The forward LSTM runs over the padded batch: padding sits after the valid tokens, so it cannot
    reach them. The backward direction reverses each row's valid prefix with a gather and runs a
    second forward LSTM, then un-reverses. Pooling (mean and max) only sees valid positions, so a
    plot's output does not depend on how much padding its batch has.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int, hidden: int, num_labels: int, dropout: float = 0.3
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.embed_dropout = nn.Dropout(dropout / 2)
        self.forward_lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.backward_lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(4 * hidden, num_labels)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids int64 (B, T), mask float32 (B, T) 1 for tokens, 0 for padding -> logits (B, L)."""
        return self.forward_embedded(self.embedding(ids), mask)

    def forward_embedded(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from embedded tokens x (B, T, D) (the ONNX export embeds with fp16 weights)."""
        x = self.embed_dropout(x)
        reverse = _reverse_index(mask)
        ahead, _ = self.forward_lstm(x)
        behind, _ = self.backward_lstm(_gather_time(x, reverse))
        states = torch.cat([ahead, _gather_time(behind, reverse)], dim=-1)
        valid = mask.unsqueeze(-1).to(states.dtype)
        mean = (states * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0)
        # -1e4 rather than -inf: a fully masked row (never produced by the encoder) stays finite
        peak = torch.where(valid > 0, states, torch.full_like(states, -1e4)).amax(dim=1)
        return self.out(self.dropout(torch.cat([mean, peak], dim=-1)))


class _ExportNet(nn.Module):
    """What goes into ONNX: fp16 embedding table (half the file), probabilities out."""

    def __init__(self, net: BiLSTMNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("table", net.embedding.weight.detach().to(torch.float16).clone())

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = nn.functional.embedding(ids, self.table).to(torch.float32)
        return torch.sigmoid(self.net.forward_embedded(x, mask))


def _share_embedding_table(onnx_path: Path, weights_path: Path) -> bool:
    """Point the ONNX graph's float16 embedding table at the same bytes in the safetensors file.

    The table is most of the model; ONNX external data (file, offset, length) lets both runtimes
    read one copy, which keeps the shipped bundle small. Nothing changes unless the bytes match.
    """
    import onnx
    from onnx import numpy_helper
    from onnx.external_data_helper import set_external_data

    with open(weights_path, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_size))
        entry = header.get("embedding.weight", {})
        if entry.get("dtype") != "F16":
            return False
        begin, end = entry["data_offsets"]
        offset = 8 + header_size + begin
        handle.seek(offset)
        stored = handle.read(end - begin)
    graph = onnx.load(str(onnx_path))
    for tensor in graph.graph.initializer:
        if tensor.data_type == onnx.TensorProto.FLOAT16 and list(tensor.dims) == entry["shape"]:
            if numpy_helper.to_array(tensor).tobytes() != stored:
                return False
            set_external_data(tensor, location=weights_path.name, offset=offset, length=end - begin)
            tensor.ClearField("raw_data")
            onnx.save(graph, str(onnx_path))
            return True
    return False


class LSTMGenreModel(GenreModel, ExportsOnnx, TokenGradients):
    """BiLSTM over pre-trained GloVe vectors (fine-tuned), trained with rare-genre-weighted BCE."""

    model_type = "lstm"
    accepts_soft_targets = True
    run_settings = frozenset(
        {"device", "bf16", "checkpoint_dir", "resume", "with_onnx", "progress"}
    )

    def __init__(
        self,
        labels: Sequence[str],
        *,
        embeddings: str | None = None,
        hidden: int = 128,
        dropout: float = 0.5,
        lr: float = 2e-3,
        embed_lr: float = 2e-3,
        weight_decay: float = 0.01,
        batch_size: int = 32,
        epochs: int = 12,
        patience: int = 2,
        pos_weight_power: float = 0.5,
        pos_weight_max: float = 10.0,
        schedule: str = "linear",
        min_count: int = 2,
        max_vocab: int = 25000,
        max_len: int = 0,
        seed: int = 0,
        device: str = "auto",
        bf16: bool = False,
        checkpoint_dir: str | None = None,
        resume: bool = False,
        with_onnx: bool | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__(labels)
        self.embeddings = embeddings
        self.hidden, self.dropout = int(hidden), float(dropout)
        self.lr, self.embed_lr, self.weight_decay = float(lr), float(embed_lr), float(weight_decay)
        self.batch_size, self.epochs, self.patience = int(batch_size), int(epochs), int(patience)
        self.pos_weight_power, self.pos_weight_max = float(pos_weight_power), float(pos_weight_max)
        if schedule not in ("constant", "linear"):
            raise MovieGenreError(f"schedule must be 'constant' or 'linear', not {schedule!r}")
        self.schedule = schedule
        self.min_count, self.max_vocab, self.max_len = int(min_count), int(max_vocab), int(max_len)
        self.seed, self.device, self.bf16 = int(seed), device, bool(bf16)
        self.checkpoint_dir, self.resume, self.progress = checkpoint_dir, bool(resume), progress
        if with_onnx is None:
            try:
                import onnx  # noqa: F401

                with_onnx = True
            except ImportError:
                with_onnx = False
        self.with_onnx = bool(with_onnx)
        self.vocab: Vocabulary | None = None
        self.net: BiLSTMNet | None = None
        self.embed_dim = 0
        self.training_info: dict[str, Any] = {}

    @property
    def max_words(self) -> int | None:
        return self.max_len or None  # max_len 0: every word is read

    # --- text -> tensors ---------------------------------------------------------------------

    def _fit_vocabulary(self, plots: Sequence[str]) -> Vocabulary:
        """Frequent training words, plus rarer ones GloVe knows (their vectors carry meaning)."""
        counts = Counter(tok for plot in plots for tok in tokenize(plot))
        candidates = [t for t, _ in counts.most_common() if t not in (PAD, UNK)]
        _, found = glove_vectors(candidates, self.embeddings)
        keep = [
            t for t, known in zip(candidates, found, strict=True)
            if counts[t] >= self.min_count or known
        ][: self.max_vocab - 2]  # fmt: skip
        return Vocabulary([PAD, UNK, *keep])

    def _encode(self, plots: Sequence[str]) -> list[list[int]]:
        assert self.vocab is not None
        return [self.vocab.encode(p, self.max_len) for p in plots]

    @staticmethod
    def _pad(sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in sequences)
        ids = torch.zeros((len(sequences), width), dtype=torch.int64)
        mask = torch.zeros((len(sequences), width), dtype=torch.float32)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.int64)
            mask[row, : len(seq)] = 1.0
        return ids, mask

    def _probs(self, encoded: Sequence[Sequence[int]], batch_size: int = 256) -> np.ndarray:
        """Probabilities in length-sorted batches (little padding), returned in input order."""
        assert self.net is not None
        device = next(self.net.parameters()).device
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out = np.zeros((len(encoded), len(self.labels)), dtype=np.float32)
        was_training = self.net.training
        self.net.eval()
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                ids, mask = self._pad([encoded[i] for i in rows])
                logits = self.net(ids.to(device), mask.to(device))
                out[rows] = torch.sigmoid(logits.float()).cpu().numpy()
        self.net.train(was_training)
        return out

    # --- GenreModel ----------------------------------------------------------------------------

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> LSTMGenreModel:
        from moviegenre.evaluation.metrics import tuned_micro_f1
        from moviegenre.models.torch_loop import (
            LoopSettings,
            fit_loop,
            positive_weights,
            seed_everything,
        )

        targets = self._checked_targets(plots, targets)
        seed_everything(self.seed)
        self.vocab = self._fit_vocabulary(plots)
        matrix, found = init_embedding_matrix(
            self.vocab.tokens, self.embeddings, np.random.default_rng(self.seed)
        )
        self.embed_dim = matrix.shape[1]
        log.info("vocabulary %d words, %d with a GloVe vector", len(self.vocab), found)
        self.net = BiLSTMNet(
            len(self.vocab), self.embed_dim, self.hidden, len(self.labels), self.dropout
        )
        with torch.no_grad():
            self.net.embedding.weight.copy_(torch.from_numpy(matrix))

        encoded = self._encode(plots)
        lengths = [len(s) for s in encoded]
        target_tensor = torch.from_numpy(targets)
        pos_weight = positive_weights(targets, self.pos_weight_power, self.pos_weight_max)

        def make_batch(indices: list[int]) -> dict[str, torch.Tensor]:
            ids, mask = self._pad([encoded[i] for i in indices])
            return {"ids": ids, "mask": mask, "targets": target_tensor[indices]}

        def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            logits = model(batch["ids"], batch["mask"]).float()
            return nn.functional.binary_cross_entropy_with_logits(
                logits, batch["targets"], pos_weight=pos_weight.to(logits.device)
            )

        def make_optimizer(module: nn.Module) -> torch.optim.Optimizer:
            # GloVe rows move slowly (they generalise to words seen rarely); the LSTM learns fast
            embed = [module.embedding.weight]
            rest = [p for n, p in module.named_parameters() if n != "embedding.weight"]
            return torch.optim.AdamW(
                [{"params": embed, "lr": self.embed_lr, "weight_decay": 0.0},
                 {"params": rest, "lr": self.lr, "weight_decay": self.weight_decay}],
            )  # fmt: skip

        def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
            if self.schedule == "constant":
                return None
            # linear decay to 10% of the peak over the maximum number of epochs
            return torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: max(0.1, 1.0 - 0.9 * step / max(total_steps, 1))
            )

        evaluate = None
        if valid_plots is not None and valid_targets is not None and len(valid_plots):
            valid_encoded = self._encode(valid_plots)
            valid_y = np.asarray(valid_targets, dtype=np.float32)

            def evaluate(module: nn.Module) -> float:
                return tuned_micro_f1(self._probs(valid_encoded), valid_y)

        settings = LoopSettings(
            epochs=self.epochs, batch_size=self.batch_size, patience=self.patience,
            seed=self.seed, device=self.device, bf16=self.bf16,
            checkpoint_dir=self.checkpoint_dir, resume=self.resume, desc="lstm",
            progress=self.progress,
        )  # fmt: skip
        fingerprint = {
            "model": self.model_type, "vocab": len(self.vocab), "embed_dim": self.embed_dim,
            "hidden": self.hidden, "labels": self.labels, "train_rows": len(plots),
            "batch_size": self.batch_size, "seed": self.seed,
        }  # fmt: skip
        result = fit_loop(
            self.net, make_optimizer=make_optimizer, n_train=len(plots), make_batch=make_batch,
            loss_fn=loss_fn, evaluate=evaluate, settings=settings, lengths=lengths,
            fingerprint=fingerprint, make_scheduler=make_scheduler,
        )  # fmt: skip
        # The bundle stores the embedding table in fp16; round it now so the model in memory (whose
        # thresholds are tuned next) answers exactly like the one loaded back.
        with torch.no_grad():
            weight = self.net.embedding.weight
            weight.copy_(weight.to(torch.float16).to(weight.dtype))
        self.training_info = {
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "best_valid_micro_f1": round(result.best_score, 4) if evaluate else None,
            "device": result.device, "vocab_size": len(self.vocab), "glove_words": found,
        }  # fmt: skip
        return self

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        if self.net is None or self.vocab is None:
            raise MovieGenreError("this LSTM model is not fitted")
        if len(plots) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self._probs(self._encode(plots))

    def gradient_parts(self) -> tuple[nn.Module, nn.Embedding, Vocabulary, int | None]:
        if self.net is None or self.vocab is None:
            raise MovieGenreError("this LSTM model is not fitted")
        return self.net, self.net.embedding, self.vocab, self.max_len or None  # 0: no limit

    # --- files ---------------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        # the GloVe file's name, not a path on the training machine
        params["embeddings"] = Path(self.embeddings).name if self.embeddings else DEFAULT_EMBEDDINGS
        return params

    def export_onnx(self, path: str | Path) -> Path:
        """Write the network as ONNX (opset 17): inputs ids int64 (B, T), mask float32 (B, T),
        output probs float32 (B, L); batch and time axes are dynamic."""
        if self.net is None:
            raise MovieGenreError("this LSTM model is not fitted")
        path = Path(path)
        net = BiLSTMNet(
            len(self.vocab), self.embed_dim, self.hidden, len(self.labels), self.dropout
        )
        net.load_state_dict({k: v.detach().cpu() for k, v in self.net.state_dict().items()})
        wrapper = _ExportNet(net).eval()
        ids, mask = self._pad([[2, 3, 4, 5], [2, 3]])
        with warnings.catch_warnings():
            # the tracer's notes about LSTM shape checks: initial states are zeros made inside
            # the ONNX LSTM op, so any batch size and length runs (tested against PyTorch)
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper, (ids, mask), str(path), input_names=["ids", "mask"],
                output_names=["probs"], opset_version=17, dynamo=False,
                dynamic_axes={"ids": {0: "batch", 1: "time"}, "mask": {0: "batch", 1: "time"},
                              "probs": {0: "batch"}},
            )  # fmt: skip
        return path

    def save_files(self, directory: Path) -> dict[str, Any]:
        if self.net is None or self.vocab is None:
            raise MovieGenreError("this LSTM model is not fitted")
        directory = Path(directory)
        state = {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        state["embedding.weight"] = state["embedding.weight"].astype(np.float16)
        write_tensors(directory / WEIGHTS, state)
        os.chmod(directory / WEIGHTS, 0o644)  # safetensors writes a private temp file; share it
        (directory / VOCAB).write_text(json.dumps(self.vocab.tokens), encoding="utf-8")
        config: dict[str, Any] = {
            "weights": WEIGHTS,
            "vocab_size": len(self.vocab),
            "embed_dim": self.embed_dim,
            "tokenizer": {"type": "vocab", "file": VOCAB, "max_len": self.max_len},
            "training": {"bf16": self.bf16, **self.training_info},
        }
        if self.with_onnx:
            self.export_onnx(directory / ONNX_FILE)
            _share_embedding_table(directory / ONNX_FILE, directory / WEIGHTS)
            config["onnx"] = ONNX_FILE
        return config

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> LSTMGenreModel:
        directory = Path(directory)
        try:
            vocab_size, embed_dim = int(config["vocab_size"]), int(config["embed_dim"])
            hidden, dropout = int(config["hidden"]), float(config["dropout"])
            max_len = int(config["tokenizer"]["max_len"])
            vocab_file = directory / config["tokenizer"]["file"]
        except (KeyError, TypeError, ValueError) as exc:
            raise MovieGenreError(f"{directory}: LSTM config is incomplete ({exc})") from exc
        try:
            tokens = json.loads(vocab_file.read_text(encoding="utf-8"))
            vocab = Vocabulary(tokens)
        except (OSError, ValueError, TypeError) as exc:
            raise MovieGenreError(f"{vocab_file}: unreadable vocabulary ({exc})") from exc
        if len(vocab) != vocab_size:
            raise MovieGenreError(f"{vocab_file}: {len(vocab)} words, expected {vocab_size}")
        model = cls.from_params(labels, config)
        # bundles from before hyper-parameters were saved whole name these three only here
        model.hidden, model.dropout, model.max_len, model.device = hidden, dropout, max_len, "cpu"
        model.vocab, model.embed_dim = vocab, embed_dim
        net = BiLSTMNet(vocab_size, embed_dim, hidden, len(labels), dropout)
        expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        tensors = read_tensors(directory / config.get("weights", WEIGHTS), expected)
        net.load_state_dict({k: torch.from_numpy(tensors[k].astype(np.float32)) for k in expected})
        model.net = net.eval()
        model.with_onnx = bool(config.get("onnx"))
        model.training_info = dict(config.get("training") or {})
        return model
