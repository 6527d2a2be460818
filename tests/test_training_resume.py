"""Fault injection: a training run killed with SIGKILL resumes to the same weights; a save killed
mid-way leaves the previous bundle intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from moviegenre.bundle import load_bundle  # noqa: E402
from moviegenre.errors import MovieGenreError  # noqa: E402

GLOVE = Path(__file__).resolve().parent / "fixtures" / "glove_tiny_8d.txt"
OPTIONS = {
    "embeddings": str(GLOVE), "hidden": 8, "epochs": 4, "batch_size": 16, "lr": 0.02,
    "embed_lr": 0.01, "patience": 10, "seed": 3, "device": "cpu", "progress": False,
    "min_count": 1, "with_onnx": False,
}  # fmt: skip

# Trains on the tiny corpus and writes the final weights. With SLOW set, every checkpoint after
# the first is delayed, so the parent can kill the run in the middle of epoch 2's bookkeeping,
# after epoch 2's training steps ran but before its checkpoint exists.
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import torch
    torch.set_num_threads(1)
    from safetensors.torch import save_file
    import moviegenre.models.torch_loop as loop
    from moviegenre.training.train import train

    data, options, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    if os.environ.get("SLOW"):
        original = loop.save_checkpoint
        def slow(directory, epoch, *args, **kwargs):
            if epoch >= 2:
                time.sleep(60)
            return original(directory, epoch, *args, **kwargs)
        loop.save_checkpoint = slow
    result = train(data, "lstm", None, model_options=options)
    state = {k: v.contiguous() for k, v in result.model.net.state_dict().items()}
    save_file(state, out)
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **extra}
    env.pop("SLOW", None)
    env.update(extra)
    return env


def _run_worker(script: Path, data: Path, options: dict, out: Path, **env: str):
    return subprocess.Popen(
        [sys.executable, str(script), str(data), json.dumps(options), str(out)],
        env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"worker ended early: {process.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def test_sigkill_then_resume_gives_identical_weights(tmp_path: Path, tiny_corpus: Path) -> None:
    from safetensors.torch import load_file

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    straight_dir, killed_dir = tmp_path / "ckpt-straight", tmp_path / "ckpt-killed"

    straight = _run_worker(
        script, tiny_corpus, {**OPTIONS, "checkpoint_dir": str(straight_dir)}, tmp_path / "a.st"
    )
    killed = _run_worker(
        script, tiny_corpus, {**OPTIONS, "checkpoint_dir": str(killed_dir)}, tmp_path / "b.st",
        SLOW="1",
    )  # fmt: skip
    _wait_for(killed_dir / "checkpoint.json", killed)
    time.sleep(0.5)  # let it get into epoch 2
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert json.loads((killed_dir / "checkpoint.json").read_text())["epoch"] == 1

    resumed = _run_worker(
        script, tiny_corpus, {**OPTIONS, "checkpoint_dir": str(killed_dir), "resume": True},
        tmp_path / "b.st",
    )  # fmt: skip
    for process in (straight, resumed):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
    assert json.loads((killed_dir / "checkpoint.json").read_text())["epoch"] == 4
    a, b = load_file(str(tmp_path / "a.st")), load_file(str(tmp_path / "b.st"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_resume_refuses_a_checkpoint_from_other_settings(tmp_path: Path, tiny_corpus: Path) -> None:
    from moviegenre.training.train import train

    ckpt = tmp_path / "ckpt"
    train(
        tiny_corpus,
        "lstm",
        None,
        model_options={**OPTIONS, "epochs": 1, "checkpoint_dir": str(ckpt)},
    )
    with pytest.raises(MovieGenreError, match="other settings"):
        options = {**OPTIONS, "hidden": 4, "checkpoint_dir": str(ckpt), "resume": True}
        train(tiny_corpus, "lstm", None, model_options=options)


SAVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import moviegenre.models.lstm as lstm
    from moviegenre.bundle import load_bundle, save_bundle

    bundle, marker = sys.argv[1], Path(sys.argv[2])
    model = load_bundle(bundle, runtime="native")
    original = lstm.write_tensors
    def stalled(path, tensors):
        original(path, tensors)
        marker.write_text("writing")
        time.sleep(60)
    lstm.write_tensors = stalled
    model.hidden = 999  # a save that finished would change the bundle's config
    save_bundle(model, bundle)
    """
)


def test_save_killed_midway_leaves_previous_bundle(tmp_path: Path, tiny_corpus: Path) -> None:
    from moviegenre.training.train import train

    bundle = tmp_path / "bundle"
    result = train(tiny_corpus, "lstm", bundle, model_options={**OPTIONS, "epochs": 1})
    before = (bundle / "bundle.json").read_bytes()
    plots = ["a haunted ghost", "a wedding kiss"]
    expected = result.model.predict_proba(plots)

    script, marker = tmp_path / "saver.py", tmp_path / "marker"
    script.write_text(SAVER)
    saver = subprocess.Popen([sys.executable, str(script), str(bundle), str(marker)], env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for(marker, saver)
    saver.send_signal(signal.SIGKILL)
    saver.wait()

    assert (bundle / "bundle.json").read_bytes() == before
    np.testing.assert_allclose(
        load_bundle(bundle, runtime="native").predict_proba(plots), expected, atol=1e-6, rtol=0
    )
