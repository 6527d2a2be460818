"""`predict --input --engine ray`: the same file as the local path, on a local Ray cluster."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from moviegenre.cli.main import main
from moviegenre.errors import MovieGenreError
from moviegenre.inference.batch import predict_file
from moviegenre.inference.ray_batch import (
    RAY_MISSING,
    BatchPredictor,
    check_reachable,
    import_ray,
)

WORDS = "ghost haunted love wedding alien robot prank chase gun planet family city".split()


def write_plots(path: Path, rows: int) -> Path:
    """A JSON Lines catalogue: varied plots, a row without a plot, non-ASCII text."""
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(rows):
            plot = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 40))))
            if i == 7:
                plot = ""
            if i % 500 == 3:
                plot += " — café, naïve\nsecond line"
            row = {"id": f"m{i}", "title": f"Movie {i}", "overview": plot}
            handle.write(json.dumps(row) + "\n")
    return path


def test_batch_predictor_gives_the_lines_of_predict_input(tfidf_bundle, tmp_path):
    source = write_plots(tmp_path / "plots.jsonl", 300)
    local = tmp_path / "local.jsonl"
    predict_file(source, local, tfidf_bundle, progress=False)
    expected = local.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    predictor = BatchPredictor(str(tfidf_bundle))
    lines = []
    for start in range(0, len(rows), 64):  # batches as Ray Data hands them over
        part = rows[start : start + 64]
        columns = (("id", "id"), ("title", "title"), ("plot", "overview"))
        batch = {key: np.array([r[col] for r in part], dtype=object) for key, col in columns}
        out = predictor(batch)
        assert set(out) == {"line"} and len(out["line"]) == len(part)
        lines += list(out["line"])
    assert lines == expected
    assert json.loads(lines[7])["error"] and "Horror" in json.loads(lines[0])["scores"]


def test_without_ray_the_error_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(MovieGenreError) as caught:
        import_ray()
    assert str(caught.value) == RAY_MISSING and "moviegenre[ray]" in RAY_MISSING
    source = write_plots(tmp_path / "plots.jsonl", 5)
    code = main(["predict", "--input", str(source), "--output", str(tmp_path / "out.jsonl"),
                 "--engine", "ray"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.count("\n") == 0 and "moviegenre[ray]" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_address_needs_the_ray_engine(tmp_path, capsys):
    source = write_plots(tmp_path / "plots.jsonl", 5)
    code = main(["predict", "--input", str(source), "--output", str(tmp_path / "o.jsonl"),
                 "--address", "auto"])  # fmt: skip
    assert code != 0 and "--engine ray" in capsys.readouterr().err


def processes_using(path: str) -> set[int]:
    """Processes whose command line, working directory or environment mention `path` (Linux
    /proc): Ray's daemons name their session folder, its workers inherit RAY_TMPDIR."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if path.encode() in cmdline or path.encode() in environ or cwd.startswith(path):
            found.add(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="Ray is not installed (pip install 'moviegenre[ray]')")  # fmt: skip
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_ray_engine_writes_the_same_file_as_the_local_path(tfidf_bundle, tmp_path):
    # A folder of its own for Ray's session (short: Ray's socket paths must fit 107 bytes), so
    # the processes of this run can be told from any other Ray on the machine.
    ray_tmp = tempfile.mkdtemp(prefix="mgray", dir="/tmp")
    try:
        check_ray_engine(tfidf_bundle, tmp_path, ray_tmp)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def check_ray_engine(bundle: Path, tmp_path: Path, ray_tmp: str) -> None:
    source = write_plots(tmp_path / "plots.jsonl", 3000)
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    common = ["--input", str(source), "--model", str(bundle), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_TMPDIR": ray_tmp}
    command = [sys.executable, "-m", "moviegenre", "predict", *common, "--output"]
    done = subprocess.run([*command, str(local)], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    ray_options = ["--engine", "ray", "--workers", "2", "--batch-size", "256"]
    done = subprocess.run([*command, str(on_ray), *ray_options], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert on_ray.read_bytes() == local.read_bytes()  # same predictions, same order, same JSON
    assert len(on_ray.read_text(encoding="utf-8").splitlines()) == 3000
    assert "3000 lines" in done.stderr.splitlines()[-1]  # the same summary line
    # The local cluster this run started is gone with it.
    assert any(Path(ray_tmp).rglob("raylet.out")), "Ray did not use the folder given to it"
    deadline = time.monotonic() + 20
    while (left := processes_using(ray_tmp)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, left


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_zero_workers_is_a_one_line_error(engine, tmp_path, capsys, monkeypatch):
    if engine == "ray":
        # Checked before Ray starts (or is even needed): no cluster for a bad argument.
        monkeypatch.setitem(sys.modules, "ray", None)
    source = write_plots(tmp_path / "plots.jsonl", 5)
    code = main(["predict", "--input", str(source), "--output", str(tmp_path / "o.jsonl"),
                 "--engine", engine, "--workers", "0"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--workers 0" in err and err.count("\n") == 0


@pytest.mark.parametrize(
    ("address", "message"),
    [("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"), ("nonsense", "HOST:PORT")],
)
def test_an_unreachable_cluster_is_a_one_line_error(address, message):
    # checked before Ray (which alone would retry for minutes); no timing here: speed belongs
    # to the benchmarks
    with pytest.raises(MovieGenreError, match=message):
        check_reachable(address)
    check_reachable("auto")  # left to Ray
    check_reachable(None)
