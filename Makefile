# The two commands of the README. Everything else is set up by them.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
# the oldest supported stack (pandas 2.2, numpy 1.26, urllib3 1.26, ...): constraints/oldest.txt
OLDEST      ?= .venv-oldest
OLDEST_PY    = $(OLDEST)/bin/python
CONSTRAINTS  = constraints/oldest.txt
PYTEST_ARGS ?= -n 2
# What the oldest-stack pass leaves out, and why (each is deselected by name, never skipped
# silently; everything else runs: parsers, frames, the HTTP client's Content-Length checks on
# urllib3 1.26, statistics, the papermill report, pulls from a real Prometheus):
# - test_guidellm.py::test_real_*: they run the real guidellm CLI, and guidellm 0.8 requires
#   numpy >= 2, so it is not installed there (the report parsing tests of test_guidellm.py run);
# - test_registry_clients.py: the official model-registry clients run in a subprocess on their
#   own pinned dependencies, so the result does not depend on this stack (and it is slow);
# - the installed-wheel report: a packaging check (wheel contents, resources found outside
#   the checkout) that builds and installs a wheel; the report itself runs in test_report.py.
# FutureWarnings fail the pass: on pandas 2.2 they mark code whose behaviour changes in pandas 3.
OLDEST_PYTEST_ARGS ?= -n 2 -W error::FutureWarning \
	--deselect tests/test_guidellm.py::test_real_ \
	--deselect tests/test_registry_clients.py \
	--deselect tests/test_report.py::test_installed_wheel_runs_report_from_an_empty_folder

.PHONY: report test test-current test-oldest test-oldest-run lint bench demo clean help

help:
	@echo "make report   run the report on the bundled demo snapshot into reports/"
	@echo "make test     run the whole test suite on the current stack ($(VENV)) and again on the"
	@echo "              oldest supported one ($(OLDEST), $(CONSTRAINTS)); installs"
	@echo "              Prometheus/Pushgateway via apt when root"
	@echo "make lint     ruff"
	@echo "make bench    benchmarks/ (side-by-side performance, see docs/performance.md)"
	@echo "make demo     regenerate data/fixtures/demo with scripts/make_demo_snapshot.py"

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# guidellm needs torch: the CPU build where the package index has it, else PyPI's default
$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install --quiet 'torch==2.13.0+cpu' || $(PY) -m pip install --quiet torch
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The oldest stack: evalkit with the test extra read from pyproject.toml (its tools and the
# evalkit[...] extras it names, less guidellm: guidellm 0.8 requires numpy >= 2), all under
# the constraints file; `pip check` proves the pins are consistent.
$(OLDEST)/.test: pyproject.toml $(CONSTRAINTS)
	test -x $(OLDEST_PY) || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST_PY) -m pip install --quiet --upgrade pip
	$(OLDEST_PY) -c "import tomllib; t = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['test']; x = sorted({e for r in t if r.startswith('evalkit[') for e in r[8:-1].split(',')} - {'guidellm'}); print('-e .[' + ','.join(x) + ']'); print('\n'.join(r for r in t if not r.startswith('evalkit')))" > $(OLDEST)/test-tools.txt
	$(OLDEST_PY) -m pip install --quiet -c $(CONSTRAINTS) -r $(OLDEST)/test-tools.txt
	$(OLDEST_PY) -m pip check
	touch $@

$(VENV)/.bench: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

$(OLDEST)/.bench: $(OLDEST)/.test
	$(OLDEST_PY) -m pip install --quiet -c $(CONSTRAINTS) 'prometheus-api-client>=0.5'
	touch $@

report: $(VENV)/.base
	$(VENV)/bin/evalkit report --output reports

# both passes always run; the target fails when either failed
test: $(VENV)/.test $(OLDEST)/.test
	bash scripts/ensure_servers.sh
	status=0; \
	$(PY) -m pytest -q $(PYTEST_ARGS) || status=$$?; \
	$(MAKE) --no-print-directory test-oldest-run || status=$$?; \
	exit $$status

test-current: $(VENV)/.test
	bash scripts/ensure_servers.sh
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-oldest: $(OLDEST)/.test
	bash scripts/ensure_servers.sh
	$(MAKE) --no-print-directory test-oldest-run

test-oldest-run:
	$(OLDEST_PY) -c "import numpy, pandas, pyarrow, urllib3; print('oldest stack: pandas', pandas.__version__, 'numpy', numpy.__version__, 'pyarrow', pyarrow.__version__, 'urllib3', urllib3.__version__)"
	$(OLDEST_PY) -m pytest -q $(OLDEST_PYTEST_ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check evalkit tests scripts benchmarks

bench: $(VENV)/.bench $(OLDEST)/.bench
	$(PY) benchmarks/run_all.py --oldest $(OLDEST_PY)

demo: $(VENV)/.base
	$(PY) scripts/make_demo_snapshot.py

clean:
	rm -rf $(VENV) $(OLDEST) reports build dist *.egg-info .pytest_cache
