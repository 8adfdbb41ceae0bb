"""MLPerf's compliance tests TEST01 and TEST04: the verification as the official scripts word it (`verify.py`) and the
TEST folder written beside the submission's own results (`results.py`)."""
