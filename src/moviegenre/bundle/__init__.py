"""The model bundle: a directory of plain files (safetensors, JSON, ONNX), written atomically."""

from moviegenre.bundle.bundle import (
    FORMAT_VERSION,
    default_model_path,
    load_bundle,
    save_bundle,
)

__all__ = [
    "FORMAT_VERSION",
    "default_model_path",
    "load_bundle",
    "save_bundle",
]
