"""Generators of small, exactly-scorable datasets and ONNX models for tests and the demo."""
