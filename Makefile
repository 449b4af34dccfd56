# Portico — `make run` starts everything; `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs in this many processes (pytest-xdist; 0 = one process).
PYTEST_WORKERS ?= 2

.PHONY: help setup run test lint fmt bench soak fuzz clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@if [ -z "$(UV)" ]; then echo "Installing uv…"; python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv; fi
	@UV=$$(command -v uv || echo "$$HOME/.local/bin/uv"); $$UV sync --frozen --quiet
	@touch $@

# The official openai Node SDK for the Node contract test (tests/contract/test_node_sdk.py),
# when npm is there (CI installs nodejs and npm: bin/os-packages).
NODE_SDK := tests/node/node_modules/.package-lock.json
$(NODE_SDK): tests/node/package.json tests/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/node --no-audit --no-fund --silent; \
	else echo "npm not found: the Node SDK test will fail (bin/os-packages --install adds nodejs, npm)"; fi

setup: $(VENV)/.synced $(NODE_SDK) ## Create the virtual environment and install dependencies

run: setup ## OS packages, migrate, demo data; web + worker + beat, restarted if they die (Ctrl-C stops all)
	@HOST=$(HOST) PORT=$(PORT) bin/run

test: export PORTICO_VAR_DIR ?= $(CURDIR)/var/test
test: export CACHE_KEY_PREFIX ?= portico-test
test: setup ## Run the whole test suite (DATABASE_URL / REDIS_URL honoured)
	@bin/os-packages --install-if-root
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: setup ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: setup ## Format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup ## Run the benchmarks (prints figures; the soak is `make soak`)
	@for script in bench/*.py; do case $$script in bench/soak.py|bench/fuzz_api.py) continue;; esac; echo "== $$script"; $(PY) $$script || exit 1; done

fuzz: setup ## Fuzz /v1 with schemathesis against its OpenAPI schema (MINUTES=10)
	$(PY) bench/fuzz_api.py --minutes $(or $(MINUTES),10)

soak: setup ## Soak make run's embedded default under load (MINUTES=30) and report crashes, RSS, lost usage
	$(PY) bench/soak.py --minutes $(or $(MINUTES),30)

clean: ## Remove local state (database, uploads, broker files)
	rm -rf var
