# TrustPoll — `make run` serves the demo site, `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: setup run serve test bench clean

# Reinstall whenever requirements.txt changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	cp requirements.txt $@

# Test-only browser tools (axe-core); skipped with a note where npm is missing.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the accessibility checks of the browser tests will skip"; fi

setup: $(VENV)/.installed node_modules/.installed
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo --if-empty

# Web server and one task worker; Ctrl-C stops both.
run: setup
	@$(PY) manage.py demo_info --base-url http://127.0.0.1:$(PORT)
	@$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# Like production: gunicorn + one task worker on PostgreSQL and Redis, DEBUG off (see project/serve.py).
serve: $(VENV)/.installed
	$(PY) -m project.serve --port $(PORT)

test: setup
	$(PY) -m pytest

# Benchmarks: each prints its figures as ratios against a baseline measured in the same run.
bench: setup
	$(PY) bench/poll_latency.py
	$(PY) bench/page_weight.py
	$(PY) bench/analysis_scale.py 100000
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache node_modules
