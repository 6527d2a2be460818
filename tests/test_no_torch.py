"""Serving needs no PyTorch: the ONNX path (API, CLI predict, web app) runs with torch blocked."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from no_torch import BLOCK

from moviegenre.bundle.bundle import default_model_path

# Runs in a fresh interpreter where any import of torch (or libraries built on it) fails, as it
# would after `pip install moviegenre` without the training extras.
SCRIPT = BLOCK + textwrap.dedent(
    """
    import json
    bundle = sys.argv[1] if sys.argv[1] != "-" else None
    plot = "A haunted house full of ghosts terrifies a young family who just moved in."

    import moviegenre.api as api
    result = api.predict(plot, bundle)
    batch = api.predict([plot, "Two strangers fall in love in Paris."], bundle)
    model = api.load_model(bundle)
    # a Spanish plot: the multilingual default answers it with its encoder (NumPy), not torch
    spanish = api.predict("Un asesino a sueldo retirado vuelve a la acción cuando unos "
                          "gánsteres matan a su perro.", bundle)

    from moviegenre.cli.main import main
    args = ["predict", plot, "--json"] + (["--model", bundle] if bundle else [])
    code = main(args)

    from moviegenre.serving.app import create_app
    client = create_app(model=model).test_client()
    response = client.post("/api/v1/predict", json={"plot": plot})

    poster_inputs = None
    if "poster" in model.inputs:  # the image network runs on ONNX Runtime too
        import base64, io
        from PIL import Image
        buffer = io.BytesIO()
        Image.new("RGB", (60, 90), (200, 30, 30)).save(buffer, format="JPEG")
        both = client.post("/api/v1/predict", json={
            "plot": plot, "poster": base64.b64encode(buffer.getvalue()).decode()})
        poster_inputs = both.get_json().get("inputs")

    print(json.dumps({
        "type": type(model).__name__, "genres": result.genres, "n": len(batch), "cli": code,
        "http": response.status_code, "http_genres": response.get_json().get("genres"),
        "torch_loaded": any(m.split(".")[0] in BLOCKED for m in sys.modules),
        "poster_inputs": poster_inputs,
        "spanish": [spanish.language["code"], bool(spanish.genres)],
    }))
    """
)


def _run(bundle: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, bundle], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(report: dict, expected_type: str = "OnnxGenreModel") -> None:
    assert report["type"] == expected_type
    assert report["genres"] and report["n"] == 2 and report["cli"] == 0
    assert report["http"] == 200 and report["http_genres"] == report["genres"]
    assert report["torch_loaded"] is False


def test_onnx_bundle_serves_without_torch(lstm_onnx_bundle: Path) -> None:
    _check(_run(str(lstm_onnx_bundle)))


def test_shipped_default_model_needs_no_torch() -> None:
    assert (default_model_path() / "bundle.json").is_file()  # shipped with the package
    # The shipped model fuses an ensemble (its neural member on ONNX Runtime) with a poster model
    # whose image network runs on ONNX Runtime as well.
    report = _run("-")
    _check(report, "MultilingualGenreModel")
    assert report["poster_inputs"] == ["plot", "poster"]
    assert report["spanish"] == ["es", True]


def test_shipped_fast_model_needs_no_torch() -> None:
    # the n-gram model predicts with NumPy and SciPy alone
    report = _run("fast")
    _check(report, "NgramGenreModel")
    assert report["poster_inputs"] is None  # a plot-only model


def test_blocked_torch_really_fails(tmp_path: Path) -> None:
    """The import hook itself works: a torch-only model type reports the missing package."""
    code = SCRIPT.split("bundle = sys.argv")[0] + textwrap.dedent(
        """
        from moviegenre.models import model_class
        try:
            model_class("lstm")
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "MovieGenreError" in proc.stdout and "torch" in proc.stdout
