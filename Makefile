# Two commands do everything on a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck bench lock train clean services

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

# Re-resolve and pin every package after changing requirements.txt.
lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^pkg-resources' > constraints.txt
	@echo "constraints.txt updated"

clean:
	rm -rf var models .pytest_cache .mypy_cache .ruff_cache
