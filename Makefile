# Two commands do all the set-up on a fresh Linux machine with Python 3.11:
#   make run    install what is missing, then `dvc repro` the whole pipeline on the bundled data
#   make test   install what is missing, then lint and run the test suite
# `EXTRA=gpu make run` installs the CUDA build of TensorFlow instead of the CPU one.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
EXTRA ?= cpu
UV := .tools/uv/bin/uv
PYTEST_ARGS ?=

# Never let uv fetch a Python build from the internet; use the machine's Python 3.11.
export UV_PYTHON_DOWNLOADS := never
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export GX_ANALYTICS_ENABLED := False
export DO_NOT_TRACK := 1

.PHONY: setup run test test-all lint structure browser flow prefect-server stack-up stack-status stack-down serve monitor demo clean

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced-$(EXTRA): $(UV) pyproject.toml uv.lock
	@echo "Installing the locked environment into .venv (uv.lock; quiet unless something fails)"
	$(UV) sync --quiet --frozen --extra $(EXTRA) --compile-bytecode --python "$(PYTHON)"
	rm -f .venv/.synced-* && touch $@

setup: .venv/.synced-$(EXTRA)

run: setup
	python -m tasks.store.preflight  # a broken production pointer stops here, before the DAG runs
	dvc repro

lint: setup
	ruff check .
	ruff format --check .

# After moving a module or adding an import across packages: dvc.yaml's code deps and README's "How it is built",
# rewritten from the code (tests/test_structure.py fails until they are).
structure: setup
	python -m tasks.structure.stage_deps --write
	python -m tasks.structure.architecture --write

# Report tests open the HTML in a real headless browser (Debian's `chromium`, or chromium-browser, google-chrome,
# chrome). Installed when missing where we may (root with apt, as in CI). Elsewhere the browser tests are skipped
# with a note, except under CI=true, where a missing browser fails here: CI never passes by skipping them.
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable chrome
browser:
	@for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (apt-get) for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    && command -v chromium >/dev/null 2>&1 && exit 0; \
	  if [ "$${CI:-}" = true ]; then echo "error: CI=true and apt-get could not install chromium" >&2; exit 1; fi; \
	  echo "note: apt-get could not install chromium; browser tests will be skipped"; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "error: CI=true and no browser found ($(BROWSERS)); install one: sudo apt-get install chromium" >&2; \
	  exit 1; \
	else echo "note: no browser found; browser tests will be skipped (sudo apt-get install chromium)"; fi

# The suite runs on TEST_WORKERS pytest-xdist workers, one module per worker at a time (--dist loadscope: a module's
# fixtures are built once), handed out in collection order (--no-loadscope-reorder: the longest modules first,
# tests/conftest.py LONGEST_FIRST); the trained workspaces several modules read are built once for all workers
# (tests/shared_workspaces.py). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder)

test: lint browser
	pytest $(XDIST) --durations=20 $(PYTEST_ARGS)

# Everything, slow suites and benchmarks included.
test-all: lint browser
	pytest $(XDIST) -m "" $(PYTEST_ARGS)

# The Prefect server for `make flow` (UI and API on 127.0.0.1:$(PREFECT_PORT)).
PREFECT_PORT ?= 4200

prefect-server: setup
	PREFECT_HOME=$(CURDIR)/.prefect PREFECT_SERVER_ANALYTICS_ENABLED=false \
		prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

flow: setup
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api python -m flows.training

# The local stack (infra/stack.py): Prefect server, a process-pool worker and SeaweedFS S3, all on 127.0.0.1, with the
# deployments of infra/prefect.yaml registered. Everything it owns is under $(STACK_DIR) (git-ignored).
STACK_DIR ?= .stack

stack-up: setup
	python -m infra.stack up --dir $(STACK_DIR)

stack-status: setup
	python -m infra.stack status --dir $(STACK_DIR)

stack-down:
	python -m infra.stack down --dir $(STACK_DIR)

# TF Serving's REST API on 127.0.0.1:8501 for the current problem's production model (after `make run`);
# settings in params.yaml `serving:`, options in SERVE_ARGS (`make serve SERVE_ARGS="--port 0"`: a free port, printed).
# Stop with Ctrl-C (the prediction log is flushed).
SERVE_ARGS ?=

serve: setup
	python -m tasks.serving $(SERVE_ARGS)

# Production monitoring: the prediction log's windows against the production version's training data
# (tasks/monitoring/window.py; reports/monitoring/index.html).
monitor: setup
	python -m tasks.monitoring.window

# The closed loop in a temporary copy of this repository (infra/demo.py): stack, train v1, serve, replay later months
# as traffic, monitoring finds drift, the event retrains, v2 passes the gate and is served. Your working copy is untouched.
demo: setup
	python -m infra.demo

clean:
	rm -rf .venv .tools
