# Closer: `make run` serves the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
FLASK   = $(VENV)/bin/flask --app run
PORT   ?= 5000
export PORT  # the app builds test-mode payment links from it (PUBLIC_BASE_URL unset)

.PHONY: run test venv test-venv migrate seed worker clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed
test-venv: $(VENV)/.test-installed

migrate: venv
	mkdir -p instance
	$(FLASK) db upgrade -d migrations
	$(FLASK) roles sync

seed: migrate
	$(FLASK) seed-demo

run: seed
	@echo "Closer admin: http://127.0.0.1:$(PORT)/"
	PORT=$(PORT) $(PY) run.py

worker: venv
	$(FLASK) worker

test: test-venv
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
