"""The generic PyTorch training loop: epochs, early stopping, checkpoints/resume, DDP and bf16.

Any PyTorch model type (the BiLSTM, the MiniLM fine-tuning) trains through `fit_loop`:

    settings = LoopSettings(epochs=10, batch_size=32, seed=0, checkpoint_dir="ckpt", resume=True)
    result = fit_loop(
        net,                                            # an nn.Module (not yet wrapped in DDP)
        make_optimizer=lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3),
        n_train=len(train_texts),
        make_batch=lambda idx: {"ids": ..., "mask": ..., "targets": ...},  # CPU tensors
        loss_fn=lambda m, b: bce(m(b["ids"], b["mask"]), b["targets"]),    # m may be DDP-wrapped
        evaluate=lambda m: valid_micro_f1(m),            # higher is better; runs on rank 0 only
        settings=settings,
        lengths=token_counts,                            # optional: length-bucketed batches
        fingerprint={"hidden": 128, "vocab": 20000},     # refuses to resume a different setup
    )

Behaviour:
- Seeds: call `seed_everything(seed)` before building the network so its initial weights are
  reproducible; the loop derives batch order from `seed` and the epoch, and saves the torch RNG
  state in every checkpoint, so a resumed run ends with exactly the weights of an uninterrupted
  one (on CPU, with the same thread count).
- Checkpoints: after every epoch, rank 0 writes `checkpoint_dir/ckpt-EPOCH.safetensors` (current
  and best weights, optimizer tensors, RNG states) and then `checkpoint_dir/checkpoint.json`
  (epoch, best score, optimizer hyper-parameters, history), each atomically. `resume=True` reads
  them on every rank. No pickle anywhere.
- DDP: when launched by torchrun (`WORLD_SIZE` > 1 in the environment) the loop joins the process
  group (gloo on CPU, NCCL on CUDA), shards the training set with `DistributedSampler`, wraps the
  network in `DistributedDataParallel`, evaluates on rank 0 and broadcasts the score so every rank
  takes the same early-stopping decision. The module is returned unwrapped, with the best weights.
- bf16: `bf16=True` runs forward passes under `torch.autocast(dtype=torch.bfloat16)` (CPU or CUDA).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from moviegenre.errors import MovieGenreError
from moviegenre.files import atomic_path, write_text_atomic
from moviegenre.torch_device import resolve_device

log = logging.getLogger(__name__)

CHECKPOINT_JSON = "checkpoint.json"
CHECKPOINT_FORMAT = "moviegenre-checkpoint"


@dataclass
class LoopSettings:
    """How to train; every field has a sensible default."""

    epochs: int = 10  # a maximum: early stopping may end sooner
    batch_size: int = 32
    patience: int = 2  # epochs without a better validation score before stopping
    min_delta: float = 1e-4
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    bf16: bool = False
    grad_clip: float | None = 1.0
    checkpoint_dir: str | Path | None = None
    resume: bool = False
    desc: str = "training"
    progress: bool = True  # tqdm bar on stderr (rank 0 only)
    report_epochs: bool = True  # one line per epoch (loss, valid score) on rank 0
    distributed: bool = True  # join torchrun's process group when launched by it


@dataclass
class LoopResult:
    """What happened: best validation score and epoch, epochs run, per-epoch history."""

    best_score: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    device: str
    history: list[dict[str, float]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Seeds, devices and the process group


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA): reproducible initial weights and dropout."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def positive_weights(targets: np.ndarray, power: float, cap: float) -> torch.Tensor:
    """BCE `pos_weight` per genre, (negatives / positives) ** power clipped to [1, cap], so rare
    genres are not ignored (power 0.5: the square root)."""
    positives = targets.sum(axis=0)
    ratio = (len(targets) - positives) / np.maximum(positives, 1.0)
    return torch.from_numpy(np.clip(ratio**power, 1.0, cap).astype(np.float32))


def distributed_env() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment variables; (0, 1) when not distributed."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on rank 0 (or when not distributed): the one process that writes files."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return distributed_env()[0] == 0


def _init_distributed(device: torch.device) -> bool:
    """Join the process group if torchrun started us; True when this call created it."""
    _, world = distributed_env()
    if world <= 1 or not torch.distributed.is_available() or torch.distributed.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.distributed.init_process_group(backend=backend)
    return True


# ---------------------------------------------------------------------------------------------
# Batches


def epoch_batches(
    n: int,
    batch_size: int,
    epoch: int,
    seed: int,
    lengths: Sequence[int] | None = None,
    rank: int = 0,
    world: int = 1,
) -> list[list[int]]:
    """This rank's batches of training indices for one epoch, reproducible from (seed, epoch).

    Indices are shuffled and sharded by `DistributedSampler` (one shard when not distributed);
    with `lengths`, each shard is cut into chunks of 50 batches sorted by length, so batches hold
    plots of similar length (little padding), and the batch order is shuffled again.
    """
    from torch.utils.data.distributed import DistributedSampler

    sampler = DistributedSampler(
        range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=False
    )
    sampler.set_epoch(epoch)
    indices = list(sampler)
    if lengths is not None:
        chunk = batch_size * 50
        indices = [
            i
            for start in range(0, len(indices), chunk)
            for i in sorted(indices[start : start + chunk], key=lambda j: lengths[j])
        ]
    batches = [indices[s : s + batch_size] for s in range(0, len(indices), batch_size)]
    if lengths is not None:
        generator = torch.Generator().manual_seed(seed * 100003 + epoch)
        order = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in order]
    return batches


# ---------------------------------------------------------------------------------------------
# Checkpoints (safetensors + JSON, atomic)


def _cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def _optimizer_split(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state as flat tensors (for safetensors) plus its JSON-able rest."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_join(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, values in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    directory: Path,
    epoch: int,
    module: nn.Module,
    best_state: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    info: dict[str, Any],
) -> Path:
    """Write the checkpoint of a finished epoch; the JSON is replaced last, so it always points
    at a complete tensor file (a crash mid-way leaves the previous checkpoint usable)."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v for k, v in _cpu_state(module).items()}
    tensors.update({f"best.{k}": v for k, v in best_state.items()})
    optim_tensors, optim_meta = _optimizer_split(optimizer)
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    name = f"ckpt-{epoch:04d}.safetensors"
    with atomic_path(directory / name) as tmp:
        save_file(tensors, str(tmp))
    meta = {
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "tensors": name,
        "optimizer": optim_meta,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        **info,
    }
    write_text_atomic(directory / CHECKPOINT_JSON, json.dumps(meta, indent=1) + "\n")
    for old in directory.glob("ckpt-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return directory / name


def load_checkpoint(directory: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
    """The last checkpoint in `directory` as (JSON metadata, tensors); None when there is none."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta_path = directory / CHECKPOINT_JSON
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a moviegenre checkpoint")
        tensors = load_file(str(directory / meta["tensors"]))
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise MovieGenreError(f"{meta_path}: unreadable checkpoint ({exc})") from exc
    return meta, tensors


# ---------------------------------------------------------------------------------------------
# The loop


def _broadcast_float(value: float, device: torch.device, distributed: bool) -> float:
    if not distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.broadcast(tensor, src=0)
    return float(tensor.item())


def fit_loop(
    module: nn.Module,
    *,
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    n_train: int,
    make_batch: Callable[[list[int]], dict[str, torch.Tensor]],
    loss_fn: Callable[[nn.Module, dict[str, torch.Tensor]], torch.Tensor],
    evaluate: Callable[[nn.Module], float] | None,
    settings: LoopSettings,
    lengths: Sequence[int] | None = None,
    make_scheduler: Callable[[torch.optim.Optimizer, int], Any] | None = None,
    fingerprint: dict[str, Any] | None = None,
) -> LoopResult:
    """Train `module` in place and leave it on the chosen device holding its best weights.

    make_optimizer(module) builds the optimizer once the module is on its device.
    make_batch(indices) returns a dict of CPU tensors; the loop moves them to the device.
    loss_fn(model, batch) returns the scalar loss (`model` may be the DDP wrapper: call it, do not
    reach into its attributes). evaluate(module) returns the validation score, higher is better;
    it runs on rank 0 only, in eval mode under no_grad and autocast when bf16 is on; None: no
    early stopping, the last epoch is kept.
    make_scheduler(optimizer, total_steps) may return an LR scheduler stepped once per batch.
    fingerprint: JSON-able settings that must match to resume from a checkpoint.
    """
    from tqdm.auto import tqdm

    if n_train <= 0:
        raise MovieGenreError("nothing to train on: the training set is empty")
    if settings.epochs < 1:
        raise MovieGenreError(f"epochs must be at least 1, got {settings.epochs}")
    device = resolve_device(settings.device)
    created_group = _init_distributed(device) if settings.distributed else False
    distributed = (
        settings.distributed
        and torch.distributed.is_available()
        and torch.distributed.is_initialized()
    )
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    main = rank == 0
    module.to(device)
    optimizer = make_optimizer(module)
    steps_per_epoch = math.ceil(math.ceil(n_train / world) / settings.batch_size)
    scheduler = (
        make_scheduler(optimizer, steps_per_epoch * settings.epochs) if make_scheduler else None
    )
    fingerprint = json.loads(json.dumps(fingerprint or {}))  # normalise tuples etc. for comparison

    start_epoch, best_score, best_epoch, bad_epochs = 0, -math.inf, 0, 0
    history: list[dict[str, float]] = []
    best_state = _cpu_state(module)
    stopped = False
    ckpt_dir = Path(settings.checkpoint_dir) if settings.checkpoint_dir else None
    if settings.resume:
        if ckpt_dir is None:
            raise MovieGenreError("resume needs a checkpoint directory (--checkpoint-dir)")
        loaded = load_checkpoint(ckpt_dir)
        if loaded is None:
            log.warning("%s: no checkpoint to resume from; starting from scratch", ckpt_dir)
        else:
            meta, tensors = loaded
            if meta.get("fingerprint") != fingerprint:
                raise MovieGenreError(
                    f"{ckpt_dir}: the checkpoint was made with other settings "
                    f"({meta.get('fingerprint')}), not {fingerprint}; use another --checkpoint-dir"
                )
            module.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
            optimizer.load_state_dict(_optimizer_join(tensors, meta["optimizer"]))
            if scheduler is not None and meta.get("scheduler") is not None:
                scheduler.load_state_dict(meta["scheduler"])
            torch.set_rng_state(tensors["rng.torch"])
            if "rng.cuda" in tensors and device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng.cuda"])
            start_epoch = int(meta["epoch"])
            best_score = float(meta["best_score"])
            best_epoch = int(meta["best_epoch"])
            bad_epochs = int(meta["bad_epochs"])
            history = list(meta.get("history", []))
            stopped = bool(meta.get("stopped", False))
            if main:
                log.info("resumed from %s after epoch %d", ckpt_dir, start_epoch)

    model: nn.Module = module
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=settings.bf16)
    remaining = 0 if stopped else settings.epochs - start_epoch
    bar = tqdm(
        total=max(remaining, 0) * steps_per_epoch,
        desc=settings.desc,
        unit="batch",
        disable=not (settings.progress and main),
        dynamic_ncols=True,
    )
    epoch = start_epoch
    try:
        while not stopped and epoch < settings.epochs:
            model.train()
            total, count = 0.0, 0
            for indices in epoch_batches(
                n_train, settings.batch_size, epoch, settings.seed, lengths, rank, world
            ):
                batch = {k: v.to(device, non_blocking=True) for k, v in make_batch(indices).items()}
                optimizer.zero_grad(set_to_none=True)
                with autocast:
                    loss = loss_fn(model, batch)
                loss.float().backward()
                if settings.grad_clip:
                    nn.utils.clip_grad_norm_(module.parameters(), settings.grad_clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += float(loss.detach()) * len(indices)
                count += len(indices)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{total / max(count, 1):.4f}", refresh=False)
            epoch += 1
            score = math.nan
            if evaluate is not None:
                if main:
                    module.eval()
                    with torch.no_grad(), autocast:
                        score = float(evaluate(module))
                score = _broadcast_float(score, device, distributed)
            record = {"epoch": epoch, "train_loss": round(total / max(count, 1), 6), "score": score}
            history.append(record)
            if evaluate is None or score > best_score + settings.min_delta:
                best_score = score if evaluate is not None else -math.inf
                best_epoch, bad_epochs = epoch, 0
                best_state = _cpu_state(module)
            else:
                bad_epochs += 1
                stopped = bad_epochs >= settings.patience
            if main and settings.report_epochs:
                bar.write(
                    f"{settings.desc}: epoch {epoch}/{settings.epochs} "
                    f"loss {record['train_loss']:.4f} valid {score:.4f} (best {best_score:.4f} "
                    f"at epoch {best_epoch})"
                )
            if ckpt_dir is not None and main:
                info = {
                    "best_score": best_score if math.isfinite(best_score) else -1e30,
                    "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs,
                    "stopped": stopped or epoch >= settings.epochs,
                    "history": history,
                    "fingerprint": fingerprint,
                    "seed": settings.seed,
                    "world_size": world,
                }
                save_checkpoint(ckpt_dir, epoch, module, best_state, optimizer, scheduler, info)
            if distributed:
                torch.distributed.barrier()  # nobody races ahead of rank 0's checkpoint
    finally:
        bar.close()
        if created_group:
            torch.distributed.destroy_process_group()
    module.load_state_dict(best_state)
    module.eval()
    return LoopResult(
        best_score=best_score,
        best_epoch=best_epoch,
        epochs_run=epoch,
        stopped_early=stopped and epoch < settings.epochs,
        device=str(device),
        history=history,
    )
