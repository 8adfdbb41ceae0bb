"""PyTorch backend on CUDA: the MLPerf vision architectures written out, run in fp16/bf16 with CUDA graphs."""
