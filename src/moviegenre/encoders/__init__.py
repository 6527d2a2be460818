"""Frozen text encoders that run without PyTorch (ONNX Runtime), shipped inside the package."""
