# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint install install-dev migrate seed clean bench soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed
	$(BIN)/python manage.py compile_translations

install-dev: $(VENV)/.installed-dev node_modules/.installed
	$(BIN)/python manage.py compile_translations

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Web, Celery worker and beat on SQLite with the embedded broker; Ctrl-C stops all three.
run: seed
	@echo "Serving on http://127.0.0.1:$(PORT)/ — demo users' password: demo-pass-1"
	exec $(BIN)/honcho start -f Procfile.dev

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy changemgmt approvals approvals_channels notifications integrations

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var/ .pytest_cache

# Benchmark, never part of `make test` or CI: bench/README.md says what it measures and needs
# (PostgreSQL, Redis, wrk). Its own virtualenv holds the project plus the peer (viewflow).
BENCH_VENV := bench/.venv

$(BENCH_VENV)/.installed: pyproject.toml bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e . -r bench/requirements.txt
	touch $@

bench: $(BENCH_VENV)/.installed
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "bench needs wrk: apt-get install wrk"; exit 1; }
	$(BENCH_VENV)/bin/python -m bench.run

# Races, idempotency and fault injection against real servers it starts itself (PostgreSQL,
# Redis, gunicorn, worker, beat on ports from SOAK_PORT_BASE, 18900): one table, exit 1 on any
# loss, duplicate or 5xx. Never part of `make test` or CI; soak/README.md says what it does.
soak: install-dev
	@command -v faketime >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq faketime; } \
		|| { echo "soak needs libfaketime: apt-get install faketime"; exit 1; }
	$(BIN)/python -m soak
