"""What auditors and the host type: `cli.py` dispatches `python -m harness run|find-peak|calibrate`, `flags.py` parses
hand-typed flags into the same `RunSpec` a host writes."""
