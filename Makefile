# The two commands of the README. Everything else is set up by them.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python

.PHONY: report test lint bench demo clean help

help:
	@echo "make report   run the report on the bundled demo snapshot into reports/"
	@echo "make test     run the whole test suite (installs Prometheus/Pushgateway via apt when root)"
	@echo "make lint     ruff"
	@echo "make bench    benchmarks/ (side-by-side performance, see docs/performance.md)"
	@echo "make demo     regenerate data/fixtures/demo with scripts/make_demo_snapshot.py"

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# guidellm needs torch: take the CPU build (on this machine's disk) instead of the CUDA one
$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install --quiet 'torch==2.13.0+cpu' || $(PY) -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.bench: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

report: $(VENV)/.base
	$(VENV)/bin/evalkit report --output reports

test: $(VENV)/.test
	bash scripts/ensure_servers.sh
	$(PY) -m pytest -q

lint: $(VENV)/.test
	$(VENV)/bin/ruff check evalkit tests scripts benchmarks

bench: $(VENV)/.bench
	$(PY) benchmarks/bench_quality.py
	$(PY) benchmarks/bench_prometheus.py

demo: $(VENV)/.base
	$(PY) scripts/make_demo_snapshot.py

clean:
	rm -rf $(VENV) reports build dist *.egg-info .pytest_cache
