"""What a run leaves: LoadGen's logs read and the measurement files written (`loadgen_logs.py`), what the run was made
from (`provenance.py`), and the staging folder moved into the submission tree only when complete (`staging.py`)."""
