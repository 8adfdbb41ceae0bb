"""`build.py nightly CONFIG`: rebuild images, run a short matrix, compare with a baseline, keep a history."""
