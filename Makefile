# The commands the README promises. Each installs what it needs itself.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE :=
# Recursive (=) on purpose: re-evaluated after `bootstrap` may have installed uv.
UV = $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN = $(UV) run --frozen

.PHONY: bootstrap sync lint typecheck pytest test test-matrix demo demo-basic conformance live live-test bench-live wheel-test docs ui-test clean

# Debian's own Python refuses both pip installs (PEP 668, externally-managed-environment); a --user install
# of uv touches no package of the system's, so it is then made with --break-system-packages.
bootstrap:  ## install uv with pip when it is missing
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv || \
		python3 -m pip install --quiet uv || \
		python3 -m pip install --quiet --user --break-system-packages uv

sync: bootstrap  ## create .venv exactly as uv.lock says
	$(UV) sync --frozen --compile-bytecode --quiet

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync
	$(RUN) mypy

# Three workers (pytest-xdist) on 2 cores: with two the cores sat idle about a tenth of the time (waits on
# sockets and subprocesses); three keep them busy (tests/integration/staging: 113 s -> 101 s).
# PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 3

# The rewritten test modules are cached once before the workers start: in a fresh checkout each of them
# rewrote all ~440 itself (scripts/warm_pytest_cache.py).
pytest: sync
	$(RUN) python scripts/warm_pytest_cache.py
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest  ## everything CI checks

test-matrix: sync  ## only the compatibility matrix (every scenario on every emulator profile; part of `make test`)
	$(RUN) pytest tests/matrix $(PYTEST_ARGS)

IRODS_API_VERSION ?= 0.7.0

demo: sync  ## the multi-cluster workflow: emulator + 3 embedded SSH/SFTP clusters, dag.test(), a summary (IRODS_API_VERSION=0.4.0|0.5.0|0.6.0|0.7.0)
	$(RUN) python scripts/demo_multi_cluster.py --api-version $(IRODS_API_VERSION) $(DEMO_ARGS)

demo-basic: sync  ## the basic-operations DAG against the emulator, with a per-task account
	$(RUN) python scripts/demo.py $(DEMO_ARGS)

conformance: sync  ## the upstream server's own suites (0.4.0 to 0.7.0) against the matching emulator profiles
	$(RUN) pytest tests/conformance -v $(PYTEST_ARGS)

EXECUTOR ?= local
CLUSTERS ?= 3

live: sync  ## the example DAGs under a real local deployment (EXECUTOR=local|celery|edge); everything stopped afterwards
	$(RUN) python scripts/live.py --executor $(EXECUTOR) --clusters $(CLUSTERS) $(LIVE_ARGS)

live-test: sync  ## the live-deployment tests (Local, Celery and Edge executors), bounded to 15 minutes in all
	IRODS_LIVE_TESTS=1 timeout --signal=INT --kill-after=60 900 $(RUN) pytest tests/live -v -p no:cacheprovider $(PYTEST_ARGS)

bench-live: sync  ## multi-cluster DAG wall time: Celery 2x2 workers vs serial LocalExecutor, scheduling overhead
	$(RUN) python benchmarks/live.py --json $(BENCH_ARGS)

wheel-test: sync  ## build wheel + sdist, install the wheel into a fresh venv with the locked deps and check it (~40 s)
	IRODS_WHEEL_TEST=1 $(RUN) pytest tests/package -v -p no:cacheprovider $(PYTEST_ARGS)

PLAYWRIGHT ?= playwright>=1.50

ui-test: sync  ## Airflow's UI in Debian's Chromium (Playwright): connection form, Test, a DAG run, a task log (~4 min)
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	IRODS_UI_TESTS=1 timeout --signal=INT --kill-after=60 600 $(RUN) --with "$(PLAYWRIGHT)" pytest tests/ui -v -p no:cacheprovider $(PYTEST_ARGS)

docs: sync  ## the documentation site (MkDocs Material + mkdocstrings) into site/, every warning an error
	NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict $(DOCS_ARGS)

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache site
