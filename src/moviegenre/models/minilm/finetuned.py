"""The `minilm-finetuned` model type: all-MiniLM-L6-v2 and a genre head trained end to end."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moviegenre.errors import MovieGenreError
from moviegenre.evaluation.metrics import tuned_micro_f1
from moviegenre.models.base import GenreModel
from moviegenre.models.minilm import heads
from moviegenre.models.minilm.encoder import (
    EMBEDDING_DIM,
    MAX_LENGTH,
    OVERLAP,
    ChunkPooler,
    check_window,
    chunk_batch,
    chunk_plots,
    encoder_config,
    encoder_dir,
    load_encoder,
    load_tokenizer,
)
from moviegenre.models.torch_loop import LoopSettings, fit_loop, seed_everything

log = logging.getLogger(__name__)

ENCODER_DIR = "encoder"  # the fine-tuned encoder's safetensors and tokenizer, inside the bundle
PREDICT_PLOTS = 64  # plots per forward pass at prediction


class MiniLMFineTunedModel(GenreModel):
    """all-MiniLM-L6-v2 (long plots read in overlapping chunks) and a genre head, trained end to end
    through the shared PyTorch loop (checkpoints, resume, DDP, bf16); the bundle holds the encoder.

    head: "linear" or "mlp" ("logreg" and "auto", the frozen model's names, mean "linear").
    """

    model_type = "minilm-finetuned"
    run_settings = frozenset({"device", "bf16", "checkpoint_dir", "resume"})

    def __init__(
        self,
        labels: Sequence[str],
        head: str = "linear",
        hidden: int = 1024,
        epochs: int = 3,
        lr: float = 2e-5,
        dropout: float = 0.5,
        batch_size: int = 16,
        seed: int = 0,
        max_length: int = MAX_LENGTH,
        overlap: int = OVERLAP,
        device: str = "auto",
        bf16: bool = False,
        checkpoint_dir: str | None = None,
        resume: bool = False,
    ) -> None:
        super().__init__(labels)
        if head not in ("linear", "mlp", "logreg", "auto"):
            raise MovieGenreError(f"minilm option head={head!r}; expected linear or mlp")
        check_window(max_length, overlap)
        self.head = "mlp" if head == "mlp" else "linear"
        self.hidden, self.epochs, self.lr = int(hidden), int(epochs or 3), float(lr or 2e-5)
        self.dropout, self.batch_size, self.seed = float(dropout), int(batch_size or 16), int(seed)
        self.max_length, self.overlap = int(max_length), int(overlap)
        self.device, self.bf16 = device, bool(bf16)
        self.checkpoint_dir, self.resume = checkpoint_dir, bool(resume)
        self.net: ChunkPooler | None = None  # learned: encoder + head
        self.encoder_path = ""  # where the tokenizer (and the encoder it started from) lies

    def _tokenizer(self) -> Any:
        return load_tokenizer(self.encoder_path)

    def _probs(self, net: ChunkPooler, plots: Sequence[str]) -> np.ndarray:
        tokenizer = self._tokenizer()
        device = next(net.parameters()).device
        was_training = net.training
        net.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(plots), PREDICT_PLOTS):
                chunks = chunk_plots(tokenizer, plots[start : start + PREDICT_PLOTS],
                                     self.max_length, self.overlap)  # fmt: skip
                batch = chunk_batch(chunks, tokenizer.pad_token_id)
                logits = net(*(batch[k].to(device) for k in ("ids", "mask", "owner")))
                out.append(heads.sigmoid(logits.float().cpu().numpy()))
        net.train(was_training)
        return np.concatenate(out).astype(np.float32)

    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> MiniLMFineTunedModel:
        seed_everything(self.seed)
        targets = np.asarray(targets, dtype=np.float32)
        self.encoder_path = str(encoder_dir())
        tokenizer = self._tokenizer()
        head = heads.new_head(self.head, EMBEDDING_DIM, len(self.labels), self.hidden, self.dropout)
        net = ChunkPooler(load_encoder(self.encoder_path), head)
        chunks = chunk_plots(tokenizer, plots, self.max_length, self.overlap)
        ty = torch.from_numpy(targets)
        pos_weight = heads.balanced_pos_weight(targets)
        has_valid = valid_plots is not None and valid_targets is not None and len(valid_plots) > 0

        def make_optimizer(module: ChunkPooler) -> torch.optim.Optimizer:
            return torch.optim.AdamW(
                [{"params": module.encoder.parameters(), "lr": self.lr},
                 {"params": module.head.parameters(), "lr": max(self.lr * 50, 1e-3)}],
                weight_decay=1e-2,
            )  # fmt: skip

        def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
            # the usual BERT recipe: warm up over the first 6% of steps, then decay linearly to 0
            warmup = max(1, int(0.06 * total_steps))
            return torch.optim.lr_scheduler.LambdaLR(
                optimizer,
                lambda step: min((step + 1) / warmup,
                                 max(0.0, (total_steps - step) / max(total_steps - warmup, 1))),
            )  # fmt: skip

        def make_batch(indices: list[int]) -> dict[str, Any]:
            batch = chunk_batch([chunks[i] for i in indices], tokenizer.pad_token_id)
            batch["targets"] = ty[indices]
            return batch

        def loss_fn(model: Any, batch: dict[str, Any]) -> torch.Tensor:
            logits = model(batch["ids"], batch["mask"], batch["owner"])
            return torch.nn.functional.binary_cross_entropy_with_logits(
                logits, batch["targets"], pos_weight=pos_weight.to(logits.device)
            )

        def evaluate(module: ChunkPooler) -> float:
            return tuned_micro_f1(self._probs(module, list(valid_plots)), np.asarray(valid_targets))

        settings = LoopSettings(
            epochs=self.epochs, batch_size=self.batch_size, seed=self.seed, device=self.device,
            bf16=self.bf16, checkpoint_dir=self.checkpoint_dir, resume=self.resume,
            desc="fine-tuning minilm", progress=len(chunks) > 200,
        )  # fmt: skip
        result = fit_loop(
            net, make_optimizer=make_optimizer, n_train=len(chunks), make_batch=make_batch,
            loss_fn=loss_fn, evaluate=evaluate if has_valid else None, settings=settings,
            make_scheduler=make_scheduler,
            lengths=[sum(len(c) for c in per_plot) for per_plot in chunks],
            fingerprint={"model": "minilm", "labels": self.labels, "head": self.head,
                         "hidden": self.hidden, "lr": self.lr, "max_length": self.max_length,
                         "overlap": self.overlap},
        )  # fmt: skip
        log.info("minilm fine-tune: best valid micro-F1 %.4f (epoch %d)",
                 result.best_score, result.best_epoch)  # fmt: skip
        self.net = net.to("cpu").eval()
        return self

    def predict_raw(self, plots: Sequence[str]) -> np.ndarray:
        if self.net is None:
            raise MovieGenreError("this MiniLM model is not fitted")
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self._probs(self.net, plots)

    # ----- files ------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        if self.net is None:
            raise MovieGenreError("cannot save an unfitted MiniLM model")
        heads.save_head(directory, heads.head_arrays(self.net.head))
        # the fine-tuned encoder travels with the bundle (safetensors + tokenizer files)
        self.net.encoder.save_pretrained(directory / ENCODER_DIR)
        self._tokenizer().save_pretrained(directory / ENCODER_DIR)
        return {
            "head_kind": self.head,
            "encoder": encoder_config(self.max_length, self.overlap, weights=f"{ENCODER_DIR}/"),
        }

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> MiniLMFineTunedModel:
        model = cls.from_params(labels, {**config, "head": config.get("head_kind", "linear")})
        assert isinstance(model, MiniLMFineTunedModel)
        weights = heads.load_head(directory, model.head, len(labels), model.hidden, EMBEDDING_DIM)
        path = Path(directory) / ENCODER_DIR
        if not (path / "model.safetensors").is_file():
            raise MovieGenreError(
                f"{path}: the fine-tuned encoder weights (model.safetensors) are missing"
            )
        model.encoder_path = str(path)
        head = heads.head_module(model.head, weights, model.dropout)
        model.net = ChunkPooler(load_encoder(path), head).eval()
        return model
