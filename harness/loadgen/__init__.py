"""Everything LoadGen calls or is called with: the QSL (`qsl.py`, `resident.py` for samples kept on devices), the SUTs
(`sut.py` host batches, `pipeline.py` device workers, both batching through `batching.py`), user.conf (`userconf.py`)
and the test itself (`launch.py`)."""
