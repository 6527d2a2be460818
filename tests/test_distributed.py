"""DDP: `torchrun --nproc_per_node=2 -m moviegenre train` on CPU (gloo) writes one bundle, as good
as a one-process run, and all ranks resume from rank 0's checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("this PyTorch build has no torch.distributed", allow_module_level=True)

GLOVE = Path(__file__).resolve().parent / "fixtures" / "glove_tiny_8d.txt"
# Two processes see half the batches each (same batch size per process), so they take half the
# optimizer steps per epoch; the valid micro-F1 must still land within this of one process.
TOLERANCE = 0.05


def _train_args(data: Path, out: Path, checkpoints: Path) -> list[str]:
    return [
        "train", "--data", str(data), "--model-type", "lstm", "--out", str(out),
        "--embeddings", str(GLOVE), "--epochs", "8", "--seed", "0", "--device", "cpu",
        "--batch-size", "16", "--lr", "0.02", "--checkpoint-dir", str(checkpoints),
        "--model-option", "hidden=8", "--model-option", "embed_lr=0.01",
        "--model-option", "min_count=1", "--model-option", "patience=3",
        "--model-option", "dropout=0.3", "--model-option", "schedule=constant",
        "--model-option", "with_onnx=false", "--model-option", "progress=false",
    ]  # fmt: skip


def _torchrun(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "moviegenre", *args]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _valid_f1(bundle: Path) -> float:
    return json.loads((bundle / "bundle.json").read_text())["metrics"]["valid"]["micro_f1"]


def test_torchrun_two_cpu_processes(tmp_path: Path, tiny_corpus: Path) -> None:
    from moviegenre.cli.main import main

    work = tmp_path / "ddp"
    work.mkdir()
    run = _torchrun(_train_args(tiny_corpus, work / "bundle", work / "ckpt"))
    assert run.returncode == 0, run.stderr[-3000:]
    # one bundle, one report: rank 1 neither writes nor prints, and nothing half-written is left
    assert sorted(p.name for p in work.iterdir()) == ["bundle", "ckpt"]
    assert run.stdout.count('"bundle"') == 1
    ckpt = json.loads((work / "ckpt" / "checkpoint.json").read_text())
    assert ckpt["world_size"] == 2
    ddp_f1 = _valid_f1(work / "bundle")

    single = tmp_path / "single"
    assert main(_train_args(tiny_corpus, single / "bundle", single / "ckpt")) == 0
    single_f1 = _valid_f1(single / "bundle")
    assert single_f1 > 0.8
    assert abs(ddp_f1 - single_f1) <= TOLERANCE, (ddp_f1, single_f1)

    # every rank reads rank 0's checkpoint; the run had finished, so resuming retrains nothing
    again = _torchrun([*_train_args(tiny_corpus, work / "bundle", work / "ckpt"), "--resume"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert _valid_f1(work / "bundle") == ddp_f1


def test_ranks_see_disjoint_shards_covering_the_training_set() -> None:
    from moviegenre.models.torch_loop import epoch_batches

    lengths = [(i * 37) % 101 for i in range(103)]
    shards = [
        epoch_batches(103, 8, epoch=2, seed=5, lengths=lengths, rank=r, world=2) for r in (0, 1)
    ]
    assert len(shards[0]) == len(shards[1])  # DDP needs the same number of steps on every rank
    seen = [i for shard in shards for batch in shard for i in batch]
    # DistributedSampler pads 103 rows to 104 by repeating one; otherwise each row appears once
    assert sorted(set(seen)) == list(range(103)) and len(seen) == 104
    # batches are length-bucketed: little spread of lengths inside a batch
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in shards[0]]
    assert sum(spread) / len(spread) < 30
    # reproducible from (seed, epoch), different across epochs
    assert shards[0] == epoch_batches(103, 8, epoch=2, seed=5, lengths=lengths, rank=0, world=2)
    assert shards[0] != epoch_batches(103, 8, epoch=3, seed=5, lengths=lengths, rank=0, world=2)
