"""MLPerf benchmarks: dataset listing, preprocessing, postprocessing and accuracy per model."""
