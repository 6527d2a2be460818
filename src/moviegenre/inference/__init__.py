"""Fast inference: ONNX export and streaming batch prediction."""
