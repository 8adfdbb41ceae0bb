"""One run start to finish (`execute.py`: backend, samples, LoadGen, results placed), its outcome and record
(`outcome.py`), the checks made before anything starts (`checks.py`), and find-peak's search over trial runs
(`find_peak.py`)."""
