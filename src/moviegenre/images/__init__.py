"""Posters: safe image reading and the image network's features (ONNX Runtime, no PyTorch)."""
