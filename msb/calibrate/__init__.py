"""`build.py calibrate`: plan (pure), run in the image and place the artefact (`execute.py`), and the artefact's
record as `build.py run` checks it and calibration.md describes it (`artefact.py`)."""
