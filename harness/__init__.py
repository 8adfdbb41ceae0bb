"""The in-container MLPerf harness: LoadGen, a QSL, a batching SUT, backends and the submission layout.

It runs inside the images that `build.py image` builds and, unchanged, on a bare host as `python -m harness`.
It imports nothing from the host package `msb`.
"""
