# tongban — the two commands a newcomer needs:
#   make run    set up everything and run the demo city at http://127.0.0.1:8000 (+ task worker)
#   make test   set up everything and run every test (lint, layering, SQLite, PostgreSQL, browser)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_HASH := $(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
STAMP := $(VENV)/.deps-$(DEPS_HASH)
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
RESIDENTS ?= 2000

.PHONY: run setup city test lint bench clean-data

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "tongban needs Python 3.11"'
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.deps-*
	@touch $@

setup: $(STAMP)

# Migrations, the catalog definitions and (once) the synthetic demo city.
city: setup
	@bash scripts/ensure-fonts.sh
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py city_setup --residents $(RESIDENTS)

run: city
	@echo "一网通办（示例城市）: http://$(HOST):$(PORT)/  — demo accounts are listed in README.md"
	HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) VENV=$(VENV) bash scripts/serve.sh

test: setup
	bash scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

bench: setup
	bash benchmarks/run_all.sh

clean-data:
	rm -rf var/tongban.sqlite3* var/media
