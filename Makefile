# The README's two commands: `make run` and `make test`. Both need only Python 3.11+ and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
# Where every process of `make run` reaches the portal and its sandbox. honcho gives each process
# its own PORT (web 8000, worker 8100, beat 8200), so nothing may derive the address from PORT.
SITE_URL ?= http://localhost:$(PORT)
# The demo plays the sandbox's clearance cadences 60 times faster (5 minutes become 5 seconds).
SANDBOX_TIME_FACTOR ?= 60
# `make test` runs the suite in parallel, one pytest-xdist worker per CPU; PYTEST_WORKERS=0 (or -n 0 in
# PYTEST_ARGS) runs it in one process. worksteal: a worker that runs out takes tests from a busy one.
PYTEST_WORKERS ?= auto
export PORT HOST SITE_URL

.DEFAULT_GOAL := help
.PHONY: help run test lint format lock messages clean

help:
	@echo "make run    install, migrate, seed the sandbox and run web + worker + beat on port $(PORT)"
	@echo "make test   install the development tools and run the whole test suite (in parallel)"
	@echo "make lint   ruff check and format check"
	@echo "make lock   re-pin requirements*.txt from requirements*.in"
	@echo "make messages  update and compile the nl/fr/en translations (needs gettext)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-runtime

run: $(VENV)/.installed-runtime
	$(BIN)/python manage.py migrate --noinput
	@# The sandbox (and so its seed command) exists unless SANDBOX=0.
	@if $(BIN)/python manage.py help sandbox_seed >/dev/null 2>&1; then $(BIN)/python manage.py sandbox_seed; fi
	@echo
	@echo "  Portal: $(SITE_URL)/   (Ctrl-C stops web, worker and beat)"
	@echo
	@# --env /dev/null: the settings come from this environment only, as for migrate above; a .env
	@# (docker compose's) must not give the processes another PORT, SITE_URL or database.
	PATH="$(abspath $(BIN)):$$PATH" SANDBOX_TIME_FACTOR=$(SANDBOX_TIME_FACTOR) \
		exec $(BIN)/honcho --env /dev/null --procfile Procfile.dev start --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: $(VENV)/.installed-dev
	PIP_FIND_LINKS= $(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links requirements.in -o requirements.txt
	PIP_FIND_LINKS= $(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links requirements-dev.in -o requirements-dev.txt

messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages --all --no-obsolete --ignore=.venv --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var

clean:
	rm -rf var
