"""`python -m harness calibrate`: INT8 from a full-precision model and a calibration list, held to an accuracy gate.

`lists.py` reads the list and finds its images, `ort_int8.py` (ONNX Runtime's static quantization) and
`tensorrt_cache.py` (TensorRT's entropy calibrator) make the artefact, `gate.py` scores both models on held-out images,
`run.py` does the steps in order and writes the record (harness.contract.calibration).
"""
