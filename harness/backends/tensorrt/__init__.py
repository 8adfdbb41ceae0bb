"""TensorRT backend: all logic is plain Python; the TensorRT/CUDA calls live in `trt_api` alone."""
