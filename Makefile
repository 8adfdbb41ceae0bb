# The two commands of the README: `make demo` and `make test`. Both set up what is missing first.
PY := .venv/bin/python
DEMO := build/demo

.PHONY: setup demo test lint golden clean-demo

setup:
	bash scripts/setup-host.sh

# Build the demo system's image (cpu, round v6.1), generate small exactly-scorable datasets and models, run ResNet50
# and YOLO accuracy and performance into an MLPerf submission tree (v6 layout), print a summary.
demo: setup
	bash scripts/demo.sh

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q -rs

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy

# Regenerate the golden Dockerfiles after an intended template or definition change; review the diff.
golden:
	$(PY) -m pytest -q tests/msb/image/test_render.py -k golden --update-golden

clean-demo:
	rm -rf $(DEMO)
