# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv/ first if needed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint bench-quality bench-perf up test-browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bookimg identify demo/shelf.jpg

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench-quality: $(STAMP)
	$(VENV)/bin/bookimg bench quality

# The embedded stack with its web page (the URL is printed); Ctrl-C stops it.
up: $(STAMP)
	$(VENV)/bin/bookimg up

# Only the headless-Chromium tests of the web page (needs `apt-get install chromium`, see .ci/run).
test-browser: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m browser
