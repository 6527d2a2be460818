"""Batch prediction on a Ray cluster (Ray Data): the map_batches callable and the driver."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.data.labels import vocabulary_of
from moviegenre.data.readers import iter_records
from moviegenre.data.record import MovieRecord
from moviegenre.errors import MovieGenreError
from moviegenre.inference.batch import (
    DEFAULT_CHUNK,
    BatchResult,
    _counted,
    _output,
    chunks,
    predict_lines,
)

RAY_MISSING = "--engine ray needs Ray: pip install 'moviegenre[ray]'"
# Rows handed to Ray at once: the driver reads the input with the same readers as the local path
# and sends it to the cluster window by window, so its memory stays flat on any file size.
WINDOW_ROWS = 200_000
# CPUs each actor asks for. Less than one: on a machine with N cores, N one-CPU actors would
# leave nothing for Ray Data's own tasks, which then wait forever.
ACTOR_CPUS = 0.5


def check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Fail in seconds, with one line, when a HOST:PORT cluster address does not answer (Ray
    itself retries for minutes). "auto", "local" and ray:// addresses are left to Ray."""
    if not address or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise MovieGenreError(f"--address {address}: expected HOST:PORT (as `ray start --head` "
                              "prints it), auto, or a ray:// address")  # fmt: skip
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise MovieGenreError(f"no Ray cluster answers at {address}: {exc}") from None


def import_ray() -> Any:
    """`ray` with Ray Data, or a one-line error naming the extra that installs it."""
    # Ray reports usage statistics over the network unless told not to; a batch job should not.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MovieGenreError(RAY_MISSING) from None
    return ray


class BatchPredictor:
    """A callable class for `ray.data.Dataset.map_batches(BatchPredictor, ...)`.

    Each actor loads the bundle once; each call turns a batch with the columns `id`, `title` and
    `plot` into the column `line`: the JSON line `moviegenre predict --input` writes for each row
    (the same function makes both), in batch order.
    """

    def __init__(self, model_path: str | None = None, runtime: str = "auto") -> None:
        from moviegenre.bundle import load_bundle

        self.model = load_bundle(model_path, runtime=runtime)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [
            MovieRecord(id=str(i), title=str(t), year="", plot=str(p), genres=())
            for i, t, p in zip(batch["id"], batch["title"], batch["plot"], strict=True)
        ]
        # json.dumps escapes newlines, so the text splits back into exactly one line per row.
        lines = predict_lines(self.model, rows).split("\n")[:-1]
        return {"line": np.array(lines, dtype=object)}


def predict_file_ray(
    input_path: str | Path,
    output_path: str | Path,
    model_path: str | Path | None = None,
    *,
    runtime: str = "auto",
    text_column: str | None = None,
    actors: int | None = None,
    batch_size: int = DEFAULT_CHUNK,
    address: str | None = None,
    progress: bool = True,
    window_rows: int = WINDOW_ROWS,
) -> BatchResult:
    """`predict_file` on Ray: the same output file (input order, same JSON lines).

    Connects to the cluster at `address` (`ray start --head` prints it; "auto" finds a local
    one), or starts a local one for this run and stops it afterwards. `actors` model replicas
    (default: one per CPU of the cluster) each load the bundle once.
    """
    if actors is not None and actors < 1:
        raise MovieGenreError(f"--workers {actors}: expected 1 or more")
    if batch_size < 1:
        raise MovieGenreError(f"--batch-size {batch_size}: expected 1 or more")
    ray = import_ray()
    from moviegenre.bundle.bundle import model_path as bundle_path
    from moviegenre.bundle.bundle import read_manifest

    # Every actor reads the bundle from this path: on a cluster, a path all nodes see.
    bundle = bundle_path(model_path).resolve()
    manifest = read_manifest(bundle)  # a bad bundle stops here, not inside every actor
    # Genre cells read the way the model's training file was (docs/labels.md).
    source = iter_records(input_path, text_column=text_column, labels=vocabulary_of(manifest))
    result = BatchResult("stdout" if str(output_path) == "-" else str(output_path))
    started_here = not ray.is_initialized()
    if started_here:
        check_reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)  # fmt: skip
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"at {address}" if address else "locally"
            raise MovieGenreError(f"could not start or join a Ray cluster {where}: {exc}") from None
    # Ray Data announces every dataset it runs at INFO; the summary line says what matters.
    logging.getLogger("ray.data").setLevel(logging.INFO if progress else logging.WARNING)
    context = ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars)
    try:
        size = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        context.execution_options.preserve_order = True  # output in input order
        context.enable_progress_bars = progress
        with _output(output_path) as handle:
            for window in _counted(chunks(source, window_rows), result):
                items = [{"id": r.id, "title": r.title, "plot": r.plot} for r in window]
                # About one block per batch: every actor gets work from the first window on.
                blocks = max(1, -(-len(items) // batch_size))
                dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
                    BatchPredictor,
                    fn_constructor_kwargs={"model_path": str(bundle), "runtime": runtime},
                    batch_size=batch_size,
                    batch_format="numpy",
                    compute=ray.data.ActorPoolStrategy(size=size),
                    num_cpus=ACTOR_CPUS,  # spread over the nodes: Ray Data's default, "SPREAD"
                )
                for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                    lines = batch["line"]
                    handle.write("".join(f"{line}\n" for line in lines))
                    result.lines += len(lines)
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
        if started_here:
            ray.shutdown()
    result.skip_reasons.update(source.result.skip_reasons)
    result.dropped.update(source.result.dropped)
    return result
