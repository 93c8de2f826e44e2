# Two commands on a fresh clone:
#   make demo   install the server into .venv and serve the demo market on http://127.0.0.1:8000 (docs at /docs);
#               another address: make demo HOST=0.0.0.0 PORT=8001
#   make test   install the server and the test tools into .venv and run lint, types and the whole suite on
#               SQLite, then PostgreSQL + Redis
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
SERVER_STAMP := $(VENV)/.installed-server
STAMP := $(VENV)/.installed
# pip prints each package as it is collected and installed: the first install takes a minute or more.
PIP_INSTALL := $(VENV)/bin/pip install --progress-bar on --disable-pip-version-check -c requirements/constraints.txt

.PHONY: demo test install lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The server alone (what `make demo` needs).
$(SERVER_STAMP): pyproject.toml requirements/constraints.txt | $(VENV)/bin/python
	@echo "== installing kstock into $(VENV) (first time only) =="
	$(PIP_INSTALL) -e .
	touch $(SERVER_STAMP)

# The server and the test tools.
$(STAMP): pyproject.toml requirements/constraints.txt | $(VENV)/bin/python
	@echo "== installing kstock and its test tools into $(VENV) (first time only) =="
	$(PIP_INSTALL) -e ".[test]"
	touch $(SERVER_STAMP) $(STAMP)

install: $(STAMP)

demo: $(SERVER_STAMP)
	$(VENV)/bin/kstock serve --demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache kstock.db kstock.db-wal kstock.db-shm .kstock-secret
