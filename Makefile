# Two commands do everything on a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run run-scaled test lint typecheck bench bench-scale lock train clean services

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt scripts/find-python310
	@set -e; \
	if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  python310=$$(scripts/find-python310); \
	  echo "Creating $(VENV) with $$python310"; \
	  rm -rf "$(VENV)"; "$$python310" -m venv "$(VENV)"; \
	  "$(PY)" -m pip install --quiet --disable-pip-version-check --upgrade pip wheel; \
	fi; \
	echo "Installing pinned dependencies (first time: a few minutes, ~3 GB) …"; \
	"$(PY)" -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt; \
	"$(PY)" -m pip check; \
	touch $(STAMP); \
	echo "Dependencies installed."

run: install
	@$(PY) -m bot run

# Scaled topology on loopback (docs/scaling.md): N Rasa, M action servers, K inbox processes
# behind haproxy, on PostgreSQL, Redis and RabbitMQ (installed from Debian packages if missing).
N ?= 2
M ?= 2
K ?= 2
run-scaled: install
	@$(PY) -m bot.scaled --rasa $(N) --actions $(M) --inbox $(K)

train: install
	@$(PY) -m bot train

lint: install
	$(PY) -m ruff check bot actions channels tests bench

typecheck: install
	$(PY) -m mypy

test: install
	@$(PY) -m ruff check bot actions channels tests bench
	@$(PY) -m mypy
	@bash scripts/run-tests

# make bench ARGS=--nlu-only (or --shipped-only, --reuse, --with-default, --no-channels)
bench: install
	@$(PY) -m bench $(ARGS)

# Throughput of 1 vs 2 Rasa instances behind haproxy (bounded; loopback only).
bench-scale: install
	@$(PY) -m bench.scale $(ARGS)

# Re-resolve and pin every package after changing requirements.txt.
lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^pkg-resources' > constraints.txt
	@echo "constraints.txt updated"

clean:
	rm -rf var models .pytest_cache .mypy_cache .ruff_cache
