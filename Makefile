# The two commands: `make run` serves the app on http://127.0.0.1:$(PORT); `make test` runs ruff and the tests
# (scripts/run-tests: on every core, on SQLite and on PostgreSQL, which it starts when the machine has it).
# `make bench` runs the benchmarks (bench/; `make bench ONLY=post_pg` runs one), starting PostgreSQL if needed.
# `make run` takes gunicorn's settings (workers, timeouts, logging) from gunicorn.conf.py.

PORT ?= 8000
PYTHON ?= python3
PYTEST_ARGS ?=
ONLY ?=
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changed since the last install.
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

export TIMEBANK_ENV ?= development

.PHONY: run test bench lint clean distclean

run: $(INSTALLED)
	$(BIN)/timebank db upgrade
	$(BIN)/timebank demo --if-empty
	@echo "Open http://127.0.0.1:$(PORT)/ and log in with one of the accounts above."
	exec $(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

test: $(INSTALLED_TEST)
	$(BIN)/ruff check .
	scripts/run-tests $(PYTEST_ARGS)

bench: $(INSTALLED_TEST)
	scripts/start-postgresql
	$(BIN)/python -m bench $(ONLY)

lint: $(INSTALLED_TEST)
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(INSTALLED_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(INSTALLED)

# Removes what the tools leave behind; never instance/, which holds the database.
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
