"""Host side of mlperf-submission-builder: the `build.py` CLI, specs, pure rendering and the Docker engine edge."""
