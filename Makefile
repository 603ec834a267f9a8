# Every target sets itself up: a fresh clone with Python 3.11+ and Node 20 needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.stamp-requirements
STAMP_NODE := node_modules/.stamp-npm
TOOLS_VENV := .venv-tools
TOOLS_PY := $(TOOLS_VENV)/bin/python
STAMP_TOOLS := $(TOOLS_VENV)/.stamp-requirements

.PHONY: setup browser test lint typecheck unit bench clean dev demo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

setup: $(STAMP_PY) $(STAMP_NODE) $(STAMP_TOOLS)

$(STAMP_PY): requirements.txt requirements-cli.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# checkov (tests/infra) in its own venv. Its pin of pycep-parser (0.5.1) cannot read current Bicep (lambdas,
# fail(), extension), so the newer parser the tests use (pinned in requirements-dev.txt) replaces it there.
$(STAMP_TOOLS): requirements-tools.txt requirements-dev.txt
	test -x $(TOOLS_PY) || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_PY) -m pip install --quiet --upgrade pip
	$(TOOLS_PY) -m pip install --quiet -r requirements-tools.txt
	$(TOOLS_PY) -m pip install --quiet --no-deps "$$(grep -o '^pycep-parser==[^ ]*' requirements-dev.txt)"
	touch $@

# A worktree may link node_modules to a shared install; `npm ci` through that link would empty it for everyone.
$(STAMP_NODE): package.json package-lock.json
	if [ -L node_modules ]; then echo "node_modules links to a shared install: left as it is"; \
	else npm ci --no-audit --no-fund --loglevel=error; fi
	touch $@

## The dashboard's browser test drives Debian's chromium through its chromedriver; installed when missing.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

lint: $(STAMP_PY)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP_PY)
	$(PY) -m mypy

## The README's test command: lint, type check, the whole suite (unit + integration on real Azurite and the ASR emulator)
## on four workers, with branch coverage of lib/ and functions/ held at the floor in pyproject.toml. Work stealing:
## a worker that runs out of tests takes over half of a busy worker's queue (no worker ends minutes after the rest).
test: setup browser lint typecheck
	$(PY) -m pytest -n 4 --dist worksteal --cov --cov-report=term:skip-covered

## The unit tier alone (no Azurite, no emulator): seconds, for the edit-test loop.
unit: $(STAMP_PY)
	$(PY) -m pytest -q tests/unit

## Every benchmark in bench/, one JSON line each (figures, not pass/fail).
bench: setup
	$(PY) -m bench

## A regional outage played end to end through the app's real entry points (alerts -> automatic failover -> region
## recovered -> operator failback -> a drill from the timer), live progress and a summary; exit 0 when all held.
## DEMO_SUMMARY=path.json also writes the summary as JSON.
demo: setup
	$(PY) -m demo

## Azurite + the ASR emulator (demo topology, time-scaled) + the devhost serving function_app.py; Ctrl-C stops all.
dev: setup
	$(PY) -m devhost.dev

clean:
	rm -rf $(VENV) $(TOOLS_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
