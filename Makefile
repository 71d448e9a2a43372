# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install run test lint format bench clean chaos

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

# `make run PORT=4001 HOST=0.0.0.0`; logs read as text here (BITNEXUS_LOG_FORMAT=json for JSON).
run: $(STAMP)
	$(BIN)/bitnexus migrate
	BITNEXUS_LOG_FORMAT=$${BITNEXUS_LOG_FORMAT:-console} \
	  $(BIN)/bitnexus serve $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tests install the Debian tools they use when missing (chromium, promtool from
# prometheus, docker-compose: tests/install_lock.py). The suite runs on 3 workers (most of
# its time is spent waiting on servers and subprocesses), each test file on one worker; the
# tests that stop the shared PostgreSQL run alone afterwards.
test: lint
	$(BIN)/pytest -n 3 --dist loadfile -m "not stops_postgres"
	$(BIN)/pytest -m stops_postgres

# The drills' long forms (tests/drills, BITNEXUS_CHAOS=long): about 15 minutes; stops and
# starts the local PostgreSQL, so run it on a machine of its own. Writes RELIABILITY.md.
chaos: $(STAMP)
	BITNEXUS_CHAOS=long $(BIN)/pytest tests/drills -s -p no:cacheprovider --timeout 900

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,bench]' --config-settings editable_mode=compat
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	command -v pgbench >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql-contrib)
	touch $(BENCH_STAMP)

# Starts PostgreSQL like the tests do; each section uses its own throwaway database.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
