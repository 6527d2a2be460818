"""Small poster worlds for tests: coloured posters whose colour tells the genre, a tiny image
network (an ONNX graph that averages colours), a poster index beside the tiny corpus."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

# Each genre of the tiny corpus paints its posters one colour; a poster mixes its genres'.
COLOURS = {
    "Horror": (200, 10, 10),
    "Comedy": (20, 20, 220),
    "Romance": (230, 120, 200),
    "Action": (240, 160, 0),
    "Science Fiction": (10, 200, 40),
}


def make_network(path: Path) -> Path:
    """An ONNX 'image network': mean colour per channel, projected to 1,280 features."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 1280)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["mean", "w"], ["features"]),
        ],
        "colours",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1280])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def poster_image(genres: list[str], rng: np.random.Generator, size=(48, 72)) -> Image.Image:
    colour = np.mean([COLOURS[g] for g in genres], axis=0)
    noise = rng.normal(0, 25, (size[1], size[0], 3))
    pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def make_poster_index(corpus: Path, folder: Path) -> Path:
    """Posters for the corpus movies (their genres and split) plus MovieLens-labelled ones."""
    rng = np.random.default_rng(1)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    with open(corpus, encoding="utf-8") as handle:
        movies = [json.loads(line) for line in handle if line.strip()]
    for number, movie in enumerate(movies):
        name = f"images/c{number}.jpg"
        poster_image(movie["genres"], rng).save(folder / name, quality=90)
        rows.append({"imdb_id": str(number), "file": name, "title": movie["title"],
                     "year": movie["year"], "genres": "|".join(movie["genres"]),
                     "label_source": "corpus", "corpus_id": movie["id"],
                     "split": movie["split"]})  # fmt: skip
    genres = sorted(COLOURS)
    for number in range(150):
        chosen = list(rng.choice(genres, size=int(rng.integers(1, 3)), replace=False))
        name = f"images/m{number}.png"
        poster_image(chosen, rng).save(folder / name)
        split = "train" if number < 100 else "valid" if number < 125 else "test"
        rows.append({"imdb_id": str(1000 + number), "file": name, "title": f"Film {number}",
                     "year": "1990", "genres": "|".join(chosen), "label_source": "movielens",
                     "corpus_id": "", "split": split})  # fmt: skip
    index = folder / "index.csv"
    with open(index, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return index
